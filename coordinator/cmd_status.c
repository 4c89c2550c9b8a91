/*  coordinator/cmd_status.c: see cmd_status.h. The JSON shape (--json)
    is documented in docs/OPERATIONS.md ("status") and kept stable: new
    members may be added, none renamed or removed. */
#include "cmd_status.h"
#include "cmd.h"
#include "config.h"
#include "exit_codes.h"
#include "jobprint.h"
#include "jsonout.h"
#include "log.h"
#include "pg.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage: ferry-coordinator status [RUN_ID] --job JOB.yaml [--json]\n"
"\n"
"Shows a run's state from the target's ferry schema (ferry.runs,\n"
"ferry.chunks, ferry.chunk_commits), from any host that reaches the target,\n"
"while the run goes or after it: status, chunks by state, rows loaded and\n"
"expected, rows/s, ETA, workers (committed chunks, chunks in flight,\n"
"connected now) and the last error. Without RUN_ID: the latest run of this\n"
"job (same job fingerprint), else the latest run on the target.\n"
"\n"
"Options:\n"
"  --job FILE   the job file (its target.conninfo, or FERRY_TARGET_DSN)\n"
"  --json       one JSON object on stdout (shape: docs/OPERATIONS.md)\n"
"  -h, --help   this help\n"
"\n"
"Exit status: 0 shown, 1 no such run (or no run recorded on the target),\n"
"2 usage, 3 bad job file, 5 target unreachable.\n");
}

typedef struct {
    pg_conn_t *conn;
    json_object *out;           /* the status, built as it is read */
    char *run_id;
} status_t;

static const char *
s_val (PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col) ? NULL : PQgetvalue (res, row, col);
}

/*  A JSON member read from a column of a query's row: its key, the
    column, and how the text becomes JSON (seconds: one decimal). SQL NULL
    is JSON null, or false for a boolean. */
typedef enum { S_STR, S_INT, S_BOOL, S_SECONDS } s_kind_t;
typedef struct {
    const char *key;
    int col;
    s_kind_t kind;
} s_member_t;

/*  Adds the members m[0..n) of row `row` of res to o. */
static void
s_put_row (json_object *o, PGresult *res, int row, const s_member_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = s_val (res, row, m[i].col);
        if (m[i].kind == S_STR)
            jsonout_str (o, m[i].key, v);
        else if (m[i].kind == S_BOOL)
            json_object_object_add (o, m[i].key, json_object_new_boolean (v && v[0] == 't'));
        else if (!v)
            json_object_object_add (o, m[i].key, NULL);
        else if (m[i].kind == S_INT)
            jsonout_int (o, m[i].key, strtoll (v, NULL, 10));
        else
            jsonout_num (o, m[i].key, strtod (v, NULL), 1);
    }
}

#define S_COUNT(a) (sizeof (a) / sizeof ((a)[0]))

static int64_t
s_get_int (json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex (o, key, &v) && v ? json_object_get_int64 (v) : 0;
}

static const char *
s_get_str (json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex (o, key, &v) && v ? json_object_get_string (v) : NULL;
}

static int
s_fail_query (status_t *s, const char *what)
{
    const pg_error_t *e = pg_conn_error (s->conn);
    if (strcmp (e->sqlstate, "42P01") == 0 || strcmp (e->sqlstate, "3F000") == 0)
        log_error ("no run was ever recorded on this target (no ferry schema: %s)", e->message);
    else
        log_error_ctx (-1, e->sqlstate, "target: %s: [%s] %s", what, e->sqlstate, e->message);
    return -1;
}

/*  Runs sql with $1 = the run's id; NULL (logged, naming what) on error. */
static PGresult *
s_query (status_t *s, const char *what, const char *sql)
{
    const char *params[1] = { s->run_id };
    PGresult *res = NULL;
    if (pg_exec_params (s->conn, sql, 1, params, &res) != 0) {
        s_fail_query (s, what);
        return NULL;
    }
    return res;
}

