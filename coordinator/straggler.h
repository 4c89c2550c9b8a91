/*  coordinator/straggler.h: backup attempts at the tail of a run, pure
    logic (the dispatcher, coordinator/assign.c, acts on it).

    A chunk is copied by one attempt at a time, and the run ends with its
    slowest chunk. When nothing is left to hand out and a slot on another
    worker is free, a chunk whose attempt is far behind what a chunk takes
    here (a slow host, a slow link, a source backend that waits) gets a
    second attempt on that slot. Both run; the ledger fence lets only the
    first to commit count (worker/fence.h) and the other is cancelled
    (CANCEL, docs/PROTOCOL.md). Only where two attempts cannot get in each
    other's way: staging (publish: merge), never the final table of a
    direct run, whose unique index would make the backup wait for the
    attempt it backs up.

    "What a chunk takes here" is the median rate (rows per ms) of the
    chunks done so far, at least STRAGGLER_MIN_DONE of them; a fresh
    attempt of chunk c is expected to take c's estimated rows at that
    rate. An attempt is backed up when it has run at least max(
    STRAGGLER_MIN_ELAPSED_MS, STRAGGLER_SLOWER x fresh) and, at its own
    pace so far (PROGRESS rows over its time; no rows yet: never), still
    needs more than STRAGGLER_SLOWER x fresh. Of several, the one that
    would end last. No I/O, no clock: times are passed in. */
#ifndef FERRY_COORDINATOR_STRAGGLER_H
#define FERRY_COORDINATOR_STRAGGLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STRAGGLER_MIN_DONE        3
#define STRAGGLER_MIN_ELAPSED_MS  5000
#define STRAGGLER_SLOWER          2.0

typedef struct {
    int64_t elapsed_ms;        /* since its attempt was handed out */
    int64_t rows;              /* rows its attempt has sent (PROGRESS) */
    int64_t est_rows;          /* the plan's estimate for the chunk */
    bool eligible;             /* alone (no group) and never backed up */
} straggler_chunk_t;

/*  The median rate, in rows per ms, of n done chunks (rows[i] in
    busy_ms[i]; entries with no rows or no time are left out), or 0 when
    fewer than STRAGGLER_MIN_DONE remain. */
double straggler_rate (const int64_t *rows, const int64_t *busy_ms, size_t n);

/*  Which of the n running chunks to back up, at `rate` (straggler_rate):
    its index, or -1 for none. *remaining_ms (may be NULL) gets what it
    would still take at its own pace (INT64_MAX: no rows yet). */
int straggler_pick (const straggler_chunk_t *running, size_t n, double rate,
                    int64_t *remaining_ms);

/*  After attempt `done` committed a chunk that was backed up: which
    attempt lost the race and may still run, to be cancelled. prior_* is
    the attempt the backup backed up (worker -1: it already ended),
    current_* the chunk's current attempt when the DONE came (worker -1:
    none running). Fills *worker and *attempt and returns true, or false
    when nothing is left to cancel. */
bool straggler_loser (int32_t done, int prior_worker, int32_t prior_attempt, int current_worker,
                      int32_t current_attempt, int *worker, int32_t *attempt);

#endif
