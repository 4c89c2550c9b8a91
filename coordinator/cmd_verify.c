/*  coordinator/cmd_verify.c: ferry-coordinator verify, the source and the
    target compared row for row, after a load or at any time: the command
    line, the two connections and their snapshots, the ranges, the
    verdict.

    The job's query is cut into key ranges as a run plans it (source_plan,
    one pass over the keys in a REPEATABLE READ transaction on the
    source), or taken from a run's chunks (--run: ferry.chunks). The
    target is read inside a REPEATABLE READ READ ONLY transaction: two
    consistent cuts. Each range is compared on both servers at once by
    compare_ranges.c. Reads only: nothing is created or changed on either
    server. */
#include "cmd.h"
#include "compare_ranges.h"
#include "config.h"
#include "copyjob.h"
#include "exit_codes.h"
#include "jsonout.h"
#include "log.h"
#include "pg.h"
#include "plan.h"
#include "source.h"
#include "stopsig.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage: ferry-coordinator verify JOB.yaml [--chunk-size N | --run RUN_ID] [--show N]\n"
"                                 [--allow-extra] [--json]\n"
"\n"
"Compares the job's source query with its target table row for row and says\n"
"whether they hold the same rows. The query is cut into key ranges (source.key,\n"
"about --chunk-size rows each); for every range both servers count the rows and\n"
"sum a hash of each row's text, at once, each in one consistent snapshot. A\n"
"range that differs is read again key by key, and the keys missing from the\n"
"target, extra in it (a row held twice counts once more) or with different\n"
"values are listed. A column whose types differ is compared as the load\n"
"converts it: the source's text form read as the target's type. Reads only.\n"
"\n"
"  --chunk-size N  rows per key range (default: the job's pipeline.chunk_size)\n"
"  --run RUN_ID    compare in the key ranges of that run's chunks (ferry.chunks\n"
"                  on the target; a run that split by key): no planning pass,\n"
"                  and range N is the run's chunk N\n"
"  --show N        keys listed per range and kind (default 10; 0: counts only)\n"
"  --allow-extra   rows only the target holds (a merge into a table that has\n"
"                  other rows) are listed but do not fail the check\n"
"  --json          one JSON document instead of the text report\n"
"  -h, --help      this help\n"
"\n"
"The source is compared as it is now: rows written to it since the load\n"
"show as differences. Exit status: 0 the same rows, 1 they differ (or a\n"
"query failed), 2 usage, 3 bad job file (or a file source: verify needs a\n"
"postgres source), 4 source unreachable, 5 target unreachable, 8 interrupted.\n");
}

typedef struct {
    const char *job_path;
    const char *run_id;
    int64_t chunk_size, show;
    bool allow_extra, json;
} opts_t;

typedef struct {
    const opts_t *o;
    config_t *cfg;
    source_t *source;
    pg_conn_t *src, *tgt;      /* src: borrowed from source */
    copyjob_t *job;
    char *final_q;
    rangecmp_t cmp;            /* the ranges compared, and what they found */
    json_object *doc;
    char err[2048];
} verify_t;

static int
s_parse (int argc, char **argv, opts_t *o)
{
    static const struct option opts[] = {
        CMD_OPT_HELP, CMD_OPT_JSON,
        { "chunk-size", required_argument, NULL, 'c' },
        { "show", required_argument, NULL, 's' },
        { "allow-extra", no_argument, NULL, 'x' },
        { "run", required_argument, NULL, 'r' },
        CMD_OPT_END
    };
    o->show = 10;
    optind = 1;
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': s_usage (stdout); exit (EXIT_CODE_OK);
        case 'J': o->json = true; break;
        case 'x': o->allow_extra = true; break;
        case 'r': o->run_id = optarg; break;
        case 'c':
            if (util_parse_int64 (optarg, 1, 1000000000, &o->chunk_size) != 0) {
                fprintf (stderr, "ferry-coordinator verify: --chunk-size: expected 1..1000000000, "
                         "got '%s'\n", optarg);
                return -1;
            }
            break;
        case 's':
            if (util_parse_int64 (optarg, 0, 1000000, &o->show) != 0) {
                fprintf (stderr, "ferry-coordinator verify: --show: expected 0..1000000, got "
                         "'%s'\n", optarg);
                return -1;
            }
            break;
        default:
            fprintf (stderr, "Try 'ferry-coordinator verify --help'.\n");
            return -1;
        }
    }
    if (o->run_id && o->chunk_size) {
        fprintf (stderr, "ferry-coordinator verify: give --chunk-size or --run, not both (a run's "
                 "ranges are its chunks)\nTry 'ferry-coordinator verify --help'.\n");
        return -1;
    }
    if (optind != argc - 1) {
        fprintf (stderr, "ferry-coordinator verify: %s\nTry 'ferry-coordinator verify --help'.\n",
                 optind >= argc ? "which job? give JOB.yaml" : "unexpected argument");
        return -1;
    }
    o->job_path = argv[optind];
    return 0;
}

