/*  coordinator/curve.h: CURVE on the coordinator's ROUTER (cluster.curve),
    owner of the zauth actor (ZAP) and the handshake watcher.

    The ROUTER becomes a CURVE server with the coordinator's secret
    certificate (cluster.curve.secret_key). zauth answers libzmq's ZAP
    requests: a peer is let in only if its public key is one of the
    certificates in cluster.curve.authorized_keys (a directory; zauth
    reloads it when it changes). A peer with another key, or one that
    speaks plain ZMTP, is refused at the handshake: no FERRY/1 message of
    it ever reaches the dispatcher. Refusals are logged once per address
    (coordinator/handshake.c).

    With CURVE the link is encrypted and every peer is authenticated, so
    the cluster secret's CHALLENGE/AUTH is not used (the dispatcher admits
    a HELLO at once) and conninfos may travel in JOB. Local workers
    (--local-workers) get a key pair made for the run: it is authorized
    together with a copy of authorized_keys taken at start, in a private
    temporary directory removed at the end. */
#ifndef FERRY_COORDINATOR_CURVE_H
#define FERRY_COORDINATOR_CURVE_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct curve_t curve_t;

/*  Loads the coordinator's secret certificate and checks the directory of
    authorized keys; with `local_workers`, makes the run's key pair for
    them. Starts zauth. Returns NULL with the reason in err (naming the
    key and the file; never a key). */
curve_t *curve_new (const char *secret_key, const char *authorized_keys, bool local_workers,
                    char *err, size_t errlen);

/*  Makes `router` (borrowed, outlives self) a CURVE server under ZAP and
    starts watching its handshakes. Call before zsock_bind. 0, or -1
    with err. */
int curve_serve (curve_t *self, zsock_t *router, char *err, size_t errlen);

/*  For local workers: their secret certificate and the coordinator's
    public one (files, borrowed; NULL without local_workers). */
const char *curve_local_key (curve_t *self);
const char *curve_coordinator_public (curve_t *self);

/*  Stops the watcher and zauth, removes the temporary directory. Call
    before the router is destroyed. */
void curve_destroy (curve_t **self_p);

#endif
