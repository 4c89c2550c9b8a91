/*  worker/session.c: see session.h.

    Slot actors (zactor), one per slot. Pipe protocol:
        session -> slot   "RUN" chunk_id attempt lo hi path offset length first_line
                          count bounds
                          (lo/hi/path/bounds: "N" = none, "V<text>"; count and
                          bounds: a group of adjacent chunks, common/bounds.h)
        slot -> session   "RESULT" chunk_id attempt <chunk_result_t bytes>
    plus czmq's "$TERM". A slot owns its two connections (slot_t) and
    blocks in pipeline_run_chunk while a chunk runs; the abort flag, shared
    read-only with the session, makes a running chunk roll back. */
#include "session.h"
#include "auth.h"
#include "bounds.h"
#include "copyjob.h"
#include "exit_codes.h"
#include "outcome.h"
#include "log.h"
#include "pipeline.h"
#include "protocol.h"
#include "retry.h"
#include "threadcheck.h"
#include "util.h"
#include "wstats.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    copyjob_t *job;            /* borrowed, read-only while the slot lives */
    slot_t *slot;              /* borrowed */
    volatile int *abort;
} slot_args_t;

static void
s_slot_actor (zsock_t *pipe, void *arg)
{
    slot_args_t *args = arg;
    zsock_signal (pipe, 0);
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        char *command = zmsg_popstr (msg);
        if (command && streq (command, "RUN") && zmsg_size (msg) == 10) {
            char *id = zmsg_popstr (msg), *att = zmsg_popstr (msg);
            char *lo = zmsg_popstr (msg), *hi = zmsg_popstr (msg);
            char *path = zmsg_popstr (msg), *off = zmsg_popstr (msg);
            char *len = zmsg_popstr (msg), *line = zmsg_popstr (msg);
            char *cnt = zmsg_popstr (msg), *bnd = zmsg_popstr (msg);
            int32_t count = (int32_t) strtol (cnt, NULL, 10);
            char **bounds = count > 1 ? xcalloc ((size_t) count, sizeof *bounds) : NULL;
            if (bounds && bounds_split (bnd + 1, (size_t) count - 1, bounds) != 0)
                count = 1;      /* checked by the session already: not reached */
            chunk_spec_t spec = { .chunk_id = strtoll (id, NULL, 10),
                                  .attempt = (int32_t) strtol (att, NULL, 10),
                                  .lo = lo[0] == 'V' ? lo + 1 : NULL,
                                  .hi = hi[0] == 'V' ? hi + 1 : NULL,
                                  .path = path[0] == 'V' ? path + 1 : NULL,
                                  .offset = strtoll (off, NULL, 10),
                                  .length = strtoll (len, NULL, 10),
                                  .first_line = strtoll (line, NULL, 10),
                                  .count = count, .bounds = bounds };
            chunk_result_t result;
            pipeline_run_chunk (args->job, args->slot, &spec, &result, args->abort);
            if (bounds)
                bounds_free (bounds, count > 1 ? (size_t) count - 1 : 0);
            free (bounds);
            free (cnt);
            free (bnd);
            zmsg_t *reply = zmsg_new ();
            zmsg_addstr (reply, "RESULT");
            zmsg_addstr (reply, id);
            zmsg_addstr (reply, att);
            zmsg_addmem (reply, &result, sizeof result);
            if (zmsg_send (&reply, pipe) != 0)
                log_warn ("slot: cannot report chunk %s", id);
            zmsg_destroy (&reply);
            free (id); free (att); free (lo); free (hi);
            free (path); free (off); free (len); free (line);
        }
        bool term = command && streq (command, "$TERM");
        free (command);
        zmsg_destroy (&msg);
        if (term)
            break;
    }
    /*  Before the actor says it ended (czmq does that on return): the
        process may exit right after. */
    auth_thread_done ();
}

typedef struct {
    zactor_t *actor;
    slot_t *slot;
    slot_args_t args;
    bool busy;
    int64_t chunk_id;
    int32_t attempt;
    int32_t count;             /* chunks in the ASSIGN (a group: > 1) */
} slotrec_t;