/*  The run's row. Returns 0, 1 when there is none, -1 on error. */
static int
s_read_run (status_t *s, const char *run_id, const char *job_hash)
{
    static const char *cols =
        "SELECT run_id, job_hash, status, final_table, publish, split, "
        "  to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
        "  to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
        "  extract(epoch FROM coalesce(finished_at, clock_timestamp()) - started_at)::float8, "
        "  rows_source, rows_loaded, chunks_total, message, job_hash = $2 "
        "FROM ferry.runs ";
    const char *params[2] = { run_id ? run_id : "", job_hash };
    char *q = util_strdupf ("%s%s", cols, run_id ? "WHERE run_id = $1"
                            : "WHERE $1 = '' ORDER BY job_hash = $2 DESC, started_at DESC LIMIT 1");
    PGresult *res = NULL;
    int rc = pg_exec_params (s->conn, q, 2, params, &res);
    free (q);
    if (rc != 0)
        return s_fail_query (s, "reading ferry.runs");
    if (PQntuples (res) == 0) {
        PQclear (res);
        return 1;
    }
    static const s_member_t run[] = {
        { "run_id", 0, S_STR }, { "job_hash", 1, S_STR }, { "same_job", 13, S_BOOL },
        { "status", 2, S_STR }, { "final_table", 3, S_STR }, { "publish", 4, S_STR },
        { "split", 5, S_STR }, { "started_at", 6, S_STR }, { "finished_at", 7, S_STR },
        { "elapsed_seconds", 8, S_SECONDS }, { "rows_source", 9, S_INT },
        { "rows_loaded_final", 10, S_INT }, { "message", 12, S_STR }
    };
    s->run_id = xstrdup (PQgetvalue (res, 0, 0));
    s_put_row (s->out, res, 0, run, S_COUNT (run));
    PQclear (res);
    return 0;
}

static int
s_read_chunks (status_t *s)
{
    static const s_member_t chunks[] = {
        { "total", 0, S_INT }, { "done", 3, S_INT }, { "failed", 4, S_INT },
        { "retried", 6, S_INT }
    };
    static const s_member_t planned[] = { { "rows_planned", 5, S_INT } };
    static const s_member_t committed[] = {
        { "rows_loaded", 0, S_INT }, { "rows_rejected", 1, S_INT },
        { "chunks_committed", 2, S_INT }
    };
    PGresult *res = s_query (s, "reading ferry.chunks",
            "SELECT count(*), 0, 0, "
            "  count(*) FILTER (WHERE status = 'done' OR (status <> 'failed' AND EXISTS ("
            "      SELECT 1 FROM ferry.chunk_commits m WHERE m.run_id = k.run_id "
            "      AND m.chunk_id = k.chunk_id AND m.committed_at IS NOT NULL))), "
            "  count(*) FILTER (WHERE status = 'failed'), coalesce(sum(est_rows), 0), "
            "  count(*) FILTER (WHERE attempts > 1) "
            "FROM ferry.chunks k WHERE run_id = $1");
    if (!res)
        return -1;
    json_object *c = json_object_new_object ();
    s_put_row (c, res, 0, chunks, S_COUNT (chunks));
    json_object_object_add (s->out, "chunks", c);
    s_put_row (s->out, res, 0, planned, S_COUNT (planned));
    PQclear (res);
    res = s_query (s, "reading ferry.chunk_commits",
            "SELECT coalesce(sum(rows), 0), coalesce(sum(rejected), 0), count(*) "
            "FROM ferry.chunk_commits WHERE run_id = $1 AND committed_at IS NOT NULL");
    if (!res)
        return -1;
    s_put_row (s->out, res, 0, committed, S_COUNT (committed));
    PQclear (res);
    return 0;
}

static int
s_read_workers (status_t *s)
{
    static const s_member_t worker[] = {
        { "name", 0, S_STR }, { "chunks_committed", 1, S_INT }, { "rows", 2, S_INT },
        { "chunks_in_flight", 3, S_INT }
    };
    static const s_member_t last_error[] = {
        { "chunk", 0, S_INT }, { "message", 1, S_STR }, { "worker", 2, S_STR },
        { "at", 3, S_STR }
    };
    PGresult *res = s_query (s, "reading the run's workers",
            "WITH c AS (SELECT worker, count(*) AS n, sum(rows) AS r FROM ferry.chunk_commits "
            "           WHERE run_id = $1 AND committed_at IS NOT NULL GROUP BY worker), "
            /*  A chunk in flight is a COPY running in one of the
                worker's target sessions (application_name
                ferry/RUN/WORKER): its ledger row is not visible before it
                commits. */
            "     s AS (SELECT substr(application_name, length($1) + 8) AS worker, "
            "                  count(*) FILTER (WHERE state = 'active' "
            "                                   AND query ILIKE 'COPY%') AS copying "
            "           FROM pg_stat_activity "
            "           WHERE starts_with(application_name, 'ferry/' || $1 || '/') "
            "             AND application_name NOT LIKE '%/coordinator-%' GROUP BY 1), "
            "     names AS (SELECT worker FROM c UNION SELECT worker FROM s) "
            "SELECT n.worker, coalesce(c.n, 0), coalesce(c.r, 0), coalesce(s.copying, 0), "
            "       s.worker IS NOT NULL "
            "FROM names n LEFT JOIN c USING (worker) LEFT JOIN s USING (worker) "
            "ORDER BY n.worker");
    if (!res)
        return -1;
    json_object *ws = json_object_new_array ();
    int connected = 0;
    int64_t copying = 0;
    for (int i = 0; i < PQntuples (res); i++) {
        json_object *w = json_object_new_object ();
        s_put_row (w, res, i, worker, S_COUNT (worker));
        copying += strtoll (PQgetvalue (res, i, 3), NULL, 10);
        bool on = PQgetvalue (res, i, 4)[0] == 't';
        connected += on;
        json_object_object_add (w, "connected", json_object_new_boolean (on));
        json_object_array_add (ws, w);
    }
    PQclear (res);
    json_object_object_add (s->out, "workers", ws);
    json_object_object_add (s->out, "workers_connected", json_object_new_int (connected));
    json_object *c = NULL;
    if (json_object_object_get_ex (s->out, "chunks", &c)) {
        int64_t waiting = s_get_int (c, "total") - s_get_int (c, "done") - s_get_int (c, "failed")
                        - copying;
        json_object_object_add (c, "in_flight", json_object_new_int64 (copying));
        json_object_object_add (c, "waiting", json_object_new_int64 (waiting > 0 ? waiting : 0));
    }
    res = s_query (s, "reading ferry.chunks",
            "SELECT chunk_id, last_error, worker, "
            "  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
            "FROM ferry.chunks WHERE run_id = $1 AND last_error IS NOT NULL AND last_error <> '' "
            /*  A chunk the run's own stop interrupted is an effect,
                not a cause: others first. */
            "ORDER BY last_error LIKE '[57014] %interrupted%', updated_at DESC, chunk_id DESC "
            "LIMIT 1");
    if (!res)
        return -1;
    if (PQntuples (res) == 1) {
        json_object *e = json_object_new_object ();
        s_put_row (e, res, 0, last_error, S_COUNT (last_error));
        json_object_object_add (s->out, "last_error", e);
    }
    else
        json_object_object_add (s->out, "last_error", NULL);
    PQclear (res);
    return 0;
}

