/*  coordinator/results.c: what a worker's DONE and FAILED do: the chunk
    table (done, retried, failed for good), the slot the attempt held, the
    ledger's chunk row, the run's failure. Part of the dispatcher (its
    state is in dispatch_int.h). */
#include "dispatch_int.h"
#include "log.h"
#include "straggler.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/*  A report of c's attempt from w: frees w's slot when it closes the
    assignment (the last member of a group); a report of an attempt given
    up as stalled (not c's live one) also ends its hold on the slot. */
static void
s_report_slot (dispatch_t *self, worker_t *w, chunk_t *c, int32_t attempt)
{
    bool live = c->state == CHUNK_STATE_ASSIGNED && c->attempt == attempt
                && c->worker == dispatch_index (self, w);
    /*  Either side of a backup (straggler.h) held a slot counted as busy,
        never as stalled. */
    bool raced = c->backup_attempt > 0
                 && (attempt == c->backup_attempt || attempt == c->prior_attempt);
    chunktab_prior_ended (self->chunks, c, attempt);
    if (!chunktab_report_closes (self->chunks, c, attempt) || w->busy <= 0)
        return;
    w->busy--;
    if (!live && !raced && w->stalled > 0)
        w->stalled--;
}

/*  A chunk that had a backup attempt was just committed by `attempt`:
    the other one, if it still runs, is told to roll back (CANCEL); it
    would only fail at the ledger fence, after its whole COPY. prior_* and
    current_* are the chunk's before the DONE was taken. A group is one
    attempt in one slot, named by its lead: its lead's DONE does it. */
static void
s_cancel_loser (dispatch_t *self, chunk_t *c, int32_t attempt, int prior_worker,
                int32_t prior_attempt, int current_worker, int32_t current_attempt)
{
    int lw = -1;
    int32_t la = 0;
    if (c->backup_attempt <= 0 || (c->group_lead >= 0 && c->group_lead != c->id)
    ||  !straggler_loser (attempt, prior_worker, prior_attempt, current_worker, current_attempt,
                          &lw, &la)
    ||  lw < 0 || (size_t) lw >= self->nworkers)
        return;
    worker_t *loser = self->workers[lw];
    log_info ("chunk %" PRId64 ": attempt %d committed it%s; cancelling attempt %d on %s",
              c->id, attempt, c->backup_won ? " (the backup)" : " (the backed-up one)", la,
              loser->name);
    if (!loser->alive)
        return;
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_CANCEL);
    m.chunk_id = c->id;
    m.attempt = la;
    dispatch_send (self, loser, &m);
}

void
results_done (dispatch_t *self, worker_t *w, protocol_msg_t *msg)
{
    int64_t now = util_now_ms ();
    chunk_t *c = chunktab_get (self->chunks, msg->chunk_id);
    if (!c) {
        log_warn ("worker %s: DONE for unknown chunk %" PRId64 " ignored", w->name, msg->chunk_id);
        return;
    }
    chunk_t *lead = c->group_lead >= 0 ? chunktab_get (self->chunks, c->group_lead) : NULL;
    int prior_worker = c->prior_worker;
    int current_worker = c->state == CHUNK_STATE_ASSIGNED ? c->worker : -1;
    int32_t prior_attempt = c->prior_attempt, current_attempt = c->attempt;
    s_report_slot (self, w, c, msg->attempt);
    if (c->state != CHUNK_STATE_DONE && !admit_done (self, w, msg))
        return;
    int rc = chunktab_done (self->chunks, msg->chunk_id, msg->attempt, dispatch_index (self, w), now,
                            msg->rows, msg->bytes, msg->checksum);
    if (rc != 1)
        return;
    s_cancel_loser (self, c, msg->attempt, prior_worker, prior_attempt, current_worker,
                    current_attempt);
    /*  A group's chunks shared one COPY: each gets its share of the
        group's time, so busy time stays the time slots were busy. */
    if (lead && lead->group_size > 1)
        c->busy_ms /= lead->group_size;
    c->rejected = msg->rejected;
    self->rejected += msg->rejected;
    w->rejected += msg->rejected;
    if (self->max_errors >= 0 && self->rejected > self->max_errors)
        dispatch_fail_run (self, "source.max_errors: %" PRId64 " records rejected so far (limit %" PRId64
                    "); the rejected records and reasons are in ferry.rejects (run %s)", self->rejected, self->max_errors, self->run_id);
    c->read_ms = msg->read_ms;
    c->process_ms = msg->process_ms;
    c->write_ms = msg->write_ms;
    c->commit_ms = msg->commit_ms;
    w->chunks++;
    w->rows += msg->rows;
    w->busy_ms += c->busy_ms;
    if (msg->peak_rss_kb > w->peak_rss_kb)
        w->peak_rss_kb = msg->peak_rss_kb;
    log_debug ("chunk %" PRId64 " done by %s: %" PRId64 " rows", c->id, w->name, msg->rows);
    ledger_chunk_update (self->ledger, self->run_id, c, w->name);
}