typedef struct {
    const char *endpoint;
    const char *name;
    int nslots;
    volatile int *stop;
    volatile int abort;        /* roll back running chunks */
    zsock_t *dealer;
    int64_t last_recv_ms, last_sent_ms, last_progress_ms;
    int heartbeat_ms, liveness;
    char *run_id;
    copyjob_t *job;
    char prepare_error[1024];
    bool prepare_retryable;
    slotrec_t *slots;
    bool stopping;
    int reconnects;
    protocol_job_t *pending_job;   /* a JOB that waits for the old run's chunks */
    char *pending_run_id;
    uint64_t rng;
    const char *secret;        /* borrowed; NULL: none */
    bool authed;               /* AUTH sent on this link */
    bool refused;              /* the coordinator refused us: exit BAD_CONFIG */
    int64_t heard_ms;          /* last message from any coordinator (--give-up-after) */
    int stop_exit;             /* the exit status STOP.outcome says */
    int64_t pid;               /* in HELLO and the proof */
} self_t;

/*  session_set_curve: set once by main before the session starts. */
static zcert_t *s_curve_cert;
static const char *s_curve_server;

void
session_set_curve (zcert_t *cert, const char *server_key)
{
    s_curve_cert = cert;
    s_curve_server = server_key;
}

static int
s_send (self_t *self, protocol_msg_t *msg)
{
    char *data = NULL;
    size_t size = 0;
    char err[256];
    if (!self->dealer)
        return -1;                      /* no socket (s_connect failed and logged) */
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
s_hello (self_t *self)
{
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_HELLO);
    m.name = (char *) self->name;
    m.host = (char *) util_hostname ();
    m.pid = self->pid;
    m.slots = self->nslots;
    m.build = (char *) FERRY_VERSION;
    s_send (self, &m);                 /* borrowed fields: no reset */
}

/*  A new DEALER to the coordinator, and HELLO. Returns 0, or -1 (logged)
    when the socket cannot be created (out of file descriptors or memory):
    the caller exits. */
static int
s_connect (self_t *self)
{
    zsock_destroy (&self->dealer);
    const char *fault = threadcheck_fault ("socket") ? "FERRY_FAULT=socket"
                      : self->reconnects > 0 && threadcheck_fault ("socket-reconnect")
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
    s_hello (self);
    return 0;
}

/*  CHALLENGE: prove the cluster secret (common/auth.h). Returns -1 when
    this worker has no secret: the session ends. */
static int
s_on_challenge (self_t *self, protocol_msg_t *msg)
{
    if (!self->secret) {
        log_error ("the coordinator at %s asks this worker to prove the cluster secret and it "
                   "has none: set FERRY_CLUSTER_SECRET to the coordinator's secret, or pass "
                   "--secret-file FILE (the file the job's cluster.secret_file names)",
                   self->endpoint);
        self->refused = true;
        return -1;
    }
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_AUTH);
    char proof[AUTH_HEX_LEN + 1];
    auth_proof (self->secret, msg->nonce, self->name, util_hostname (), self->pid, proof);
    m.proof = proof;
    s_send (self, &m);                 /* borrowed field: no reset */
    self->authed = true;
    return 0;
}

static void
s_slots_destroy (self_t *self)
{
    if (!self->slots)
        return;
    for (int i = 0; i < self->nslots; i++) {
        zactor_destroy (&self->slots[i].actor);
        slot_destroy (&self->slots[i].slot);
    }
    free (self->slots);
    self->slots = NULL;
}

static bool
s_any_busy (self_t *self)
{
    for (int i = 0; self->slots && i < self->nslots; i++)
        if (self->slots[i].busy)
            return true;
    return false;
}

/*  Connects, describes and checks the job, then starts the slots.
    Returns 0, or -1 with prepare_error set (prepare_retryable says whether
    trying again later may help: the next ASSIGN does). */
