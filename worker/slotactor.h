/*  worker/slotactor.h: one chunk slot as a zactor, owner of the slot's
    thread and, through slot_t, of its two connections.

    The session (session.c) hands an ASSIGN to a free slot actor
    (slotactor_run); the actor runs pipeline_run_chunk (blocking, for
    minutes) in its own thread while the session keeps polling the
    DEALER, and answers with the chunk_result_t (slotactor_recv). The
    slot's cancel flag (slotactor_cancel: the session's abort, or the
    coordinator's CANCEL of this one attempt) makes its running chunk roll
    back.

    Pipe protocol (private to slotactor.c):
        session -> slot   "RUN" chunk_id attempt lo hi path offset length first_line
                          count bounds
                          (lo/hi/path/bounds: "N" = none, "V<text>"; count and
                          bounds: a group of adjacent chunks, common/wire/bounds.h)
        slot -> session   "RESULT" chunk_id attempt <chunk_result_t bytes>
    plus czmq's "$TERM". */
#ifndef FERRY_WORKER_SLOTACTOR_H
#define FERRY_WORKER_SLOTACTOR_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "copyjob.h"
#include "pipeline.h"
#include "protocol.h"

typedef struct slotactor_args_t slotactor_args_t;

typedef struct {
    zactor_t *actor;           /* poll its socket (zsock_resolve) for results */
    slot_t *slot;              /* its connections and live PROGRESS counters */
    slotactor_args_t *args;    /* private */
    /* what it runs, read-only for the session */
    bool busy;
    int64_t chunk_id;
    int32_t attempt;
    int32_t count;             /* chunks in the ASSIGN (a group: > 1) */
    volatile int cancel;       /* rolls back the running chunk (slotactor_cancel) */
} slotactor_t;

/*  Starts a slot actor for `job` (borrowed, read-only while the actor
    lives); `abort` (borrowed: the session's) is the cancel flag each
    chunk starts with, so a slot started or handed a chunk after the
    session aborted rolls back at once.
    `slot`: one made by slot_new for this job (its connections may be open
    and idle: the actor takes it over, the first chunk saves its
    connects), or NULL for a fresh one. The caller checked that the thread
    can start (threadcheck_run): zactor_new waits for ever when it cannot. */
slotactor_t *slotactor_new (copyjob_t *job, volatile int *abort, slot_t *slot);

/*  Ends the actor (waiting for a running chunk to roll back) and frees
    its slot. Accepts NULL; nulls the pointer. */
void slotactor_destroy (slotactor_t **self_p);

/*  Rolls back the chunk the actor runs now (nothing when it is free). */
void slotactor_cancel (slotactor_t *self);

/*  Hands a (checked) ASSIGN to a free actor. Returns 0 (busy now), or -1
    when the actor did not take it. */
int slotactor_run (slotactor_t *self, const protocol_msg_t *assign);

/*  Receives the actor's message. Returns 0 with *result filled (the
    caller frees result->members) and the actor free again, or -1 when it
    was not a RESULT. */
int slotactor_recv (slotactor_t *self, chunk_result_t *result);

#endif
