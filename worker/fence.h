/*  worker/fence.h: the ledger fence, the one place where a worker reads
    and writes ferry.chunk_commits.

    The ledger row is the fence: its primary key (run_id, chunk_id) lets
    only one attempt of a chunk commit; a second one fails at its INSERT
    (after waiting for the first to end, if both race), so a chunk's rows
    are committed if and only if its ledger row is. In the chunk's target
    transaction:

        BEGIN; SET LOCAL synchronous_commit TO off;    -- fence_begin (no wait for the WAL flush)
        SELECT count(*) FROM ferry.chunk_commits ...   -- fence_begin: committed? stop early
        COPY ... FROM STDIN ...                        -- the writer (writer.c, writer_file.c)
        INSERT INTO ferry.chunk_commits (...);         -- fence_take, one row per member
        COMMIT;

    The INSERT comes last, just before COMMIT, so the row lock is held for
    milliseconds: a worker frozen mid-COPY (a "zombie") holds nothing that
    its successor needs, and when it wakes its INSERT meets the
    successor's committed row. The token, random per pipeline_run_chunk
    call, tells a commit of ours whose acknowledgement was lost
    (connection dropped during COMMIT) from somebody else's commit
    (fence_whose_row). */
#ifndef FERRY_WORKER_FENCE_H
#define FERRY_WORKER_FENCE_H

#include <stdint.h>

#include "attempt.h"

/*  BEGIN on the target (synchronous_commit off for this transaction: the
    coordinator makes the commits durable before it verifies; run_durable
    in coordinator/run.h), then a cheap look (a plain read takes no lock)
    for the chunk (a group: any of its chunks) in the ledger: a chunk that
    is already committed is not copied again. Returns 0 (transaction
    open), or -1 with the attempt failed and rolled back (already
    committed: a->already_committed, SQLSTATE FR001). */
int fence_begin (attempt_t *a);

/*  The fence itself: inserts the ledger row with the attempt's totals
    (`rows` and `rejected`, the bytes read and the fingerprint); a group
    gets one row per member with that member's rows, bytes and
    fingerprint (`rows` and `rejected` unused). Sets a->rows_committed.
    On a conflict sets already_committed. Returns 0, or -1 (attempt
    failed, rolled back). */
int fence_take (attempt_t *a, int64_t rows, int64_t rejected);

/*  After a fence violation: whose row is it? Returns 1 when it is ours
    (a commit whose acknowledgement was lost: result's rows, bytes,
    checksum and rejected are the ledger's), 0 when somebody else's
    (result->message says whose), -1 when the look-up itself failed. */
int fence_whose_row (copyjob_t *job, slot_t *slot, const chunk_spec_t *spec,
                     const char *token, chunk_result_t *result);

#endif