static int
s_prepare (self_t *self)
{
    self->prepare_error[0] = 0;
    char err[1024];
    slot_t *probe = slot_new (self->job);
    bool retryable = false;
    bool file = self->job->kind == SOURCE_KIND_CSV;
    if (file) {
        if (pg_connect (probe->target, NULL, self->stop) != 0) {
            snprintf (self->prepare_error, sizeof self->prepare_error, "%s",
                      pg_conn_error (probe->target)->message);
            self->prepare_retryable = pg_conn_error (probe->target)->retryable;
        }
        else if (copyjob_prepare_csv (self->job, probe->target, err, sizeof err, &retryable) != 0) {
            snprintf (self->prepare_error, sizeof self->prepare_error, "%s", err);
            self->prepare_retryable = retryable;
        }
    }
    else if (pg_connect (probe->source, NULL, self->stop) != 0
    ||  pg_connect (probe->target, NULL, self->stop) != 0) {
        const pg_error_t *e = pg_is_connected (probe->source) ? pg_conn_error (probe->target)
                                                              : pg_conn_error (probe->source);
        snprintf (self->prepare_error, sizeof self->prepare_error, "%s", e->message);
        self->prepare_retryable = e->retryable;
    }
    else if (copyjob_prepare (self->job, probe->source, probe->target, err, sizeof err,
                              &retryable) != 0) {
        snprintf (self->prepare_error, sizeof self->prepare_error, "%s", err);
        self->prepare_retryable = retryable;
    }
    slot_destroy (&probe);
    if (self->prepare_error[0]) {
        log_error ("run %s: %s%s", self->run_id, self->prepare_error,
                   self->prepare_retryable ? " (will try again on the next chunk)" : "");
        return -1;
    }
    /*  zactor_new waits for ever when its thread cannot start. */
    char terr[256];
    if (threadcheck_run (self->nslots, terr, sizeof terr) != 0) {
        snprintf (self->prepare_error, sizeof self->prepare_error,
                  "cannot start %d slot thread(s): %s", self->nslots, terr);
        self->prepare_retryable = true;
        log_error ("run %s: %s (will try again on the next chunk)", self->run_id,
                   self->prepare_error);
        return -1;
    }
    self->slots = xcalloc ((size_t) self->nslots, sizeof *self->slots);
    for (int i = 0; i < self->nslots; i++) {
        slotrec_t *s = &self->slots[i];
        s->slot = slot_new (self->job);
        s->args.job = self->job;
        s->args.slot = s->slot;
        s->args.abort = &self->abort;
        s->actor = zactor_new (s_slot_actor, &s->args);
    }
    log_info ("joined run %s: %d slot(s), %s into %s", self->run_id, self->nslots,
              file ? "file records" : self->job->binary ? "binary COPY" : "text COPY",
              self->job->copy_table);
    return 0;
}

/*  Takes on a run: the job replaces the previous one (no chunk of it may
    be running). */
static void
s_start_job (self_t *self, const char *run_id, const protocol_job_t *pjob)
{
    s_slots_destroy (self);
    copyjob_destroy (&self->job);
    free (self->run_id);
    self->run_id = xstrdup (run_id);
    log_set_run (run_id);
    self->prepare_error[0] = 0;
    char err[1024];
    self->job = copyjob_from_protocol (pjob, run_id, self->name, err, sizeof err);
    if (!self->job) {
        snprintf (self->prepare_error, sizeof self->prepare_error, "%s", err);
        self->prepare_retryable = false;
        log_error ("%s", err);
        return;
    }
    /*  The coordinator retries (and may move the chunk elsewhere). */
    self->job->retry.max_retries = 0;
    s_prepare (self);
}

static void
s_on_job (self_t *self, protocol_msg_t *msg)
{
    self->heartbeat_ms = msg->heartbeat_ms > 0 ? msg->heartbeat_ms : 1000;
    self->liveness = msg->liveness > 0 ? msg->liveness : 5;
    if (self->run_id && streq (self->run_id, msg->run_id) && self->job) {
        /*  The same run after a reconnect: keep going, unless the job
            changed (a resumed run exports a new snapshot). */
        const char *was = self->job->snapshot, *now = msg->job->snapshot;
        bool same = (!was && !now) || (was && now && streq (was, now));
        if (same) {
            protocol_job_destroy (&self->pending_job);
            free (self->pending_run_id);
            self->pending_run_id = NULL;
            return;
        }
        log_info ("run %s: the coordinator sent a new job (snapshot %s); taking it on",
                  msg->run_id, now ? now : "none");
    }
    if (s_any_busy (self)) {
        /*  Chunks of the old run still run with the old job: keep the new
            one until they end (ASSIGNs meanwhile are refused, retryable). */
        log_warn ("JOB for run %s while chunks of run %s still run; it starts when they end",
                  msg->run_id, self->run_id);
        protocol_job_destroy (&self->pending_job);
        free (self->pending_run_id);
        self->pending_job = protocol_job_dup (msg->job);
        self->pending_run_id = xstrdup (msg->run_id);
        return;
    }
    s_start_job (self, msg->run_id, msg->job);
}

