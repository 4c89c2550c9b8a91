/*  coordinator/cmd_history.c: ferry-coordinator history, the runs a
    target's ferry.runs holds, newest first, with their figures (from each
    run's stored report): start, run id, status, rows, wall, rows/s, chunks
    (retried), rejects, the concurrency chosen, speedup where known, the
    alerts raised, and the job's fingerprint (short). With --job, only that
    job's runs, and its baseline (coordinator/baseline.h) and the last
    sequential baseline `tune` measured for it. Runs made by `tune` are
    left out unless --all. Reads only: never creates or alters anything. */
#include "baseline.h"
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage: ferry-coordinator history [--job JOB.yaml | --target CONNINFO] [--last N]\n"
"                                 [--all] [--json]\n"
"\n"
"Lists the runs recorded in the target's ferry.runs, newest first: start (UTC),\n"
"run id, status, rows loaded, wall seconds, rows/s, chunks (retried), rejected\n"
"records, the concurrency chosen (auto/pinned/seq and the most chunks in\n"
"flight), speedup against the job's sequential run where known, alerts raised,\n"
"and the job's fingerprint (short).\n"
"\n"
"  --job FILE        only this job's runs (same fingerprint), and its baseline:\n"
"                    the median wall and rows/s of its last 5 published runs\n"
"                    (the target is the job file's target.conninfo)\n"
"  --target CONNINFO the target to read (default: FERRY_TARGET_DSN)\n"
"  --last N          at most N runs (default 20)\n"
"  --all             also the runs `tune` made (kind tune)\n"
"  --json            one JSON document instead of the table\n"
"  -h, --help        this help\n"
"\n"
"Exit status: 0 listed, 2 usage, 3 bad job file, 5 target unreachable,\n"
"1 cannot read ferry.runs.\n");
}

/*  The short form of the report's concurrency_mode and slots_used. */
static void
s_concurrency (const char *mode, const char *used, char *out, size_t size)
{
    const char *m = !mode || !*mode ? "-" : strncmp (mode, "auto", 4) == 0 ? "auto"
                  : strncmp (mode, "pinned", 6) == 0 ? "pinned"
                  : strncmp (mode, "--sequential", 12) == 0 ? "seq" : "?";
    if (used && *used)
        snprintf (out, size, "%s %s", m, used);
    else
        snprintf (out, size, "%s", m);
}

static const char *
s_or (const char *v, const char *dflt)
{
    return v && *v ? v : dflt;
}

/*  The JSON members job_hash (hash, or null), baseline and tune_baseline
    (null: none known). */
static void
s_put_baselines (json_object *doc, const char *hash, json_object *baseline,
                 json_object *tuned)
{
    jsonout_str (doc, "job_hash", hash);
    json_object_object_add (doc, "baseline", baseline);
    json_object_object_add (doc, "tune_baseline", tuned);
}

/*  The job's baseline and tune's last one: as text on out, or as JSON
    members of doc when doc is not NULL. */
static int
s_baselines (pg_conn_t *c, const char *hash, json_object *doc, FILE *out)
{
    alerts_baseline_t b;
    if (baseline_median (c, hash, NULL, &b) != 0)
        return -1;
    const char *params[1] = { hash };
    PGresult *res = NULL;
    if (pg_exec_params (c, "SELECT run_id, rows, wall_seconds, rows_per_second, "
                        "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
                        "FROM ferry.baselines WHERE job_hash = $1 AND source = 'tune' "
                        "ORDER BY recorded_at DESC LIMIT 1", 1, params, &res) != 0)
        return -1;
    bool tuned = PQntuples (res) == 1;
    if (doc) {
        json_object *t = NULL;
        if (tuned) {
            /*  The figures as the server printed them. */
            t = json_object_new_object ();
            jsonout_str (t, "run_id", PQgetvalue (res, 0, 0));
            jsonout_int (t, "rows", strtoll (PQgetvalue (res, 0, 1), NULL, 10));
            json_object_object_add (t, "wall_seconds", json_object_new_double_s (
                                    strtod (PQgetvalue (res, 0, 2), NULL), PQgetvalue (res, 0, 2)));
            json_object_object_add (t, "rows_per_second", json_object_new_double_s (
                                    strtod (PQgetvalue (res, 0, 3), NULL), PQgetvalue (res, 0, 3)));
            jsonout_str (t, "recorded_at", PQgetvalue (res, 0, 4));
        }
        s_put_baselines (doc, hash, jsonout_parsed (alerts_baseline_json (&b)), t);
    }
    else {
        if (b.runs > 0)
            fprintf (out, "job %s baseline: %.2f s, %.0f rows/s (median of the last %d "
                     "published run(s))\n", hash, b.wall_seconds, b.rows_per_second, b.runs);
        else
            fprintf (out, "job %s baseline: none yet (no published run of this job)\n", hash);
        if (tuned)
            fprintf (out, "tune's sequential baseline (%s UTC, run %s): %s rows in %.2f s, "
                     "%.0f rows/s\n", PQgetvalue (res, 0, 4), PQgetvalue (res, 0, 0),
                     PQgetvalue (res, 0, 1), strtod (PQgetvalue (res, 0, 2), NULL),
                     strtod (PQgetvalue (res, 0, 3), NULL));
        fputc ('\n', out);
    }
    PQclear (res);
    return 0;
}

