/*  coordinator/verify.h: is every row accounted for before publishing?

    Pure: compares the chunk table (what the workers reported in DONE)
    with the ledger's committed rows (ferry.chunk_commits, read by the
    caller) and, on a fresh run that counted its source in the run's
    snapshot, the ledger's sum with that count. The rows staged are
    checked later, inside the publish transaction (publish.c); in direct
    mode each chunk's transaction already checked the server's COPY row
    count against the rows read. */
#ifndef FERRY_COORDINATOR_VERIFY_H
#define FERRY_COORDINATOR_VERIFY_H

#include "chunktab.h"
#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  ledger_rows[i] / ledger_rejected[i]: chunk i's committed rows and
    rejects (rows -1: no committed ledger row). Every chunk must have a
    committed ledger row; a chunk whose DONE arrived must report the
    ledger's rows and rejects; a chunk counted from the ledger takes them
    (its chunk_t is updated). With exact (a fresh run's source count in its
    snapshot), the ledger's sum must equal rows_source. Returns 0 with
    *loaded and *rejected set, or -1 with the reason in err ("chunk 3:
    worker reported 10 rows, ledger holds 9"). */
int verify_ledger (chunktab_t *chunks, const int64_t *ledger_rows, const int64_t *ledger_rejected,
                   bool exact, int64_t rows_source, int64_t *loaded, int64_t *rejected,
                   ferr_t *err);

/*  Workers commit their chunk transactions with synchronous_commit off:
    a DONE comes back without waiting for the WAL flush, and a crash of
    the target (not a clean restart: that writes everything out first)
    may undo the last commits after their DONE counted. When every chunk
    is done the caller makes the commits durable (one synchronous write of
    its own: it flushes the WAL up to itself) and reads the ledger again
    (ledger_rows as for verify_ledger). Each done chunk with no committed
    row that was done before the target connection was last lost and made
    again (reconnected_ms, same clock as the chunk table; 0: never; a
    restart or crash of the target ends every connection) lost its commit
    to that crash: it is planned again (chunktab_redo) and its id goes to
    lost[] (at most max). A missing row with no restart to explain it is
    left for verify_ledger to refuse. Returns how many were planned
    again. */
size_t verify_lost_commits (chunktab_t *chunks, const int64_t *ledger_rows,
                            int64_t reconnected_ms, int64_t now_ms, int64_t *lost, size_t max);

#endif
