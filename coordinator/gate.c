/*  coordinator/gate.c: see gate.h. */
#include "gate.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct gate_t {
    char *secret;
    gate_peer_t *peers[GATE_MAX];
    size_t count;
};

gate_t *
gate_new (const char *secret)
{
    FERRY_ASSERT (secret && *secret);
    gate_t *self = xcalloc (1, sizeof *self);
    self->secret = xstrdup (secret);
    return self;
}

static void
s_peer_destroy (gate_peer_t **p_p)
{
    if (*p_p) {
        gate_peer_t *p = *p_p;
        free (p->name);
        free (p->host);
        free (p->build);
        free (p->addr);
        free (p);
        *p_p = NULL;
    }
}

void
gate_destroy (gate_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        gate_t *self = *self_p;
        for (size_t i = 0; i < self->count; i++)
            s_peer_destroy (&self->peers[i]);
        explicit_bzero (self->secret, strlen (self->secret));
        free (self->secret);
        free (self);
        *self_p = NULL;
    }
}

static ssize_t
s_index (gate_t *self, const void *id, size_t id_size)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->peers[i]->id_size == id_size && memcmp (self->peers[i]->id, id, id_size) == 0)
            return (ssize_t) i;
    return -1;
}

static void
s_remove (gate_t *self, size_t i)
{
    s_peer_destroy (&self->peers[i]);
    memmove (&self->peers[i], &self->peers[i + 1], (self->count - i - 1) * sizeof self->peers[0]);
    self->count--;
}

gate_peer_t *
gate_find (gate_t *self, const void *id, size_t id_size)
{
    ssize_t i = s_index (self, id, id_size);
    return i < 0 ? NULL : self->peers[i];
}

void
gate_forget (gate_t *self, const void *id, size_t id_size)
{
    ssize_t i = s_index (self, id, id_size);
    if (i >= 0)
        s_remove (self, (size_t) i);
}

gate_peer_t *
gate_hello (gate_t *self, const void *id, size_t id_size, const protocol_msg_t *hello,
            const char *addr, int64_t now_ms)
{
    if (id_size > sizeof self->peers[0]->id)
        return NULL;            /* libzmq routing ids are at most 255 bytes */
    char nonce[AUTH_HEX_LEN + 1];
    if (auth_random_hex (nonce) != 0) {
        log_error ("cannot draw a challenge nonce (getrandom): %s", strerror (errno));
        return NULL;
    }
    /*  A link that says HELLO again starts over, but stays logged: one
        log line per link, however often it tries. */
    gate_peer_t *was = gate_find (self, id, id_size);
    bool logged = was && was->logged;
    gate_forget (self, id, id_size);
    if (self->count == GATE_MAX) {
        /*  Full: the oldest rejected record goes, else the oldest. */
        size_t victim = 0;
        for (size_t i = 0; i < self->count; i++)
            if (self->peers[i]->state == GATE_REJECTED) {
                victim = i;
                break;
            }
        s_remove (self, victim);
    }
    gate_peer_t *p = xcalloc (1, sizeof *p);
    memcpy (p->id, id, id_size);
    p->id_size = id_size;
    p->state = GATE_CHALLENGED;
    memcpy (p->nonce, nonce, sizeof nonce);
    p->name = xstrdup (hello->name);
    p->host = xstrdup (hello->host);
    p->build = xstrdup (hello->build);
    p->pid = hello->pid;
    p->slots = hello->slots;
    p->addr = addr ? xstrdup (addr) : NULL;
    p->hello_ms = now_ms;
    p->logged = logged;
    self->peers[self->count++] = p;
    return p;
}

int
gate_auth (gate_t *self, const void *id, size_t id_size, const char *proof,
           protocol_msg_t *hello, gate_peer_t **peer_p)
{
    if (peer_p)
        *peer_p = NULL;
    ssize_t i = s_index (self, id, id_size);
    if (i < 0)
        return 0;
    gate_peer_t *p = self->peers[i];
    if (p->state != GATE_CHALLENGED) {
        if (peer_p)
            *peer_p = p;
        return 0;
    }
    if (!auth_proof_ok (self->secret, p->nonce, p->name, p->host, p->pid, proof)) {
        p->state = GATE_REJECTED;
        if (peer_p)
            *peer_p = p;
        return -1;
    }
    protocol_msg_init (hello, PROTO_MSG_HELLO);
    hello->name = p->name;
    hello->host = p->host;
    hello->build = p->build;
    hello->pid = p->pid;
    hello->slots = p->slots;
    p->name = p->host = p->build = NULL;
    s_remove (self, (size_t) i);
    return 1;
}

gate_peer_t *
gate_expire (gate_t *self, int64_t now_ms, int64_t max_ms)
{
    for (size_t i = 0; i < self->count; i++) {
        gate_peer_t *p = self->peers[i];
        if (p->state == GATE_CHALLENGED && !p->expired && now_ms - p->hello_ms > max_ms) {
            p->expired = true;
            return p;
        }
    }
    return NULL;
}

size_t
gate_size (gate_t *self)
{
    return self->count;
}
