/*  worker/session.h: the worker's side of FERRY/1 (DEALER loop).

    Says HELLO, answers CHALLENGE with AUTH (a proof of the cluster
    secret), takes JOB (prepares the copy once: describe, type check),
    runs each ASSIGN in a free slot actor, reports PROGRESS about once a
    second per running chunk, DONE or FAILED at the end of each chunk, and
    HEARTBEAT when nothing else was sent for heartbeat_ms. In coordinated
    mode a slot runs one attempt per ASSIGN: the coordinator owns retries
    (it may move the chunk to another worker). A coordinator silent for
    liveness x heartbeat_ms is presumed lost: the worker reconnects with
    exponential back-off and says HELLO again; running chunks go on and
    report on the new link. STOP, SIGINT or SIGTERM: running chunks roll
    back, the worker says BYE and exits. */
#ifndef FERRY_WORKER_SESSION_H
#define FERRY_WORKER_SESSION_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/*  Joins the coordinator at `endpoint` as `name` with `slots` chunk slots
    (0: 2), runs until STOP or *stop, returns an exit code
    (exit_codes.h). With orphan_exit the worker also ends when its parent
    process goes away (local workers of a coordinator that died).
    `secret` (borrowed, may be NULL) answers the coordinator's CHALLENGE
    (common/wire/auth.h); without one a CHALLENGE ends the session with
    EXIT_CODE_BAD_CONFIG and a message that says what to set. A STOP's
    outcome gives the exit code (outcome.h); give_up_ms > 0: with no word
    from any coordinator for that long, running chunks roll back and the
    session ends with EXIT_CODE_NO_COORDINATOR. */
int session_run (const char *endpoint, const char *name, int slots, bool orphan_exit,
                 const char *secret, int64_t give_up_ms, volatile int *stop);

/*  CURVE (docs/PROTOCOL.md, "Security"): every DEALER this session opens
    is a CURVE client with `cert` (this worker's, with its secret key) and
    the coordinator's public key `server_key` (Z85). Both borrowed, for
    the life of the session. Call before session_run; without it the link
    is plain ZMTP. */
void session_set_curve (zcert_t *cert, const char *server_key);

#endif