/*  The key ranges of run o->run_id's chunks (ferry.chunks), read in the
    target's transaction: the run must exist, have split its source by key
    and its chunks must cover the key space. NULL with err set. */
static plan_t *
s_run_plan (verify_t *v)
{
    const char *run = v->o->run_id;
    const char *params[1] = { run };
    PGresult *res = NULL;
    char *have = NULL;
    if (pg_query_value (v->tgt, "SELECT to_regclass('ferry.runs') IS NOT NULL AND "
                        "to_regclass('ferry.chunks') IS NOT NULL", 0, NULL, &have) != 0) {
        snprintf (v->err, sizeof v->err, "target: %s", pg_conn_error (v->tgt)->message);
        return NULL;
    }
    bool tables = have && have[0] == 't';
    free (have);
    if (!tables) {
        snprintf (v->err, sizeof v->err, "--run %s: the target has no ferry.runs (ferry never "
                  "loaded into it); verify without --run", run);
        return NULL;
    }
    if (pg_exec_params (v->tgt, "SELECT coalesce(split, 'key') FROM ferry.runs WHERE run_id = $1",
                        1, params, &res) != 0) {
        snprintf (v->err, sizeof v->err, "target: reading ferry.runs: %s",
                  pg_conn_error (v->tgt)->message);
        return NULL;
    }
    if (PQntuples (res) != 1 || strcmp (PQgetvalue (res, 0, 0), "key") != 0) {
        if (PQntuples (res) != 1)
            snprintf (v->err, sizeof v->err, "--run %s: no such run in ferry.runs on the target "
                      "(ferry-coordinator history lists them)", run);
        else
            snprintf (v->err, sizeof v->err, "--run %s: the run split its source by %s, so its "
                      "chunks are not key ranges; verify without --run plans key ranges", run,
                      PQgetvalue (res, 0, 0));
        PQclear (res);
        return NULL;
    }
    PQclear (res);
    if (pg_exec_params (v->tgt, "SELECT lo, hi, coalesce(est_rows, 0) FROM ferry.chunks "
                        "WHERE run_id = $1 ORDER BY chunk_id", 1, params, &res) != 0) {
        snprintf (v->err, sizeof v->err, "target: reading ferry.chunks: %s",
                  pg_conn_error (v->tgt)->message);
        return NULL;
    }
    int n = PQntuples (res);
    plan_t *plan = xcalloc (1, sizeof *plan);
    plan->ranges = xcalloc ((size_t) n + 1, sizeof *plan->ranges);
    plan->count = (size_t) n;
    for (int i = 0; i < n; i++) {
        plan_range_t *r = &plan->ranges[i];
        r->lo = PQgetisnull (res, i, 0) ? NULL : xstrdup (PQgetvalue (res, i, 0));
        r->hi = PQgetisnull (res, i, 1) ? NULL : xstrdup (PQgetvalue (res, i, 1));
        r->est_rows = strtoll (PQgetvalue (res, i, 2), NULL, 10);
        plan->total_rows += r->est_rows;
    }
    PQclear (res);
    char why[600];
    if (plan_covers (plan, why, sizeof why) != 0) {
        snprintf (v->err, sizeof v->err, "--run %s: its chunks in ferry.chunks do not cover every "
                  "key once (%s); verify without --run", run, why);
        plan_destroy (&plan);
    }
    return plan;
}

/*  Connects, prepares the columns, plans and compares every range.
    Returns an exit status. */
