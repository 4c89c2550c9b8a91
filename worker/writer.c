/*  worker/writer.c: the writer stage, owner of the target connection's
    chunk transaction.

        BEGIN;
        SELECT ... FROM ferry.chunk_commits      -- already committed? stop early
        COPY <copy table> (<columns>) FROM STDIN [(FORMAT binary)];
        INSERT INTO ferry.chunk_commits (run_id, chunk_id, ..., rows, committed_at);
        COMMIT;

    The ledger row is the fence: its primary key (run_id, chunk_id) lets
    only one attempt of a chunk commit; a second one fails at its INSERT
    (after waiting for the first to end, if both race), so a chunk's rows
    are committed if and only if its ledger row is. The INSERT comes last,
    just before COMMIT, so the row lock is held for milliseconds: a worker
    frozen mid-COPY (a "zombie") holds nothing that its successor needs,
    and when it wakes its INSERT meets the successor's committed row.
    The token, random per pipeline_run_chunk call, tells a commit of ours
    whose acknowledgement was lost (connection dropped during COMMIT) from
    somebody else's commit. */
#include "pipeline.h"
#include "copyfmt.h"
#include "log.h"
#include "protocol.h"
#include "util.h"
#include "wstats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
writer_begin (attempt_t *a, const char *token)
{
    pg_conn_t *tgt = a->slot->target;
    a->token = token;
    if (pg_exec (tgt, "BEGIN") != 0) {
        attempt_fail_pg (a, tgt, "target BEGIN");
        return -1;
    }
    /*  A cheap look first (a plain read takes no lock): a chunk that is
        already committed is not copied again. The fence itself is the
        INSERT at commit time (writer_ledger_insert). */
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
        pthread_mutex_lock (&a->error_lock);
        a->already_committed = true;
        pthread_mutex_unlock (&a->error_lock);
        attempt_fail (a, PROTOCOL_ALREADY_COMMITTED, false, "ledger: already committed");
        pg_rollback (tgt);
        return -1;
    }
    if (a->job->kind == SOURCE_KIND_CSV)
        return 0;               /* file sources COPY group by group (writer_file.c) */
    char *sql = copyjob_copy_in_sql (a->job);
    int rc = pg_copy_in_begin (tgt, sql);
    free (sql);
    if (rc != 0) {
        attempt_fail_pg (a, tgt, "target COPY FROM STDIN");
        pg_rollback (tgt);
        return -1;
    }
    if (a->job->binary
    &&  pg_copy_in_put (tgt, copyfmt_binary_header, COPYFMT_BINARY_HEADER_LEN) != 0) {
        attempt_fail_pg (a, tgt, "target COPY");
        return -1;
    }
    return 0;
}

void *
writer_thread (void *arg)
{
    attempt_t *a = arg;
    log_set_chunk (a->spec->chunk_id);
    pg_conn_t *tgt = a->slot->target;
    int64_t busy = 0;
    batch_t *batch;
    while ((batch = queue_pop (a->processed)) != NULL) {
        int64_t t0 = util_now_ms (), u0 = wstats_now_us ();
        int rc = pg_copy_in_put (tgt, batch->data, batch->len);
        wstats_batch_since (u0);
        busy += util_now_ms () - t0;
        if (rc != 0) {
            batch_free (batch);
            attempt_fail_pg (a, tgt, "target COPY");
            break;
        }
        a->rows_written += batch->rows;
        a->bytes_written += (int64_t) batch->len;
        atomic_fetch_add (&a->slot->rows_done, (int64_t) batch->rows);
        atomic_fetch_add (&a->slot->bytes_done, (int64_t) batch->len);
        batch_free (batch);
    }
    a->write_ms = busy;
    return NULL;
}

int
writer_ledger_insert (attempt_t *a, int64_t rows, int64_t rejected)
{
    return writer_ledger_insert_one (a, a->spec->chunk_id, rows, a->bytes_read, a->checksum,
                                     rejected);
}

int
writer_ledger_insert_one (attempt_t *a, int64_t chunk_id, int64_t rows, int64_t nbytes,
                          uint64_t checksum, int64_t rejected)
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
        pthread_mutex_lock (&a->error_lock);
        a->already_committed = true;
        pthread_mutex_unlock (&a->error_lock);
    }
    attempt_fail_pg (a, tgt, "ledger fence");
    pg_rollback (tgt);
    return -1;
}

int
writer_commit (attempt_t *a)
{
    pg_conn_t *tgt = a->slot->target;
    if (a->job->binary
    &&  pg_copy_in_put (tgt, copyfmt_binary_trailer, sizeof copyfmt_binary_trailer) != 0) {
        attempt_fail_pg (a, tgt, "target COPY");
        return -1;
    }
    int64_t server_rows = 0;
    if (pg_copy_in_end (tgt, NULL, &server_rows) != 0) {
        attempt_fail_pg (a, tgt, "target COPY");
        pg_rollback (tgt);
        return -1;
    }
    /*  Three counts must agree: rows the reader received, rows the
        processors framed, rows the server stored. */
    if (server_rows != a->rows_read || a->rows_checked != a->rows_read) {
        attempt_fail (a, "XX002", false,
                      "row count mismatch: read %" PRId64 ", checked %" PRId64
                      ", target stored %" PRId64, a->rows_read, a->rows_checked, server_rows);
        pg_rollback (tgt);
        return -1;
    }
    if (a->count > 1) {
        /*  A group: one ledger row per member, each its own fence. */
        for (int32_t i = 0; i < a->count; i++) {
            member_result_t *m = &a->members[i];
            if (writer_ledger_insert_one (a, a->spec->chunk_id + i, m->rows, m->bytes,
                                          m->checksum, 0) != 0)
                return -1;
        }
    }
    else if (writer_ledger_insert (a, server_rows, 0) != 0)
        return -1;
    if (pg_exec (tgt, "COMMIT") != 0) {
        attempt_fail_pg (a, tgt, "target COMMIT");
        return -1;
    }
    return 0;
}

void
writer_abort (attempt_t *a)
{
    pg_conn_t *tgt = a->slot->target;
    if (!pg_is_connected (tgt))
        return;
    PGconn *c = pg_conn_handle (tgt);
    if (PQtransactionStatus (c) == PQTRANS_ACTIVE) {
        /*  Still inside COPY IN: end it with an error so the server aborts. */
        int64_t ignored;
        pg_copy_in_end (tgt, "ferry: chunk aborted", &ignored);
    }
    pg_rollback (tgt);
}