static void
s_failed (self_t *self, int64_t chunk_id, int32_t attempt, bool retryable,
          const char *sqlstate, const char *message)
{
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_FAILED);
    m.chunk_id = chunk_id;
    m.attempt = attempt;
    m.retryable = retryable;
    snprintf (m.sqlstate, sizeof m.sqlstate, "%s", sqlstate ? sqlstate : "");
    m.message = (char *) message;
    s_send (self, &m);
}

/*  A group ASSIGN is well formed: key ranges, and group_bounds splits
    into group_count - 1 bounds. */
static bool
s_group_ok (const protocol_msg_t *msg)
{
    if (msg->path || !msg->group_bounds)
        return false;
    size_t n = (size_t) msg->group_count - 1;
    char **bounds = xcalloc (n, sizeof *bounds);
    bool ok = bounds_split (msg->group_bounds, n, bounds) == 0;
    if (ok)
        bounds_free (bounds, n);
    free (bounds);
    return ok;
}

/*  s_failed for every chunk of an ASSIGN (a group: each member). */
static void
s_failed_assign (self_t *self, const protocol_msg_t *msg, bool retryable, const char *sqlstate,
                 const char *message)
{
    int32_t count = msg->group_count > 1 ? msg->group_count : 1;
    for (int32_t i = 0; i < count; i++)
        s_failed (self, msg->chunk_id + i, msg->attempt, retryable, sqlstate, message);
}

static void
s_on_assign (self_t *self, protocol_msg_t *msg)
{
    if (self->stopping) {
        s_failed_assign (self, msg, true, "57P01", "worker is stopping");
        return;
    }
    if (self->pending_job) {
        s_failed_assign (self, msg, true, PROTOCOL_NO_SLOT,
                  "worker is finishing the chunks of another run");
        return;
    }
    if (self->job && self->prepare_error[0] && self->prepare_retryable)
        s_prepare (self);           /* the servers may be back */
    if (!self->job || self->prepare_error[0]) {
        s_failed_assign (self, msg, self->job ? self->prepare_retryable : false,
                  !self->prepare_retryable ? "XX000"
                  : strncmp (self->prepare_error, "cannot start", 12) == 0 ? "53000" : "08006",
                  self->prepare_error[0] ? self->prepare_error : "ASSIGN before JOB");
        return;
    }
    slotrec_t *free_slot = NULL;
    for (int i = 0; i < self->nslots && !free_slot; i++)
        if (!self->slots[i].busy)
            free_slot = &self->slots[i];
    if (!free_slot) {
        s_failed_assign (self, msg, true, PROTOCOL_NO_SLOT, "no free slot");
        return;
    }
    zmsg_t *run = zmsg_new ();
    zmsg_addstr (run, "RUN");
    zmsg_addstrf (run, "%" PRId64, msg->chunk_id);
    zmsg_addstrf (run, "%d", msg->attempt);
    if (msg->lo) zmsg_addstrf (run, "V%s", msg->lo); else zmsg_addstr (run, "N");
    if (msg->hi) zmsg_addstrf (run, "V%s", msg->hi); else zmsg_addstr (run, "N");
    if (msg->path) zmsg_addstrf (run, "V%s", msg->path); else zmsg_addstr (run, "N");
    zmsg_addstrf (run, "%" PRId64, msg->offset);
    zmsg_addstrf (run, "%" PRId64, msg->length);
    zmsg_addstrf (run, "%" PRId64, msg->first_line);
    int32_t count = msg->group_count > 1 ? msg->group_count : 1;
    zmsg_addstrf (run, "%d", count);
    if (msg->group_bounds) zmsg_addstrf (run, "V%s", msg->group_bounds); else zmsg_addstr (run, "N");
    if (count > 1 && !s_group_ok (msg)) {
        zmsg_destroy (&run);
        s_failed_assign (self, msg, false, "XX000",
                         "ASSIGN: group_bounds does not hold group_count - 1 bounds");
        return;
    }
    if ((msg->path != NULL) != (self->job->kind == SOURCE_KIND_CSV)) {
        zmsg_destroy (&run);
        s_failed_assign (self, msg, false, "XX000",
                  msg->path ? "a file range for a run that is not a file source"
                            : "a key range for a run that is a file source");
        return;
    }
    if (zmsg_send (&run, free_slot->actor) != 0) {
        zmsg_destroy (&run);
        s_failed_assign (self, msg, true, PROTOCOL_NO_SLOT, "slot unavailable");
        return;
    }
    free_slot->busy = true;
    free_slot->chunk_id = msg->chunk_id;
    free_slot->attempt = msg->attempt;
    free_slot->count = count;
}

