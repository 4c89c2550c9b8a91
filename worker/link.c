/*  worker/link.c: the worker's DEALER link to its coordinator; see
    link.h. */
#include "link.h"
#include "auth.h"
#include "log.h"
#include "threadcheck.h"
#include "util.h"

#include <stdlib.h>

/*  link_set_curve: set once by main before the session starts. */
static zcert_t *s_curve_cert;
static const char *s_curve_server;

void
link_set_curve (zcert_t *cert, const char *server_key)
{
    s_curve_cert = cert;
    s_curve_server = server_key;
}

int
link_send (link_t *self, protocol_msg_t *msg)
{
    char *data = NULL;
    size_t size = 0;
    char err[256];
    if (!self->dealer)
        return -1;                      /* no socket (link_connect failed and logged) */
    if (protocol_encode (msg, &data, &size, err, sizeof err) != 0) {
        log_error ("encoding %s: %s", protocol_type_name (msg->type), err);
        return -1;
    }
    zframe_t *f = zframe_new (data, size);
    free (data);
    int rc = zframe_send (&f, self->dealer, ZFRAME_DONTWAIT);
    if (rc != 0)
        log_debug ("sending %s: %s", protocol_type_name (msg->type), zmq_strerror (zmq_errno ()));
    zframe_destroy (&f);
    self->last_sent_ms = util_now_ms ();
    return rc;
}

static void
s_hello (link_t *self)
{
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_HELLO);
    m.name = (char *) self->name;
    m.host = (char *) util_hostname ();
    m.pid = self->pid;
    m.slots = self->nslots;
    m.build = (char *) FERRY_VERSION;
    link_send (self, &m);              /* borrowed fields: no reset */
}

int
link_connect (link_t *self, bool reconnect)
{
    zsock_destroy (&self->dealer);
    const char *fault = threadcheck_fault ("socket") ? "FERRY_FAULT=socket"
                      : reconnect && threadcheck_fault ("socket-reconnect")
                      ? "FERRY_FAULT=socket-reconnect" : NULL;
    self->dealer = fault ? NULL : zsock_new (ZMQ_DEALER);
    if (!self->dealer) {
        log_error ("cannot create a ZeroMQ socket to %s: %s; raise the process's limits "
                   "(ulimit -n, ulimit -v)", self->endpoint, fault ? fault : zmq_strerror (zmq_errno ()));
        return -1;
    }
    /*  Don't let unsent messages to a dead coordinator block exit. */
    zsock_set_linger (self->dealer, 500);
    zsock_set_sndhwm (self->dealer, 1000);
    /*  FERRY/1 messages are small: a peer claiming a huge frame is not one. */
    zsock_set_maxmsgsize (self->dealer, PROTOCOL_MAX_FRAME);
    if (s_curve_cert) {
        zcert_apply (s_curve_cert, self->dealer);
        zsock_set_curve_serverkey (self->dealer, s_curve_server);
    }
    if (zsock_connect (self->dealer, "%s", self->endpoint) != 0)
        log_error ("cannot connect to %s: %s", self->endpoint, zmq_strerror (zmq_errno ()));
    self->last_recv_ms = util_now_ms ();
    self->authed = false;
    self->heard = false;
    s_hello (self);
    return 0;
}

int
link_on_challenge (link_t *self, const protocol_msg_t *msg)
{
    if (!self->secret) {
        log_error ("the coordinator at %s asks this worker to prove the cluster secret and it "
                   "has none: set FERRY_CLUSTER_SECRET to the coordinator's secret, or pass "
                   "--secret-file FILE (the file the job's cluster.secret_file names)",
                   self->endpoint);
        return -1;
    }
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_AUTH);
    char proof[AUTH_HEX_LEN + 1];
    auth_proof (self->secret, msg->nonce, self->name, util_hostname (), self->pid, proof);
    m.proof = proof;
    link_send (self, &m);              /* borrowed field: no reset */
    self->authed = true;
    return 0;
}

void
link_close (link_t *self)
{
    zsock_destroy (&self->dealer);
}
