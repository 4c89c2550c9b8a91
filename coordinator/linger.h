/*  coordinator/linger.h: keeps the workers' links alive while the
    coordinator verifies and publishes (after the load, before the run's
    outcome is known and STOP can say it).

    During those steps the main thread is in libpq calls that may take
    minutes (a big merge), and the ROUTER would go unread: every worker
    would see its coordinator silent, reconnect on a new link (where the
    final STOP cannot reach it) and, past --give-up-after, leave. A linger
    borrows the ROUTER: an actor thread sends HEARTBEAT to every live
    worker each heartbeat_ms and drops what they send, until
    linger_stop hands the socket back (zactor's pipe orders the two
    threads' use of it). */
#ifndef FERRY_COORDINATOR_LINGER_H
#define FERRY_COORDINATOR_LINGER_H

#include "dispatch.h"

#include <czmq.h>

typedef struct linger_t linger_t;

/*  Starts heartbeating the live, proven workers of `dispatch` on
    `router` (borrowed: the caller must not touch it until linger_stop).
    Returns NULL (nothing to do: no live worker, or no thread) when the
    caller keeps the socket. */
linger_t *linger_start (zsock_t *router, dispatch_t *dispatch, int heartbeat_ms);

/*  Stops the actor and gives the socket back. Accepts NULL. */
void linger_stop (linger_t **self_p);

#endif
