/*  coordinator/handshake.h: who was refused at the ZMTP handshake of the
    ROUTER, logged once per address (a zactor over the socket's monitor).

    A CURVE server refuses, before any FERRY/1 message exists, a peer
    whose key zauth does not authorize (ZAP status 400) and a peer that
    speaks plain ZMTP (mechanism mismatch); garbage that is not ZMTP at
    all fails there too. Such peers never reach the dispatcher. libzmq
    reports these failures on the socket monitor without the peer's
    address, so the watcher keeps the address of each accepted connection
    (getpeername on the fd of ZMQ_EVENT_ACCEPTED) and pins a failure on the
    connection whose DISCONNECTED event follows it (libzmq emits both from
    the same I/O-thread call). Bytes that are not a ZMTP greeting at all
    (an HTTP request, random data) are dropped by libzmq without any
    handshake event and are not logged. Each (address, reason) is logged
    once, at
    most HANDSHAKE_LOG_MAX of them; a refused peer that keeps reconnecting
    (libzmq retries every 100 ms) adds no line. Counts only otherwise. */
#ifndef FERRY_COORDINATOR_HANDSHAKE_H
#define FERRY_COORDINATOR_HANDSHAKE_H

#include <czmq.h>

#define HANDSHAKE_LOG_MAX 256

typedef struct handshake_t handshake_t;

/*  Starts watching `router` (borrowed; must outlive the watcher; call from
    the thread that owns it, before or after bind). NULL (logged) if the
    monitor cannot be started. */
handshake_t *handshake_new (zsock_t *router);

/*  Stops the monitor and the actor. Call from the router's thread. */
void handshake_destroy (handshake_t **self_p);

#endif
