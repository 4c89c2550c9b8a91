/*  worker/writer.c: the writer stage (PostgreSQL sources), owner of the
    target connection's chunk transaction.

        BEGIN; SET LOCAL synchronous_commit TO off;
        SELECT ... FROM ferry.chunk_commits          -- fence_begin (fence.h)
        COPY <copy table> (<columns>) FROM STDIN [(FORMAT binary)];
        INSERT INTO ferry.chunk_commits (...);       -- fence_take, one row per member
        COMMIT;

    The ledger fence (fence.h) brackets the COPY: the look-up before it, so
    a chunk already committed is not copied again, the INSERT after it,
    just before COMMIT. */
#include "stage.h"
#include "copyfmt.h"
#include "fence.h"
#include "log.h"
#include "util.h"
#include "wstats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_connect (attempt_t *a)
{
    return attempt_connect (a, a->slot->target);
}

/*  BEGIN and the ledger look-up, then COPY IN (and the binary header). */
static int
s_begin (attempt_t *a)
{
    pg_conn_t *tgt = a->slot->target;
    if (fence_begin (a) != 0)
        return -1;
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

static void *
s_thread (void *arg)
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

/*  COPY end, the three counts, the fence, COMMIT. */
static int
s_commit (attempt_t *a)
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
    if (fence_take (a, server_rows, 0) != 0)
        return -1;
    if (pg_exec (tgt, "COMMIT") != 0) {
        attempt_fail_pg (a, tgt, "target COMMIT");
        return -1;
    }
    return 0;
}

const stage_ops_t writer_pg = {
    .connect = s_connect, .begin = s_begin, .thread = s_thread, .end = s_commit,
    .abort = attempt_abort_target };
