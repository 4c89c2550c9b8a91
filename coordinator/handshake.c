/*  coordinator/handshake.c: see handshake.h.

    The actor's pipe protocol: only czmq's "$TERM" (the actor ends).
    State: fds[] maps an accepted connection's fd to its peer address
    (set on ACCEPTED, cleared on DISCONNECTED or CLOSED); `pending` holds
    the last handshake failure until the DISCONNECTED that names its fd;
    `seen` holds the (address, reason) pairs already logged. */
#include "handshake.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define S_FDS 1024

struct handshake_t {
    zsock_t *router;           /* borrowed */
    zactor_t *actor;
    char endpoint[64];         /* the monitor's inproc endpoint */
    char connect[68];          /* ">" endpoint: how the actor's PAIR attaches */
};

typedef struct {
    int fd;
    char addr[64];
} s_conn_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *monitor;
    s_conn_t conns[S_FDS];
    int pending_event;         /* 0: none */
    uint32_t pending_value;
    zhashx_t *seen;            /* "addr reason" -> (void *) 1 */
    bool full_logged;
    int64_t refused;
} self_t;

static void
s_peer_address (int fd, char *out, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    snprintf (out, size, "address unknown");
    if (getpeername (fd, (struct sockaddr *) &ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop (AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, out, (socklen_t) size);
    else if (ss.ss_family == AF_INET6)
        inet_ntop (AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, out, (socklen_t) size);
    else if (ss.ss_family == AF_UNIX)
        snprintf (out, size, "local socket");
}

static s_conn_t *
s_conn (self_t *self, int fd)
{
    return fd >= 0 ? &self->conns[fd % S_FDS] : NULL;
}

/*  What a failure means, for the operator, and its class for "once per
    address and reason". A peer without CURVE is caught either by the
    server (mechanism mismatch) or by the peer itself, which then hangs up
    mid-handshake (NO_DETAIL, EPIPE): which one wins is a race, so both
    are one class. */
static int
s_class (int event, uint32_t value)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return 1;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    &&  value != ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return 2;
    return 3;
}

static const char *
s_reason (int class)
{
    if (class == 1)
        return "its CURVE key is not in cluster.curve.authorized_keys (ZAP refused it); "
               "add its public certificate there if it is yours";
    if (class == 2)
        return "its CURVE handshake failed (a worker given the wrong --coordinator-key, "
               "or not a ferry worker)";
    return "it does not speak CURVE (plain ZMTP, not ZMTP at all, or it hung up "
           "mid-handshake); a ferry worker needs --curve-key and --coordinator-key";
}

static void
s_refused (self_t *self, const char *addr, int event, uint32_t value)
{
    self->refused++;
    int class = s_class (event, value);
    const char *why = s_reason (class);
    char key[400];
    snprintf (key, sizeof key, "%s %d", addr, class);
    if (zhashx_lookup (self->seen, key))
        return;
    if (zhashx_size (self->seen) >= HANDSHAKE_LOG_MAX) {
        if (!self->full_logged)
            log_warn ("more peers were refused at the handshake than are logged (%d); "
                      "further refusals are not logged", HANDSHAKE_LOG_MAX);
        self->full_logged = true;
        return;
    }
    zhashx_insert (self->seen, key, (void *) 1);
    log_warn ("peer %s refused at the handshake: %s; it gets nothing (logged once per address)",
              addr, why);
}

static void
s_on_event (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->monitor);
    if (!msg)
        return;
    zframe_t *head = zmsg_first (msg);
    if (head && zframe_size (head) == 6) {
        const byte *d = zframe_data (head);
        uint16_t event;
        uint32_t value;
        memcpy (&event, d, 2);
        memcpy (&value, d + 2, 4);
        s_conn_t *c = s_conn (self, (int) value);
        switch (event) {
        case ZMQ_EVENT_ACCEPTED:
            c->fd = (int) value;
            s_peer_address ((int) value, c->addr, sizeof c->addr);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            self->pending_event = event;
            self->pending_value = value;
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            self->pending_event = 0;
            break;
        case ZMQ_EVENT_DISCONNECTED:
        case ZMQ_EVENT_CLOSED:
            if (self->pending_event)
                s_refused (self, c->fd == (int) value ? c->addr : "address unknown",
                           self->pending_event, self->pending_value);
            self->pending_event = 0;
            c->fd = -1;
            break;
        default:
            break;
        }
    }
    zmsg_destroy (&msg);
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    self_t *self = xcalloc (1, sizeof *self);
    self->pipe = pipe;
    self->seen = zhashx_new ();
    for (int i = 0; i < S_FDS; i++)
        self->conns[i].fd = -1;
    self->monitor = zsock_new_pair ((const char *) arg);
    zsock_signal (pipe, self->monitor ? 0 : 1);
    zpoller_t *poller = self->monitor ? zpoller_new (pipe, self->monitor, NULL) : NULL;
    while (poller) {
        void *which = zpoller_wait (poller, -1);
        if (which == self->monitor)
            s_on_event (self);
        else if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            free (command);
            if (term)
                break;
        }
        else
            break;          /* interrupted */
    }
    if (self->refused > 0)
        log_info ("%" PRId64 " connection(s) refused at the handshake in all", self->refused);
    zpoller_destroy (&poller);
    zsock_destroy (&self->monitor);
    zhashx_destroy (&self->seen);
    free (self);
}

handshake_t *
handshake_new (zsock_t *router)
{
    handshake_t *self = xcalloc (1, sizeof *self);
    self->router = router;
    snprintf (self->endpoint, sizeof self->endpoint, "inproc://ferry-handshake-%p", (void *) self);
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED
               | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
               | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    if (zmq_socket_monitor (zsock_resolve (router), self->endpoint, events) != 0) {
        log_error ("cannot watch the ROUTER's handshakes (zmq_socket_monitor): %s",
                   zmq_strerror (zmq_errno ()));
        free (self);
        return NULL;
    }
    snprintf (self->connect, sizeof self->connect, ">%s", self->endpoint);
    self->actor = zactor_new (s_actor, self->connect);
    if (!self->actor) {
        log_error ("cannot start the handshake watcher");
        zmq_socket_monitor (zsock_resolve (router), NULL, 0);
        free (self);
        return NULL;
    }
    return self;
}

void
handshake_destroy (handshake_t **self_p)
{
    if (*self_p) {
        handshake_t *self = *self_p;
        zmq_socket_monitor (zsock_resolve (self->router), NULL, 0);
        zactor_destroy (&self->actor);
        free (self);
        *self_p = NULL;
    }
}
