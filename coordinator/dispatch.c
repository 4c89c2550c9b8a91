/*  coordinator/dispatch.c: see dispatch.h. */
#include "dispatch_int.h"
#include "log.h"
#include "observe.h"
#include "util.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


dispatch_t *
dispatch_new (zsock_t *router, const char *run_id, const protocol_job_t *job,
              chunktab_t *chunks, ledger_t *ledger, int heartbeat_ms, int liveness,
              volatile int *stop)
{
    dispatch_t *self = xcalloc (1, sizeof *self);
    self->router = router;
    self->run_id = run_id;
    self->job = job;
    self->chunks = chunks;
    self->ledger = ledger;
    self->heartbeat_ms = heartbeat_ms;
    self->liveness = liveness;
    self->stop = stop;
    self->max_errors = -1;
    self->fixed = INT_MAX;
    self->budget = INT_MAX;
    return self;
}

void
dispatch_set_fence_lost (dispatch_t *self, bool on)
{
    self->fence_lost = on;
}

void
dispatch_set_backups (dispatch_t *self, bool on)
{
    self->backups = on;
}

void
dispatch_set_secret (dispatch_t *self, const char *secret)
{
    gate_destroy (&self->gate);
    self->gate = gate_new (secret);
}

void
dispatch_set_stall_timeout (dispatch_t *self, int64_t stall_ms)
{
    self->stall_ms = stall_ms;
}

void
dispatch_set_group_rows (dispatch_t *self, int64_t rows, int expected_slots)
{
    self->group_rows = rows > 0 ? rows : 0;
    self->expected_slots = expected_slots > 0 ? expected_slots : 0;
}

void
dispatch_set_max_errors (dispatch_t *self, int64_t max_errors)
{
    self->max_errors = max_errors;
}

int
dispatch_peak_inflight (dispatch_t *self)
{
    return self->peak_inflight;
}

int64_t
dispatch_rejected (dispatch_t *self)
{
    return self->rejected;
}

void
dispatch_uncount_rejected (dispatch_t *self, int64_t n)
{
    self->rejected = n < self->rejected ? self->rejected - n : 0;
}

static void
s_worker_destroy (worker_t **w_p)
{
    if (*w_p) {
        worker_t *w = *w_p;
        free (w->name);
        free (w->host);
        zframe_destroy (&w->identity);
        free (w);
        *w_p = NULL;
    }
}

void
dispatch_destroy (dispatch_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        dispatch_t *self = *self_p;
        for (size_t i = 0; i < self->nworkers; i++)
            s_worker_destroy (&self->workers[i]);
        free (self->workers);
        gate_destroy (&self->gate);
        free (self);
        *self_p = NULL;
    }
}

void
dispatch_set_progress (dispatch_t *self, dispatch_progress_fn *fn, void *arg)
{
    self->progress_fn = fn;
    self->progress_arg = arg;
}

void
dispatch_set_tick (dispatch_t *self, dispatch_tick_fn *fn, void *arg)
{
    self->tick_fn = fn;
    self->tick_arg = arg;
}

const char *
dispatch_error (dispatch_t *self)
{
    return self->error;
}

worker_t **
dispatch_workers (dispatch_t *self, size_t *count)
{
    *count = self->nworkers;
    return self->workers;
}

/*  Hex of a peer identity, for log lines about unknown peers. */
static void
s_peer_hex (zframe_t *id, char *out, size_t size)
{
    size_t n = zframe_size (id);
    const byte *d = zframe_data (id);
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < size; i++)
        o += (size_t) snprintf (out + o, size - o, "%02x", d[i]);
    if (o == 0 && size)
        out[0] = 0;
}

int
dispatch_send_to (dispatch_t *self, zframe_t *identity, const char *to, protocol_msg_t *msg)
{
    char *data = NULL;
    size_t size = 0;
    char err[256];
    if (protocol_encode (msg, &data, &size, err, sizeof err) != 0) {
        log_error ("encoding %s for %s: %s", protocol_type_name (msg->type), to, err);
        return -1;
    }
    zmsg_t *m = zmsg_new ();
    zframe_t *id = zframe_dup (identity);
    zmsg_append (m, &id);
    zmsg_addmem (m, data, size);
    free (data);
    int rc = zmsg_send (&m, self->router);
    if (rc != 0)
        log_debug ("sending %s to %s failed (peer gone?)", protocol_type_name (msg->type), to);
    zmsg_destroy (&m);
    return rc;
}

