/*  worker/link.h: the worker's DEALER link to its coordinator, owner of
    the socket.

    link_connect makes a new DEALER (CURVE client when link_set_curve was
    called) to the endpoint and says HELLO; link_send encodes and sends
    one FERRY/1 message without blocking; link_on_challenge answers a
    CHALLENGE with AUTH (a proof of the cluster secret, common/wire/auth.h).
    The session (session.c) reads the socket itself (link->dealer) and
    decides when to reconnect. */
#ifndef FERRY_WORKER_LINK_H
#define FERRY_WORKER_LINK_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

typedef struct {
    zsock_t *dealer;           /* owned; NULL: no socket (link_connect failed) */
    const char *endpoint;      /* borrowed, as the rest */
    const char *name;
    const char *secret;        /* NULL: none */
    int nslots;                /* in HELLO */
    int64_t pid;               /* in HELLO and the proof */
    bool authed;               /* AUTH sent on this link */
    bool heard;                /* a message came on this link (it is heartbeated from then on) */
    int64_t last_sent_ms;      /* the last send (heartbeats fill silences) */
    int64_t last_recv_ms;      /* reset by link_connect; the session sets it on receipt */
} link_t;

/*  CURVE (docs/PROTOCOL.md, "Security"): every DEALER opened from now on
    is a CURVE client with `cert` (this worker's, with its secret key) and
    the coordinator's public key `server_key` (Z85). Both borrowed, for
    the life of the process. */
void link_set_curve (zcert_t *cert, const char *server_key);

/*  A new DEALER to the coordinator (the old one is closed), and HELLO.
    `reconnect` says it is not the first (the FERRY_FAULT=socket-reconnect
    test hook). Returns 0, or -1 (logged) when the socket cannot be
    created (out of file descriptors or memory): the caller exits. */
int link_connect (link_t *self, bool reconnect);

/*  Encodes and sends msg (borrowed; not reset) without blocking. Returns
    0, or -1 (no socket, encoding failed: logged; or the send did not go:
    debug). */
int link_send (link_t *self, protocol_msg_t *msg);

/*  CHALLENGE: sends AUTH with the proof of the secret. Returns -1 (logged,
    saying what to set) when this worker has no secret: the session ends. */
int link_on_challenge (link_t *self, const protocol_msg_t *msg);

/*  Closes the socket. */
void link_close (link_t *self);

#endif