/*  A group committed: one DONE per chunk, with the chunk's own rows,
    bytes and fingerprint (as its ledger row has them); the stage times
    ride on the first, whose COPY it was. */
static void
s_done_group (self_t *self, slotrec_t *s, const chunk_result_t *r)
{
    for (int32_t i = 0; i < s->count; i++) {
        protocol_msg_t m;
        protocol_msg_init (&m, PROTO_MSG_DONE);
        m.chunk_id = s->chunk_id + i;
        m.attempt = s->attempt;
        m.rows = r->members[i].rows;
        m.bytes = r->members[i].bytes;
        m.checksum = r->members[i].checksum;
        if (i == 0) {
            m.read_ms = r->read_ms;
            m.process_ms = r->process_ms;
            m.write_ms = r->write_ms;
            m.commit_ms = r->commit_ms;
            m.retries = r->retries;
        }
        m.peak_rss_kb = util_peak_rss_kb ();
        s_send (self, &m);
    }
}

static void
s_on_result (self_t *self, slotrec_t *s)
{
    zmsg_t *msg = zmsg_recv (s->actor);
    if (!msg)
        return;
    char *command = zmsg_popstr (msg);
    zframe_t *id = zmsg_pop (msg), *att = zmsg_pop (msg), *body = zmsg_pop (msg);
    if (command && streq (command, "RESULT") && body && zframe_size (body) == sizeof (chunk_result_t)) {
        chunk_result_t r;
        memcpy (&r, zframe_data (body), sizeof r);
        s->busy = false;
        if (r.status == CHUNK_OK && s->count > 1 && r.members)
            s_done_group (self, s, &r);
        else if (r.status == CHUNK_OK) {
            protocol_msg_t m;
            protocol_msg_init (&m, PROTO_MSG_DONE);
            m.chunk_id = s->chunk_id;
            m.attempt = s->attempt;
            m.rows = r.rows;
            m.rejected = r.rejected;
            m.bytes = r.bytes;
            m.checksum = r.checksum;
            m.read_ms = r.read_ms;
            m.process_ms = r.process_ms;
            m.write_ms = r.write_ms;
            m.commit_ms = r.commit_ms;
            m.retries = r.retries;
            m.peak_rss_kb = util_peak_rss_kb ();
            wstats_fill (&m);
            s_send (self, &m);
            protocol_msg_reset (&m);    /* batch_hist; the rest is not owned */
        }
        else {
            bool retryable = r.status == CHUNK_RETRIES_EXHAUSTED || r.status == CHUNK_INTERRUPTED
                          || (r.status == CHUNK_FAILED && r.retryable);
            /*  FR001 (ferry's own class FR) says "already committed by another
                attempt"; 23505 would be ambiguous with a real unique violation
                in the copy table (publish: direct). */
            const char *state = r.status == CHUNK_ALREADY_COMMITTED ? PROTOCOL_ALREADY_COMMITTED
                              : r.status == CHUNK_INTERRUPTED ? "57014" : r.sqlstate;
            /*  A group fails whole: each of its chunks is told apart. */
            for (int32_t i = 0; i < (s->count > 1 ? s->count : 1); i++)
                s_failed (self, s->chunk_id + i, s->attempt, retryable, state, r.message);
        }
        free (r.members);
    }
    free (command);
    zframe_destroy (&id);
    zframe_destroy (&att);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}

