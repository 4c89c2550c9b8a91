/*  coordinator/pace.c: how many chunks the dispatcher keeps in flight:
    the limit (pinned, or the adaptive controller's, coordinator/
    concurrency.h), the connection budget, and feeding the controller the
    work done. Part of the dispatcher (its state is in dispatch_int.h). */
#include "dispatch_int.h"
#include "hostcpu.h"
#include "log.h"

#include <limits.h>

void
dispatch_set_concurrency (dispatch_t *self, cc_t *cc, int fixed)
{
    self->cc = cc;
    self->fixed = fixed > 0 ? fixed : INT_MAX;
}

void
dispatch_set_budget (dispatch_t *self, int budget)
{
    self->budget = budget > 0 ? budget : 1;
}

int
dispatch_inflight (dispatch_t *self)
{
    int n = 0;
    for (size_t i = 0; i < self->nworkers; i++)
        n += self->workers[i]->alive ? self->workers[i]->busy - self->workers[i]->stalled : 0;
    return n;
}

/*  The most chunks in flight allowed now. */
int
pace_limit (dispatch_t *self)
{
    int limit = self->cc ? cc_limit (self->cc) : self->fixed;
    return limit < self->budget ? limit : self->budget;
}

/*  Keeps the controller's range at the slots offered and the budget, and
    feeds it the work done (rows committed and in flight) a few times a
    second; logs what it changed. */
void
pace_control (dispatch_t *self, int64_t now)
{
    if (!self->cc)
        return;
    int slots = 0;
    for (size_t i = 0; i < self->nworkers; i++)
        slots += self->workers[i]->alive ? self->workers[i]->slots : 0;
    int max = slots < self->budget ? slots : self->budget;
    if (max >= 1 && max != self->cc_max) {
        self->cc_max = max;
        cc_set_max (self->cc, max, now);
    }
    int64_t work = 0;
    size_t n = chunktab_size (self->chunks);
    for (size_t i = 0; i < n; i++) {
        chunk_t *c = chunktab_get (self->chunks, (int64_t) i);
        if (c->state == CHUNK_STATE_DONE)
            work += c->rows_from_ledger ? 0 : c->rows;
        else if (c->state == CHUNK_STATE_ASSIGNED)
            work += c->progress_rows;
    }
    cc_host_t host, *hp = NULL;
    if (self->cc->cfg.host_bound && hostcpu_read (&host) == 0)
        hp = &host;
    cc_update (self->cc, now, work, self->saturated, hp);
    for (; self->cc_logged < self->cc->nhistory && self->cc_logged < CC_HISTORY_MAX;
         self->cc_logged++) {
        const cc_change_t *h = &self->cc->history[self->cc_logged];
        log_info ("concurrency: %d -> %d chunks in flight (%s; %.0f rows/s before)", h->from,
                  h->to, h->why, h->rate_before);
    }
}

/*  The live worker with a free slot and the fewest chunks for its slots
    (spreading chunks over processes), or NULL. */
worker_t *
pace_least_busy (dispatch_t *self, size_t *index)
{
    worker_t *best = NULL;
    for (size_t i = 0; i < self->nworkers; i++) {
        worker_t *w = self->workers[i];
        if (!w->alive || !w->proven || w->busy >= w->slots)
            continue;
        if (!best || (int64_t) w->busy * best->slots < (int64_t) best->busy * w->slots) {
            best = w;
            *index = i;
        }
    }
    return best;
}
