/*  coordinator/linger.c: heartbeats the workers while the run verifies
    and publishes; see linger.h. */
#include "linger.h"
#include "log.h"
#include "protocol.h"
#include "util.h"

#include <stdlib.h>

typedef struct {
    zsock_t *router;           /* borrowed from the run */
    zframe_t **ids;            /* owned copies of the workers' identities */
    size_t count;
    int heartbeat_ms;
} self_t;

struct linger_t {
    zactor_t *actor;
    self_t *self;
};

static void
s_beat (self_t *self)
{
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_HEARTBEAT);
    char *data = NULL;
    size_t size = 0;
    char err[128];
    if (protocol_encode (&m, &data, &size, err, sizeof err) != 0)
        return;
    for (size_t i = 0; i < self->count; i++) {
        zmsg_t *msg = zmsg_new ();
        zframe_t *id = zframe_dup (self->ids[i]);
        zmsg_append (msg, &id);
        zmsg_addmem (msg, data, size);
        if (zmsg_send (&msg, self->router) != 0)
            log_debug ("heartbeat to a worker failed (gone?)");
        zmsg_destroy (&msg);
    }
    free (data);
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    self_t *self = arg;
    zsock_signal (pipe, 0);
    int64_t next = 0;
    while (true) {
        int64_t now = util_now_ms ();
        if (now >= next) {
            s_beat (self);
            next = now + self->heartbeat_ms;
        }
        zmq_pollitem_t items[2] = {
            { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
            { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 } };
        long wait = (long) (next - now);
        if (zmq_poll (items, 2, wait > 0 ? wait : 0) < 0 && zmq_errno () != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            char *cmd = zstr_recv (pipe);
            bool term = !cmd || streq (cmd, "$TERM");
            zstr_free (&cmd);
            if (term)
                break;
        }
        /*  What workers send now (HEARTBEAT, a HELLO of a stranger) needs
            no answer: the run takes no more work. */
        while (zsock_events (self->router) & ZMQ_POLLIN) {
            zmsg_t *m = zmsg_recv (self->router);
            zmsg_destroy (&m);
        }
    }
}

linger_t *
linger_start (zsock_t *router, dispatch_t *dispatch, int heartbeat_ms)
{
    size_t n = 0;
    worker_t **workers = dispatch_workers (dispatch, &n);
    self_t *self = xcalloc (1, sizeof *self);
    self->router = router;
    self->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 1000;
    self->ids = xcalloc (n + 1, sizeof *self->ids);
    for (size_t i = 0; i < n; i++)
        if (workers[i]->alive && workers[i]->proven)
            self->ids[self->count++] = zframe_dup (workers[i]->identity);
    linger_t *l = NULL;
    if (self->count > 0) {
        l = xcalloc (1, sizeof *l);
        l->self = self;
        l->actor = zactor_new (s_actor, self);
        if (!l->actor) {
            free (l);
            l = NULL;
        }
    }
    if (!l) {
        for (size_t i = 0; i < self->count; i++)
            zframe_destroy (&self->ids[i]);
        free (self->ids);
        free (self);
    }
    return l;
}

void
linger_stop (linger_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    linger_t *l = *self_p;
    zactor_destroy (&l->actor);        /* waits for the actor to end */
    for (size_t i = 0; i < l->self->count; i++)
        zframe_destroy (&l->self->ids[i]);
    free (l->self->ids);
    free (l->self);
    free (l);
    *self_p = NULL;
}
