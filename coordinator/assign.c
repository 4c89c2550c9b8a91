/*  coordinator/assign.c: which ready chunks go to which free slot, alone
    or as a group of adjacent chunks (one ASSIGN, one COPY), and at the
    tail, backup attempts of slow chunks (straggler.h). How many may be in
    flight is pace.c's. Part of the dispatcher (its state is in
    dispatch_int.h). */
#include "dispatch_int.h"
#include "bounds.h"
#include "log.h"
#include "plan.h"
#include "straggler.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/*  How many adjacent chunks go out with c (plan_group_size): key and
    block ranges only; a group needs every member's lower bound. */
static int
s_group_size (dispatch_t *self, chunk_t *c, int64_t now)
{
    if (c->path || self->group_rows <= 0)
        return 1;
    int64_t ready = 0;
    for (size_t i = (size_t) c->id; i < chunktab_size (self->chunks); i++)
        if (chunktab_get (self->chunks, (int64_t) i)->state == CHUNK_STATE_PLANNED)
            ready++;
    /*  Spread over the streams that may run: twice the chunks in flight
        allowed now (room for the controller to double once; just those
        when the controller says it cannot grow, cc_may_grow), within the
        slots offered or still to come (the slots of the local workers, at
        least DISPATCH_GROUP_MIN_SLOTS: the first worker to join must not
        take the whole job while others are still starting). At one chunk
        in flight the groups stay long: a COPY statement costs the target
        tens of ms. */
    int slots = 0;
    for (size_t i = 0; i < self->nworkers; i++)
        slots += self->workers[i]->alive ? self->workers[i]->slots : 0;
    if (slots < self->expected_slots)
        slots = self->expected_slots;
    if (slots < DISPATCH_GROUP_MIN_SLOTS)
        slots = DISPATCH_GROUP_MIN_SLOTS;
    int limit = pace_limit (self);
    int streams = limit < slots / 2 ? 2 * limit : slots;
    if (self->cc && !cc_may_grow (self->cc))
        streams = limit;            /* no stream will join: no tail to balance */
    int want = plan_group_size (c->est_rows, self->group_rows, ready, streams);
    int n = want > 1 ? chunktab_ready_run (self->chunks, c, want, now) : 1;
    for (int k = 1; k < n; k++)
        if (!chunktab_get (self->chunks, c->id + k)->lo)
            return k;
    return n;
}

/*  Sends chunk c (and the n - 1 after it, a group) to w as attempt
    c->attempt. */
static void
s_send_assign (dispatch_t *self, worker_t *w, chunk_t *c, int n)
{
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_ASSIGN);
    m.chunk_id = c->id;
    m.attempt = c->attempt;
    m.lo = c->lo;
    m.hi = n > 1 ? chunktab_get (self->chunks, c->id + n - 1)->hi : c->hi;
    m.path = c->path;
    m.offset = c->offset;
    m.length = c->length;
    m.first_line = c->first_line;
    char *bounds = NULL;
    if (n > 1) {
        char **inner = xcalloc ((size_t) n, sizeof *inner);
        for (int k = 1; k < n; k++)
            inner[k - 1] = chunktab_get (self->chunks, c->id + k)->lo;
        bounds = bounds_join (inner, (size_t) n - 1);
        free (inner);
        m.group_count = n;
        m.group_bounds = bounds;
    }
    dispatch_send (self, w, &m);          /* borrowed fields: no reset */
    free (bounds);
    w->busy++;
}

/*  The tail: nothing left to hand out, a slot free. A chunk whose attempt
    is far behind (coordinator/straggler.h) gets a backup attempt on the
    least busy other worker. Returns true when one went out. */
