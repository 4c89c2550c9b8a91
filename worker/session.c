/*  worker/session.c: the session's message loop; see session.h.

    The DEALER socket is link.c's (connect, HELLO, send, AUTH); each slot
    is a zactor of slotactor.c that runs one chunk at a time. This file
    decides: what to do with each message of the coordinator, when to send
    PROGRESS and HEARTBEAT, when to reconnect, when to leave. */
#include "session.h"
#include "bounds.h"
#include "copyjob.h"
#include "exit_codes.h"
#include "outcome.h"
#include "link.h"
#include "log.h"
#include "pipeline.h"
#include "protocol.h"
#include "retry.h"
#include "slotactor.h"
#include "threadcheck.h"
#include "util.h"
#include "wstats.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *endpoint;
    const char *name;
    int nslots;
    volatile int *stop;
    volatile int abort;        /* roll back running chunks */
    link_t link;               /* the DEALER, HELLO, AUTH */
    int64_t last_progress_ms;
    int heartbeat_ms, liveness;
    char *run_id;
    copyjob_t *job;
    char prepare_error[1024];
    bool prepare_retryable;
    slotactor_t **slots;       /* nslots of them once prepared */
    bool stopping;
    int reconnects;
    protocol_job_t *pending_job;   /* a JOB that waits for the old run's chunks */
    char *pending_run_id;
    uint64_t rng;
    bool refused;              /* the coordinator refused us: exit BAD_CONFIG */
    int64_t heard_ms;          /* last message from any coordinator (--give-up-after) */
    bool heard;                /* a coordinator has spoken since this process started */
    slot_ahead_t ahead;        /* a spawned worker's connections, opened before JOB */
    int stop_exit;             /* the exit status STOP.outcome says */
} self_t;

void
session_set_curve (zcert_t *cert, const char *server_key)
{
    link_set_curve (cert, server_key);
}

static void
s_slots_destroy (self_t *self)
{
    if (!self->slots)
        return;
    for (int i = 0; i < self->nslots; i++)
        slotactor_destroy (&self->slots[i]);
    free (self->slots);
    self->slots = NULL;
}

static bool
s_any_busy (self_t *self)
{
    for (int i = 0; self->slots && i < self->nslots; i++)
        if (self->slots[i]->busy)
            return true;
    return false;
}

/*  Rolls back every running chunk, and any handed to a slot later. */
static void
s_abort_all (self_t *self)
{
    self->abort = 1;
    for (int i = 0; self->slots && i < self->nslots; i++)
        slotactor_cancel (self->slots[i]);
}

/*  CANCEL: another attempt of this chunk committed it; this one rolls
    back (it would fail at the ledger fence anyway, after its whole COPY)
    and is reported as FAILED 57014. A CANCEL for an attempt that no
    longer runs here is nothing to do. */
static void
s_on_cancel (self_t *self, const protocol_msg_t *msg)
{
    for (int i = 0; self->slots && i < self->nslots; i++) {
        slotactor_t *slot = self->slots[i];
        if (slot->busy && slot->chunk_id == msg->chunk_id && slot->attempt == msg->attempt) {
            log_info ("chunk %" PRId64 " attempt %d: cancelled by the coordinator (another "
                      "attempt committed the chunk); rolling back", msg->chunk_id, msg->attempt);
            slotactor_cancel (slot);
            return;
        }
    }
    log_debug ("CANCEL for chunk %" PRId64 " attempt %d, which does not run here; ignored",
               msg->chunk_id, msg->attempt);
}

