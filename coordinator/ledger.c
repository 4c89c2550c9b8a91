/*  coordinator/ledger.c: see ledger.h. */
#include "ledger.h"
#include "ledger_int.h"
#include "log.h"
#include "schema.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ledger_t *
ledger_new (const char *conninfo, const retry_policy_t *policy, volatile int *stop)
{
    ledger_t *self = xcalloc (1, sizeof *self);
    self->conn = pg_conn_new (conninfo, "target");
    self->policy = *policy;
    self->stop = stop;
    return self;
}

void
ledger_destroy (ledger_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        ledger_t *self = *self_p;
        pg_conn_destroy (&self->conn);
        free (self);
        *self_p = NULL;
    }
}

void
ledger_log_error (ledger_t *self, const char *what)
{
    ferr_t e;
    pg_ferr (self->conn, &e, what);
    log_error_ctx (-1, e.sqlstate, "target: %s", e.message);
}

/*  After a reconnect: a crash of the target (or of one of its backends,
    which resets the server) ends every connection, and may have undone
    chunk commits not yet on disk (verify.h, verify_lost_commits). Any
    reconnect counts; a new pg_postmaster_start_time() is also logged. */
static void
s_note_reconnect (ledger_t *self)
{
    if (self->connected_once)
        self->reconnected_ms = util_now_ms ();
    self->connected_once = true;
    char *started = NULL;
    if (pg_query_value (self->conn, "SELECT pg_postmaster_start_time()::text", 0, NULL,
                        &started) != 0 || !started) {
        free (started);
        return;     /* the next statement meets the same trouble and says so */
    }
    if (self->started[0] && strcmp (self->started, started) != 0)
        log_warn ("target: the server restarted (up since %s, before since %s); chunk commits "
                  "it had not yet written to disk are checked again", started, self->started);
    snprintf (self->started, sizeof self->started, "%s", started);
    free (started);
}

void
ledger_connect_begin (ledger_t *self, const char *run_id)
{
    char *app = util_strdupf ("ferry/%s/coordinator-ledger", run_id);
    pg_conn_set_application_name (self->conn, app);
    free (app);
    pg_connect_begin (self->conn);
}

pg_conn_t *
ledger_conn (ledger_t *self)
{
    /*  The first connect goes through pg_connect (after a
        ledger_connect_begin too), so that it is noted. */
    if (self->connected_once && pg_is_connected (self->conn))
        return self->conn;
    if (pg_connect (self->conn, &self->policy, self->stop) != 0) {
        ledger_log_error (self, "connect");
        return NULL;
    }
    s_note_reconnect (self);
    return self->conn;
}

int64_t
ledger_reconnected_ms (ledger_t *self)
{
    return self->reconnected_ms;
}

int
ledger_exec (ledger_t *self, const char *what, const char *sql, int n,
             const char *const *params, PGresult **res_p)
{
    for (int tries = 0; tries < 2; tries++) {
        pg_conn_t *c = ledger_conn (self);
        if (!c)
            return -1;      /* logged */
        if (pg_exec_params (c, sql, n, params, res_p) == 0)
            return 0;
        if (!pg_conn_error (c)->retryable || pg_is_connected (c))
            break;
    }
    if (what)
        ledger_log_error (self, what);
    return -1;
}

