/*  worker/fence.c: the ledger fence (ferry.chunk_commits); see fence.h. */
#include "fence.h"
#include "protocol.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
fence_begin (attempt_t *a)
{
    pg_conn_t *tgt = a->slot->target;
    /*  synchronous_commit off: COMMIT returns without waiting for the WAL
        flush, so the stream does not stand still for it. A crash of the
        target may then undo the last commits after their DONE; the
        coordinator flushes and checks the ledger again before it
        verifies, and copies such chunks again (run_durable). */
    if (pg_exec (tgt, "BEGIN; SET LOCAL synchronous_commit TO off") != 0) {
        attempt_fail_pg (a, tgt, "target BEGIN");
        return -1;
    }
    /*  A cheap look first (a plain read takes no lock): a chunk that is
        already committed is not copied again. The fence itself is the
        INSERT at commit time (fence_take). */
    char chunk[24], last[24];
    snprintf (chunk, sizeof chunk, "%" PRId64, a->spec->chunk_id);
    snprintf (last, sizeof last, "%" PRId64,
              a->spec->chunk_id + (a->count > 1 ? a->count - 1 : 0));
    const char *params[3] = { a->job->run_id, chunk, last };
    char *found = NULL;
    if (pg_query_value (tgt, "SELECT count(*) FROM ferry.chunk_commits "
                        "WHERE run_id = $1 AND chunk_id BETWEEN $2 AND $3", 3, params,
                        &found) != 0) {
        attempt_fail_pg (a, tgt, "ledger look-up");
        pg_rollback (tgt);
        return -1;
    }
    bool committed = found && strcmp (found, "0") != 0;
    free (found);
    if (committed) {
        attempt_set_already_committed (a);
        attempt_fail (a, PROTOCOL_ALREADY_COMMITTED, false, "ledger: already committed");
        pg_rollback (tgt);
        return -1;
    }
    return 0;
}

/*  One ledger row. Returns 0 or -1 (failed, rolled back). */
static int
s_insert (attempt_t *a, int64_t chunk_id, int64_t rows, int64_t nbytes, uint64_t checksum,
          int64_t rejected)
{
    pg_conn_t *tgt = a->slot->target;
    char chunk[24], attempt[16], nrows[24], bytes[24], sum[24], nrej[24];
    snprintf (chunk, sizeof chunk, "%" PRId64, chunk_id);
    snprintf (attempt, sizeof attempt, "%d", a->spec->attempt);
    snprintf (nrows, sizeof nrows, "%" PRId64, rows);
    snprintf (bytes, sizeof bytes, "%" PRId64, nbytes);
    snprintf (sum, sizeof sum, "%016" PRIx64, checksum);
    snprintf (nrej, sizeof nrej, "%" PRId64, rejected);
    const char *params[9] = { a->job->run_id, chunk, attempt, a->job->worker, a->token,
                              nrows, bytes, sum, nrej };
    if (pg_exec_params (tgt,
            "INSERT INTO ferry.chunk_commits (run_id, chunk_id, attempt, worker, token, rows, "
            "bytes, checksum, rejected, committed_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp())",
            9, params, NULL) == 0)
        return 0;
    const pg_error_t *e = pg_conn_error (tgt);
    if (strcmp (e->sqlstate, "23505") == 0) {
        /*  Somebody's row is there: ours from a lost COMMIT ack, or another
            attempt's that won the race. The caller looks and decides. */
        attempt_set_already_committed (a);
    }
    attempt_fail_pg (a, tgt, "ledger fence");
    pg_rollback (tgt);
    return -1;
}

int
fence_take (attempt_t *a, int64_t rows, int64_t rejected)
{
    if (a->count > 1) {
        /*  A group: one ledger row per member, each its own fence. */
        int64_t total = 0;
        for (int32_t i = 0; i < a->count; i++) {
            member_result_t *m = &a->members[i];
            if (s_insert (a, a->spec->chunk_id + i, m->rows, m->bytes, m->checksum, 0) != 0)
                return -1;
            total += m->rows;
        }
        a->rows_committed = total;
        return 0;
    }
    if (s_insert (a, a->spec->chunk_id, rows, a->bytes_read, a->checksum, rejected) != 0)
        return -1;
    a->rows_committed = rows;
    return 0;
}

int
fence_whose_row (copyjob_t *job, slot_t *slot, const chunk_spec_t *spec,
                 const char *token, chunk_result_t *result)
{
    if (!pg_is_connected (slot->target) && pg_connect (slot->target, NULL, NULL) != 0)
        return -1;
    char chunk[24];
    snprintf (chunk, sizeof chunk, "%" PRId64, spec->chunk_id);
    const char *params[2] = { job->run_id, chunk };
    PGresult *res = NULL;
    if (pg_exec_params (slot->target,
            "SELECT attempt, worker, token, coalesce(rows, 0), "
            "to_char(committed_at, 'YYYY-MM-DD HH24:MI:SS'), coalesce(bytes, 0), "
            "coalesce(checksum, '0'), rejected "
            "FROM ferry.chunk_commits WHERE run_id = $1 AND chunk_id = $2",
            2, params, &res) != 0)
        return -1;
    int rc = -1;
    if (PQntuples (res) == 1) {
        if (strcmp (PQgetvalue (res, 0, 2), token) == 0) {
            /*  Ours: DONE reports what the ledger holds (the coordinator
                checks it against the row, coordinator/donecheck.h). */
            result->rows = strtoll (PQgetvalue (res, 0, 3), NULL, 10);
            result->bytes = strtoll (PQgetvalue (res, 0, 5), NULL, 10);
            result->checksum = strtoull (PQgetvalue (res, 0, 6), NULL, 16);
            result->rejected = strtoll (PQgetvalue (res, 0, 7), NULL, 10);
            rc = 1;
        }
        else {
            ferr_set (&result->err, result->err.sqlstate, false, "chunk %" PRId64 " of run %s is already committed (attempt %s by worker %s "
                      "at %s UTC, %s rows); nothing was added",
                      spec->chunk_id, job->run_id, PQgetvalue (res, 0, 0),
                      PQgetvalue (res, 0, 1), PQgetvalue (res, 0, 4), PQgetvalue (res, 0, 3));
            rc = 0;
        }
    }
    PQclear (res);
    return rc;
}