/*  rows_expected, rows/s and ETA, from what was read. */
static void
s_figures (status_t *s)
{
    json_object *o = s->out;
    const char *status = s_get_str (o, "status");
    bool over = status && (strcmp (status, "published") == 0 || strcmp (status, "failed") == 0
                           || strcmp (status, "interrupted") == 0);
    json_object *src = NULL;
    bool exact = json_object_object_get_ex (o, "rows_source", &src) && src;
    int64_t expected = exact ? s_get_int (o, "rows_source") : s_get_int (o, "rows_planned");
    int64_t loaded = s_get_int (o, "rows_loaded");
    json_object_object_add (o, "rows_expected", json_object_new_int64 (expected));
    json_object_object_add (o, "rows_expected_exact", json_object_new_boolean (exact));
    json_object *el = NULL;
    json_object_object_get_ex (o, "elapsed_seconds", &el);
    double elapsed = el ? json_object_get_double (el) : 0;
    double rate = elapsed > 0 ? (double) loaded / elapsed : 0;
    jsonout_num (o, "rows_per_second", rate, 1);
    if (!over && rate > 0 && expected > loaded)
        jsonout_num (o, "eta_seconds", (double) (expected - loaded) / rate, 0);
    else if (!over && expected > 0 && loaded >= expected)
        jsonout_num (o, "eta_seconds", 0, 0);
    else
        json_object_object_add (o, "eta_seconds", NULL);
    json_object_object_add (o, "running", json_object_new_boolean (!over));
}