int
ledger_begin_run (ledger_t *self, const char *run_id, const char *final_table,
                  const char *staging, const char *publish, const char *split,
                  const char *job_hash, const char *job_keys)
{
    pg_conn_t *c = ledger_conn (self);
    if (!c)
        return -1;
    if (schema_ensure (c) != 0) {
        ledger_log_error (self, "creating schema ferry");
        return -1;
    }
    /*  A run that ferry-coordinator tune starts (coordinator/cmd_tune.c)
        carries FERRY_RUN_KIND=tune in its environment: it is recorded as a
        measurement, never as one of the job's published runs. */
    const char *kind = getenv ("FERRY_RUN_KIND");
    kind = kind && strcmp (kind, "tune") == 0 ? "tune" : "run";
    const char *params[8] = { run_id, final_table, staging, publish, job_hash, split, job_keys,
                              kind };
    PGresult *res = NULL;
    if (ledger_exec (self, "recording the run in ferry.runs",
                "INSERT INTO ferry.runs (run_id, status, final_table, staging_table, "
                "publish, job_hash, split, job_keys, kind) "
                "VALUES ($1, 'planning', $2, $3, $4, $5, $6, $7, $8) "
                "ON CONFLICT (run_id) DO NOTHING RETURNING run_id", 8, params, &res) != 0)
        return -1;
    int inserted = PQntuples (res);
    PQclear (res);
    if (!inserted) {
        log_error ("run id %s already exists in ferry.runs: choose another --run-id "
                   "(or resume that run)", run_id);
        return -1;
    }
    return 0;
}

/*  Runs `sql` (freed here), a query of one value about `table` (logged
    under its name on error). Returns the value (caller frees) or NULL. */
static char *
s_table_value (ledger_t *self, char *sql, const char *table)
{
    PGresult *res = NULL;
    int rc = ledger_exec (self, table, sql, 0, NULL, &res);
    free (sql);
    if (rc != 0)
        return NULL;
    char *value = xstrdup (PQgetvalue (res, 0, 0));
    PQclear (res);
    return value;
}

int
ledger_table_is_empty (ledger_t *self, const char *table, bool *empty)
{
    char *v = s_table_value (self, util_strdupf ("SELECT NOT EXISTS (SELECT 1 FROM %s)",
                                                 table), table);
    if (!v)
        return -1;
    *empty = v[0] == 't';
    free (v);
    return 0;
}

int
ledger_count (ledger_t *self, const char *table, int64_t *rows)
{
    char *v = s_table_value (self, util_strdupf ("SELECT count(*) FROM %s", table), table);
    if (!v)
        return -1;
    *rows = strtoll (v, NULL, 10);
    free (v);
    return 0;
}

int
ledger_end_run (ledger_t *self, const char *run_id, const char *status, const char *message,
                int64_t rows_source, int64_t rows_loaded, int64_t chunks_total,
                const char *report_json)
{
    char src[24], loaded[24], chunks[24];
    snprintf (src, sizeof src, "%" PRId64, rows_source);
    snprintf (loaded, sizeof loaded, "%" PRId64, rows_loaded);
    snprintf (chunks, sizeof chunks, "%" PRId64, chunks_total);
    const char *params[7] = { run_id, status, message, rows_source >= 0 ? src : NULL,
                              loaded, chunks, report_json };
    return ledger_exec (self, "recording the run's outcome in ferry.runs",
                        "UPDATE ferry.runs SET status = $2, message = $3, rows_source = $4, "
                        "rows_loaded = $5, chunks_total = $6, report = $7::jsonb, "
                        "finished_at = now() WHERE run_id = $1", 7, params, NULL);
}

int
ledger_set_status (ledger_t *self, const char *run_id, const char *status)
{
    const char *params[2] = { run_id, status };
    return ledger_exec (self, "updating ferry.runs",
                        "UPDATE ferry.runs SET status = $2 WHERE run_id = $1", 2, params, NULL);
}

/*  Runs a query of at most one row (ledger_exec, logged as `what`) and
    copies its first ncols values into out[] (malloc'd, NULL for SQL
    NULL; caller frees). Returns 1 (a row), 0 (none: out[] NULL), -1 on
    error. */
static int
s_one_row (ledger_t *self, const char *what, const char *sql, int n,
           const char *const *params, int ncols, char **out)
{
    for (int k = 0; k < ncols; k++)
        out[k] = NULL;
    PGresult *res = NULL;
    if (ledger_exec (self, what, sql, n, params, &res) != 0)
        return -1;
    int found = PQntuples (res) == 1;
    for (int k = 0; found && k < ncols; k++)
        out[k] = PQgetisnull (res, 0, k) ? NULL : xstrdup (PQgetvalue (res, 0, k));
    PQclear (res);
    return found;
}

