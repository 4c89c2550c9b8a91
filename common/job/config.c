/*  common/job/config.c: the job file (YAML) into a validated config_t: the
    public API (config.h), loading the YAML document, and what comes after
    the walk.

    The file is loaded with libyaml's document API, then walked section by
    section by the rule tables of config_rules.c (config_walk.c reads a
    mapping, config_value.c a value of each kind): every key is checked
    for kind (mapping, sequence, scalar), duplicates and spelling before
    its value is parsed. The first problem ends the parse and is reported
    as one message, "<origin>[:<line>]: <key path>: <problem>". Values of
    conninfo keys are never echoed (they may hold a password).

    After the walk: environment overrides, required keys, source.key
    derived from the query's last top-level ORDER BY (common/job/sqltext.c),
    merge key default, and cross-key checks, in that order.
*/
#include "config.h"
#include "config_int.h"
#include "log.h"
#include "sqltext.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/*  A job file is a few hundred bytes; anything this large is a mistake. */
#define CONFIG_MAX_FILE_SIZE (16 * 1024 * 1024)

typedef config_ctx_t ctx_t;        /* config_int.h */


/* --------------------------------------------------------------------- */
/*  After the walk                                                        */

static void
s_apply_env (config_t *cfg)
{
    const char *dsn = getenv ("FERRY_SOURCE_DSN");
    if (dsn && *dsn) {
        free (cfg->source.conninfo);
        cfg->source.conninfo = xstrdup (dsn);
    }
    dsn = getenv ("FERRY_TARGET_DSN");
    if (dsn && *dsn) {
        free (cfg->target.conninfo);
        cfg->target.conninfo = xstrdup (dsn);
    }
}

/*  The line for the retry cross check: max_delay's, else initial_delay's,
    else none. */
static yaml_node_t *
s_delay_node (ctx_t *ctx, yaml_node_t *root)
{
    yaml_node_t *retry = config_ctx_lookup (ctx, root, "retry");
    yaml_node_t *node = config_ctx_lookup (ctx, retry, "max_delay");
    return node ? node : config_ctx_lookup (ctx, retry, "initial_delay");
}

static int
s_finish (ctx_t *ctx, config_t *cfg, yaml_node_t *root)
{
    s_apply_env (cfg);
    /*  Every chunk is one COPY and each COPY statement has a fixed cost on
        the target, so chunks are big. A file's plan is cut to a multiple
        of the known slots (coordinator/fileplan.c), so a CSV source can
        take fewer, bigger chunks still without leaving a slot idle
        (bench/RESULTS.md, issue 5: 4 chunks of 1.25M rows load 5M rows
        about 10% faster than 10 of 500k). */
    if (cfg->pipeline.chunk_size == 0)        /* its default: by kind */
        cfg->pipeline.chunk_size = cfg->source.kind == SOURCE_KIND_CSV ? 2000000 : 50000;
    if (cfg->source.kind == SOURCE_KIND_POSTGRES) {
        if (!cfg->source.conninfo) {
            config_ctx_error (ctx, NULL,
                              "source.conninfo: required (or set FERRY_SOURCE_DSN)");
            return -1;
        }
        if (!cfg->source.query) {
            config_ctx_error (ctx, NULL, "source.query: required for kind postgres");
            return -1;
        }
        if (!cfg->source.key) {
            int rc = sqltext_order_key (cfg->source.query, &cfg->source.key);
            if (rc == 1) {
                config_ctx_error (ctx, NULL, "source.key: required (the query has no "
                                  "ORDER BY to derive it from)");
                return -1;
            }
            if (rc == 2) {
                config_ctx_error (ctx, NULL, "source.key: required (the query's ORDER BY "
                                  "does not start with a plain column)");
                return -1;
            }
        }
        if (cfg->source.split == SPLIT_CTID && cfg->source.snapshot == SNAPSHOT_NONE) {
            config_ctx_error (ctx, NULL, "source.split: ctid needs source.snapshot: shared "
                              "(without one snapshot, a row updated while chunks read could "
                              "move between block ranges and be missed or read twice)");
            return -1;
        }
    }
    else
    if (!cfg->source.path) {
        config_ctx_error (ctx, NULL, "source.path: required for kind csv");
        return -1;
    }
    if (!cfg->target.conninfo) {
        config_ctx_error (ctx, NULL,
                          "target.conninfo: required (or set FERRY_TARGET_DSN)");
        return -1;
    }
    if (!cfg->target.table) {
        config_ctx_error (ctx, NULL, "target.table: required");
        return -1;
    }
    if (cfg->target.merge_key_count == 0 && cfg->source.key) {
        cfg->target.merge_key = xcalloc (1, sizeof (char *));
        cfg->target.merge_key[0] = xstrdup (cfg->source.key);
        cfg->target.merge_key_count = 1;
    }
    if (cfg->target.merge_key_count == 0 && cfg->target.publish == PUBLISH_MERGE) {
        /*  A merge matches staged rows with the final table's by key: with
            no key there is nothing to match on (and no SQL to build). */
        config_ctx_error (ctx, NULL, "target.merge.key: required for publish: merge when "
                          "source.key is not set (the merge matches rows by key): set "
                          "target.merge.key (or source.key) to the column(s) that identify a "
                          "row, or use publish: direct to load into an empty table");
        return -1;
    }
    if (cfg->retry.max_delay < cfg->retry.initial_delay) {
        config_ctx_error (ctx, s_delay_node (ctx, root),
                          "retry.max_delay: must be >= retry.initial_delay (%g), got %g",
                          cfg->retry.initial_delay, cfg->retry.max_delay);
        return -1;
    }
    return 0;
}