int
dispatch_send (dispatch_t *self, worker_t *w, protocol_msg_t *msg)
{
    w->last_sent_ms = util_now_ms ();
    return dispatch_send_to (self, w->identity, w->name, msg);
}

worker_t *
dispatch_find (dispatch_t *self, zframe_t *identity)
{
    for (size_t i = 0; i < self->nworkers; i++)
        if (zframe_eq (self->workers[i]->identity, identity))
            return self->workers[i];
    return NULL;
}

int
dispatch_index (dispatch_t *self, worker_t *w)
{
    for (size_t i = 0; i < self->nworkers; i++)
        if (self->workers[i] == w)
            return (int) i;
    return -1;
}

void
dispatch_fail_run (dispatch_t *self, const char *format, ...)
{
    if (self->error[0])
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof self->error, format, args);
    va_end (args);
}

void
dispatch_fail (dispatch_t *self, const char *reason)
{
    dispatch_fail_run (self, "%s", reason);
}

static void
s_lost (dispatch_t *self, worker_t *w, const char *why)
{
    if (!w->alive)
        return;
    w->alive = false;
    chunk_t *failed = NULL;
    int n = chunktab_worker_lost (self->chunks, dispatch_index (self, w), util_now_ms (), &failed);
    if (n > 0 || failed)
        log_warn ("worker %s (%s pid %" PRId64 ") %s; %d chunk(s) requeued", w->name, w->host,
                  w->pid, why, n);
    else
        log_info ("worker %s (%s pid %" PRId64 ") %s", w->name, w->host, w->pid, why);
    if (failed)
        dispatch_fail_run (self, "chunk %" PRId64 " failed: attempts exhausted (last: %s)", failed->id,
                    failed->last_error ? failed->last_error : "worker lost");
    if (self->fence_lost && n > 0) {
        int ended = ledger_terminate_worker (self->ledger, self->run_id, w->name);
        if (ended > 0)
            log_warn ("ended %d target backend(s) of lost worker %s so its open chunk "
                      "cannot block the retry", ended, w->name);
    }
}

void
dispatch_restart (dispatch_t *self, worker_t *w)
{
    /*  The worker started over on the same link. Its chunks go back
        without costing an attempt (a flood of HELLOs must not exhaust
        them), and the link must prove the secret again. */
    int n = chunktab_worker_released (self->chunks, dispatch_index (self, w), util_now_ms ());
    if (n > 0 || w->alive)
        log_warn ("worker %s said HELLO again; %d chunk(s) requeued", w->name, n);
    w->alive = false;
    w->proven = false;
    w->busy = w->stalled = 0;
}

void
dispatch_join (dispatch_t *self, zframe_t *identity, const protocol_msg_t *msg)
{
    int64_t now = util_now_ms ();
    worker_t *w = dispatch_find (self, identity);
    if (!w) {
        /*  The same worker name on a new link: it reconnected. Its old link
            is dead; whatever the old link had in flight is requeued. */
        for (size_t i = 0; i < self->nworkers; i++) {
            worker_t *o = self->workers[i];
            if (o->alive && strcmp (o->name, msg->name) == 0 && o->pid == msg->pid) {
                /*  Same process: its chunks may still run and report on the
                    new link; requeued without cost, the fence keeps it
                    exactly once. */
                int n = chunktab_worker_released (self->chunks, (int) i, now);
                o->alive = false;
                log_info ("worker %s reconnected on a new link; %d chunk(s) requeued", o->name, n);
            }
        }
        w = xcalloc (1, sizeof *w);
        w->identity = zframe_dup (identity);
        self->workers = xrealloc (self->workers, (self->nworkers + 1) * sizeof *self->workers);
        self->workers[self->nworkers++] = w;
    }
    free (w->name);
    free (w->host);
    w->name = xstrdup (msg->name);
    w->host = xstrdup (msg->host);
    w->pid = msg->pid;
    w->slots = msg->slots;
    w->alive = true;
    w->proven = true;
    w->busy = w->stalled = 0;
    w->last_seen_ms = now;
    log_info ("worker %s joined from %s (pid %" PRId64 ", %d slots, build %s)", w->name, w->host,
              w->pid, w->slots, msg->build ? msg->build : "?");

    protocol_msg_t job;
    protocol_msg_init (&job, PROTO_MSG_JOB);
    job.run_id = (char *) self->run_id;
    job.job = (protocol_job_t *) self->job;
    job.heartbeat_ms = self->heartbeat_ms;
    job.liveness = self->liveness;
    dispatch_send (self, w, &job);         /* borrowed fields: no reset */
}

