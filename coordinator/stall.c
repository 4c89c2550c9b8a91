/*  coordinator/stall.c: chunks that stop advancing
    (cluster.chunk_stall_timeout), for the dispatcher.

    A worker can heartbeat while one of its chunks makes no progress at
    all (a hung source query, a lock wait, a bug): liveness never fires.
    PROGRESS arrives about once a second per running chunk; when a chunk's
    rows and bytes have not advanced for the timeout (since its ASSIGN or
    its last advancing PROGRESS), its attempt is given up as if the worker
    had died (chunktab_stalled). */
#include "dispatch_int.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>

/*  A chunk that heartbeats but whose rows and bytes stopped moving for
    cluster.chunk_stall_timeout: its attempt is abandoned as if its worker
    had died (requeued at once, the attempt counts, in direct mode the
    worker's backends are ended). The ledger fence keeps a late commit of
    the stalled attempt from duplicating anything. */
void
stall_check (dispatch_t *self)
{
    int64_t now = util_now_ms ();
    chunk_t *c;
    while ((c = chunktab_next_stalled (self->chunks, now, self->stall_ms)) != NULL) {
        worker_t *w = c->worker >= 0 && (size_t) c->worker < self->nworkers
                    ? self->workers[c->worker] : NULL;
        const char *name = w ? w->name : "?";
        char why[256];
        snprintf (why, sizeof why, "no progress for %" PRId64 " s on worker %s (attempt %d, "
                  "%" PRId64 " rows; cluster.chunk_stall_timeout %g s)",
                  (now - c->progress_ms) / 1000, name, c->attempt, c->progress_rows,
                  (double) self->stall_ms / 1000.0);
        int32_t attempt = c->attempt;
        int rc = chunktab_stalled (self->chunks, c, why, now);
        if (rc >= 1 && w && (c->group_lead < 0 || c->group_lead == c->id) && w->stalled < w->busy)
            w->stalled++;       /* its slot stays held, but nothing runs there for us */
        log_warn ("chunk %" PRId64 " stalled: %s; %s", c->id, why,
                  rc == 1 ? "requeued to another slot" : "attempts exhausted");
        ledger_chunk_update (self->ledger, self->run_id, c, name);
        if (rc == 2) {
            char reason[400];
            snprintf (reason, sizeof reason, "chunk %" PRId64 " failed: attempts exhausted "
                      "(last: %s)", c->id, why);
            dispatch_fail (self, reason);
        }
        if (self->fence_lost && w) {
            int ended = ledger_terminate_worker (self->ledger, self->run_id, w->name);
            if (ended > 0)
                log_warn ("ended %d target backend(s) of worker %s so stalled attempt %d of "
                          "chunk %" PRId64 " cannot block the retry", ended, w->name, attempt, c->id);
        }
    }
}