/*  Walks the document by the rule tables, then checks what they cannot. */
static int
s_parse_document (ctx_t *ctx, config_t *cfg)
{
    yaml_node_t *root = yaml_document_get_root_node (ctx->doc);
    if (!root || config_ctx_is_null (root)) {
        config_ctx_error (ctx, NULL, "empty job file");
        return -1;
    }
    if (config_walk (ctx, root, &config_job_section, cfg))
        return -1;
    return s_finish (ctx, cfg, root);
}

/*  Reports a libyaml parser error with its line and column. */
static void
s_yaml_error (ctx_t *ctx, const yaml_parser_t *parser)
{
    if (!ctx->err || ctx->errlen == 0)
        return;
    const char *problem = parser->problem ? parser->problem : "unknown error";
    if (parser->error == YAML_MEMORY_ERROR) {
        fprintf (stderr, "%s:%d: out of memory in libyaml\n", __FILE__, __LINE__);
        abort ();
    }
    if (parser->error == YAML_READER_ERROR) {
        snprintf (ctx->err, ctx->errlen, "%s: YAML error at byte %lu: %s",
                  ctx->origin, (unsigned long) parser->problem_offset, problem);
        return;
    }
    if (parser->context)
        snprintf (ctx->err, ctx->errlen,
                  "%s:%lu:%lu: YAML syntax error: %s (%s at line %lu)",
                  ctx->origin,
                  (unsigned long) parser->problem_mark.line + 1,
                  (unsigned long) parser->problem_mark.column + 1,
                  problem, parser->context,
                  (unsigned long) parser->context_mark.line + 1);
    else
        snprintf (ctx->err, ctx->errlen, "%s:%lu:%lu: YAML syntax error: %s",
                  ctx->origin,
                  (unsigned long) parser->problem_mark.line + 1,
                  (unsigned long) parser->problem_mark.column + 1,
                  problem);
}


/* --------------------------------------------------------------------- */
/*  API                                                                   */

/*  See config.h. The defaults are the rule tables' (config_rules.c). */
config_t *
config_new (void)
{
    config_t *self = xcalloc (1, sizeof (config_t));
    config_walk_defaults (&config_job_section, self);
    return self;
}

/*  See config.h. What the config owns is what its rule tables read. */
void
config_destroy (config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_t *self = *self_p;
    config_walk_free (&config_job_section, self);
    free (self->origin);
    free (self);
    *self_p = NULL;
}

config_t *
config_parse (const char *text, size_t len, const char *origin,
              char *err, size_t errlen)
{
    ctx_t ctx = { origin ? origin : "<string>", err, errlen, NULL };
    if (err && errlen)
        err[0] = '\0';
    if (!text)
        text = "";

    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser)) {
        fprintf (stderr, "%s:%d: out of memory in libyaml\n", __FILE__, __LINE__);
        abort ();
    }
    yaml_parser_set_input_string (&parser, (const unsigned char *) text, len);

    config_t *cfg = NULL;
    yaml_document_t doc;
    if (!yaml_parser_load (&parser, &doc)) {
        /*  libyaml frees the partial document itself */
        s_yaml_error (&ctx, &parser);
        yaml_parser_delete (&parser);
        return NULL;
    }
    ctx.doc = &doc;

    /*  A second document is almost certainly a mistake (or garbage after
        a "---"): refuse it rather than ignore it. */
    yaml_document_t extra;
    if (!yaml_parser_load (&parser, &extra))
        s_yaml_error (&ctx, &parser);
    else {
        yaml_node_t *extra_root = yaml_document_get_root_node (&extra);
        if (extra_root)
            config_ctx_error (&ctx, extra_root, "only one YAML document is allowed");
        else {
            cfg = config_new ();
            cfg->origin = xstrdup (ctx.origin);
            if (s_parse_document (&ctx, cfg))
                config_destroy (&cfg);
        }
        yaml_document_delete (&extra);
    }
    yaml_document_delete (&doc);
    yaml_parser_delete (&parser);
    return cfg;
}

config_t *
config_load (const char *path, char *err, size_t errlen)
{
    FERRY_ASSERT (path);
    if (err && errlen)
        err[0] = '\0';
    FILE *file = fopen (path, "rb");
    if (!file) {
        if (err && errlen)
            snprintf (err, errlen, "%s: cannot open job file: %s", path, strerror (errno));
        return NULL;
    }
    size_t size = 0, capacity = 4096;
    char *text = xmalloc (capacity);
    config_t *cfg = NULL;
    for (;;) {
        if (size == capacity) {
            capacity *= 2;
            text = xrealloc (text, capacity);
        }
        size_t n = fread (text + size, 1, capacity - size, file);
        size += n;
        if (n == 0) {
            if (ferror (file)) {
                if (err && errlen)
                    snprintf (err, errlen, "%s: cannot read job file: %s", path,
                              strerror (errno));
                goto cleanup;
            }
            break;
        }
        if (size > CONFIG_MAX_FILE_SIZE) {
            if (err && errlen)
                snprintf (err, errlen, "%s: job file larger than %d bytes", path,
                          CONFIG_MAX_FILE_SIZE);
            goto cleanup;
        }
    }
    cfg = config_parse (text, size, path, err, errlen);

cleanup:
    free (text);
    fclose (file);
    return cfg;
}
