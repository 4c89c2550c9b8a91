/*  coordinator/gate.h: links that said HELLO but have not proven the
    cluster secret yet (pure logic; the dispatcher does the I/O).

        HELLO  -> gate_hello: a record with a fresh nonce, state CHALLENGED;
                  the dispatcher sends CHALLENGE {nonce}
        AUTH   -> gate_auth:  right proof: the record goes (the dispatcher
                  registers the worker and sends JOB); wrong proof: state
                  REJECTED (the dispatcher logs it once and sends STOP)
        timer  -> gate_expire: a CHALLENGED record older than the deadline
                  is marked expired (logged once: a peer that does not
                  answer); a right proof that comes later still counts

    A REJECTED record stays, so the peer's further messages are dropped
    without another log line. At most GATE_MAX records are kept; beyond
    that the oldest goes (a rejected one first), so a flood of new links
    costs bounded memory. Link identities are ROUTER routing ids: libzmq
    generates them (first byte 0) and a peer cannot choose one that
    starts with 0, so a proven link cannot be taken over by another
    connection (short of hijacking the TCP stream, which CURVE will fix). */
#ifndef FERRY_COORDINATOR_GATE_H
#define FERRY_COORDINATOR_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "protocol.h"

#define GATE_MAX 256

typedef enum { GATE_CHALLENGED = 1, GATE_REJECTED } gate_state_t;

typedef struct {
    unsigned char id[256];     /* routing id of the link */
    size_t id_size;
    gate_state_t state;
    char nonce[AUTH_HEX_LEN + 1];
    char *name, *host, *build; /* from HELLO, owned */
    int64_t pid;
    int32_t slots;
    char *addr;                /* peer address when known (owned), or NULL */
    int64_t hello_ms;
    bool logged;               /* the dispatcher has logged this peer */
    bool expired;              /* gate_expire returned it */
} gate_peer_t;

typedef struct gate_t gate_t;

/*  A gate for this secret (copied; never logged). Can't fail. */
gate_t *gate_new (const char *secret);
void gate_destroy (gate_t **self_p);

/*  HELLO on link `id`: (re)starts its challenge, replacing any earlier
    record of the link, and returns it (borrowed, valid until the next
    gate call); its nonce goes out in CHALLENGE. NULL if the kernel gave
    no random bytes (the HELLO is then ignored; logged). `addr` may be
    NULL. */
gate_peer_t *gate_hello (gate_t *self, const void *id, size_t id_size,
                         const protocol_msg_t *hello, const char *addr, int64_t now_ms);

/*  AUTH on link `id` with `proof` (untrusted). Returns 1 when it proves
    the secret: *hello receives the link's HELLO (name, host, build owned
    by the caller: protocol_msg_reset) and the record goes. Returns -1 on
    a wrong proof (the record is REJECTED; *peer_p, if not NULL, gets it,
    borrowed), and 0 when the link has no pending challenge (*peer_p gets
    its record if it is REJECTED, else NULL). */
int gate_auth (gate_t *self, const void *id, size_t id_size, const char *proof,
               protocol_msg_t *hello, gate_peer_t **peer_p);

/*  The record of link `id`, or NULL (borrowed). */
gate_peer_t *gate_find (gate_t *self, const void *id, size_t id_size);

/*  The first CHALLENGED record older than max_ms not returned before, now
    marked expired, or NULL (borrowed). Call until NULL. */
gate_peer_t *gate_expire (gate_t *self, int64_t now_ms, int64_t max_ms);

/*  Forgets link `id` (it left). */
void gate_forget (gate_t *self, const void *id, size_t id_size);

/*  Records kept (for tests). */
size_t gate_size (gate_t *self);

#endif