static void
s_handle (dispatch_t *self, zmsg_t *zmsg)
{
    zframe_t *identity = zmsg_pop (zmsg);
    zframe_t *body = zmsg_pop (zmsg);
    char peer[80];
    if (!identity) {
        zframe_destroy (&body);
        return;
    }
    s_peer_hex (identity, peer, sizeof peer);
    if (!body || zmsg_size (zmsg) != 0) {
        self->garbage++;
        log_warn ("peer %s: expected one frame, got %zu; dropped", peer,
                  (body ? 1 : 0) + zmsg_size (zmsg));
        goto cleanup;
    }
    protocol_msg_t msg;
    memset (&msg, 0, sizeof msg);
    char err[256];
    if (protocol_decode (zframe_data (body), zframe_size (body), &msg, err, sizeof err) != 0) {
        self->garbage++;
        log_warn ("peer %s: %s; dropped", peer, err);
        goto cleanup;
    }
    worker_t *w = dispatch_find (self, identity);
    const char *addr = zframe_meta (body, "Peer-Address");
    if (msg.type == PROTO_MSG_HELLO)
        admit_hello (self, identity, peer, addr, &msg);
    else if (msg.type == PROTO_MSG_AUTH)
        admit_auth (self, identity, peer, addr, &msg);
    else if (!w || !w->proven) {
        self->garbage++;
        admit_unproven (self, identity, peer, addr, msg.type);
    }
    else {
        w->last_seen_ms = util_now_ms ();
        if (!w->alive && msg.type != PROTO_MSG_BYE) {
            /*  A worker we gave up on speaks again (it was frozen or cut
                off): its old chunks were requeued; the ledger fence stops
                its late commits from duplicating anything. */
            log_info ("worker %s is back", w->name);
            w->alive = true;
        }
        observe_worker_message (w, &msg);
        switch (msg.type) {
        case PROTO_MSG_PROGRESS:
            chunktab_progress (self->chunks, msg.chunk_id, msg.attempt, msg.rows, msg.bytes,
                               util_now_ms ());
            chunktab_group_progress (self->chunks, msg.chunk_id, msg.attempt);
            break;
        case PROTO_MSG_DONE: results_done (self, w, &msg); break;
        case PROTO_MSG_FAILED: results_failed (self, w, &msg); break;
        case PROTO_MSG_HEARTBEAT: break;
        case PROTO_MSG_BYE:
            s_lost (self, w, "said BYE");
            break;
        default:
            self->garbage++;
            log_warn ("worker %s: unexpected %s; dropped", w->name, protocol_type_name (msg.type));
        }
    }
    protocol_msg_reset (&msg);
cleanup:
    zframe_destroy (&identity);
    zframe_destroy (&body);
}

static void
s_timers (dispatch_t *self)
{
    int64_t now = util_now_ms ();
    int64_t dead_after = (int64_t) self->liveness * self->heartbeat_ms;
    admit_expire (self, dead_after);
    for (size_t i = 0; i < self->nworkers; i++) {
        worker_t *w = self->workers[i];
        if (!w->alive || !w->proven)
            continue;
        if (now - w->last_seen_ms > dead_after) {
            char why[96];
            snprintf (why, sizeof why, "silent for %" PRId64 " ms (liveness %d x %d ms)",
                      now - w->last_seen_ms, self->liveness, self->heartbeat_ms);
            s_lost (self, w, why);
            continue;
        }
        if (now - w->last_sent_ms >= self->heartbeat_ms) {
            protocol_msg_t hb;
            protocol_msg_init (&hb, PROTO_MSG_HEARTBEAT);
            dispatch_send (self, w, &hb);
        }
    }
}

