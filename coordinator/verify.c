/*  coordinator/verify.c: see verify.h. */
#include "verify.h"

#include <inttypes.h>
#include <stdio.h>

int
verify_ledger (chunktab_t *chunks, const int64_t *ledger_rows, const int64_t *ledger_rejected,
               bool exact, int64_t rows_source, int64_t *loaded, int64_t *rejected,
               ferr_t *err)
{
    size_t n = chunktab_size (chunks);
    int64_t sum = 0, rej = 0;
    for (size_t i = 0; i < n; i++) {
        chunk_t *c = chunktab_get (chunks, (int64_t) i);
        if (ledger_rows[i] < 0) {
            ferr_set (err, NULL, false, "chunk %zu was reported done but has no committed ledger "
                      "row", i);
            return -1;
        }
        if (!c->rows_from_ledger && c->rows != ledger_rows[i]) {
            ferr_set (err, NULL, false, "chunk %zu: worker reported %" PRId64 " rows, ledger holds %"
                      PRId64, i, c->rows, ledger_rows[i]);
            return -1;
        }
        if (!c->rows_from_ledger && c->rejected != ledger_rejected[i]) {
            ferr_set (err, NULL, false, "chunk %zu: worker reported %" PRId64 " rejects, ledger holds %"
                      PRId64, i, c->rejected, ledger_rejected[i]);
            return -1;
        }
        if (c->rows_from_ledger) {
            c->rows = ledger_rows[i];
            c->rejected = ledger_rejected[i];
        }
        rej += ledger_rejected[i];
        sum += ledger_rows[i];
    }
    if (exact && sum != rows_source) {
        ferr_set (err, NULL, false, "the source snapshot holds %" PRId64 " rows but %" PRId64
                  " were loaded", rows_source, sum);
        return -1;
    }
    *loaded = sum;
    *rejected = rej;
    return 0;
}

size_t
verify_lost_commits (chunktab_t *chunks, const int64_t *ledger_rows, int64_t reconnected_ms,
                     int64_t now_ms, int64_t *lost, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < chunktab_size (chunks); i++) {
        chunk_t *c = chunktab_get (chunks, (int64_t) i);
        if (c->state != CHUNK_STATE_DONE || ledger_rows[i] >= 0 || reconnected_ms <= 0
        ||  c->done_ms >= reconnected_ms)
            continue;
        if (chunktab_redo (chunks, (int64_t) i, now_ms) == 1) {
            if (n < max)
                lost[n] = (int64_t) i;
            n++;
        }
    }
    return n;
}