#define S_QUERY(FROM) \
    "SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), run_id, status, " \
    "       coalesce(rows_loaded, 0), report->>'wall_seconds', report->>'rows_per_second', " \
    "       coalesce(chunks_total, 0), report->>'chunks_retried', report->>'rows_rejected', " \
    "       report->>'concurrency_mode', report->>'slots_used', report->>'speedup', " \
    "       coalesce(jsonb_array_length(CASE jsonb_typeof(report->'alerts') " \
    "                WHEN 'array' THEN report->'alerts' END), 0), " \
    "       coalesce(left(job_hash, 8), '-'), kind, " \
    "       jsonb_build_object('started_at', started_at, 'finished_at', finished_at, " \
    "         'run_id', run_id, 'status', status, 'kind', kind, 'job_hash', job_hash, " \
    "         'rows_loaded', rows_loaded, 'wall_seconds', report->'wall_seconds', " \
    "         'rows_per_second', report->'rows_per_second', 'chunks_total', chunks_total, " \
    "         'chunks_retried', report->'chunks_retried', 'rows_rejected', report->'rows_rejected', " \
    "         'concurrency_mode', report->'concurrency_mode', 'slots_used', report->'slots_used', " \
    "         'sequential', report->'sequential', 'speedup', report->'speedup', " \
    "         'alerts', coalesce(CASE jsonb_typeof(report->'alerts') WHEN 'array' " \
    "                             THEN report->'alerts' END, '[]'::jsonb), " \
    "         'message', message)::text " \
    "FROM " FROM " WHERE ($1 = '' OR job_hash = $1) AND ($2::bool OR kind = 'run') " \
    "ORDER BY started_at DESC LIMIT $3::int"


/*  The runs: as a table on out, or as the JSON member runs of doc when
    doc is not NULL. */
static int
s_list (pg_conn_t *c, const char *hash, bool all, int64_t last, json_object *doc, FILE *out)
{
    /*  A ferry.runs from before issue 14 has no kind: all its runs are
        loads. */
    char *has_kind = NULL;
    if (pg_query_value (c, "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
                        "to_regclass('ferry.runs') AND attname = 'kind' AND NOT attisdropped)",
                        0, NULL, &has_kind) != 0)
        return -1;
    const char *sql = has_kind && has_kind[0] == 't'
        ? S_QUERY ("ferry.runs")
        : S_QUERY ("(SELECT r.*, 'run'::text AS kind FROM ferry.runs r) AS runs");
    free (has_kind);
    char lim[32];
    snprintf (lim, sizeof lim, "%" PRId64, last);
    const char *params[3] = { hash ? hash : "", all ? "true" : "false", lim };
    PGresult *res = NULL;
    int rc = pg_exec_params (c, sql, 3, params, &res);
    if (rc != 0)
        return -1;
    int n = PQntuples (res);
    if (doc) {
        json_object *runs = json_object_new_array ();
        for (int i = 0; i < n; i++)
            json_object_array_add (runs, json_tokener_parse (PQgetvalue (res, i, 15)));
        json_object_object_add (doc, "runs", runs);
    }
    else if (n == 0)
        fprintf (out, "no runs%s\n", hash ? " of this job" : "");
    else {
        fprintf (out, "%-19s  %-28s %-11s %10s %8s %9s %10s %7s %-10s %7s %6s %-8s\n",
                 "started (UTC)", "run id", "status", "rows", "wall s", "rows/s",
                 "chunks(r)", "rejects", "conc.", "speedup", "alerts", "job");
        for (int i = 0; i < n; i++) {
            char chunks[32], conc[32], speed[16], rps[16], wall[16];
            snprintf (chunks, sizeof chunks, "%s(%s)", PQgetvalue (res, i, 6),
                      s_or (PQgetvalue (res, i, 7), "0"));
            s_concurrency (PQgetvalue (res, i, 9), PQgetvalue (res, i, 10), conc, sizeof conc);
            const char *sp = PQgetvalue (res, i, 11);
            if (*sp)
                snprintf (speed, sizeof speed, "%.2fx", strtod (sp, NULL));
            else
                snprintf (speed, sizeof speed, "-");
            const char *r = PQgetvalue (res, i, 5), *w = PQgetvalue (res, i, 4);
            snprintf (rps, sizeof rps, *r ? "%.0f" : "-", *r ? strtod (r, NULL) : 0);
            snprintf (wall, sizeof wall, *w ? "%.2f" : "-", *w ? strtod (w, NULL) : 0);
            bool tune = strcmp (PQgetvalue (res, i, 14), "tune") == 0;
            char status[24];
            snprintf (status, sizeof status, "%s%s", PQgetvalue (res, i, 2), tune ? "*" : "");
            fprintf (out, "%-19s  %-28s %-11s %10s %8s %9s %10s %7s %-10s %7s %6s %-8s\n",
                     PQgetvalue (res, i, 0), PQgetvalue (res, i, 1), status,
                     PQgetvalue (res, i, 3), wall, rps, chunks,
                     s_or (PQgetvalue (res, i, 8), "-"), conc, speed, PQgetvalue (res, i, 12),
                     PQgetvalue (res, i, 13));
        }
        if (all)
            fprintf (out, "(* a measurement by tune, into a scratch table)\n");
    }
    PQclear (res);
    return 0;
}