static int
s_verify (verify_t *v)
{
    config_t *cfg = v->cfg;
    double t0 = util_now_s ();
    retry_policy_t policy = {
        .max_retries = cfg->retry.max_retries, .initial_delay = cfg->retry.initial_delay,
        .backoff = cfg->retry.backoff, .max_delay = cfg->retry.max_delay };
    v->source = source_new (cfg->source.conninfo);
    source_connect_begin (v->source, "ferry/verify");
    v->tgt = pg_conn_new (cfg->target.conninfo, "target");
    pg_conn_set_application_name (v->tgt, "ferry/verify");
    pg_connect_begin (v->tgt);
    if (source_open (v->source, &policy, false, &stopsig_raised) != 0) {
        log_error ("%s", source_error (v->source)->message);
        return pg_is_connected (source_conn (v->source)) ? EXIT_CODE_FAILED : EXIT_CODE_SOURCE;
    }
    v->src = source_conn (v->source);
    if (pg_connect (v->tgt, &policy, &stopsig_raised) != 0) {
        log_error ("target: cannot connect: %s", pg_conn_error (v->tgt)->message);
        return EXIT_CODE_TARGET;
    }
    /*  The comparisons are data statements: no control-statement timeout.
        The target's reads are one snapshot, like the source's. */
    if (pg_exec (v->src, "SET statement_timeout = 0") != 0) {
        log_error ("source: %s", pg_conn_error (v->src)->message);
        return EXIT_CODE_FAILED;
    }
    if (pg_exec (v->tgt, "SET statement_timeout = 0") != 0
    ||  pg_exec (v->tgt, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) {
        log_error ("target: %s", pg_conn_error (v->tgt)->message);
        return EXIT_CODE_FAILED;
    }
    v->job = copyjob_from_config (cfg, "verify", "verify", v->final_q);
    bool retryable = false;
    if (copyjob_prepare (v->job, v->src, v->tgt, v->err, sizeof v->err, &retryable) != 0) {
        log_error ("%s", v->err);
        return EXIT_CODE_FAILED;
    }
    v->cmp.src = v->src;
    v->cmp.tgt = v->tgt;
    v->cmp.job = v->job;
    v->cmp.final_q = v->final_q;
    v->cmp.table = cfg->target.table;
    v->cmp.run_id = v->o->run_id;
    v->cmp.show = v->o->show;
    if (rangecmp_columns (&v->cmp) != 0) {
        log_error ("%s", v->cmp.err);
        return EXIT_CODE_FAILED;
    }
    int64_t chunk_size = v->o->chunk_size ? v->o->chunk_size : cfg->pipeline.chunk_size;
    int64_t total = 0, null_keys = 0;
    plan_t *plan = v->o->run_id ? s_run_plan (v)
                                : source_plan (v->source, v->job, chunk_size, &total, &null_keys);
    if (!plan) {
        log_error ("%s", v->o->run_id ? v->err : source_error (v->source)->message);
        return EXIT_CODE_FAILED;
    }
    int rc = EXIT_CODE_OK;
    for (size_t i = 0; i < plan->count && rc == EXIT_CODE_OK; i++) {
        if (stopsig_raised)
            rc = EXIT_CODE_INTERRUPTED;
        else if (rangecmp_range (&v->cmp, i, &plan->ranges[i]) != 0) {
            log_error ("verify: key range %zu: %s", i, v->cmp.err);
            rc = EXIT_CODE_FAILED;
        }
    }
    double seconds = util_now_s () - t0;
    bool only_extra = v->cmp.total.missing == 0 && v->cmp.total.differs == 0 && !v->cmp.undetailed
                      && v->cmp.unexplained == 0;
    bool failed = v->cmp.ranges_differing > 0 && !(v->o->allow_extra && only_extra);
    if (rc == EXIT_CODE_OK && v->doc) {
        jsonout_str (v->doc, "status", failed ? "differ" : "same");
        jsonout_str (v->doc, "table", cfg->target.table);
        jsonout_str (v->doc, "key", v->job->key);
        jsonout_int (v->doc, "ranges", (int64_t) plan->count);
        json_object_object_add (v->doc, "run", v->o->run_id ? json_object_new_string (v->o->run_id)
                                                            : NULL);
        jsonout_int (v->doc, "ranges_differing", v->cmp.ranges_differing);
        jsonout_int (v->doc, "source_rows", v->cmp.rows_source);
        jsonout_int (v->doc, "target_rows", v->cmp.rows_target);
        jsonout_int (v->doc, "missing", v->cmp.total.missing);
        jsonout_int (v->doc, "extra", v->cmp.total.extra);
        jsonout_int (v->doc, "differs", v->cmp.total.differs);
        json_object_object_add (v->doc, "allow_extra", json_object_new_boolean (v->o->allow_extra));
        jsonout_num (v->doc, "seconds", seconds, 3);
        json_object_object_add (v->doc, "differing", json_object_get (v->cmp.ranges_json));
        char *text = jsonout_finish (v->doc, 1);
        v->doc = NULL;
        fputs (text, stdout);
        free (text);
    }
    else if (rc == EXIT_CODE_OK && !failed)
        printf ("verify: %s: source %" PRId64 " rows, target %" PRId64 " in %zu key range(s) of %s%s%s "
                "(count and a hash of every row's text per range)%s, %.1f s\n",
                v->cmp.total.extra ? "every source row is in the target" : "the same rows",
                v->cmp.rows_source, v->cmp.rows_target, plan->count, v->job->key,
                v->o->run_id ? ", the chunks of run " : "", v->o->run_id ? v->o->run_id : "",
                v->cmp.total.extra ? "; the target holds other rows too (--allow-extra)" : "",
                seconds);
    else if (rc == EXIT_CODE_OK)
        printf ("verify: DIFFERENT: %" PRId64 " of %zu key range(s) differ; source %" PRId64
                " rows, target %" PRId64 "; %" PRId64 " missing in target, %" PRId64
                " extra, %" PRId64 " with different values%s, %.1f s\n", v->cmp.ranges_differing,
                plan->count, v->cmp.rows_source, v->cmp.rows_target, v->cmp.total.missing, v->cmp.total.extra,
                v->cmp.total.differs, v->cmp.undetailed ? " (not counting the ranges too big to read "
                "key by key)" : "", seconds);
    fflush (stdout);
    plan_destroy (&plan);
    if (rc == EXIT_CODE_OK && failed)
        rc = EXIT_CODE_FAILED;
    return rc;
}

int
cmd_verify_main (int argc, char **argv)
{
    opts_t o;
    memset (&o, 0, sizeof o);
    if (s_parse (argc, argv, &o) != 0)
        return EXIT_CODE_USAGE;
    verify_t v;
    memset (&v, 0, sizeof v);
    v.o = &o;
    v.cfg = config_load (o.job_path, v.err, sizeof v.err);
    if (!v.cfg) {
        log_error ("%s", v.err);
        return EXIT_CODE_BAD_CONFIG;
    }
    if (v.cfg->source.kind != SOURCE_KIND_POSTGRES) {
        log_error ("verify: %s: source.kind csv: verify compares a postgres source with the "
                   "target; for a file load, ferry.runs (rows_loaded, rows_rejected) and the "
                   "rejects file account for every record", o.job_path);
        config_destroy (&v.cfg);
        return EXIT_CODE_BAD_CONFIG;
    }
    v.final_q = pg_quote_qualified (v.cfg->target.table);
    if (!v.final_q) {
        log_error ("verify: %s: target.table '%s' is not a valid table name", o.job_path,
                   v.cfg->target.table);
        config_destroy (&v.cfg);
        return EXIT_CODE_BAD_CONFIG;
    }
    if (o.json) {
        v.doc = json_object_new_object ();
        v.cmp.ranges_json = json_object_new_array ();
    }
    stopsig_install ();
    int rc = s_verify (&v);
    json_object_put (v.doc);
    json_object_put (v.cmp.ranges_json);
    if (v.tgt && pg_is_connected (v.tgt))
        pg_rollback (v.tgt);
    pg_conn_destroy (&v.tgt);
    source_destroy (&v.source);
    copyjob_destroy (&v.job);
    free (v.final_q);
    rangecmp_free (&v.cmp);
    config_destroy (&v.cfg);
    return rc;
}