static void
s_print_text (status_t *s)
{
    json_object *o = s->out, *c = NULL, *ws = NULL, *e = NULL, *eta = NULL;
    json_object_object_get_ex (o, "chunks", &c);
    json_object_object_get_ex (o, "workers", &ws);
    json_object_object_get_ex (o, "last_error", &e);
    json_object_object_get_ex (o, "eta_seconds", &eta);
    const char *fin = s_get_str (o, "finished_at");
    printf ("ferry run %s: %s\n", s_get_str (o, "run_id"), s_get_str (o, "status"));
    printf ("  table         %s (publish %s)%s\n", s_get_str (o, "final_table"),
            s_get_str (o, "publish") ? s_get_str (o, "publish") : "?",
            json_object_get_boolean (json_object_object_get (o, "same_job")) ? ""
                : "  (not a run of this job file: the latest run on the target)");
    printf ("  started       %s; %s %s%s\n", s_get_str (o, "started_at"),
            fin ? "finished" : "running for", fin ? fin : json_object_get_string (
                json_object_object_get (o, "elapsed_seconds")), fin ? "" : " s");
    printf ("  chunks        %" PRId64 ": %" PRId64 " done, %" PRId64 " copying now, %" PRId64
            " waiting, %" PRId64 " failed, %" PRId64 " retried\n", s_get_int (c, "total"),
            s_get_int (c, "done"), s_get_int (c, "in_flight"), s_get_int (c, "waiting"),
            s_get_int (c, "failed"), s_get_int (c, "retried"));
    printf ("  rows          %" PRId64 " loaded of %s%" PRId64 "%s, %" PRId64 " rejected\n",
            s_get_int (o, "rows_loaded"),
            json_object_get_boolean (json_object_object_get (o, "rows_expected_exact")) ? ""
                : "", s_get_int (o, "rows_expected"),
            json_object_get_boolean (json_object_object_get (o, "rows_expected_exact"))
                ? "" : " (by the plan: counted, or estimated for ctid splits and "
                       "--sequential)", s_get_int (o, "rows_rejected"));
    printf ("  rate          %s rows/s; ETA %s%s\n",
            json_object_get_string (json_object_object_get (o, "rows_per_second")),
            eta ? json_object_get_string (eta) : "--", eta ? " s" : "");
    printf ("  workers       %d connected now\n",
            json_object_get_int (json_object_object_get (o, "workers_connected")));
    for (size_t i = 0; ws && i < json_object_array_length (ws); i++) {
        json_object *w = json_object_array_get_idx (ws, i);
        printf ("    %-20s %5" PRId64 " chunk(s) committed, %12" PRId64 " rows, %" PRId64
                " copying now%s\n", s_get_str (w, "name"), s_get_int (w, "chunks_committed"),
                s_get_int (w, "rows"), s_get_int (w, "chunks_in_flight"),
                json_object_get_boolean (json_object_object_get (w, "connected"))
                    ? ", connected" : "");
    }
    if (e)
        printf ("  last error    chunk %" PRId64 " on %s at %s: %s\n", s_get_int (e, "chunk"),
                s_get_str (e, "worker") ? s_get_str (e, "worker") : "?", s_get_str (e, "at"),
                s_get_str (e, "message"));
    if (s_get_str (o, "message"))
        printf ("  message       %s\n", s_get_str (o, "message"));
}

int
cmd_status_main (int argc, char **argv)
{
    static struct option opts[] = { CMD_OPT_HELP, CMD_OPT_JOB, CMD_OPT_JSON, CMD_OPT_END };
    const char *job = NULL;
    bool as_json = false;
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': s_usage (stdout); return EXIT_CODE_OK;
        case 'j': job = optarg; break;
        case 'J': as_json = true; break;
        default:
            fprintf (stderr, "Try 'ferry-coordinator status --help'.\n");
            return EXIT_CODE_USAGE;
        }
    }
    if (argc - optind > 1 || !job) {
        fprintf (stderr, "ferry-coordinator status: expected [RUN_ID] --job JOB.yaml\n"
                 "Try 'ferry-coordinator status --help'.\n");
        return EXIT_CODE_USAGE;
    }
    const char *run_id = argc - optind == 1 ? argv[optind] : NULL;
    char err[2048];
    config_t *cfg = config_load (job, err, sizeof err);
    if (!cfg) {
        log_error ("%s", err);
        return EXIT_CODE_BAD_CONFIG;
    }
    jobprint_t print;
    jobprint_compute (cfg, &print);
    status_t s = { .conn = pg_conn_new (cfg->target.conninfo, "target"),
                   .out = json_object_new_object () };
    pg_conn_set_timeouts (s.conn, cfg->target.connect_timeout, cfg->target.statement_timeout);
    int exit_code = EXIT_CODE_FAILED;
    if (pg_connect (s.conn, NULL, NULL) != 0) {
        const pg_error_t *e = pg_conn_error (s.conn);
        log_error_ctx (-1, e->sqlstate, "%s [%s]", e->message, e->sqlstate);
        exit_code = EXIT_CODE_TARGET;
        goto out;
    }
    /*  One snapshot for every figure (pg_stat_activity apart). */
    if (pg_exec (s.conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) {
        s_fail_query (&s, "BEGIN");
        goto out;
    }
    int rc = s_read_run (&s, run_id, print.hash);
    if (rc == 1) {
        if (run_id)
            log_error ("no run %s on the target (ferry.runs)", run_id);
        else
            log_error ("no run is recorded on the target (ferry.runs is empty)");
        goto out;
    }
    if (rc != 0 || s_read_chunks (&s) != 0 || s_read_workers (&s) != 0)
        goto out;
    s_figures (&s);
    if (as_json)
        printf ("%s\n", json_object_to_json_string_ext (s.out, JSON_C_TO_STRING_SPACED
                                                               | JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        s_print_text (&s);
    exit_code = EXIT_CODE_OK;
out:
    if (s.conn && pg_is_connected (s.conn))
        pg_rollback (s.conn);
    json_object_put (s.out);
    free (s.run_id);
    pg_conn_destroy (&s.conn);
    config_destroy (&cfg);
    return exit_code;
}