int
cmd_history_main (int argc, char **argv)
{
    static struct option opts[] = {
        CMD_OPT_HELP, CMD_OPT_JOB, CMD_OPT_JSON,
        { "target", required_argument, NULL, 't' }, { "last", required_argument, NULL, 'n' },
        { "all", no_argument, NULL, 'a' }, CMD_OPT_END
    };
    const char *job = NULL, *target = NULL;
    int64_t last = 20;
    bool json = false, all = false;
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': s_usage (stdout); return EXIT_CODE_OK;
        case 'j': job = optarg; break;
        case 't': target = optarg; break;
        case 'a': all = true; break;
        case 'J': json = true; break;
        case 'n':
            if (util_parse_int64 (optarg, 1, 100000, &last) != 0) {
                fprintf (stderr, "ferry-coordinator history: --last: expected 1..100000, got "
                         "'%s'\n", optarg);
                return EXIT_CODE_USAGE;
            }
            break;
        default:
            fprintf (stderr, "Try 'ferry-coordinator history --help'.\n");
            return EXIT_CODE_USAGE;
        }
    }
    if (optind != argc || (job && target)) {
        fprintf (stderr, "ferry-coordinator history: %s\nTry 'ferry-coordinator history "
                 "--help'.\n", optind != argc ? "unexpected argument" : "give --job or --target, "
                 "not both");
        return EXIT_CODE_USAGE;
    }
    config_t *cfg = NULL;
    jobprint_t print;
    if (job) {
        char err[2048];
        cfg = config_load (job, err, sizeof err);
        if (!cfg) {
            log_error ("%s", err);
            return EXIT_CODE_BAD_CONFIG;
        }
        jobprint_compute (cfg, &print);
        target = cfg->target.conninfo;
    }
    else if (!target)
        target = getenv ("FERRY_TARGET_DSN");
    if (!target) {
        fprintf (stderr, "ferry-coordinator history: which target? give --job JOB.yaml, "
                 "--target CONNINFO or FERRY_TARGET_DSN\n");
        return EXIT_CODE_USAGE;
    }
    int rc = EXIT_CODE_FAILED;
    json_object *doc = json ? json_object_new_object () : NULL;
    pg_conn_t *conn = pg_conn_new (target, "target");
    pg_conn_set_application_name (conn, "ferry/history");
    if (pg_connect (conn, NULL, NULL) != 0) {
        log_error ("target: cannot connect: %s", pg_conn_error (conn)->message);
        rc = EXIT_CODE_TARGET;
        goto out;
    }
    char *exists = NULL;
    if (pg_query_value (conn, "SELECT to_regclass('ferry.runs') IS NOT NULL AND "
                        "to_regclass('ferry.baselines') IS NOT NULL", 0, NULL, &exists) != 0) {
        log_error ("target: cannot look for ferry.runs: %s", pg_conn_error (conn)->message);
        goto out;
    }
    bool have = exists && exists[0] == 't';
    free (exists);
    if (!have) {
        /*  Nothing recorded yet, or by a ferry from before history: no
            baselines to read. Say so instead of failing. */
        char *runs = NULL;
        pg_query_value (conn, "SELECT to_regclass('ferry.runs') IS NOT NULL", 0, NULL, &runs);
        bool any = runs && runs[0] == 't';
        free (runs);
        if (!any) {
            if (doc) {
                s_put_baselines (doc, job ? print.hash : NULL, NULL, NULL);
                json_object_object_add (doc, "runs", json_object_new_array ());
            }
            else
                printf ("no runs: the target has no ferry.runs (ferry never ran against it)\n");
            rc = EXIT_CODE_OK;
            goto out;
        }
    }
    if (job && have && s_baselines (conn, print.hash, doc, stdout) != 0) {
        log_error ("target: reading the job's baseline: %s", pg_conn_error (conn)->message);
        goto out;
    }
    if (doc && (!job || !have))
        s_put_baselines (doc, job ? print.hash : NULL, NULL, NULL);
    if (s_list (conn, job ? print.hash : NULL, all, last, doc, stdout) != 0) {
        log_error ("target: reading ferry.runs: %s", pg_conn_error (conn)->message);
        goto out;
    }
    rc = EXIT_CODE_OK;
out:
    if (doc && rc == EXIT_CODE_OK) {
        char *text = jsonout_finish (doc, 1);
        fputs (text, stdout);
        free (text);
    }
    else if (doc)
        json_object_put (doc);
    fflush (stdout);
    pg_conn_destroy (&conn);
    config_destroy (&cfg);
    return rc;
}