static void
s_progress (dispatch_t *self)
{
    if (!self->progress_fn)
        return;
    dispatch_progress_t p;
    memset (&p, 0, sizeof p);
    p.chunks_total = chunktab_size (self->chunks);
    for (size_t i = 0; i < p.chunks_total; i++) {
        chunk_t *c = chunktab_get (self->chunks, (int64_t) i);
        if (c->state == CHUNK_STATE_DONE) {
            p.chunks_done++;
            p.rows_done += c->rows_from_ledger ? c->est_rows : c->rows;
        }
        else if (c->state == CHUNK_STATE_ASSIGNED)
            p.rows_done += c->progress_rows;
    }
    for (size_t i = 0; i < self->nworkers; i++)
        if (self->workers[i]->alive) {
            p.workers_alive++;
            p.slots_total += self->workers[i]->slots;
        }
    self->progress_fn (&p, self->progress_arg);
}

int
dispatch_run (dispatch_t *self)
{
    FERRY_ASSERT (self->gate || self->handshake_auth);     /* no unauthenticated mode */
    int64_t last_progress = 0, last_control = 0;
    while (!self->error[0]) {
        if (*self->stop) {
            dispatch_fail_run (self, "interrupted by signal");
            break;
        }
        if (chunktab_all_done (self->chunks))
            break;
        zmq_pollitem_t item = { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 };
        int timeout = self->heartbeat_ms < 200 ? self->heartbeat_ms : 200;
        int rc = zmq_poll (&item, 1, timeout);
        if (rc < 0 && zmq_errno () != EINTR) {
            dispatch_fail_run (self, "polling the ROUTER socket: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        if (rc > 0 && (item.revents & ZMQ_POLLIN)) {
            /*  Drain what is there, but bounded, so timers still run under
                a flood. */
            for (int i = 0; i < 1000 && (zsock_events (self->router) & ZMQ_POLLIN); i++) {
                zmsg_t *m = zmsg_recv (self->router);
                if (!m)
                    break;
                s_handle (self, m);
                zmsg_destroy (&m);
            }
        }
        s_timers (self);
        stall_check (self);
        if (self->tick_fn)
            self->tick_fn (self->tick_arg);
        assign_turn (self);
        int64_t now = util_now_ms ();
        if (now - last_control >= 250) {
            pace_control (self, now);
            last_control = now;
        }
        if (now - last_progress >= 500) {
            s_progress (self);
            last_progress = now;
        }
    }
    s_progress (self);
    return self->error[0] ? -1 : 0;
}

void
dispatch_stop_workers (dispatch_t *self, const char *reason, const char *outcome, int wait_ms)
{
    if (self->stopped)
        return;
    self->stopped = true;
    int pending = 0;
    for (size_t i = 0; i < self->nworkers; i++) {
        worker_t *w = self->workers[i];
        if (!w->alive)
            continue;
        protocol_msg_t m;
        protocol_msg_init (&m, PROTO_MSG_STOP);
        m.reason = (char *) reason;
        m.outcome = (char *) outcome;
        dispatch_send (self, w, &m);
        pending++;
    }
    int64_t deadline = util_now_ms () + wait_ms;
    while (pending > 0 && util_now_ms () < deadline) {
        zmq_pollitem_t item = { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 100) <= 0)
            continue;
        zmsg_t *m;
        while ((zsock_events (self->router) & ZMQ_POLLIN)
           &&  (m = zmsg_recv (self->router)) != NULL) {
            zframe_t *id = zmsg_first (m);
            worker_t *w = id ? dispatch_find (self, id) : NULL;
            bool was_alive = w && w->alive;
            s_handle (self, m);
            if (was_alive && !w->alive)
                pending--;
            zmsg_destroy (&m);
        }
    }
}
