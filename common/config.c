/*  common/config.c: the job file (YAML) into a validated config_t.

    The file is loaded with libyaml's document API, then walked section by
    section against the fixed key set of DESIGN.md "Job file": every key is
    checked for kind (mapping, sequence, scalar), duplicates and spelling
    before its value is parsed. The first problem ends the parse and is
    reported as one message, "<origin>[:<line>]: <key path>: <problem>".
    Values of conninfo keys are never echoed (they may hold a password).

    After the walk: environment overrides, required keys, source.key
    derived from the query's last top-level ORDER BY, merge key default,
    and cross-key checks, in that order.
*/
#include "config.h"
#include "config_int.h"
#include "log.h"
#include "jobcheck.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/*  A job file is a few hundred bytes; anything this large is a mistake. */
#define CONFIG_MAX_FILE_SIZE (16 * 1024 * 1024)

/*  Longest value echoed back in a message; longer ones end in "...". */
#define CONFIG_ECHO_MAX 48

typedef config_ctx_t ctx_t;        /* config_int.h */

static const char *const s_top_keys[] =
    { "source", "target", "pipeline", "retry", "cluster", "alerts", NULL };
static const char *const s_source_keys[] =
    { "kind", "conninfo", "query", "key", "snapshot", "split", "path", "format", "columns",
      "rejects_file", "max_errors", "max_error_rate", "connect_timeout", NULL };
static const char *const s_format_keys[] =
    { "delimiter", "quote", "escape", "header", "null", "encoding", "max_record_bytes", NULL };
static const char *const s_target_keys[] =
    { "conninfo", "table", "merge", "publish", "lock_timeout", "connect_timeout",
      "statement_timeout", NULL };
static const char *const s_merge_keys[] = { "key", "on_match", NULL };
static const char *const s_pipeline_keys[] =
    { "chunk_size", "min_rows_for_parallel", "writers", "processors", "concurrency",
      "group_rows", "raw_queue_max", "processed_queue_max", "batch_size", "read_buffer",
      NULL };
static const char *const s_retry_keys[] =
    { "max_retries", "initial_delay", "backoff", "max_delay", NULL };
static const char *const s_cluster_keys[] =
    { "bind", "heartbeat_ms", "liveness", "chunk_stall_timeout", "secret_file", "metrics",
      "metrics_linger", "curve", "insecure", NULL };
static const char *const s_curve_keys[] = { "secret_key", "authorized_keys", NULL };

/*  Enum spellings, indexed by the enum value. */
static const char *const s_kind_names[] = { "postgres", "csv", NULL };
static const char *const s_snapshot_names[] = { "shared", "none", NULL };
static const char *const s_split_names[] = { "auto", "key", "ctid", NULL };
static const char *const s_on_match_names[] = { "update", "ignore", "error", NULL };
static const char *const s_publish_names[] = { "merge", "direct", NULL };


/* --------------------------------------------------------------------- */
/*  Messages                                                              */

static void
s_error (ctx_t *ctx, const yaml_node_t *node, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Writes "<origin>[:<line>]: <message>" into ctx->err. Line comes from
    node when given. */
static void
s_error (ctx_t *ctx, const yaml_node_t *node, const char *format, ...)
{
    if (!ctx->err || ctx->errlen == 0)
        return;
    int n;
    if (node)
        n = snprintf (ctx->err, ctx->errlen, "%s:%lu: ", ctx->origin,
                      (unsigned long) node->start_mark.line + 1);
    else
        n = snprintf (ctx->err, ctx->errlen, "%s: ", ctx->origin);
    if (n < 0 || (size_t) n >= ctx->errlen)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (ctx->err + n, ctx->errlen - (size_t) n, format, args);
    va_end (args);
}

/*  A value as it may appear in a message: printable, bounded, and quoted
    when `quoted`. Non-printable bytes become \xNN. */
static void
s_show (const char *text, bool quoted, char *buf, size_t size)
{
    size_t n = 0;
    size_t limit = size - 6;            /* room for "...", quote, NUL */
    if (quoted)
        buf[n++] = '"';
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if ((size_t) (p - (const unsigned char *) text) >= CONFIG_ECHO_MAX
        ||  n + 4 > limit) {
            memcpy (buf + n, "...", 3);
            n += 3;
            break;
        }
        if (*p == '"' || *p == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char) *p;
        }
        else
        if (*p < 0x20 || *p == 0x7f) {
            snprintf (buf + n, 5, "\\x%02x", *p);
            n += 4;
        }
        else
            buf[n++] = (char) *p;
    }
    if (quoted)
        buf[n++] = '"';
    buf[n] = '\0';
}

static bool
s_is_null (const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE
    ||  node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *) node->data.scalar.value;
    return strcmp (v, "") == 0 || strcmp (v, "~") == 0
        || strcmp (v, "null") == 0 || strcmp (v, "Null") == 0
        || strcmp (v, "NULL") == 0;
}

/*  "a mapping", "a sequence", "null" or "a scalar": what a node is, for
    "must be X, got Y" messages. Never the value itself. */
static const char *
s_kind_of (const yaml_node_t *node)
{
    if (node->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (node->type == YAML_SEQUENCE_NODE)
        return "a sequence";
    if (s_is_null (node))
        return "null";
    return "a scalar";
}

/*  Levenshtein distance, for "did you mean" suggestions. Returns a large
    number for strings too long to bother with. */
static size_t
s_edit_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la > 63 || lb > 63)
        return 1000;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}


/* --------------------------------------------------------------------- */
/*  Node helpers                                                          */

static yaml_node_t *
s_node (ctx_t *ctx, int index)
{
    return yaml_document_get_node (ctx->doc, index);
}

/*  The name of a pair's key; only after s_check_mapping accepted the
    mapping (so every key is a scalar). */
static const char *
s_key (ctx_t *ctx, const yaml_node_pair_t *pair)
{
    return (const char *) s_node (ctx, pair->key)->data.scalar.value;
}

/*  Checks that node is a mapping whose keys are scalars, each one of
    `valid` and none repeated. `path` is the key path of the mapping, ""
    for the top level. Returns 0 for a mapping, 1 for null (an empty
    section: all defaults), -1 on error. */