void
results_failed (dispatch_t *self, worker_t *w, protocol_msg_t *msg)
{
    int64_t now = util_now_ms ();
    chunk_t *c = chunktab_get (self->chunks, msg->chunk_id);
    if (!c) {
        log_warn ("worker %s: FAILED for unknown chunk %" PRId64 " ignored", w->name, msg->chunk_id);
        return;
    }
    /*  A failure inside a group names no member for sure (one COPY
        carried them all): each is retried alone, whatever the SQLSTATE,
        and a permanent error then fails the chunk that holds the row. */
    chunk_t *lead = c->group_lead >= 0 ? chunktab_get (self->chunks, c->group_lead) : NULL;
    bool grouped = lead && lead->group_size > 1 && lead->attempt == msg->attempt;
    s_report_slot (self, w, c, msg->attempt);
    if (strcmp (msg->sqlstate, PROTOCOL_ALREADY_COMMITTED) == 0 && c->state != CHUNK_STATE_DONE) {
        /*  "Already committed": another attempt of this chunk committed
            (a zombie that woke up, or a lost DONE). The ledger knows the
            rows; accounting reads them from there. */
        if (chunktab_done (self->chunks, c->id, msg->attempt, -1, now, -1, 0, 0) == 1) {
            c->rows_from_ledger = true;
            log_warn ("chunk %" PRId64 ": %s reports it already committed by another attempt; "
                      "counted once, from the ledger", c->id, w->name);
            ledger_chunk_update (self->ledger, self->run_id, c, NULL);
        }
        return;
    }
    if (c->state == CHUNK_STATE_DONE)
        return;         /* a late failure of an attempt that lost the race */
    if (strcmp (msg->sqlstate, PROTOCOL_NO_SLOT) == 0) {
        /*  Never started there (its slots are busy, e.g. with chunks from
            before a reconnect): not an attempt. Treat the worker as full
            until it reports a chunk. */
        if (chunktab_unassign (self->chunks, c->id, msg->attempt, now, 200) == 1)
            log_debug ("chunk %" PRId64 ": %s had no free slot; requeued", c->id, w->name);
        w->busy = w->slots;
        return;
    }
    char err[2300];
    snprintf (err, sizeof err, "[%s] %s", msg->sqlstate[0] ? msg->sqlstate : "-----", msg->message);
    int rc = chunktab_fail (self->chunks, msg->chunk_id, msg->attempt,
                            msg->retryable || grouped, err, now);
    if (rc == 1 || rc == 2)
        metrics_fails_add (&self->fails, msg->sqlstate, rc == 1);
    if (rc == 1) {
        log_warn_ctx (c->id, msg->sqlstate, "chunk %" PRId64 " attempt %d on %s failed%s, will "
                      "retry%s: %s", c->id, msg->attempt, w->name, grouped ? " in a group" : "",
                      grouped ? " alone" : "", err);
        ledger_chunk_update (self->ledger, self->run_id, c, w->name);
    }
    else if (rc == 2) {
        ledger_chunk_update (self->ledger, self->run_id, c, w->name);
        dispatch_fail_run (self, "chunk %" PRId64 " failed%s on worker %s: %s", c->id,
                    msg->retryable || grouped ? " after all retries" : "", w->name, err);
    }
}

