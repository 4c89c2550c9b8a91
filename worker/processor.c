/*  worker/processor.c: the processor stage (N threads per chunk).

    Takes raw batches, counts their rows and checks the tuple framing
    (binary: field count and field lengths; text: whole lines), adds each
    row's hash to the chunk fingerprint, and hands the batch on untouched.
    A framing error means the stream is corrupt: the attempt fails
    permanently rather than loading something else than the source holds.
    Batches may leave in a different order than they came: a batch holds
    whole rows and the fingerprint is a sum, so order does not matter. */
#include "stage.h"
#include "copyfmt.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <unistd.h>

static void *
s_thread (void *arg)
{
    attempt_t *a = arg;
    log_set_chunk (a->spec->chunk_id);
    int64_t busy_ms = 0;
    int64_t rows_total = 0;
    uint64_t sum = 0;
    /*  A group: each member's fingerprint apart (its ledger row has it). */
    uint64_t *msum = a->count > 1 ? xcalloc ((size_t) a->count, sizeof *msum) : NULL;

    int64_t slow_ms = stage_test_slow_process_ms ();
    batch_t *batch;
    while ((batch = queue_pop (a->raw)) != NULL) {
        int64_t t0 = util_now_ms ();
        if (slow_ms > 0)
            usleep ((useconds_t) (slow_ms * 1000));
        uint64_t rows = 0, bsum = 0;
        int rc;
        if (a->job->binary) {
            size_t bad = 0;
            rc = copyfmt_binary_scan (batch->data, batch->len, a->job->nfields,
                                      &rows, &bsum, &bad);
            if (rc != 0)
                attempt_fail (a, "XX001", false,
                              "source: broken binary tuple framing at batch offset %zu", bad);
        }
        else {
            rc = copyfmt_text_scan (batch->data, batch->len, &rows, &bsum);
            if (rc != 0)
                attempt_fail (a, "XX001", false, "source: text COPY row without newline");
        }
        if (rc == 0 && rows != batch->rows) {
            attempt_fail (a, "XX001", false,
                          "source: batch holds %llu rows by framing, %u by message count",
                          (unsigned long long) rows, batch->rows);
            rc = -1;
        }
        busy_ms += util_now_ms () - t0;
        if (rc != 0) {
            batch_free (batch);
            break;
        }
        rows_total += (int64_t) rows;
        sum += bsum;
        if (msum && batch->member >= 0 && batch->member < a->count)
            msum[batch->member] += bsum;
        if (queue_push (a->processed, batch) != 0) {
            batch_free (batch);
            break;                      /* aborted */
        }
    }
    pthread_mutex_lock (&a->error_lock);
    a->rows_checked += rows_total;
    a->checksum += sum;
    for (int32_t i = 0; msum && i < a->count; i++)
        a->members[i].checksum += msum[i];
    a->process_ms += busy_ms;
    pthread_mutex_unlock (&a->error_lock);
    free (msum);
    queue_producer_done (a->processed);
    return NULL;
}

const stage_ops_t processor_pg = { .thread = s_thread };
