/*  coordinator/chunktab.h: the run's chunks and their states, pure logic.

        planned --assign--> assigned --DONE--> done
           ^  ^                |                  |
           |  +----------------|------------------+ its commit undone by a
           |                   |                    target crash (chunktab_redo)
           +--retryable FAILED (after back-off), worker dead or stalled (at once)
                               |
                               +--permanent FAILED or attempts exhausted--> failed

    Every ASSIGN gets a new attempt number, never reused: attempt n+1
    follows attempt n, even when attempt n did not count (no free slot, a
    reconnect), so a late FAILED of an old assignment can never pass for
    the current one. What counts against the retry budget is `tries`: a
    chunk may be tried at most max_retries + 1 times. Retryable failures come back
    only after retry_delay (initial_delay x backoff^n, capped, jittered).
    Worker identity is an opaque int the dispatcher chooses. Time is in ms
    from any monotonic origin, passed in, so tests drive the clock. */
#ifndef FERRY_COORDINATOR_CHUNKTAB_H
#define FERRY_COORDINATOR_CHUNKTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "retry.h"

typedef enum {
    CHUNK_STATE_PLANNED = 0,
    CHUNK_STATE_ASSIGNED,
    CHUNK_STATE_DONE,
    CHUNK_STATE_FAILED
} chunk_state_t;

typedef struct {
    int64_t id;
    char *lo, *hi;             /* owned; NULL = unbounded */
    char *path;                /* file sources: owned; NULL for key ranges */
    int64_t offset, length, first_line;
    int64_t est_rows;
    chunk_state_t state;
    int32_t attempt;           /* last attempt number handed out (0: never);
                                  unique per ASSIGN, never decremented */
    int32_t tries;             /* attempts that count against max_retries */
    int worker;                /* current worker, -1 when none */
    int64_t not_before_ms;     /* earliest next assignment */
    int64_t assigned_ms;
    int64_t progress_rows;     /* from PROGRESS, current attempt */
    int64_t progress_bytes;
    int64_t progress_ms;       /* assignment, or the last PROGRESS that advanced */
    /* on DONE */
    int64_t rows, bytes, rejected;
    uint64_t checksum;
    int64_t busy_ms;           /* assignment to DONE (a group member: its share) */
    int64_t done_ms;           /* when its DONE came (0: not done) */
    int64_t read_ms, process_ms, write_ms, commit_ms;
    int done_by;               /* worker that committed, -1 if unknown */
    bool rows_from_ledger;     /* DONE never arrived: rows known from the ledger */
    char *last_error;          /* owned */
    /* a group: adjacent chunks handed out in one ASSIGN, copied through one
       COPY in one target transaction, one ledger row each */
    int64_t group_lead;        /* the group's first chunk, -1 when alone */
    int32_t group_size;        /* lead only: chunks in its group */
    int32_t group_open;        /* lead only: members not reported yet */
    /* a backup attempt (chunktab_backup, coordinator/straggler.h): the
       attempt it backs up keeps running until one of them commits */
    int prior_worker;          /* the older attempt still running, -1 when none */
    int32_t prior_attempt;     /* its number (0: none) */
    int64_t prior_assigned_ms;
    int32_t backup_attempt;    /* the backup's number (0: never backed up) */
    bool backup_won;           /* the backup attempt committed the chunk */
    int32_t prior_group_attempt; /* lead of a backed-up group: the prior's number */
    int32_t prior_open;        /* lead: members of the prior group not reported yet */
} chunk_t;

typedef struct chunktab_t chunktab_t;

/*  Creates an empty table with the run's retry policy. Can't fail. */
chunktab_t *chunktab_new (const retry_policy_t *policy, uint64_t seed);
void chunktab_destroy (chunktab_t **self_p);

/*  Adds a planned chunk (ids are the order of addition, from 0). Strings
    are copied. Returns the chunk (borrowed). */
chunk_t *chunktab_add (chunktab_t *self, const char *lo, const char *hi, int64_t est_rows);

/*  Adds a planned file chunk: bytes [offset, offset + length) of path,
    starting at line first_line. Returns the chunk (borrowed). */
chunk_t *chunktab_add_file (chunktab_t *self, const char *path, int64_t offset, int64_t length,
                            int64_t first_line, int64_t est_rows);

size_t chunktab_size (chunktab_t *self);
chunk_t *chunktab_get (chunktab_t *self, int64_t id);      /* NULL if out of range */

/*  The lowest-id planned chunk whose back-off has passed, or NULL. */
chunk_t *chunktab_next_ready (chunktab_t *self, int64_t now_ms);

/*  How many chunks from `lead` on (at most max) could go out with it as a
    group: consecutive, ready now, never tried (a chunk that failed goes
    alone, so one bad chunk costs no other an attempt), with lead's
    attempt number. At least 1. */
int chunktab_ready_run (chunktab_t *self, const chunk_t *lead, int max, int64_t now_ms);

/*  Assigns lead and the n - 1 chunks after it as one group (n from
    chunktab_ready_run). n = 1 is chunktab_assign. */
void chunktab_assign_group (chunktab_t *self, chunk_t *lead, int n, int worker, int64_t now_ms);

/*  A member's report (DONE or FAILED) of attempt `attempt` arrived: true
    when it closes the assignment it came with (a chunk alone, or the last
    member of its group to report), i.e. the worker's slot is free. */
