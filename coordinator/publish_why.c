/*  coordinator/publish_why.c: see publish_why.h. */
#include "publish_why.h"
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Appends to out (NUL-terminated, never overflows). */
static void
s_append (char *out, size_t outlen, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_append (char *out, size_t outlen, const char *format, ...)
{
    size_t n = strnlen (out, outlen);
    if (n + 1 >= outlen)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (out + n, outlen - n, format, args);
    va_end (args);
}

static const char *
s_job (const char *job_file)
{
    return job_file ? job_file : "JOB.yaml";
}

void
publish_why_lock (pg_conn_t *c, const char *final_table, const char *staging,
                  double lock_timeout, char *out, size_t outlen)
{
    snprintf (out, outlen, "no lock was granted within target.lock_timeout (%gs)", lock_timeout);
    if (!c)
        return;
    /*  The publish has rolled back, so it waits for nothing any more:
        pg_blocking_pids() can no longer tell. The sessions that can block
        it are those holding a lock on the final table stronger than ACCESS
        SHARE (which conflicts with SHARE ROW EXCLUSIVE, or is the ROW SHARE
        of a SELECT FOR UPDATE holding rows the statement must update), or
        any lock on staging (DROP TABLE needs ACCESS EXCLUSIVE). */
    const char *params[2] = { final_table, staging };
    PGresult *res = NULL;
    if (pg_exec_params (c,
            "SELECT l.pid::text, coalesce(a.application_name, ''), coalesce(a.state, ''), l.mode, "
            "       l.relation::regclass::text, "
            "       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 120) "
            "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'relation' AND l.granted "
            "  AND l.pid IS DISTINCT FROM pg_backend_pid() "
            "  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "  AND ((l.relation = to_regclass($1) AND l.mode <> 'AccessShareLock') "
            "       OR l.relation = to_regclass($2)) "
            "ORDER BY l.pid LIMIT 5", 2, params, &res) != 0) {
        s_append (out, outlen, " (the lock holders could not be listed: [%s] %s)",
                  pg_conn_error (c)->sqlstate, pg_conn_error (c)->message);
        return;
    }
    int n = PQntuples (res);
    if (n == 0)
        s_append (out, outlen, "; no other session holds a lock on %s or staging now "
                  "(the holder has finished)", final_table);
    for (int i = 0; i < n; i++) {
        if (PQgetisnull (res, i, 0))
            s_append (out, outlen, "%s a prepared transaction (pg_prepared_xacts) holds %s on %s",
                      i ? ";" : "; held by:", PQgetvalue (res, i, 3), PQgetvalue (res, i, 4));
        else
            s_append (out, outlen, "%s pid %s (application_name '%s', %s, %s on %s, query '%s')",
                      i ? ";" : "; held by:", PQgetvalue (res, i, 0), PQgetvalue (res, i, 1),
                      PQgetvalue (res, i, 2), PQgetvalue (res, i, 3), PQgetvalue (res, i, 4),
                      PQgetvalue (res, i, 5));
    }
    PQclear (res);
}

void
publish_why_cancel (pg_conn_t *c, char *out, size_t outlen)
{
    snprintf (out, outlen, "the statement was cancelled (statement_timeout, or another "
              "session's pg_cancel_backend)");
    char *timeout = NULL;
    /*  The publish ran under the server's setting (SET LOCAL ... TO
        DEFAULT), not the session's target.statement_timeout: ask for
        that one the same way. */
    if (!c || pg_exec (c, "BEGIN") != 0)
        return;
    int rc = pg_exec (c, "SET LOCAL statement_timeout TO DEFAULT");
    if (rc == 0)
        rc = pg_query_value (c, "SELECT current_setting('statement_timeout')", 0, NULL, &timeout);
    pg_rollback (c);
    if (rc != 0 || !timeout) {
        free (timeout);
        return;
    }
    if (strcmp (timeout, "0") == 0)
        snprintf (out, outlen, "statement_timeout is off in this session, so another session "
                  "cancelled the statement (pg_cancel_backend)");
    else
        snprintf (out, outlen, "the target's statement_timeout (%s for the coordinator's "
                  "session, from postgresql.conf, ALTER ROLE or ALTER DATABASE ... SET "
                  "statement_timeout) cancelled it; publishing takes as long as writing every "
                  "staged row into the final table: raise it or set it to 0 for the role ferry "
                  "connects as", timeout);
    free (timeout);
}

/*  The loss query on a connection. Returns 1 lost, 0 not, -1 error. */
static int
s_loss (pg_conn_t *c, const char *run_id, const char *staging, publish_loss_t *loss)
{
    memset (loss, 0, sizeof *loss);
    char *q = util_strdupf (
        "SELECT (SELECT count(*) FROM %s), count(*), coalesce(sum(rows), 0), "
        "       count(*) FILTER (WHERE committed_at < pg_postmaster_start_time()), "
        "       coalesce(sum(rows) FILTER (WHERE committed_at < pg_postmaster_start_time()), 0), "
        "       to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', "
        "               'YYYY-MM-DD HH24:MI:SS \"UTC\"') "
        "FROM ferry.chunk_commits WHERE run_id = $1 AND committed_at IS NOT NULL", staging);
    const char *params[1] = { run_id };
    PGresult *res = NULL;
    int rc = pg_exec_params (c, q, 1, params, &res);
    free (q);
    if (rc != 0)
        return -1;
    loss->staged = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    loss->ledger_chunks = strtoll (PQgetvalue (res, 0, 1), NULL, 10);
    loss->ledger_rows = strtoll (PQgetvalue (res, 0, 2), NULL, 10);
    loss->before_chunks = strtoll (PQgetvalue (res, 0, 3), NULL, 10);
    loss->before_rows = strtoll (PQgetvalue (res, 0, 4), NULL, 10);
    snprintf (loss->started_at, sizeof loss->started_at, "%s", PQgetvalue (res, 0, 5));
    PQclear (res);
    loss->restart_explains = loss->before_chunks > 0
                          && loss->staged == loss->ledger_rows - loss->before_rows;
    return loss->staged < loss->ledger_rows;
}

int
publish_why_staging_lost (ledger_t *ledger, const char *run_id, const char *staging,
                          publish_loss_t *loss, ferr_t *err)
{
    pg_conn_t *c = ledger_conn (ledger);
    if (!c)
        return -1;      /* logged */
    int rc = s_loss (c, run_id, staging, loss);
    if (rc < 0) {
        pg_ferr (c, err, NULL);
        ferr_prefix (err, "counting staging %s against the ledger", staging);
    }
    return rc;
}

void
publish_why_loss_message (const publish_loss_t *loss, const char *staging, const char *run_id,
                          const char *job_file, char *out, size_t outlen)
{
    if (loss->restart_explains)
        snprintf (out, outlen, "staging %s holds %lld rows but the ledger accounts for %lld "
                  "committed rows: the staged rows of the %lld chunk(s) committed before the "
                  "target's restart at %s (%lld rows) were lost with it (crash recovery empties "
                  "UNLOGGED tables, and staging is one); nothing was published. Load them again "
                  "with: ferry-coordinator resume %s --job %s", staging, (long long) loss->staged,
                  (long long) loss->ledger_rows, (long long) loss->before_chunks,
                  loss->started_at, (long long) loss->before_rows, run_id, s_job (job_file));
    else
        snprintf (out, outlen, "staging %s holds %lld rows but the ledger accounts for %lld "
                  "committed rows: staged rows were lost (a crash of the target empties "
                  "UNLOGGED tables such as staging; or rows were deleted from it); nothing was "
                  "published. Load them again with: ferry-coordinator resume %s --job %s",
                  staging, (long long) loss->staged, (long long) loss->ledger_rows, run_id,
                  s_job (job_file));
}

/*  "X, Y" of the final table's user triggers (enabled, not internal) into
    out; returns how many. */
static int
s_triggers (pg_conn_t *c, const char *final_table, char *out, size_t outlen)
{
    out[0] = 0;
    const char *params[1] = { final_table };
    PGresult *res = NULL;
    if (pg_exec_params (c, "SELECT quote_ident(tgname) FROM pg_trigger WHERE tgrelid = "
                        "to_regclass($1) AND NOT tgisinternal AND tgenabled <> 'D' "
                        "ORDER BY tgname", 1, params, &res) != 0)
        return 0;
    int n = PQntuples (res);
    for (int i = 0; i < n; i++)
        s_append (out, outlen, "%s%s", i ? ", " : "", PQgetvalue (res, i, 0));
    PQclear (res);
    return n;
}

void
publish_why_count (pg_conn_t *c, const char *final_table, const char *staging,
                   const char *run_id, const char *job_file, int64_t expected,
                   int64_t written, int64_t counted, ferr_t *err)
{
    publish_loss_t loss;
    int lost = c ? s_loss (c, run_id, staging, &loss) : -1;
    if (lost < 0 || loss.ledger_rows != expected) {
        /*  Cannot look (or the ledger moved under us): say what was seen. */
        ferr_set (err, NULL, false, "staging %s held %lld rows but the ledger accounts for %lld; "
                  "rolled back, nothing was published", staging,
                  (long long) (written >= 0 ? written : counted), (long long) expected);
        return;
    }
    if (lost) {
        char text[FERR_MESSAGE_SIZE];
        publish_why_loss_message (&loss, staging, run_id, job_file, text, sizeof text);
        ferr_set (err, NULL, false, "%s", text);
        return;
    }
    if (loss.staged > expected) {
        ferr_set (err, NULL, false, "staging %s holds %lld rows but the ledger accounts for %lld: "
                  "rows were added to staging by something other than this run; nothing was "
                  "published (staging kept: inspect it, then drop it and start a new run)",
                  staging, (long long) loss.staged, (long long) expected);
        return;
    }
    /*  Staging is complete: the statement itself wrote another number. */
    char triggers[512];
    int n = s_triggers (c, final_table, triggers, sizeof triggers);
    if (n > 0)
        ferr_set (err, NULL, false, "publishing wrote %lld of the %lld rows of staging %s into %s: "
                  "table %s has trigger(s) %s: a BEFORE trigger that returns NULL skips rows; "
                  "rolled back, nothing was published (staging kept). Disable it for the load "
                  "(ALTER TABLE %s DISABLE TRIGGER name) or make it keep every row, then: "
                  "ferry-coordinator resume %s --job %s", (long long) written,
                  (long long) expected, staging, final_table, final_table, triggers, final_table,
                  run_id, s_job (job_file));
    else
        ferr_set (err, NULL, false, "publishing wrote %lld of the %lld rows of staging %s into %s, "
                  "which has no trigger to explain it (a rule on the table?); rolled back, "
                  "nothing was published (staging kept)", (long long) written,
                  (long long) expected, staging, final_table);
}

int
publish_why_nothing_loaded (ledger_t *ledger, const char *run_id, int64_t loaded,
                            int64_t rejected, ferr_t *err)
{
    if (loaded > 0 || rejected <= 0)
        return 0;
    ferr_set (err, NULL, false, "source: all %lld record(s) were rejected and none loaded: the file "
              "does not match the job (check source.format: delimiter, quote, header; "
              "source.format.encoding; source.columns against the file's columns)",
              (long long) rejected);
    pg_conn_t *c = ledger_conn (ledger);
    const char *params[1] = { run_id };
    PGresult *res = NULL;
    if (c && pg_exec_params (c, "SELECT file, line, left(reason, 160) FROM ferry.rejects "
                             "WHERE run_id = $1 ORDER BY file, line LIMIT 3", 1, params,
                             &res) == 0) {
        for (int i = 0; i < PQntuples (res); i++)
            ferr_append (err, "%s%s:%s: %s", i ? "; " : "; first rejects: ",
                      PQgetvalue (res, i, 0), PQgetvalue (res, i, 1), PQgetvalue (res, i, 2));
        PQclear (res);
    }
    ferr_append (err, "; all in ferry.rejects (run %s); nothing was published", run_id);
    return -1;
}