static int
s_check_mapping (ctx_t *ctx, yaml_node_t *node, const char *path,
                 const char *const *valid)
{
    if (s_is_null (node))
        return 1;
    if (node->type != YAML_MAPPING_NODE) {
        if (*path)
            s_error (ctx, node, "%s: must be a mapping, got %s", path,
                     s_kind_of (node));
        else
            s_error (ctx, node, "the job file must be a mapping of sections, got %s",
                     s_kind_of (node));
        return -1;
    }
    const char *prefix = *path ? path : "";
    const char *sep = *path ? ": " : "";
    yaml_node_pair_t *start = node->data.mapping.pairs.start;
    yaml_node_pair_t *top = node->data.mapping.pairs.top;
    for (yaml_node_pair_t *pair = start; pair < top; pair++) {
        yaml_node_t *key = s_node (ctx, pair->key);
        if (key->type != YAML_SCALAR_NODE) {
            s_error (ctx, key, "%s%skeys must be names, got %s", prefix, sep,
                     s_kind_of (key));
            return -1;
        }
        const char *name = (const char *) key->data.scalar.value;
        char shown [CONFIG_ECHO_MAX + 16];
        s_show (name, true, shown, sizeof shown);

        bool known = false;
        for (size_t i = 0; valid[i]; i++)
            if (strcmp (name, valid[i]) == 0)
                known = true;
        if (!known) {
            const char *suggestion = NULL;
            size_t best = 1000;
            size_t limit = strlen (name) > 4 ? 2 : 1;
            for (size_t i = 0; valid[i]; i++) {
                size_t d = s_edit_distance (name, valid[i]);
                if (d <= limit && d < best) {
                    best = d;
                    suggestion = valid[i];
                }
            }
            if (suggestion) {
                s_error (ctx, key, "%s%sunknown key %s (did you mean \"%s\"?)",
                         prefix, sep, shown, suggestion);
                return -1;
            }
            char list [256] = "";
            size_t n = 0;
            for (size_t i = 0; valid[i] && n < sizeof list; i++)
                n += (size_t) snprintf (list + n, sizeof list - n, "%s%s",
                                        i ? ", " : "", valid[i]);
            s_error (ctx, key, "%s%sunknown key %s (valid keys: %s)",
                     prefix, sep, shown, list);
            return -1;
        }
        for (yaml_node_pair_t *prev = start; prev < pair; prev++) {
            yaml_node_t *other = s_node (ctx, prev->key);
            if (strcmp ((const char *) other->data.scalar.value, name) == 0) {
                s_error (ctx, key, "%s%sduplicate key %s (first at line %lu)",
                         prefix, sep, shown,
                         (unsigned long) other->start_mark.line + 1);
                return -1;
            }
        }
    }
    return 0;
}

/*  The scalar text of node, or NULL after an error if node is not a
    scalar (null included) or holds a NUL byte. `what` is the expected
    kind for the message; only the node's kind is shown, never its value,
    so this is safe for conninfo keys. */
static const char *
s_scalar (ctx_t *ctx, yaml_node_t *node, const char *path, const char *what)
{
    if (node->type != YAML_SCALAR_NODE || s_is_null (node)) {
        s_error (ctx, node, "%s: must be %s, got %s", path, what,
                 s_kind_of (node));
        return NULL;
    }
    const char *v = (const char *) node->data.scalar.value;
    if (strlen (v) != node->data.scalar.length) {
        s_error (ctx, node, "%s: must not contain NUL characters", path);
        return NULL;
    }
    return v;
}

/*  Replaces *out with a copy of the string value of node. */
static int
s_get_string (ctx_t *ctx, yaml_node_t *node, const char *path, char **out)
{
    const char *v = s_scalar (ctx, node, path, "a string");
    if (!v)
        return -1;
    if (*v == '\0') {
        s_error (ctx, node, "%s: must not be empty", path);
        return -1;
    }
    free (*out);
    *out = xstrdup (v);
    return 0;
}

