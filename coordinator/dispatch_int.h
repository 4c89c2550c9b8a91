/*  coordinator/dispatch_int.h: the dispatcher's state, shared by its
    rooms: dispatch.c (the loop, workers joining and lost), admit.c
    (HELLO, CHALLENGE, AUTH: who becomes a worker), assign.c (chunks to
    slots), results.c (DONE, FAILED), pace.c (how many in flight) and
    stall.c (chunks that stopped moving). Not for other modules. */
#ifndef FERRY_COORDINATOR_DISPATCH_INT_H
#define FERRY_COORDINATOR_DISPATCH_INT_H

#include "dispatch.h"
#include "gate.h"
#include "metrics.h"

struct dispatch_t {
    zsock_t *router;
    const char *run_id;
    const protocol_job_t *job;
    chunktab_t *chunks;
    ledger_t *ledger;
    int heartbeat_ms;
    int liveness;
    volatile int *stop;
    worker_t **workers;
    size_t nworkers;
    char error[2048];
    dispatch_progress_fn *progress_fn;
    void *progress_arg;
    dispatch_tick_fn *tick_fn;
    void *tick_arg;
    int64_t garbage;           /* malformed messages dropped */
    int64_t max_errors;        /* -1: no limit */
    bool fence_lost;           /* end a lost worker's target backends */
    int64_t stall_ms;          /* cluster.chunk_stall_timeout; 0: never */
    int64_t group_rows;        /* pipeline.group_rows; 0: one chunk per ASSIGN */
    int expected_slots;        /* slots of the local workers (0: external) */
    gate_t *gate;              /* links that said HELLO, not proven yet */
    bool handshake_auth;       /* CURVE: the handshake proved the peer; no CHALLENGE */
    int64_t rejected;
    int peak_inflight;         /* most chunks in flight at once */
    cc_t *cc;                  /* pipeline.concurrency: auto, or NULL */
    int fixed;                 /* the limit without cc (INT_MAX: every free slot) */
    int budget;                /* connection budget (INT_MAX: none known) */
    int cc_max;                /* the max last given to cc */
    bool saturated;            /* the limit was reached at the last assignment */
    size_t cc_logged;          /* controller changes logged so far */
    metrics_fails_t fails;     /* failed attempts by SQLSTATE class (observe.c) */
    bool stopped;              /* STOP sent (dispatch_stop_workers) */
    bool backups;              /* pipeline.backups: back up slow attempts at the tail */
    int64_t backup_look_ms;    /* when assign.c last looked for a slow attempt */
};

/*  Encodes msg and sends it to link `identity` (borrowed); `to` names the
    peer in log lines. 0, or -1 (logged at debug: the peer is gone). */
int dispatch_send_to (dispatch_t *self, zframe_t *identity, const char *to, protocol_msg_t *msg);

/*  dispatch_send_to for worker w, noting when it was last sent to. */
int dispatch_send (dispatch_t *self, worker_t *w, protocol_msg_t *msg);

/*  w's index in self->workers (chunk_t.worker), or -1. */
int dispatch_index (dispatch_t *self, worker_t *w);

/*  Fails the run with this reason, unless it failed already (the first
    reason is kept). */
void dispatch_fail_run (dispatch_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  The worker on link `identity`, proven or not, or NULL. */
worker_t *dispatch_find (dispatch_t *self, zframe_t *identity);

/*  A worker proved the cluster secret on link `identity` with `hello`
    (borrowed): registers it (or brings the link's worker back), requeues
    what an older link of the same process held, and sends JOB. */
void dispatch_join (dispatch_t *self, zframe_t *identity, const protocol_msg_t *hello);

/*  Link `w` said HELLO again: its chunks go back without costing an
    attempt, and it is no longer trusted until it proves the secret again. */
void dispatch_restart (dispatch_t *self, worker_t *w);

/*  admit.c: HELLO (a challenge), AUTH (a proof), anything else from a
    link that has not proven itself, and challenges left unanswered. */
void admit_hello (dispatch_t *self, zframe_t *identity, const char *peer, const char *addr,
                  const protocol_msg_t *msg);
void admit_auth (dispatch_t *self, zframe_t *identity, const char *peer, const char *addr,
                 const protocol_msg_t *msg);
void admit_unproven (dispatch_t *self, zframe_t *identity, const char *peer, const char *addr,
                     protocol_type_t type);
void admit_expire (dispatch_t *self, int64_t max_ms);
/*  A DONE of worker `w` that would mark its chunk done: true if the
    ledger holds the commit it claims; false (the run failed, logged; or
    the chunk requeued when the ledger could not be read) otherwise. */
bool admit_done (dispatch_t *self, worker_t *w, const protocol_msg_t *msg);

/*  pace.c: the most chunks in flight allowed now; and, a few times a
    second, the controller's range (slots offered, budget) and its feed
    (rows committed plus in-flight PROGRESS rows), logging its changes. */
int pace_limit (dispatch_t *self);
/*  The live, proven worker with a free slot and the fewest chunks for its
    slots (spreading chunks over processes), or NULL; its index in *index. */
worker_t *pace_least_busy (dispatch_t *self, size_t *index);
void pace_control (dispatch_t *self, int64_t now);

/*  assign.c: hands ready chunks (alone or in groups) to free slots while
    fewer than pace_limit are in flight; notes whether the limit was
    reached (saturated). */
void assign_turn (dispatch_t *self);

/*  results.c: a worker's DONE and FAILED (msg borrowed). */
void results_done (dispatch_t *self, worker_t *w, protocol_msg_t *msg);
void results_failed (dispatch_t *self, worker_t *w, protocol_msg_t *msg);

/*  stall.c: requeues the chunks whose attempt stopped advancing for
    stall_ms, fencing the silent attempt; called once per loop turn. */
void stall_check (dispatch_t *self);

#endif