static void
s_send_progress (self_t *self)
{
    for (int i = 0; self->slots && i < self->nslots; i++) {
        slotrec_t *s = &self->slots[i];
        if (!s->busy)
            continue;
        protocol_msg_t m;
        protocol_msg_init (&m, PROTO_MSG_PROGRESS);
        m.chunk_id = s->chunk_id;
        m.attempt = s->attempt;
        m.rows = atomic_load (&s->slot->rows_done);
        m.bytes = atomic_load (&s->slot->bytes_done);
        m.peak_rss_kb = util_peak_rss_kb ();
        wstats_fill (&m);
        s_send (self, &m);
        protocol_msg_reset (&m);        /* batch_hist; the rest is not owned */
    }
}

/*  Handles one message from the coordinator. Returns -1 on STOP. */
static int
s_on_coordinator (self_t *self)
{
    zframe_t *f = zframe_recv (self->dealer);
    if (!f)
        return 0;
    self->last_recv_ms = util_now_ms ();
    self->heard_ms = self->last_recv_ms;
    self->reconnects = 0;
    protocol_msg_t msg;
    memset (&msg, 0, sizeof msg);
    char err[256];
    int rc = 0;
    if (protocol_decode (zframe_data (f), zframe_size (f), &msg, err, sizeof err) != 0)
        log_warn ("coordinator: %s; dropped", err);
    else {
        switch (msg.type) {
        case PROTO_MSG_JOB: s_on_job (self, &msg); break;
        case PROTO_MSG_ASSIGN: s_on_assign (self, &msg); break;
        case PROTO_MSG_HEARTBEAT: break;
        case PROTO_MSG_CHALLENGE: rc = s_on_challenge (self, &msg); break;
        case PROTO_MSG_STOP:
            if (!self->run_id && self->authed) {
                /*  Refused before any JOB: our proof did not match. */
                log_error ("the coordinator refused this worker: %s",
                           msg.reason ? msg.reason : "");
                self->refused = true;
            }
            else {
                log_info ("coordinator says STOP: %s%s%s", msg.reason ? msg.reason : "",
                          msg.outcome ? "; the run is " : "", msg.outcome ? msg.outcome : "");
                self->stop_exit = outcome_exit_code (msg.outcome);
            }
            rc = -1;
            break;
        default:
            log_warn ("coordinator: unexpected %s; dropped", protocol_type_name (msg.type));
        }
        protocol_msg_reset (&msg);
    }
    zframe_destroy (&f);
    return rc;
}