/*  True if text is -?[0-9]+. */
static bool
s_is_integer_text (const char *text)
{
    const char *p = text;
    if (*p == '-')
        p++;
    if (!*p)
        return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/*  True if text is a plain decimal number: -?digits[.digits][e[+-]digits]
    (either side of the point may be empty, not both). No nan, inf, hex. */
static bool
s_is_number_text (const char *text)
{
    const char *p = text;
    if (*p == '-' || *p == '+')
        p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static int
s_get_int64 (ctx_t *ctx, yaml_node_t *node, const char *path,
             int64_t min, int64_t max, int64_t *out)
{
    const char *v = s_scalar (ctx, node, path, "an integer");
    if (!v)
        return -1;
    char shown [CONFIG_ECHO_MAX + 16];
    if (!s_is_integer_text (v)) {
        s_show (v, true, shown, sizeof shown);
        s_error (ctx, node, "%s: must be an integer, got %s", path, shown);
        return -1;
    }
    if (util_parse_int64 (v, min, max, out)) {
        s_show (v, false, shown, sizeof shown);
        s_error (ctx, node, "%s: must be %lld..%lld, got %s", path,
                 (long long) min, (long long) max, shown);
        return -1;
    }
    return 0;
}

static int
s_get_int (ctx_t *ctx, yaml_node_t *node, const char *path,
           int min, int max, int *out)
{
    int64_t v;
    if (s_get_int64 (ctx, node, path, min, max, &v))
        return -1;
    *out = (int) v;
    return 0;
}

static int
s_get_double (ctx_t *ctx, yaml_node_t *node, const char *path,
              double min, double max, double *out)
{
    const char *v = s_scalar (ctx, node, path, "a number");
    if (!v)
        return -1;
    char shown [CONFIG_ECHO_MAX + 16];
    if (!s_is_number_text (v)) {
        s_show (v, true, shown, sizeof shown);
        s_error (ctx, node, "%s: must be a number, got %s", path, shown);
        return -1;
    }
    if (util_parse_double (v, min, max, out)) {
        s_show (v, false, shown, sizeof shown);
        s_error (ctx, node, "%s: must be %g..%g, got %s", path, min, max, shown);
        return -1;
    }
    return 0;
}

/*  Maps the scalar to its index in names (the enum value). */
static int
s_get_enum (ctx_t *ctx, yaml_node_t *node, const char *path,
            const char *const *names, int *out)
{
    char list [128] = "";
    size_t n = 0;
    for (size_t i = 0; names[i] && n < sizeof list; i++)
        n += (size_t) snprintf (list + n, sizeof list - n, "%s%s",
                                i ? ", " : "", names[i]);
    if (node->type != YAML_SCALAR_NODE || s_is_null (node)) {
        s_error (ctx, node, "%s: must be one of %s; got %s", path, list,
                 s_kind_of (node));
        return -1;
    }
    const char *v = (const char *) node->data.scalar.value;
    for (int i = 0; names[i]; i++)
        if (strcmp (v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    char shown [CONFIG_ECHO_MAX + 16];
    s_show (v, true, shown, sizeof shown);
    s_error (ctx, node, "%s: must be one of %s; got %s", path, list, shown);
    return -1;
}

/*  A YAML boolean (true/false/yes/no/on/off, any case). */
static int
s_get_bool (ctx_t *ctx, yaml_node_t *node, const char *path, bool *out)
{
    const char *v = s_scalar (ctx, node, path, "a boolean");
    if (!v)
        return -1;
    static const char *const yes[] = { "true", "yes", "on", NULL };
    static const char *const no[] = { "false", "no", "off", NULL };
    for (int i = 0; yes[i]; i++)
        if (strcasecmp (v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
    for (int i = 0; no[i]; i++)
        if (strcasecmp (v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    char shown [CONFIG_ECHO_MAX + 16];
    s_show (v, true, shown, sizeof shown);
    s_error (ctx, node, "%s: must be true or false, got %s", path, shown);
    return -1;
}

/*  One character (a single byte); with allow_empty, "" gives 0. */
static int
s_get_char (ctx_t *ctx, yaml_node_t *node, const char *path, bool allow_empty, char *out)
{
    const char *v = s_scalar (ctx, node, path, "one character");
    if (!v)
        return -1;
    size_t n = strlen (v);
    if (n == 1 || (n == 0 && allow_empty)) {
        *out = v[0];
        return 0;
    }
    char shown [CONFIG_ECHO_MAX + 16];
    s_show (v, true, shown, sizeof shown);
    s_error (ctx, node, "%s: must be one character%s, got %s", path,
             allow_empty ? " (or \"\" for none)" : "", shown);
    return -1;
}

/*  source.columns: a non-empty list of target column names, "-" to skip. */
static int
s_get_columns (ctx_t *ctx, yaml_node_t *node, config_t *cfg)
{
    const char *path = "source.columns";
    if (node->type != YAML_SEQUENCE_NODE) {
        s_error (ctx, node, "%s: must be a list of target column names (\"-\" skips a file "
                 "column), got %s", path, s_kind_of (node));
        return -1;
    }
    yaml_node_item_t *start = node->data.sequence.items.start;
    yaml_node_item_t *top = node->data.sequence.items.top;
    if (start == top) {
        s_error (ctx, node, "%s: must not be empty", path);
        return -1;
    }
    size_t n = (size_t) (top - start), mapped = 0;
    char **cols = xcalloc (n, sizeof (char *));
    for (size_t i = 0; i < n; i++) {
        char item_path [64];
        snprintf (item_path, sizeof item_path, "%s[%zu]", path, i);
        yaml_node_t *child = s_node (ctx, start[i]);
        char *name = NULL;
        if (s_get_string (ctx, child, item_path, &name))
            goto error;
        if (strcmp (name, "-") == 0) {
            free (name);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (cols[j] && strcmp (cols[j], name) == 0) {
                char shown [CONFIG_ECHO_MAX + 16];
                s_show (name, true, shown, sizeof shown);
                s_error (ctx, child, "%s: column %s is mapped twice", item_path, shown);
                free (name);
                goto error;
            }
        cols[i] = name;
        mapped++;
    }
    if (mapped == 0) {
        s_error (ctx, node, "%s: skips every file column", path);
        goto error;
    }
    for (size_t i = 0; i < cfg->source.column_count; i++)
        free (cfg->source.columns[i]);
    free (cfg->source.columns);
    cfg->source.columns = cols;
    cfg->source.column_count = n;
    return 0;
error:
    for (size_t i = 0; i < n; i++)
        free (cols[i]);
    free (cols);
    return -1;
}

static int
s_parse_format (ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    int rc = s_check_mapping (ctx, map, "source.format", s_format_keys);
    if (rc)
        return rc < 0 ? -1 : 0;
    bool escape_set = false;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        const char *key = s_key (ctx, pair);
        yaml_node_t *value = s_node (ctx, pair->value);
        if (strcmp (key, "delimiter") == 0)
            rc = s_get_char (ctx, value, "source.format.delimiter", false,
                             &cfg->source.format.delimiter);
        else
        if (strcmp (key, "quote") == 0)
            rc = s_get_char (ctx, value, "source.format.quote", true, &cfg->source.format.quote);
        else
        if (strcmp (key, "escape") == 0) {
            rc = s_get_char (ctx, value, "source.format.escape", false, &cfg->source.format.escape);
            escape_set = true;
        }
        else
        if (strcmp (key, "header") == 0)
            rc = s_get_bool (ctx, value, "source.format.header", &cfg->source.format.header);
        else
        if (strcmp (key, "max_record_bytes") == 0)
            rc = s_get_int (ctx, value, "source.format.max_record_bytes", JOBCHECK_MAX_RECORD_MIN,
                            JOBCHECK_MAX_RECORD_MAX, &cfg->source.format.max_record_bytes);
        else
        if (strcmp (key, "null") == 0) {
            /*  `null: ""` is the common case; a bare `null:` means the same. */
            const char *v = (value->type == YAML_SCALAR_NODE && s_is_null (value))
                          ? "" : s_scalar (ctx, value, "source.format.null", "a string");
            if (!v)
                return -1;
            free (cfg->source.format.null_marker);
            cfg->source.format.null_marker = xstrdup (v);
            rc = 0;
        }
        else
        if (strcmp (key, "encoding") == 0) {
            rc = s_get_string (ctx, value, "source.format.encoding", &cfg->source.format.encoding);
            /*  It goes into COPY ... (ENCODING '<name>'): names only. */
            const char *e = rc == 0 ? cfg->source.format.encoding : NULL;
            for (size_t i = 0; e && e[i]; i++)
                if (!((e[i] >= 'A' && e[i] <= 'Z') || (e[i] >= 'a' && e[i] <= 'z')
                ||    (e[i] >= '0' && e[i] <= '9') || e[i] == '_' || e[i] == '-')
                ||  i >= 32) {
                    s_error (ctx, value, "source.format.encoding: must be an encoding name "
                             "such as UTF8 or LATIN1");
                    return -1;
                }
        }
        if (rc)
            return -1;
    }
    if (!escape_set)
        cfg->source.format.escape = cfg->source.format.quote;
    /*  The same rules as a JOB from the wire (common/jobcheck.c). */
    const char *field = NULL;
    const char *what = jobcheck_csv_format ((unsigned char) cfg->source.format.delimiter,
                                            (unsigned char) cfg->source.format.quote,
                                            (unsigned char) cfg->source.format.escape, &field);
    if (what) {
        s_error (ctx, map, "source.format.%s: %s", field, what);
        return -1;
    }
    return 0;
}

/*  target.merge.key: a column name or a non-empty list of distinct ones. */
static int
s_get_key_list (ctx_t *ctx, yaml_node_t *node, config_t *cfg)
{
    const char *path = "target.merge.key";
    char **keys = NULL;
    size_t count = 0;
    if (node->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *start = node->data.sequence.items.start;
        yaml_node_item_t *top = node->data.sequence.items.top;
        if (start == top) {
            s_error (ctx, node, "%s: must not be empty", path);
            return -1;
        }
        keys = xcalloc ((size_t) (top - start), sizeof (char *));
        for (yaml_node_item_t *item = start; item < top; item++) {
            char item_path [64];
            snprintf (item_path, sizeof item_path, "%s[%d]", path,
                      (int) (item - start));
            yaml_node_t *child = s_node (ctx, *item);
            char *name = NULL;
            if (s_get_string (ctx, child, item_path, &name))
                goto error;
            for (size_t i = 0; i < count; i++)
                if (strcmp (keys[i], name) == 0) {
                    char shown [CONFIG_ECHO_MAX + 16];
                    s_show (name, true, shown, sizeof shown);
                    s_error (ctx, child, "%s: duplicate column %s", item_path, shown);
                    free (name);
                    goto error;
                }
            keys[count++] = name;
        }
    }
    else {
        char *name = NULL;
        if (node->type != YAML_SCALAR_NODE || s_is_null (node)) {
            s_error (ctx, node, "%s: must be a column name or a list of them, got %s",
                     path, s_kind_of (node));
            return -1;
        }
        if (s_get_string (ctx, node, path, &name))
            return -1;
        keys = xcalloc (1, sizeof (char *));
        keys[count++] = name;
    }
    for (size_t i = 0; i < cfg->target.merge_key_count; i++)
        free (cfg->target.merge_key[i]);
    free (cfg->target.merge_key);
    cfg->target.merge_key = keys;
    cfg->target.merge_key_count = count;
    return 0;

error:
    for (size_t i = 0; i < count; i++)
        free (keys[i]);
    free (keys);
    return -1;
}


/* --------------------------------------------------------------------- */
/*  Sections                                                              */

static int
s_parse_source (ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    int rc = s_check_mapping (ctx, map, "source", s_source_keys);
    if (rc)
        return rc < 0 ? -1 : 0;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        const char *key = s_key (ctx, pair);
        yaml_node_t *value = s_node (ctx, pair->value);
        int v = 0;
        if (strcmp (key, "kind") == 0) {
            rc = s_get_enum (ctx, value, "source.kind", s_kind_names, &v);
            if (rc == 0)
                cfg->source.kind = (source_kind_t) v;
        }
        else
        if (strcmp (key, "conninfo") == 0)
            rc = s_get_string (ctx, value, "source.conninfo", &cfg->source.conninfo);
        else
        if (strcmp (key, "connect_timeout") == 0)
            rc = s_get_double (ctx, value, "source.connect_timeout", 0, 3600,
                               &cfg->source.connect_timeout);
        else
        if (strcmp (key, "query") == 0)
            rc = s_get_string (ctx, value, "source.query", &cfg->source.query);
        else
        if (strcmp (key, "key") == 0)
            rc = s_get_string (ctx, value, "source.key", &cfg->source.key);
        else
        if (strcmp (key, "snapshot") == 0) {
            rc = s_get_enum (ctx, value, "source.snapshot", s_snapshot_names, &v);
            if (rc == 0)
                cfg->source.snapshot = (snapshot_mode_t) v;
        }
        else
        if (strcmp (key, "split") == 0) {
            rc = s_get_enum (ctx, value, "source.split", s_split_names, &v);
            if (rc == 0)
                cfg->source.split = (split_mode_t) v;
        }
        else
        if (strcmp (key, "path") == 0)
            rc = s_get_string (ctx, value, "source.path", &cfg->source.path);
        else
        if (strcmp (key, "format") == 0)
            rc = s_parse_format (ctx, value, cfg);
        else
        if (strcmp (key, "columns") == 0)
            rc = s_get_columns (ctx, value, cfg);
        else
        if (strcmp (key, "rejects_file") == 0)
            rc = s_get_string (ctx, value, "source.rejects_file", &cfg->source.rejects_file);
        else
        if (strcmp (key, "max_errors") == 0)
            rc = s_get_int64 (ctx, value, "source.max_errors", -1, INT64_MAX,
                              &cfg->source.max_errors);
        else
        if (strcmp (key, "max_error_rate") == 0)
            rc = s_get_double (ctx, value, "source.max_error_rate", 0.0, 1.0,
                               &cfg->source.max_error_rate);
        if (rc)
            return -1;
    }
    return 0;
}

static int
s_parse_merge (ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    int rc = s_check_mapping (ctx, map, "target.merge", s_merge_keys);
    if (rc)
        return rc < 0 ? -1 : 0;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        const char *key = s_key (ctx, pair);
        yaml_node_t *value = s_node (ctx, pair->value);
        int v = 0;
        if (strcmp (key, "key") == 0)
            rc = s_get_key_list (ctx, value, cfg);
        else
        if (strcmp (key, "on_match") == 0) {
            rc = s_get_enum (ctx, value, "target.merge.on_match", s_on_match_names, &v);
            if (rc == 0)
                cfg->target.on_match = (on_match_t) v;
        }
        if (rc)
            return -1;
    }
    return 0;
}

static int
s_parse_target (ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    int rc = s_check_mapping (ctx, map, "target", s_target_keys);
    if (rc)
        return rc < 0 ? -1 : 0;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        const char *key = s_key (ctx, pair);
        yaml_node_t *value = s_node (ctx, pair->value);
        int v = 0;
        if (strcmp (key, "conninfo") == 0)
            rc = s_get_string (ctx, value, "target.conninfo", &cfg->target.conninfo);
        else
        if (strcmp (key, "table") == 0)
            rc = s_get_string (ctx, value, "target.table", &cfg->target.table);
        else
        if (strcmp (key, "merge") == 0)
            rc = s_parse_merge (ctx, value, cfg);
        else
        if (strcmp (key, "publish") == 0) {
            rc = s_get_enum (ctx, value, "target.publish", s_publish_names, &v);
            if (rc == 0)
                cfg->target.publish = (publish_mode_t) v;
        }
        else
        if (strcmp (key, "lock_timeout") == 0)
            rc = s_get_double (ctx, value, "target.lock_timeout", 0, 86400,
                               &cfg->target.lock_timeout);
        else
        if (strcmp (key, "connect_timeout") == 0)
            rc = s_get_double (ctx, value, "target.connect_timeout", 0, 3600,
                               &cfg->target.connect_timeout);
        else
        if (strcmp (key, "statement_timeout") == 0)
            rc = s_get_double (ctx, value, "target.statement_timeout", 0, 86400,
                               &cfg->target.statement_timeout);
        if (rc)
            return -1;
    }
    return 0;
}

static int
s_parse_pipeline (ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    int rc = s_check_mapping (ctx, map, "pipeline", s_pipeline_keys);
    if (rc)
        return rc < 0 ? -1 : 0;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        const char *key = s_key (ctx, pair);
        yaml_node_t *value = s_node (ctx, pair->value);
        if (strcmp (key, "chunk_size") == 0)
            rc = s_get_int64 (ctx, value, "pipeline.chunk_size",
                              1, 1000000000LL, &cfg->pipeline.chunk_size);
        else
        if (strcmp (key, "group_rows") == 0)
            rc = s_get_int64 (ctx, value, "pipeline.group_rows", 0, 1000000000000LL,
                              &cfg->pipeline.group_rows);
        else
        if (strcmp (key, "min_rows_for_parallel") == 0)
            rc = s_get_int64 (ctx, value, "pipeline.min_rows_for_parallel",
                              0, 1000000000000LL,
                              &cfg->pipeline.min_rows_for_parallel);
        else
        if (strcmp (key, "writers") == 0)
            rc = s_get_int (ctx, value, "pipeline.writers", 1, 256,
                            &cfg->pipeline.writers);
        else
        if (strcmp (key, "processors") == 0)
            rc = s_get_int (ctx, value, "pipeline.processors", 1, JOBCHECK_MAX_PROCESSORS,
                            &cfg->pipeline.processors);
        else
        if (strcmp (key, "concurrency") == 0) {
            /*  "auto", or a whole number that pins it. */
            if (value && value->type == YAML_SCALAR_NODE
            &&  strcmp ((const char *) value->data.scalar.value, "auto") == 0)
                cfg->pipeline.concurrency = 0;
            else {
                rc = s_get_int (ctx, value, "pipeline.concurrency", 1, 4096,
                                &cfg->pipeline.concurrency);
                /*  Say that "auto" is the other choice. */
                char *at = rc && ctx->err ? strstr (ctx->err, ": must be ") : NULL;
                if (at && strlen (ctx->err) + 8 < ctx->errlen) {
                    at += strlen (": must be ");
                    memmove (at + 8, at, strlen (at) + 1);
                    memcpy (at, "auto or ", 8);
                }
            }
        }
        else
        if (strcmp (key, "raw_queue_max") == 0)
            rc = s_get_int (ctx, value, "pipeline.raw_queue_max", 1, 10000,
                            &cfg->pipeline.raw_queue_max);
        else
        if (strcmp (key, "processed_queue_max") == 0)
            rc = s_get_int (ctx, value, "pipeline.processed_queue_max", 1, 10000,
                            &cfg->pipeline.processed_queue_max);
        else
        if (strcmp (key, "batch_size") == 0)
            rc = s_get_int (ctx, value, "pipeline.batch_size", 1, 1000000,
                            &cfg->pipeline.batch_size);
        else
        if (strcmp (key, "read_buffer") == 0)
            rc = s_get_int (ctx, value, "pipeline.read_buffer", 4096, 16777216,
                            &cfg->pipeline.read_buffer);
        if (rc)
            return -1;
    }
    return 0;
}

/*  Also returns the node of max_delay (or else initial_delay) so that the
    cross check can name a line. */
static int
s_parse_retry (ctx_t *ctx, yaml_node_t *map, config_t *cfg,
               yaml_node_t **delay_node)
{
    int rc = s_check_mapping (ctx, map, "retry", s_retry_keys);
    if (rc)
        return rc < 0 ? -1 : 0;
    yaml_node_t *initial = NULL, *max = NULL;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        const char *key = s_key (ctx, pair);
        yaml_node_t *value = s_node (ctx, pair->value);
        if (strcmp (key, "max_retries") == 0)
            rc = s_get_int (ctx, value, "retry.max_retries", 0, 100,
                            &cfg->retry.max_retries);
        else
        if (strcmp (key, "initial_delay") == 0) {
            rc = s_get_double (ctx, value, "retry.initial_delay", 0, 3600,
                               &cfg->retry.initial_delay);
            initial = value;
        }
        else
        if (strcmp (key, "backoff") == 0)
            rc = s_get_double (ctx, value, "retry.backoff", 1, 100,
                               &cfg->retry.backoff);
        else
        if (strcmp (key, "max_delay") == 0) {
            rc = s_get_double (ctx, value, "retry.max_delay", 0, 86400,
                               &cfg->retry.max_delay);
            max = value;
        }
        if (rc)
            return -1;
    }
    *delay_node = max ? max : initial;
    return 0;
}

/*  cluster.curve: both keys or neither (a CURVE server needs its secret
    certificate and the workers it lets in). */
static int
s_parse_curve (ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    int rc = s_check_mapping (ctx, map, "cluster.curve", s_curve_keys);
    if (rc)
        return rc < 0 ? -1 : 0;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top && rc == 0; pair++) {
        const char *key = s_key (ctx, pair);
        yaml_node_t *value = s_node (ctx, pair->value);
        if (strcmp (key, "secret_key") == 0)
            rc = s_get_string (ctx, value, "cluster.curve.secret_key", &cfg->cluster.curve_secret_key);
        else
        if (strcmp (key, "authorized_keys") == 0)
            rc = s_get_string (ctx, value, "cluster.curve.authorized_keys",
                               &cfg->cluster.curve_authorized_keys);
    }
    if (rc)
        return -1;
    if (!cfg->cluster.curve_secret_key != !cfg->cluster.curve_authorized_keys) {
        s_error (ctx, map, "cluster.curve: give both secret_key (the coordinator's secret "
                 "certificate) and authorized_keys (the directory of workers' public "
                 "certificates); make them with 'ferry-coordinator keygen DIR' and "
                 "'ferry-worker keygen DIR'");
        return -1;
    }
    return 0;
}

static int
s_parse_cluster (ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    int rc = s_check_mapping (ctx, map, "cluster", s_cluster_keys);
    if (rc)
        return rc < 0 ? -1 : 0;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        const char *key = s_key (ctx, pair);
        yaml_node_t *value = s_node (ctx, pair->value);
        if (strcmp (key, "bind") == 0)
            rc = s_get_string (ctx, value, "cluster.bind", &cfg->cluster.bind);
        else
        if (strcmp (key, "heartbeat_ms") == 0)
            rc = s_get_int (ctx, value, "cluster.heartbeat_ms", 10, 600000,
                            &cfg->cluster.heartbeat_ms);
        else
        if (strcmp (key, "liveness") == 0)
            rc = s_get_int (ctx, value, "cluster.liveness", 1, 1000,
                            &cfg->cluster.liveness);
        else
        /*  At least twice the workers' 1 s PROGRESS period, so a healthy
            chunk is never caught between two reports. */
        if (strcmp (key, "chunk_stall_timeout") == 0)
            rc = s_get_double (ctx, value, "cluster.chunk_stall_timeout", 2, 604800,
                               &cfg->cluster.chunk_stall_timeout);
        else
        if (strcmp (key, "secret_file") == 0)
            rc = s_get_string (ctx, value, "cluster.secret_file", &cfg->cluster.secret_file);
        else
        if (strcmp (key, "metrics") == 0)
            rc = s_get_string (ctx, value, "cluster.metrics", &cfg->cluster.metrics);
        else
        if (strcmp (key, "metrics_linger") == 0)
            rc = s_get_double (ctx, value, "cluster.metrics_linger", 0, 3600,
                               &cfg->cluster.metrics_linger);
        else
        if (strcmp (key, "curve") == 0)
            rc = s_parse_curve (ctx, value, cfg);
        else
        if (strcmp (key, "insecure") == 0)
            rc = s_get_bool (ctx, value, "cluster.insecure", &cfg->cluster.insecure);
        if (rc)
            return -1;
    }
    return 0;
}


/* --------------------------------------------------------------------- */
/*  source.key from the query: a small SQL lexer that knows enough to skip
    string literals, quoted identifiers, comments and parentheses.         */

typedef enum { TOK_END, TOK_WORD, TOK_QIDENT, TOK_STRING, TOK_NUMBER, TOK_PUNCT } tok_kind_t;

typedef struct {
    tok_kind_t kind;
    const char *start;
    size_t len;
} tok_t;

static bool
s_ident_start (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool
s_ident_char (unsigned char c)
{
    return s_ident_start (c) || (c >= '0' && c <= '9') || c == '$';
}

/*  Skips whitespace, -- comments and (nested) block comments. */
static size_t
s_sql_skip_space (const char *q, size_t i)
{
    for (;;) {
        if (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r'
        ||  q[i] == '\f' || q[i] == '\v')
            i++;
        else
        if (q[i] == '-' && q[i + 1] == '-') {
            while (q[i] && q[i] != '\n')
                i++;
        }
        else
        if (q[i] == '/' && q[i + 1] == '*') {
            int depth = 1;
            i += 2;
            while (q[i] && depth > 0) {
                if (q[i] == '/' && q[i + 1] == '*') {
                    depth++;
                    i += 2;
                }
                else
                if (q[i] == '*' && q[i + 1] == '/') {
                    depth--;
                    i += 2;
                }
                else
                    i++;
            }
        }
        else
            return i;
    }
}

/*  Index just past a literal closed by `quote` starting at q[i] (the
    opening quote); a doubled quote is an escaped one, and with
    `backslash` (E'...') so is \x. Unterminated: the end of q. */
static size_t
s_sql_skip_quoted (const char *q, size_t i, char quote, bool backslash)
{
    i++;
    while (q[i]) {
        if (backslash && q[i] == '\\' && q[i + 1])
            i += 2;
        else
        if (q[i] == quote && q[i + 1] == quote)
            i += 2;
        else
        if (q[i] == quote)
            return i + 1;
        else
            i++;
    }
    return i;
}

/*  The next token of q from *pos; advances *pos past it. */
static void
s_sql_next (const char *q, size_t *pos, tok_t *tok)
{
    size_t i = s_sql_skip_space (q, *pos);
    size_t j = i;
    unsigned char c = (unsigned char) q[i];
    if (!c)
        tok->kind = TOK_END;
    else
    if (s_ident_start (c)) {
        while (s_ident_char ((unsigned char) q[j]))
            j++;
        if (j - i == 1 && (c == 'e' || c == 'E') && q[j] == '\'') {
            j = s_sql_skip_quoted (q, j, '\'', true);
            tok->kind = TOK_STRING;
        }
        else
            tok->kind = TOK_WORD;
    }
    else
    if (c == '"') {
        j = s_sql_skip_quoted (q, i, '"', false);
        tok->kind = TOK_QIDENT;
    }
    else
    if (c == '\'') {
        j = s_sql_skip_quoted (q, i, '\'', false);
        tok->kind = TOK_STRING;
    }
    else
    if (c == '$' && (q[i + 1] == '$' || s_ident_start ((unsigned char) q[i + 1]))) {
        /*  $tag$ ... $tag$, unless it turns out not to be a tag */
        size_t t = i + 1;
        while (q[t] && q[t] != '$' && s_ident_char ((unsigned char) q[t]))
            t++;
        if (q[t] == '$') {
            size_t taglen = t - i + 1;
            j = t + 1;
            while (q[j] && strncmp (q + j, q + i, taglen) != 0)
                j++;
            if (q[j])
                j += taglen;
            tok->kind = TOK_STRING;
        }
        else {
            j = i + 1;
            tok->kind = TOK_PUNCT;
        }
    }
    else
    if ((c >= '0' && c <= '9') || (c == '.' && q[i + 1] >= '0' && q[i + 1] <= '9')) {
        while ((q[j] >= '0' && q[j] <= '9') || q[j] == '.'
        ||     s_ident_start ((unsigned char) q[j]))
            j++;
        tok->kind = TOK_NUMBER;
    }
    else {
        j = i + 1;
        tok->kind = TOK_PUNCT;
    }
    tok->start = q + i;
    tok->len = j - i;
    *pos = j;
}

static bool
s_tok_is (const tok_t *tok, const char *word)
{
    if (tok->kind != TOK_WORD || tok->len != strlen (word))
        return false;
    for (size_t i = 0; i < tok->len; i++) {
        char c = tok->start[i];
        if (c >= 'A' && c <= 'Z')
            c = (char) (c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

static bool
s_tok_is_punct (const tok_t *tok, char c)
{
    return tok->kind == TOK_PUNCT && tok->start[0] == c;
}

/*  The column name a WORD or QIDENT token stands for: unquoted names fold
    to lower case (as PostgreSQL does), quoted ones lose their quotes.
    Caller frees; NULL for an empty quoted name. */
static char *
s_tok_name (const tok_t *tok)
{
    char *name = xmalloc (tok->len + 1);
    size_t n = 0;
    if (tok->kind == TOK_WORD) {
        for (size_t i = 0; i < tok->len; i++) {
            char c = tok->start[i];
            name[n++] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
        }
    }
    else {
        for (size_t i = 1; i < tok->len; i++) {
            if (tok->start[i] == '"') {
                if (i + 1 < tok->len && tok->start[i + 1] == '"')
                    i++;
                else
                    break;
            }
            name[n++] = tok->start[i];
        }
    }
    name[n] = '\0';
    if (n == 0) {
        free (name);
        return NULL;
    }
    return name;
}

/*  Derives the key from the first item of the query's last top-level
    ORDER BY, without its table qualifier. Returns 0 and a new string in
    *key_p, 1 when there is no top-level ORDER BY, 2 when its first item
    is not a plain column (an expression, a position, ...). */
static int
s_derive_key (const char *query, char **key_p)
{
    size_t pos = 0, order_by = 0;
    bool found = false;
    int depth = 0;
    tok_t tok;
    for (s_sql_next (query, &pos, &tok); tok.kind != TOK_END;
         s_sql_next (query, &pos, &tok)) {
        if (s_tok_is_punct (&tok, '(') || s_tok_is_punct (&tok, '['))
            depth++;
        else
        if (s_tok_is_punct (&tok, ')') || s_tok_is_punct (&tok, ']')) {
            if (depth > 0)
                depth--;
        }
        else
        if (depth == 0 && s_tok_is (&tok, "order")) {
            size_t next = pos;
            tok_t by;
            s_sql_next (query, &next, &by);
            if (s_tok_is (&by, "by")) {
                found = true;
                order_by = next;
                pos = next;
            }
        }
    }
    if (!found)
        return 1;

    /*  name ( '.' name )* followed by the end of the item */
    pos = order_by;
    s_sql_next (query, &pos, &tok);
    tok_t name = tok;
    if (name.kind != TOK_WORD && name.kind != TOK_QIDENT)
        return 2;
    for (;;) {
        s_sql_next (query, &pos, &tok);
        if (!s_tok_is_punct (&tok, '.'))
            break;
        s_sql_next (query, &pos, &tok);
        if (tok.kind != TOK_WORD && tok.kind != TOK_QIDENT)
            return 2;
        name = tok;
    }
    static const char *const followers[] =
        { "asc", "desc", "nulls", "using", "collate", "limit", "offset",
          "fetch", "for", NULL };
    bool item_ends = tok.kind == TOK_END || s_tok_is_punct (&tok, ',')
                  || s_tok_is_punct (&tok, ';');
    for (size_t i = 0; !item_ends && followers[i]; i++)
        item_ends = s_tok_is (&tok, followers[i]);
    if (!item_ends)
        return 2;
    *key_p = s_tok_name (&name);
    return *key_p ? 0 : 2;
}


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

static int
s_finish (ctx_t *ctx, config_t *cfg, yaml_node_t *delay_node)
{
    s_apply_env (cfg);
    /*  Every chunk is one COPY and each COPY statement has a fixed cost on
        the target, so chunks are big. A file's plan is cut to a multiple
        of the known slots (coordinator/fileplan.c), so a CSV source can
        take fewer, bigger chunks still without leaving a slot idle
        (bench/RESULTS.md, issue 5: 4 chunks of 1.25M rows load 5M rows
        about 10% faster than 10 of 500k). */
    if (cfg->pipeline.chunk_size == 0)
        cfg->pipeline.chunk_size = cfg->source.kind == SOURCE_KIND_CSV ? 2000000 : 500000;
    if (cfg->source.kind == SOURCE_KIND_POSTGRES) {
        if (!cfg->source.conninfo) {
            s_error (ctx, NULL, "source.conninfo: required (or set FERRY_SOURCE_DSN)");
            return -1;
        }
        if (!cfg->source.query) {
            s_error (ctx, NULL, "source.query: required for kind postgres");
            return -1;
        }
        if (!cfg->source.key) {
            int rc = s_derive_key (cfg->source.query, &cfg->source.key);
            if (rc == 1) {
                s_error (ctx, NULL, "source.key: required (the query has no ORDER BY to derive it from)");
                return -1;
            }
            if (rc == 2) {
                s_error (ctx, NULL, "source.key: required (the query's ORDER BY does not start with a plain column)");
                return -1;
            }
        }
        if (cfg->source.split == SPLIT_CTID && cfg->source.snapshot == SNAPSHOT_NONE) {
            s_error (ctx, NULL, "source.split: ctid needs source.snapshot: shared (without one "
                     "snapshot, a row updated while chunks read could move between block "
                     "ranges and be missed or read twice)");
            return -1;
        }
    }
    else
    if (!cfg->source.path) {
        s_error (ctx, NULL, "source.path: required for kind csv");
        return -1;
    }
    if (!cfg->target.conninfo) {
        s_error (ctx, NULL, "target.conninfo: required (or set FERRY_TARGET_DSN)");
        return -1;
    }
    if (!cfg->target.table) {
        s_error (ctx, NULL, "target.table: required");
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
        s_error (ctx, NULL, "target.merge.key: required for publish: merge when source.key is "
                 "not set (the merge matches rows by key): set target.merge.key (or source.key) "
                 "to the column(s) that identify a row, or use publish: direct to load into an "
                 "empty table");
        return -1;
    }
    if (cfg->retry.max_delay < cfg->retry.initial_delay) {
        s_error (ctx, delay_node, "retry.max_delay: must be >= retry.initial_delay (%g), got %g",
                 cfg->retry.initial_delay, cfg->retry.max_delay);
        return -1;
    }
    return 0;
}

/*  Walks the top-level mapping of the document. */
static int
s_parse_document (ctx_t *ctx, config_t *cfg)
{
    yaml_node_t *root = yaml_document_get_root_node (ctx->doc);
    if (!root || s_is_null (root)) {
        s_error (ctx, NULL, "empty job file");
        return -1;
    }
    if (s_check_mapping (ctx, root, "", s_top_keys))
        return -1;
    yaml_node_t *delay_node = NULL;
    int rc = 0;
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        const char *key = s_key (ctx, pair);
        yaml_node_t *value = s_node (ctx, pair->value);
        if (strcmp (key, "source") == 0)
            rc = s_parse_source (ctx, value, cfg);
        else
        if (strcmp (key, "target") == 0)
            rc = s_parse_target (ctx, value, cfg);
        else
        if (strcmp (key, "pipeline") == 0)
            rc = s_parse_pipeline (ctx, value, cfg);
        else
        if (strcmp (key, "retry") == 0)
            rc = s_parse_retry (ctx, value, cfg, &delay_node);
        else
        if (strcmp (key, "cluster") == 0)
            rc = s_parse_cluster (ctx, value, cfg);
        else
        if (strcmp (key, "alerts") == 0)
            rc = config_parse_alerts (ctx, value, cfg);
        if (rc)
            return -1;
    }
    return s_finish (ctx, cfg, delay_node);
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


/*  See config.h. Finds the last ORDER BY at depth 0; keeps the query when
    anything but sort items follows it (LIMIT, OFFSET, FETCH, FOR UPDATE...:
    there the order changes which rows come out). */
char *
config_query_unordered (const char *query)
{
    if (!query)
        return NULL;
    size_t pos = 0;
    int depth = 0;
    const char *order_start = NULL;
    tok_t tok;
    for (s_sql_next (query, &pos, &tok); tok.kind != TOK_END;
         s_sql_next (query, &pos, &tok)) {
        if (s_tok_is_punct (&tok, '(') || s_tok_is_punct (&tok, '['))
            depth++;
        else
        if (s_tok_is_punct (&tok, ')') || s_tok_is_punct (&tok, ']')) {
            if (depth > 0)
                depth--;
        }
        else
        if (depth == 0 && s_tok_is (&tok, "distinct")) {
            /*  DISTINCT ON keeps the first row per group in ORDER BY
                order: there the order decides which rows come out. */
            size_t next = pos;
            tok_t on;
            s_sql_next (query, &next, &on);
            if (s_tok_is (&on, "on"))
                return NULL;
        }
        else
        if (depth == 0 && s_tok_is (&tok, "order")) {
            size_t next = pos;
            tok_t by;
            s_sql_next (query, &next, &by);
            if (s_tok_is (&by, "by")) {
                order_start = tok.start;
                pos = next;
            }
        }
    }
    if (!order_start)
        return NULL;
    /*  What follows the last ORDER BY at depth 0 must be sort items only. */
    pos = (size_t) (order_start - query);
    s_sql_next (query, &pos, &tok);             /* ORDER */
    s_sql_next (query, &pos, &tok);             /* BY */
    depth = 0;
    static const char *const stoppers[] =
        { "limit", "offset", "fetch", "for", "union", "intersect", "except", "window", NULL };
    for (s_sql_next (query, &pos, &tok); tok.kind != TOK_END;
         s_sql_next (query, &pos, &tok)) {
        if (s_tok_is_punct (&tok, '(') || s_tok_is_punct (&tok, '['))
            depth++;
        else
        if (s_tok_is_punct (&tok, ')') || s_tok_is_punct (&tok, ']'))
            depth--;
        else
        if (depth == 0 && s_tok_is_punct (&tok, ';'))
            break;
        if (depth < 0)
            return NULL;
        for (size_t i = 0; depth == 0 && stoppers[i]; i++)
            if (s_tok_is (&tok, stoppers[i]))
                return NULL;
    }
    size_t len = (size_t) (order_start - query);
    while (len > 0 && (query[len - 1] == ' ' || query[len - 1] == '\t'
                       || query[len - 1] == '\n' || query[len - 1] == '\r'))
        len--;
    if (len == 0)
        return NULL;
    char *out = xmalloc (len + 1);
    memcpy (out, query, len);
    out[len] = 0;
    return out;
}

/* --------------------------------------------------------------------- */
/*  For the sections parsed in files of their own (config_int.h)         */

int
config_ctx_check_mapping (config_ctx_t *ctx, yaml_node_t *node, const char *path,
                          const char *const *valid)
{
    return s_check_mapping (ctx, node, path, valid);
}

const char *
config_ctx_key (config_ctx_t *ctx, const yaml_node_pair_t *pair)
{
    return s_key (ctx, pair);
}

yaml_node_t *
config_ctx_node (config_ctx_t *ctx, int index)
{
    return s_node (ctx, index);
}

int
config_ctx_get_double (config_ctx_t *ctx, yaml_node_t *node, const char *path, double min,
                       double max, double *out)
{
    return s_get_double (ctx, node, path, min, max, out);
}

int
config_ctx_get_bool (config_ctx_t *ctx, yaml_node_t *node, const char *path, bool *out)
{
    return s_get_bool (ctx, node, path, out);
}


/* --------------------------------------------------------------------- */
/*  API                                                                   */

config_t *
config_new (void)
{
    config_t *self = xcalloc (1, sizeof (config_t));
    self->source.kind = SOURCE_KIND_POSTGRES;
    self->source.snapshot = SNAPSHOT_SHARED;
    self->source.format.delimiter = ',';
    self->source.format.quote = '"';
    self->source.format.escape = '"';
    self->source.format.max_record_bytes = JOBCHECK_MAX_RECORD_DEFAULT;
    self->source.format.null_marker = xstrdup ("");
    self->source.format.encoding = xstrdup ("UTF8");
    self->source.max_errors = -1;
    self->source.max_error_rate = 0.1;
    self->target.on_match = ON_MATCH_UPDATE;
    self->target.publish = PUBLISH_MERGE;
    self->target.lock_timeout = 60.0;
    self->target.connect_timeout = 30.0;
    self->target.statement_timeout = 60.0;
    self->source.connect_timeout = 30.0;
    self->pipeline.chunk_size = 0;            /* by kind, in s_finish */
    self->pipeline.min_rows_for_parallel = 100000;
    self->pipeline.group_rows = 500000;
    self->pipeline.writers = 2;
    self->pipeline.processors = 2;
    self->pipeline.raw_queue_max = 20;
    self->pipeline.processed_queue_max = 10;
    self->pipeline.batch_size = 5000;
    self->pipeline.read_buffer = 65536;
    self->retry.max_retries = 3;
    self->retry.initial_delay = 1.0;
    self->retry.backoff = 2.0;
    self->retry.max_delay = 30.0;
    self->cluster.bind = xstrdup ("tcp://127.0.0.1:5570");
    self->cluster.heartbeat_ms = 1000;
    self->cluster.liveness = 5;
    self->cluster.chunk_stall_timeout = 300;
    config_alerts_default (self);
    return self;
}

void
config_destroy (config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_t *self = *self_p;
    free (self->source.conninfo);
    free (self->source.query);
    free (self->source.key);
    free (self->source.path);
    free (self->source.format.null_marker);
    free (self->source.format.encoding);
    for (size_t i = 0; i < self->source.column_count; i++)
        free (self->source.columns[i]);
    free (self->source.columns);
    free (self->source.rejects_file);
    free (self->target.conninfo);
    free (self->target.table);
    for (size_t i = 0; i < self->target.merge_key_count; i++)
        free (self->target.merge_key[i]);
    free (self->target.merge_key);
    free (self->cluster.bind);
    free (self->cluster.secret_file);
    free (self->cluster.metrics);
    free (self->cluster.curve_secret_key);
    free (self->cluster.curve_authorized_keys);
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
            s_error (&ctx, extra_root, "only one YAML document is allowed");
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