/*  HEARTBEAT, with this process's peak RSS and the worker's figures. */
static void
s_heartbeat (self_t *self)
{
    protocol_msg_t hb;
    protocol_msg_init (&hb, PROTO_MSG_HEARTBEAT);
    hb.peak_rss_kb = util_peak_rss_kb ();
    wstats_fill (&hb);
    link_send (&self->link, &hb);
    protocol_msg_reset (&hb);
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
    slot_ahead_take (&self->ahead, probe, !file);
    if (file) {
        if (slot_connect (probe, false, self->stop) != 0) {
            snprintf (self->prepare_error, sizeof self->prepare_error, "%s",
                      pg_conn_error (probe->target)->message);
            self->prepare_retryable = pg_conn_error (probe->target)->retryable;
        }
        else if (copyjob_prepare_csv (self->job, probe->target, err, sizeof err, &retryable) != 0) {
            snprintf (self->prepare_error, sizeof self->prepare_error, "%s", err);
            self->prepare_retryable = retryable;
        }
    }
    else if (slot_connect (probe, true, self->stop) != 0) {
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
    if (self->prepare_error[0]) {
        slot_destroy (&probe);
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
        slot_destroy (&probe);
        log_error ("run %s: %s (will try again on the next chunk)", self->run_id,
                   self->prepare_error);
        return -1;
    }
    /*  The probe's connections are open and idle: the first slot keeps
        them (its first chunk saves a connect to each server). */
    self->slots = xcalloc ((size_t) self->nslots, sizeof *self->slots);
    for (int i = 0; i < self->nslots; i++)
        self->slots[i] = slotactor_new (self->job, &self->abort, i == 0 ? probe : NULL);
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
    link_send (&self->link, &m);
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
    slotactor_t *free_slot = NULL;
    for (int i = 0; i < self->nslots && !free_slot; i++)
        if (!self->slots[i]->busy)
            free_slot = self->slots[i];
    if (!free_slot) {
        s_failed_assign (self, msg, true, PROTOCOL_NO_SLOT, "no free slot");
        return;
    }
    int32_t count = msg->group_count > 1 ? msg->group_count : 1;
    if (count > 1 && !s_group_ok (msg)) {
        s_failed_assign (self, msg, false, "XX000",
                         "ASSIGN: group_bounds does not hold group_count - 1 bounds");
        return;
    }
    if ((msg->path != NULL) != (self->job->kind == SOURCE_KIND_CSV)) {
        s_failed_assign (self, msg, false, "XX000",
                  msg->path ? "a file range for a run that is not a file source"
                            : "a key range for a run that is a file source");
        return;
    }
    if (slotactor_run (free_slot, msg) != 0)
        s_failed_assign (self, msg, true, PROTOCOL_NO_SLOT, "slot unavailable");
}

/*  A group committed: one DONE per chunk, with the chunk's own rows,
    bytes and fingerprint (as its ledger row has them); the stage times
    ride on the first, whose COPY it was. */
static void
s_done_group (self_t *self, slotactor_t *s, const chunk_result_t *r)
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
        wstats_fill (&m);       /* the worker's figures, as a lone chunk's DONE has them */
        link_send (&self->link, &m);
        protocol_msg_reset (&m);        /* batch_hist; the rest is not owned */
    }
}

static void
s_on_result (self_t *self, slotactor_t *s)
{
    chunk_result_t r;
    if (slotactor_recv (s, &r) == 0) {
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
            link_send (&self->link, &m);
            protocol_msg_reset (&m);    /* batch_hist; the rest is not owned */
        }
        else {
            bool retryable = r.status == CHUNK_RETRIES_EXHAUSTED || r.status == CHUNK_INTERRUPTED
                          || (r.status == CHUNK_FAILED && r.err.retryable);
            /*  FR001 (ferry's own class FR) says "already committed by another
                attempt"; 23505 would be ambiguous with a real unique violation
                in the copy table (publish: direct). */
            const char *state = r.status == CHUNK_ALREADY_COMMITTED ? PROTOCOL_ALREADY_COMMITTED
                              : r.status == CHUNK_INTERRUPTED ? "57014" : r.err.sqlstate;
            /*  A group fails whole: each of its chunks is told apart. */
            for (int32_t i = 0; i < (s->count > 1 ? s->count : 1); i++)
                s_failed (self, s->chunk_id + i, s->attempt, retryable, state, r.err.message);
        }
        free (r.members);
    }
}

static void
s_send_progress (self_t *self)
{
    for (int i = 0; self->slots && i < self->nslots; i++) {
        slotactor_t *s = self->slots[i];
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
        link_send (&self->link, &m);
        protocol_msg_reset (&m);        /* batch_hist; the rest is not owned */
    }
}