int
ledger_load_run (ledger_t *self, const char *run_id, ledger_run_t *run)
{
    memset (run, 0, sizeof *run);
    pg_conn_t *c = ledger_conn (self);
    if (!c)
        return -1;
    char *exists = NULL;
    if (pg_query_value (c, "SELECT to_regclass('ferry.runs') IS NOT NULL", 0, NULL, &exists) != 0) {
        ledger_log_error (self, "looking for ferry.runs");
        return -1;
    }
    bool have = exists && exists[0] == 't';
    free (exists);
    if (!have)
        return 1;
    const char *params[1] = { run_id };
    /*  A ferry.runs from before the newer columns: schema_ensure adds them. */
    if (schema_ensure (c) != 0) {
        ledger_log_error (self, "updating schema ferry");
        return -1;
    }
    char *v[8];
    int found = s_one_row (self, "reading ferry.runs",
                           "SELECT status, staging_table, publish, coalesce(split, 'key'), "
                           "final_table, job_hash, job_keys, source_snapshot "
                           "FROM ferry.runs WHERE run_id = $1", 1, params, 8, v);
    if (found <= 0)
        return found < 0 ? -1 : 1;
    *run = (ledger_run_t) { .status = v[0], .staging = v[1], .publish = v[2], .split = v[3],
                            .final_table = v[4], .job_hash = v[5], .job_keys = v[6],
                            .source_snapshot = v[7] };
    if (!run->status || !run->publish) {
        ledger_run_free (run);
        return 1;
    }
    return 0;
}

void
ledger_run_free (ledger_run_t *run)
{
    free (run->status);
    free (run->staging);
    free (run->publish);
    free (run->split);
    free (run->final_table);
    free (run->job_hash);
    free (run->job_keys);
    free (run->source_snapshot);
    memset (run, 0, sizeof *run);
}

int
ledger_baseline (ledger_t *self, const char *job_hash, const char *run_id, char **run,
                 double *wall)
{
    const char *params[2] = { job_hash, run_id };
    char *v[2];
    int found = s_one_row (self, "looking for a sequential baseline in ferry.runs",
                           "SELECT run_id, (report->>'wall_seconds')::float8 FROM ferry.runs "
                           "WHERE job_hash = $1 AND run_id <> $2 AND status = 'published' "
                           "AND kind = 'run' AND report->>'sequential' = 'true' "
                           "AND report->>'wall_seconds' IS NOT NULL "
                           "ORDER BY finished_at DESC NULLS LAST LIMIT 1", 2, params, 2, v);
    *run = v[0];
    *wall = v[1] ? strtod (v[1], NULL) : 0;
    free (v[1]);
    return found < 0 ? -1 : 0;
}

int
ledger_set_source_snapshot (ledger_t *self, const char *run_id, const char *snapshot)
{
    const char *params[2] = { run_id, snapshot };
    return ledger_exec (self, "recording the source snapshot in ferry.runs",
                        "UPDATE ferry.runs SET source_snapshot = $2 WHERE run_id = $1",
                        2, params, NULL);
}

int
ledger_later_direct_run (ledger_t *self, const char *run_id, const char *final_table,
                         char **other)
{
    const char *params[2] = { run_id, final_table };
    int found = s_one_row (self, "looking for later direct runs in ferry.runs",
                           "SELECT o.run_id FROM ferry.runs r JOIN ferry.runs o "
                           "ON o.publish = 'direct' AND o.run_id <> r.run_id "
                           "AND to_regclass(o.final_table) = to_regclass($2) "
                           "AND o.started_at > r.started_at "
                           "WHERE r.run_id = $1 ORDER BY o.started_at LIMIT 1", 2, params, 1, other);
    return found < 0 ? -1 : 0;
}