/*  A PROGRESS of a group's lead (attempt `attempt`) is progress of every
    member: their stall clocks follow the lead's. */
void chunktab_group_progress (chunktab_t *self, int64_t lead_id, int32_t attempt);

bool chunktab_report_closes (chunktab_t *self, chunk_t *chunk, int32_t attempt);

/*  Hands chunk to worker: state assigned, attempt + 1, tries + 1. */
void chunktab_assign (chunktab_t *self, chunk_t *chunk, int worker, int64_t now_ms);

/*  A DONE for (id, attempt) from worker. Accepted whenever the chunk is not
    done yet, whatever attempt it came from: the target's ledger fence lets
    only one attempt commit, so a late DONE of an older attempt is that
    commit. Returns 1 if accepted, 0 if a duplicate (already done), -1 if
    the id is unknown. */
int chunktab_done (chunktab_t *self, int64_t id, int32_t attempt, int worker, int64_t now_ms,
                   int64_t rows, int64_t bytes, uint64_t checksum);

/*  A FAILED for (id, attempt). Ignored (returns 0) unless it is the
    chunk's current attempt and the chunk is assigned. A retryable failure
    with attempts left puts it back to planned after back-off (returns 1);
    otherwise the chunk fails for good (returns 2) and the run must stop.
    `message` is copied as last_error. */
int chunktab_fail (chunktab_t *self, int64_t id, int32_t attempt, bool retryable,
                   const char *message, int64_t now_ms);

/*  A done chunk whose commit the target lost: crash recovery undid it
    (workers commit with synchronous_commit off; verify.h,
    verify_lost_commits). Back to planned at once, its figures cleared;
    the lost attempt does not count against its retries. Returns 1, or 0
    if the chunk is not done. */
int chunktab_redo (chunktab_t *self, int64_t id, int64_t now_ms);

/*  The worker did not start attempt `attempt` (no free slot): back to
    planned after `delay_ms`, and the attempt does not count (tries - 1;
    the attempt number itself is never handed out again). Returns 1 if it
    applied, 0 if the attempt is not the chunk's current one. */
int chunktab_unassign (chunktab_t *self, int64_t id, int32_t attempt, int64_t now_ms,
                       int64_t delay_ms);

/*  The worker died: its assigned chunks go back to planned at once (the
    worker's silence already took liveness x heartbeat). A chunk out of
    attempts fails. Returns how many chunks were requeued; *failed_p (may
    be NULL) receives the first chunk that ran out of attempts or NULL. */
int chunktab_worker_lost (chunktab_t *self, int worker, int64_t now_ms, chunk_t **failed_p);

/*  The worker started over (it said HELLO again): its assigned chunks go
    back to planned WITHOUT counting the attempt (a peer that keeps saying
    HELLO must not exhaust a chunk's attempts). Returns how many. */
int chunktab_worker_released (chunktab_t *self, int worker, int64_t now_ms);

/*  A PROGRESS for (id, attempt): when it is the current attempt of an
    assigned chunk, records rows/bytes, and when either advanced restarts
    the stall clock. Returns 1
    if recorded, 0 if ignored. */
int chunktab_progress (chunktab_t *self, int64_t id, int32_t attempt, int64_t rows,
                       int64_t bytes, int64_t now_ms);

/*  The lowest-id assigned chunk whose rows and bytes have not advanced
    for more than stall_ms (since assignment or its last advancing
    PROGRESS), or NULL. stall_ms <= 0: never. */
chunk_t *chunktab_next_stalled (chunktab_t *self, int64_t now_ms, int64_t stall_ms);

/*  The chunk's current attempt stalled: it goes back to planned at once
    (the stall was the wait) and the attempt counts; out of tries, the
    chunk fails. `message` is copied as last_error. Returns 1 requeued,
    2 failed for good, 0 if the chunk is not assigned. */
int chunktab_stalled (chunktab_t *self, chunk_t *chunk, const char *message, int64_t now_ms);

/*  A backup attempt of chunk c (alone, or the lead of a group none of
    whose members reported yet; never backed up) on worker: c's current
    attempt becomes its prior one (every member's), which keeps running
    (its DONE is still taken, chunktab_done; a FAILED of it only ends it,
    chunktab_prior_ended; a group's prior holds its slot until all its
    members reported, chunktab_report_closes), and a new attempt number
    goes to worker without a try counted (tries count failures, not
    speed). Returns the new attempt, or 0 when c cannot be backed up. */
int32_t chunktab_backup (chunktab_t *self, chunk_t *c, int worker, int64_t now_ms);

/*  A report (DONE or FAILED) of attempt `attempt` arrived: when that is
    c's prior attempt, it no longer runs. Returns true if it was. */
bool chunktab_prior_ended (chunktab_t *self, chunk_t *c, int32_t attempt);

/*  Backup attempts started (a group's counts once), and how many of them
    committed their chunk(s). */
void chunktab_backups (chunktab_t *self, int64_t *started, int64_t *won);

/*  Counts by state. */
size_t chunktab_count (chunktab_t *self, chunk_state_t state);

/*  True when every chunk is done. */
bool chunktab_all_done (chunktab_t *self);

/*  Chunks that were tried more than once (a retry or a reassignment). */
size_t chunktab_retried (chunktab_t *self);

#endif
