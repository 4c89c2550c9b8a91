/*  coordinator/dispatch.h: the coordinator's side of FERRY/1, owner of
    the ROUTER socket.

    Workers say HELLO (name, slots), get CHALLENGE, prove the cluster
    secret with AUTH (admit.c, gate.c) and only then get JOB, then up to
    `slots` ASSIGNs. A link that does not prove it gets nothing else.
    Any message from a worker counts as a heartbeat; a worker silent for
    liveness x heartbeat_ms is lost and its chunks go back to the queue with
    attempt + 1 (its lease ends with its liveness). The coordinator sends
    HEARTBEAT to every worker it has not sent anything for heartbeat_ms.
    DONE marks a chunk done (from whichever attempt: the target's ledger
    fence lets only one commit); FAILED requeues it after back-off when
    retryable and attempts remain, else fails the run. Malformed input
    (bad msgpack, wrong version, unknown peers) is logged with the peer
    and dropped, never fatal. */
#ifndef FERRY_COORDINATOR_DISPATCH_H
#define FERRY_COORDINATOR_DISPATCH_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "chunktab.h"
#include "concurrency.h"
#include "ledger.h"
#include "protocol.h"

typedef struct {
    char *name;
    char *host;
    int64_t pid;
    int slots;
    zframe_t *identity;
    bool alive;
    bool proven;               /* proved the cluster secret on this link */
    int busy;                  /* assigned chunks without DONE/FAILED yet */
    int stalled;               /* of those, attempts given up as stalled: they hold
                                  a slot but no longer count as in flight */
    int64_t last_seen_ms;
    int64_t last_sent_ms;
    int64_t chunks;            /* committed by this worker */
    int64_t rows;
    int64_t rejected;
    int64_t busy_ms;
    int64_t peak_rss_kb;
    /* the worker's own figures (PROGRESS, HEARTBEAT; observe_worker_message) */
    int64_t cpu_ms;
    int pipelines;
    int64_t raw_queued, processed_queued;
    uint64_t batch_hist[PROTOCOL_BATCH_BOUNDS + 1];
    int64_t batch_us;
} worker_t;

typedef struct dispatch_t dispatch_t;

/*  Progress snapshot for the reporter. */
typedef struct {
    int64_t rows_done;         /* committed rows + in-flight progress */
    size_t chunks_done, chunks_total;
    int workers_alive;
    int slots_total;
} dispatch_progress_t;

typedef void (dispatch_progress_fn) (const dispatch_progress_t *p, void *arg);

/*  Creates the dispatcher on a bound ROUTER (borrowed). `job` is the JOB
    payload sent to each worker (borrowed). Can't fail. */
dispatch_t *dispatch_new (zsock_t *router, const char *run_id, const protocol_job_t *job,
                          chunktab_t *chunks, ledger_t *ledger,
                          int heartbeat_ms, int liveness, volatile int *stop);
void dispatch_destroy (dispatch_t **self_p);

/*  Called about twice a second while running. */
void dispatch_set_progress (dispatch_t *self, dispatch_progress_fn *fn, void *arg);

/*  Called once per loop turn (e.g. to reap local worker processes). */
typedef void (dispatch_tick_fn) (void *arg);
/*  pipeline.group_rows: adjacent small chunks go out as one group of
    about this many rows (plan_group_size), spread over the slots offered,
    expected_slots (the local workers' slots, 0 when unknown) and at least
    DISPATCH_GROUP_MIN_SLOTS; rows 0 (the default) turns it off. */
#define DISPATCH_GROUP_MIN_SLOTS 4
void dispatch_set_group_rows (dispatch_t *self, int64_t rows, int expected_slots);

void dispatch_set_tick (dispatch_t *self, dispatch_tick_fn *fn, void *arg);

/*  Runs until every chunk is done (0), a chunk fails for good or *stop
    (-1, reason in dispatch_error). */
int dispatch_run (dispatch_t *self);

/*  When set, a worker declared lost has its target backends ended (its
    open transaction could otherwise block its successor: with publish:
    direct, on the final table's unique index). */
void dispatch_set_fence_lost (dispatch_t *self, bool on);

/*  pipeline.backups: at the tail of the run, a chunk whose attempt is far
    slower than the others gets a second attempt on a free slot of
    another worker; the first to commit counts, the other is cancelled
    (coordinator/straggler.h). Never while fence_lost (publish: direct). */
void dispatch_set_backups (dispatch_t *self, bool on);

/*  How many chunks may be in flight across all workers: decided by cc
    (borrowed; pipeline.concurrency: auto) from the measured throughput,
    or fixed (cc NULL: `fixed` chunks, pinned). Either way never more than
    the slots offered nor the connection budget (dispatch_set_budget).
    Without this call every free slot gets a chunk. */
void dispatch_set_concurrency (dispatch_t *self, cc_t *cc, int fixed);

/*  The connection budget: at most this many chunks in flight (each holds
    one connection to each server). Can be lowered or raised at any time
    (the tick does, from the servers' free connections). */
void dispatch_set_budget (dispatch_t *self, int budget);

/*  Chunks in flight now (attempts given up as stalled do not count,
    though they may still hold their slot until STOP ends them). */
int dispatch_inflight (dispatch_t *self);

/*  The cluster secret (copied, never logged). Every link must prove it
    (CHALLENGE / AUTH, common/wire/auth.h) before it gets JOB or ASSIGN.
    Required before dispatch_run. */
void dispatch_set_secret (dispatch_t *self, const char *secret);

/*  Instead of dispatch_set_secret: the ROUTER is a CURVE server under ZAP
    (coordinator/curve.h), so every link that can send anything was
    authenticated at the handshake; a HELLO gets JOB at once, without
    CHALLENGE (admit.c). */
void dispatch_set_handshake_auth (dispatch_t *self);

/*  A chunk whose rows and bytes do not advance for stall_ms (0: never)
    is requeued elsewhere and its attempt abandoned, as for a lost worker
    (cluster.chunk_stall_timeout). */
void dispatch_set_stall_timeout (dispatch_t *self, int64_t stall_ms);

/*  The most chunks that were in flight at once. */
int dispatch_peak_inflight (dispatch_t *self);

/*  File sources: stop the run once more than max_errors records were
    rejected in all (-1: no limit). */
void dispatch_set_max_errors (dispatch_t *self, int64_t max_errors);

/*  Records rejected so far (committed chunks). */
int64_t dispatch_rejected (dispatch_t *self);

/*  Done chunks whose commit a target crash undid are copied again
    (run_durable): their n rejected records no longer count against
    source.max_errors until their new DONE. */
void dispatch_uncount_rejected (dispatch_t *self, int64_t n);

/*  Makes dispatch_run stop with this reason (first reason wins), e.g.
    from a tick function that found the source snapshot gone. */
void dispatch_fail (dispatch_t *self, const char *reason);

/*  Why dispatch_run returned -1 (borrowed). */
const char *dispatch_error (dispatch_t *self);

/*  Sends STOP to every known worker, with how the run ended (outcome,
    PROTOCOL_OUTCOME_*, borrowed; NULL: not said), and waits up to
    `wait_ms` for their BYE. Only the first call of a run does anything. */
void dispatch_stop_workers (dispatch_t *self, const char *reason, const char *outcome,
                            int wait_ms);

/*  The workers seen during the run (borrowed). */
worker_t **dispatch_workers (dispatch_t *self, size_t *count);

#endif