int
session_run (const char *endpoint, const char *name, int slots, bool orphan_exit,
             const char *secret, int64_t give_up_ms, volatile int *stop)
{
    self_t self;
    memset (&self, 0, sizeof self);
    self.secret = secret;
    self.pid = getpid ();
    self.endpoint = endpoint;
    self.name = name;
    self.nslots = slots > 0 ? slots : 2;
    self.stop = stop;
    self.heartbeat_ms = 1000;
    self.liveness = 5;
    self.rng = retry_seed ();
    pid_t parent = getppid ();
    retry_policy_t reconnect = { .max_retries = 1000000, .initial_delay = 0.5,
                                 .backoff = 2.0, .max_delay = 15.0 };
    /*  libzmq starts 2 threads with the first socket and aborts if it
        cannot; each slot is one more (worker/threadcheck.h). */
    char err[256];
    if (threadcheck_run (2 + self.nslots, err, sizeof err) != 0) {
        log_error ("cannot start the worker's %d threads (2 for ZeroMQ, 1 per slot): %s; raise "
                   "the process's limits (ulimit -v, ulimit -u) or use fewer --slots",
                   2 + self.nslots, err);
        return EXIT_CODE_NO_RESOURCES;
    }
    zsys_handler_set (NULL);
    if (s_connect (&self) != 0)
        return EXIT_CODE_NO_RESOURCES;
    log_info ("connecting to %s with %d slot(s)", endpoint, self.nslots);
    int exit_code = EXIT_CODE_OK;
    int64_t next_reconnect = 0;
    self.heard_ms = util_now_ms ();

    while (true) {
        if (*stop && !self.stopping) {
            log_info ("signal: rolling back running chunks and leaving");
            self.stopping = true;
            self.abort = 1;
            exit_code = s_any_busy (&self) ? EXIT_CODE_INTERRUPTED : EXIT_CODE_OK;
        }
        if (orphan_exit && getppid () != parent && !self.stopping) {
            log_warn ("the coordinator process that started this worker is gone; leaving");
            self.stopping = true;
            self.abort = 1;
        }
        if (!self.stopping && outcome_should_give_up (self.heard_ms, util_now_ms (), give_up_ms)) {
            log_error ("no word from a coordinator at %s for %.1f s (--give-up-after); giving "
                       "up (exit %d)", endpoint, (double) give_up_ms / 1000.0,
                       EXIT_CODE_NO_COORDINATOR);
            self.stopping = true;
            self.abort = 1;
            exit_code = EXIT_CODE_NO_COORDINATOR;
        }
        if (self.stopping && !s_any_busy (&self))
            break;
        if (self.pending_job && !s_any_busy (&self)) {
            s_start_job (&self, self.pending_run_id, self.pending_job);
            protocol_job_destroy (&self.pending_job);
            free (self.pending_run_id);
            self.pending_run_id = NULL;
        }

        zmq_pollitem_t items[1 + 256];
        int n = 0;
        items[n++] = (zmq_pollitem_t) { zsock_resolve (self.dealer), 0, ZMQ_POLLIN, 0 };
        for (int i = 0; self.slots && i < self.nslots; i++)
            items[n++] = (zmq_pollitem_t) { zsock_resolve (self.slots[i].actor), 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll (items, n, 100);
        if (rc < 0 && zmq_errno () != EINTR)
            break;
        if (rc > 0) {
            if (items[0].revents & ZMQ_POLLIN) {
                if (s_on_coordinator (&self) < 0) {
                    self.stopping = true;
                    self.abort = 1;
                    exit_code = self.stop_exit;
                }
            }
            for (int i = 1; i < n; i++)
                if (items[i].revents & ZMQ_POLLIN)
                    s_on_result (&self, &self.slots[i - 1]);
        }
        int64_t now = util_now_ms ();
        if (now - self.last_progress_ms >= 1000) {
            s_send_progress (&self);
            self.last_progress_ms = now;
        }
        if (now - self.last_sent_ms >= self.heartbeat_ms) {
            protocol_msg_t hb;
            protocol_msg_init (&hb, PROTO_MSG_HEARTBEAT);
            hb.peak_rss_kb = util_peak_rss_kb ();
            wstats_fill (&hb);
            s_send (&self, &hb);
            protocol_msg_reset (&hb);
        }
        int64_t silent = now - self.last_recv_ms;
        if (!self.stopping && silent > (int64_t) self.liveness * self.heartbeat_ms
        &&  now >= next_reconnect) {
            double delay = retry_delay (&reconnect, self.reconnects, &self.rng);
            log_warn ("coordinator silent for %" PRId64 " ms; reconnecting to %s (next try in %.1fs)",
                      silent, endpoint, delay);
            self.reconnects++;
            if (s_connect (&self) != 0) {
                /*  No link any more: running chunks roll back, and leave. */
                self.abort = 1;
                exit_code = EXIT_CODE_NO_RESOURCES;
                break;
            }
            /*  s_connect resets last_recv; wait at least the back-off. */
            next_reconnect = now + (int64_t) (delay * 1000);
            self.last_recv_ms = now - (int64_t) self.liveness * self.heartbeat_ms
                              + (int64_t) (delay * 1000);
        }
    }
    protocol_msg_t bye;
    protocol_msg_init (&bye, PROTO_MSG_BYE);
    s_send (&self, &bye);
    s_slots_destroy (&self);
    copyjob_destroy (&self.job);
    protocol_job_destroy (&self.pending_job);
    free (self.pending_run_id);
    free (self.run_id);
    zsock_destroy (&self.dealer);
    log_info ("left");
    return self.refused ? EXIT_CODE_BAD_CONFIG : exit_code;
}