/*  Handles one message from the coordinator. Returns -1 on STOP. */
static int
s_on_coordinator (self_t *self)
{
    zframe_t *f = zframe_recv (self->link.dealer);
    if (!f)
        return 0;
    self->link.last_recv_ms = util_now_ms ();
    self->link.heard = self->heard = true;
    self->heard_ms = self->link.last_recv_ms;
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
        case PROTO_MSG_CANCEL: s_on_cancel (self, &msg); break;
        case PROTO_MSG_CHALLENGE:
            rc = link_on_challenge (&self->link, &msg);
            if (rc != 0)
                self->refused = true;
            break;
        case PROTO_MSG_STOP:
            if (!self->run_id && self->link.authed) {
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
    self.endpoint = endpoint;
    self.name = name;
    self.nslots = slots > 0 ? slots : 2;
    self.link = (link_t) { .endpoint = endpoint, .name = name, .secret = secret,
                           .nslots = self.nslots, .pid = getpid () };
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
    /*  Spawned by a coordinator that is planning now: connect meanwhile. */
    if (orphan_exit)
        slot_ahead_begin (&self.ahead, name);
    if (link_connect (&self.link, false) != 0) {
        slot_ahead_drop (&self.ahead);
        return EXIT_CODE_NO_RESOURCES;
    }
    log_info ("connecting to %s with %d slot(s)", endpoint, self.nslots);
    int exit_code = EXIT_CODE_OK;
    int64_t next_reconnect = 0;
    self.heard_ms = util_now_ms ();

    while (true) {
        if (*stop && !self.stopping) {
            log_info ("signal: rolling back running chunks and leaving");
            self.stopping = true;
            s_abort_all (&self);
            exit_code = s_any_busy (&self) ? EXIT_CODE_INTERRUPTED : EXIT_CODE_OK;
        }
        if (orphan_exit && getppid () != parent && !self.stopping) {
            log_warn ("the coordinator process that started this worker is gone; leaving");
            self.stopping = true;
            s_abort_all (&self);
        }
        if (!self.stopping && outcome_should_give_up (self.heard_ms, util_now_ms (), give_up_ms)) {
            log_error ("no word from a coordinator at %s for %.1f s (--give-up-after); giving "
                       "up (exit %d)", endpoint, (double) give_up_ms / 1000.0,
                       EXIT_CODE_NO_COORDINATOR);
            self.stopping = true;
            s_abort_all (&self);
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
        items[n++] = (zmq_pollitem_t) { zsock_resolve (self.link.dealer), 0, ZMQ_POLLIN, 0 };
        for (int i = 0; self.slots && i < self.nslots; i++)
            items[n++] = (zmq_pollitem_t) { zsock_resolve (self.slots[i]->actor), 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll (items, n, 100);
        if (rc < 0 && zmq_errno () != EINTR)
            break;
        if (rc > 0) {
            if (items[0].revents & ZMQ_POLLIN) {
                if (s_on_coordinator (&self) < 0) {
                    self.stopping = true;
                    s_abort_all (&self);
                    exit_code = self.stop_exit;
                }
            }
            for (int i = 1; i < n; i++)
                if (items[i].revents & ZMQ_POLLIN)
                    s_on_result (&self, self.slots[i - 1]);
        }
        int64_t now = util_now_ms ();
        if (now - self.last_progress_ms >= 1000) {
            s_send_progress (&self);
            self.last_progress_ms = now;
        }
        /*  Nothing to keep alive until the coordinator has answered HELLO. */
        if (self.link.heard && now - self.link.last_sent_ms >= self.heartbeat_ms)
            s_heartbeat (&self);
        /*  A local worker is started before its coordinator plans, which
            may take long: its first answer is waited for, not reconnected
            for (--orphan-exit still ends the wait if the coordinator dies). */
        int64_t silent = now - self.link.last_recv_ms;
        if (!self.stopping && silent > (int64_t) self.liveness * self.heartbeat_ms
        &&  now >= next_reconnect && (self.heard || !orphan_exit)) {
            double delay = retry_delay (&reconnect, self.reconnects, &self.rng);
            log_warn ("coordinator silent for %" PRId64 " ms; reconnecting to %s (next try in %.1fs)",
                      silent, endpoint, delay);
            self.reconnects++;
            if (link_connect (&self.link, true) != 0) {
                /*  No link any more: running chunks roll back, and leave. */
                s_abort_all (&self);
                exit_code = EXIT_CODE_NO_RESOURCES;
                break;
            }
            /*  link_connect resets last_recv; wait at least the back-off. */
            next_reconnect = now + (int64_t) (delay * 1000);
            self.link.last_recv_ms = now - (int64_t) self.liveness * self.heartbeat_ms
                              + (int64_t) (delay * 1000);
        }
    }
    /*  The last figures first: a run shorter than a heartbeat period
        would otherwise never hear this worker's memory (a worker that got
        no chunk sends no DONE). */
    if (self.run_id)
        s_heartbeat (&self);
    protocol_msg_t bye;
    protocol_msg_init (&bye, PROTO_MSG_BYE);
    link_send (&self.link, &bye);
    s_slots_destroy (&self);
    slot_ahead_drop (&self.ahead);
    copyjob_destroy (&self.job);
    protocol_job_destroy (&self.pending_job);
    free (self.pending_run_id);
    free (self.run_id);
    link_close (&self.link);
    log_info ("left");
    return self.refused ? EXIT_CODE_BAD_CONFIG : exit_code;
}