static bool
s_backup (dispatch_t *self, int64_t now)
{
    size_t n = chunktab_size (self->chunks);
    /*  Twice a second is enough for a decision counted in seconds. */
    if (!self->backups || self->fence_lost || now - self->backup_look_ms < 500)
        return false;
    self->backup_look_ms = now;
    if (chunktab_count (self->chunks, CHUNK_STATE_PLANNED) > 0
    ||  chunktab_count (self->chunks, CHUNK_STATE_DONE) < STRAGGLER_MIN_DONE)
        return false;
    int64_t *rows = xcalloc (n + 1, sizeof *rows), *busy = xcalloc (n + 1, sizeof *busy);
    straggler_chunk_t *running = xcalloc (n + 1, sizeof *running);
    chunk_t **which = xcalloc (n + 1, sizeof *which);
    size_t ndone = 0, nrun = 0;
    for (size_t i = 0; i < n; i++) {
        chunk_t *c = chunktab_get (self->chunks, (int64_t) i);
        /*  A group's members count with their share of its time. */
        if (c->state == CHUNK_STATE_DONE && !c->rows_from_ledger) {
            rows[ndone] = c->rows;
            busy[ndone++] = c->busy_ms;
        }
        else if (c->state == CHUNK_STATE_ASSIGNED && (c->group_lead < 0 || c->group_lead == c->id)) {
            /*  A group is one attempt: its lead's PROGRESS, its members'
                rows; backed up whole while no member has reported. */
            int64_t est = c->est_rows;
            for (int32_t k = 1; c->group_lead == c->id && k < c->group_size; k++)
                est += chunktab_get (self->chunks, c->id + k)->est_rows;
            running[nrun] = (straggler_chunk_t) {
                .elapsed_ms = now - c->assigned_ms, .rows = c->progress_rows, .est_rows = est,
                .eligible = c->backup_attempt == 0
                            && (c->group_lead < 0 || c->group_open == c->group_size) };
            which[nrun++] = c;
        }
    }
    double rate = straggler_rate (rows, busy, ndone);
    int64_t left = 0;
    int pick = straggler_pick (running, nrun, rate, &left);
    chunk_t *c = pick >= 0 ? which[pick] : NULL;
    free (rows);
    free (busy);
    free (which);
    /*  The least busy worker with a free slot, not the one running c. */
    worker_t *best = NULL;
    size_t bi = 0;
    for (size_t i = 0; c && i < self->nworkers; i++) {
        worker_t *w = self->workers[i];
        if (!w->alive || !w->proven || w->busy >= w->slots || (int) i == c->worker)
            continue;
        if (!best || (int64_t) w->busy * best->slots < (int64_t) best->busy * w->slots) {
            best = w;
            bi = i;
        }
    }
    if (!best) {
        free (running);
        return false;
    }
    worker_t *slow = c->worker >= 0 && (size_t) c->worker < self->nworkers
                   ? self->workers[c->worker] : NULL;
    int32_t prior = c->attempt;
    int64_t elapsed = now - c->assigned_ms, rows_done = c->progress_rows;
    int n_group = c->group_lead == c->id ? c->group_size : 1;
    int64_t est = running[pick].est_rows;
    free (running);
    if (chunktab_backup (self->chunks, c, (int) bi, now) == 0)
        return false;
    char left_text[48];
    if (left == INT64_MAX)
        snprintf (left_text, sizeof left_text, "no rows yet");
    else
        snprintf (left_text, sizeof left_text, "~%.1f s left at its pace", (double) left / 1000.0);
    char what[64];
    if (n_group > 1)
        snprintf (what, sizeof what, "chunks %" PRId64 "-%" PRId64 " (a group)", c->id,
                  c->id + n_group - 1);
    else
        snprintf (what, sizeof what, "chunk %" PRId64, c->id);
    log_info ("%s: attempt %d on %s has run %.1f s (%" PRId64 " of ~%" PRId64 " rows, %s) "
              "while that takes ~%.2f s here: backup attempt %d on %s; the first to commit "
              "counts, the other is cancelled", what, prior, slow ? slow->name : "?",
              (double) elapsed / 1000.0, rows_done, est, left_text, (double) est / rate / 1000.0,
              c->attempt, best->name);
    s_send_assign (self, best, c, n_group);
    return true;
}

void
assign_turn (dispatch_t *self)
{
    int64_t now = util_now_ms ();
    int inflight = dispatch_inflight (self);
    int limit = pace_limit (self);
    while (inflight < limit) {
        size_t i = 0;
        worker_t *w = pace_least_busy (self, &i);
        if (!w)
            break;
        chunk_t *c = chunktab_next_ready (self->chunks, now);
        if (!c)
            break;
        int n = s_group_size (self, c, now);
        chunktab_assign_group (self->chunks, c, n, (int) i, now);
        s_send_assign (self, w, c, n);
        inflight++;
        if (inflight > self->peak_inflight)
            self->peak_inflight = inflight;
        if (n > 1)
            log_debug ("chunks %" PRId64 "-%" PRId64 " (a group) attempt %d -> %s", c->id,
                       c->id + n - 1, c->attempt, w->name);
        else
            log_debug ("chunk %" PRId64 " attempt %d -> %s", c->id, c->attempt, w->name);
    }
    if (inflight < limit && s_backup (self, now))
        inflight++;
    self->saturated = inflight >= limit;
}
