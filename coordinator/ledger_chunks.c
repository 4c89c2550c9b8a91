/*  coordinator/ledger_chunks.c: the run's plan and chunks in the ledger
    (ferry.chunks, ferry.chunk_commits, ferry.rejects): writing and loading
    the plan, each chunk's state, what committed, starting a load over, and
    ending a lost worker's backends. See ledger.h. */
#include "ledger.h"
#include "ledger_int.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Appends s as an element of a PostgreSQL array literal. */
static void
s_array_append (char **buf, size_t *len, size_t *cap, const char *s, bool first)
{
    size_t need = (s ? strlen (s) * 2 : 4) + 4;
    if (*len + need >= *cap) {
        *cap = (*len + need) * 2;
        *buf = xrealloc (*buf, *cap);
    }
    char *p = *buf + *len;
    if (!first)
        *p++ = ',';
    if (!s) {
        memcpy (p, "NULL", 4);
        p += 4;
    }
    else {
        *p++ = '"';
        for (; *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *len = (size_t) (p - *buf);
    (*buf)[*len] = 0;
}

/*  A PostgreSQL array literal "{...}" of the strings. Caller frees. */
static char *
s_array_literal (const char *const *items, size_t n)
{
    size_t len = 1, cap = 256;
    char *buf = xmalloc (cap);
    strcpy (buf, "{");
    for (size_t i = 0; i < n; i++)
        s_array_append (&buf, &len, &cap, items[i], i == 0);
    buf = xrealloc (buf, len + 2);
    strcpy (buf + len, "}");
    return buf;
}

int
ledger_write_plan (ledger_t *self, const char *run_id, chunktab_t *chunks)
{
    size_t n = chunktab_size (chunks);
    const char **col[7];
    char (*nums)[4][24] = xcalloc (n + 1, sizeof *nums);
    for (int k = 0; k < 7; k++)
        col[k] = xcalloc (n + 1, sizeof (char *));
    for (size_t i = 0; i < n; i++) {
        chunk_t *c = chunktab_get (chunks, (int64_t) i);
        col[0][i] = c->lo;
        col[1][i] = c->hi;
        snprintf (nums[i][0], sizeof nums[i][0], "%" PRId64, c->est_rows);
        col[2][i] = nums[i][0];
        col[3][i] = c->path;
        if (c->path) {
            snprintf (nums[i][1], sizeof nums[i][1], "%" PRId64, c->offset);
            snprintf (nums[i][2], sizeof nums[i][2], "%" PRId64, c->length);
            snprintf (nums[i][3], sizeof nums[i][3], "%" PRId64, c->first_line);
            col[4][i] = nums[i][1];
            col[5][i] = nums[i][2];
            col[6][i] = nums[i][3];
        }
    }
    char *lits[7];
    for (int k = 0; k < 7; k++)
        lits[k] = s_array_literal (col[k], n);
    const char *params[8] = { run_id, lits[0], lits[1], lits[2], lits[3], lits[4], lits[5], lits[6] };
    int rc = ledger_exec (self, "writing the plan to ferry.chunks",
        "INSERT INTO ferry.chunks (run_id, chunk_id, lo, hi, est_rows, path, byte_offset, "
        "byte_length, first_line) "
        "SELECT $1, u.ord - 1, u.lo, u.hi, u.est, u.path, u.off, u.len, u.line "
        "FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], "
        "$7::bigint[], $8::bigint[]) WITH ORDINALITY AS u(lo, hi, est, path, off, len, line, ord)",
        8, params, NULL);
    for (int k = 0; k < 7; k++) {
        free (lits[k]);
        free (col[k]);
    }
    free (nums);
    return rc;
}

static const char *
s_state_name (chunk_state_t s)
{
    switch (s) {
    case CHUNK_STATE_PLANNED: return "planned";
    case CHUNK_STATE_ASSIGNED: return "assigned";
    case CHUNK_STATE_DONE: return "done";
    default: return "failed";
    }
}

int
ledger_chunk_update (ledger_t *self, const char *run_id, const chunk_t *chunk, const char *worker)
{
    char id[24], attempts[16];
    snprintf (id, sizeof id, "%" PRId64, chunk->id);
    snprintf (attempts, sizeof attempts, "%d", chunk->tries);
    const char *params[6] = { run_id, id, s_state_name (chunk->state), attempts, worker,
                              chunk->last_error };
    /*  A mirror, written after every DONE: its commit must not wait for
        the WAL flush of the chunk commits before it (workers commit with
        synchronous_commit off), or the next ASSIGN waits for that flush.
        set_config(..., true) lasts for this statement's own transaction.
        run_durable flushes once every chunk is done. */
    if (ledger_exec (self, NULL, "WITH nosync AS (SELECT set_config('synchronous_commit', 'off', "
                "true)) UPDATE ferry.chunks SET status = $3, attempts = $4, worker = $5, "
                "last_error = $6, updated_at = now() FROM nosync WHERE run_id = $1 AND "
                "chunk_id = $2", 6, params, NULL) != 0) {
        ferr_t e;
        pg_ferr (self->conn, &e, NULL);
        log_warn_ctx (chunk->id, e.sqlstate, "target: recording chunk %" PRId64 " state: %s",
                      chunk->id, e.message);
        return -1;
    }
    return 0;
}

int
ledger_committed_rows (ledger_t *self, const char *run_id, size_t n, int64_t *rows_out,
                       int64_t *rejected_out)
{
    for (size_t i = 0; i < n; i++) {
        rows_out[i] = -1;
        if (rejected_out)
            rejected_out[i] = 0;
    }
    const char *params[1] = { run_id };
    PGresult *res = NULL;
    if (ledger_exec (self, "reading ferry.chunk_commits",
                "SELECT chunk_id, rows, rejected FROM ferry.chunk_commits "
                "WHERE run_id = $1 AND committed_at IS NOT NULL", 1, params, &res) != 0)
        return -1;
    for (int r = 0; r < PQntuples (res); r++) {
        long long id = strtoll (PQgetvalue (res, r, 0), NULL, 10);
        if (id >= 0 && (size_t) id < n) {
            rows_out[id] = strtoll (PQgetvalue (res, r, 1), NULL, 10);
            if (rejected_out)
                rejected_out[id] = strtoll (PQgetvalue (res, r, 2), NULL, 10);
        }
    }
    PQclear (res);
    return 0;
}

int
ledger_drop_unloaded (ledger_t *self, const char *run_id, const char *staging)
{
    pg_conn_t *c = ledger_conn (self);
    if (!c)
        return -1;
    const char *params[1] = { run_id };
    int rc = 0;
    if (staging) {
        char *sql = util_strdupf ("DROP TABLE IF EXISTS %s", staging);
        rc = pg_exec (c, sql);
        free (sql);
        if (rc != 0)
            ledger_log_error (self, "dropping the staging table");
    }
    if (ledger_exec (self, "deleting the run's plan", "DELETE FROM ferry.chunks WHERE run_id = $1",
                     1, params, NULL) != 0)
        rc = -1;
    return rc;
}

int
ledger_load_plan (ledger_t *self, const char *run_id, chunktab_t *chunks)
{
    const char *params[1] = { run_id };
    PGresult *res = NULL;
    if (ledger_exec (self, "reading the plan from ferry.chunks",
                "SELECT chunk_id, lo, hi, coalesce(est_rows, 0), path, byte_offset, "
                "byte_length, first_line FROM ferry.chunks "
                "WHERE run_id = $1 ORDER BY chunk_id", 1, params, &res) != 0)
        return -1;
    int n = PQntuples (res);
    for (int i = 0; i < n; i++) {
        if (strtoll (PQgetvalue (res, i, 0), NULL, 10) != i) {
            log_error ("ferry.chunks for run %s is not a complete plan (chunk ids have gaps)", run_id);
            PQclear (res);
            return -1;
        }
        int64_t est = strtoll (PQgetvalue (res, i, 3), NULL, 10);
        if (!PQgetisnull (res, i, 4))
            chunktab_add_file (chunks, PQgetvalue (res, i, 4),
                               strtoll (PQgetvalue (res, i, 5), NULL, 10),
                               strtoll (PQgetvalue (res, i, 6), NULL, 10),
                               strtoll (PQgetvalue (res, i, 7), NULL, 10), est);
        else
            chunktab_add (chunks, PQgetisnull (res, i, 1) ? NULL : PQgetvalue (res, i, 1),
                          PQgetisnull (res, i, 2) ? NULL : PQgetvalue (res, i, 2), est);
    }
    PQclear (res);
    return n;
}

int64_t
ledger_forget_before_restart (ledger_t *self, const char *run_id)
{
    pg_conn_t *c = ledger_conn (self);
    if (!c)
        return -1;
    const char *params[1] = { run_id };
    PGresult *res = NULL;
    int64_t n = -1;
    if (pg_exec (c, "BEGIN") != 0
    ||  pg_exec_params (c, "WITH gone AS (DELETE FROM ferry.chunk_commits WHERE run_id = $1 "
                        "AND committed_at < pg_postmaster_start_time() RETURNING chunk_id), "
                        "r AS (DELETE FROM ferry.rejects j USING gone "
                        "      WHERE j.run_id = $1 AND j.chunk_id = gone.chunk_id), "
                        "u AS (UPDATE ferry.chunks k SET status = 'planned', worker = NULL, "
                        "      last_error = NULL, updated_at = now() FROM gone "
                        "      WHERE k.run_id = $1 AND k.chunk_id = gone.chunk_id) "
                        "SELECT count(*) FROM gone", 1, params, &res) != 0
    ||  (n = strtoll (PQgetvalue (res, 0, 0), NULL, 10), pg_exec (c, "COMMIT")) != 0) {
        ledger_log_error (self, "forgetting the chunks whose staged rows were lost");
        pg_rollback (c);
        n = -1;
    }
    PQclear (res);
    return n;
}

/*  Writes the rows of an open cursor to f, 1000 at a time: the file can
    be far larger than memory (a reject keeps its record). Returns the row
    count or -1 (connection error kept). */
static int64_t
s_write_rejects (pg_conn_t *c, FILE *f)
{
    int64_t n = 0;
    for (;;) {
        PGresult *res = NULL;
        if (pg_exec_params (c, "FETCH 1000 FROM ferry_rejects", 0, NULL, &res) != 0)
            return -1;
        int rows = PQntuples (res);
        for (int r = 0; r < rows; r++)
            fprintf (f, "%s:%s: %s\t%s\n", PQgetvalue (res, r, 0), PQgetvalue (res, r, 1),
                     PQgetvalue (res, r, 2), PQgetvalue (res, r, 3));
        PQclear (res);
        n += rows;
        if (rows == 0)
            return n;
    }
}

int64_t
ledger_write_rejects_file (ledger_t *self, const char *run_id, const char *path)
{
    const char *params[1] = { run_id };
    pg_conn_t *c = ledger_conn (self);
    if (!c)
        return -1;
    /*  Records as text when every one is UTF-8, else all as escaped bytes;
        the check converts on the server and brings back one number. */
    const char *raw = "convert_from(raw, 'UTF8')";
    PGresult *res = NULL;
    if (pg_exec_params (c, "SELECT count(convert_from(raw, 'UTF8')) FROM ferry.rejects "
                        "WHERE run_id = $1", 1, params, &res) != 0) {
        if (!pg_is_connected (c)) {
            ledger_log_error (self, "reading ferry.rejects");
            return -1;
        }
        raw = "encode(raw, 'escape')";
    }
    PQclear (res);
    FILE *f = fopen (path, "w");
    if (!f) {
        log_error ("source.rejects_file: cannot write %s: %s", path, strerror (errno));
        return -1;
    }
    char *declare = util_strdupf ("DECLARE ferry_rejects NO SCROLL CURSOR FOR SELECT file, line, "
                                  "reason, %s FROM ferry.rejects WHERE run_id = $1 "
                                  "ORDER BY file, line", raw);
    int64_t n = -1;
    res = NULL;
    if (pg_exec (c, "BEGIN READ ONLY") == 0
    &&  pg_exec_params (c, declare, 1, params, &res) == 0) {
        PQclear (res);
        n = s_write_rejects (c, f);
    }
    free (declare);
    if (n < 0 || pg_exec (c, "COMMIT") != 0) {
        ledger_log_error (self, "reading ferry.rejects");
        pg_rollback (c);
        fclose (f);
        return -1;
    }
    if (fclose (f) != 0) {
        log_error ("source.rejects_file: cannot write %s: %s", path, strerror (errno));
        return -1;
    }
    return n;
}

int
ledger_terminate_worker (ledger_t *self, const char *run_id, const char *worker)
{
    return ledger_terminate_worker_if (self, run_id, worker, false);
}

int
ledger_terminate_worker_if (ledger_t *self, const char *run_id, const char *worker,
                            bool in_transaction)
{
    char *app = util_strdupf ("ferry/%s/%s", run_id, worker);
    const char *params[1] = { app };
    char *n = NULL;
    pg_conn_t *c = ledger_conn (self);
    int rc = c ? pg_query_value (c, in_transaction
                                 ? "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                                   "FROM pg_stat_activity WHERE application_name = $1 "
                                   "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                                 : "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                                   "FROM pg_stat_activity WHERE application_name = $1 "
                                   "AND pid <> pg_backend_pid()", 1, params, &n) : -1;
    free (app);
    if (rc != 0) {
        if (c)
            log_warn ("target: cannot end the backends of lost worker %s: %s", worker,
                      pg_conn_error (c)->message);
        free (n);
        return -1;
    }
    int count = n ? atoi (n) : 0;
    free (n);
    return count;
}

int
ledger_reset_load (ledger_t *self, const char *run_id, const char *staging)
{
    pg_conn_t *c = ledger_conn (self);
    if (!c)
        return -1;
    /*  One connection throughout (no ledger_exec reconnect inside the
        transaction). A worker of the old coordinator may still hold a chunk transaction
        open on the old snapshot: end it so it cannot commit after the
        reset; not this coordinator's sessions (its source may be on this
        server). application_name is cut at 63 bytes by the server. */
    char *prefix = util_strdupf ("ferry/%s/", run_id);
    const char *params[1] = { prefix };
    char *n = NULL;
    int rc = pg_query_value (c, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                             "FROM pg_stat_activity WHERE starts_with(application_name, "
                             "left($1, 63)) AND application_name NOT LIKE '%/coordinator-%' "
                             "AND pid <> pg_backend_pid()", 1, params, &n);
    free (prefix);
    free (n);
    if (rc != 0) {
        ledger_log_error (self, "ending the old workers' backends");
        return -1;
    }
    char *truncate = util_strdupf ("TRUNCATE %s", staging);
    const char *run[1] = { run_id };
    const char *forget[] = {
        "DELETE FROM ferry.chunk_commits WHERE run_id = $1",
        "DELETE FROM ferry.rejects WHERE run_id = $1",
        "UPDATE ferry.chunks SET status = 'planned', worker = NULL, last_error = NULL, "
        "updated_at = now() WHERE run_id = $1" };
    rc = pg_exec (c, "BEGIN") == 0 && pg_exec (c, truncate) == 0 ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < sizeof forget / sizeof forget[0]; i++)
        rc = pg_exec_params (c, forget[i], 1, run, NULL);
    if (rc == 0)
        rc = pg_exec (c, "COMMIT");
    free (truncate);
    if (rc != 0) {
        ledger_log_error (self, "starting the run's load over");
        pg_rollback (c);
    }
    return rc;
}
