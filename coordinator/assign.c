/*  coordinator/assign.c: which ready chunks go to which free slot, alone
    or as a group of adjacent chunks (one ASSIGN, one COPY). How many may
    be in flight is pace.c's. Part of the dispatcher (its state is in
    dispatch_int.h). */
#include "dispatch_int.h"
#include "bounds.h"
#include "log.h"
#include "plan.h"
#include "util.h"

#include <inttypes.h>
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
        inflight++;
        if (inflight > self->peak_inflight)
            self->peak_inflight = inflight;
        if (n > 1)
            log_debug ("chunks %" PRId64 "-%" PRId64 " (a group) attempt %d -> %s", c->id,
                       c->id + n - 1, c->attempt, w->name);
        else
            log_debug ("chunk %" PRId64 " attempt %d -> %s", c->id, c->attempt, w->name);
    }
    self->saturated = inflight >= limit;
}

