/*  worker/slotactor.c: one chunk slot as a zactor; see slotactor.h. */
#include "slotactor.h"
#include "auth.h"
#include "bounds.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct slotactor_args_t {
    copyjob_t *job;            /* borrowed, read-only while the slot lives */
    slot_t *slot;              /* borrowed */
    volatile int *abort;       /* the slot's cancel flag */
    volatile int *session_abort;
};

static void
s_slot_actor (zsock_t *pipe, void *arg)
{
    slotactor_args_t *args = arg;
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

slotactor_t *
slotactor_new (copyjob_t *job, volatile int *abort, slot_t *slot)
{
    slotactor_t *self = xcalloc (1, sizeof *self);
    self->slot = slot ? slot : slot_new (job);
    self->args = xcalloc (1, sizeof *self->args);
    self->args->job = job;
    self->args->slot = self->slot;
    self->args->abort = &self->cancel;
    self->args->session_abort = abort;
    self->cancel = *abort;
    self->actor = zactor_new (s_slot_actor, self->args);
    return self;
}

void
slotactor_destroy (slotactor_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        slotactor_t *self = *self_p;
        zactor_destroy (&self->actor);
        slot_destroy (&self->slot);
        free (self->args);
        free (self);
        *self_p = NULL;
    }
}

void
slotactor_cancel (slotactor_t *self)
{
    if (self->busy)
        self->cancel = 1;
}

int
slotactor_run (slotactor_t *self, const protocol_msg_t *msg)
{
    self->cancel = *self->args->session_abort;
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
    if (zmsg_send (&run, self->actor) != 0) {
        zmsg_destroy (&run);
        return -1;
    }
    self->busy = true;
    self->chunk_id = msg->chunk_id;
    self->attempt = msg->attempt;
    self->count = count;
    return 0;
}

int
slotactor_recv (slotactor_t *self, chunk_result_t *result)
{
    zmsg_t *msg = zmsg_recv (self->actor);
    if (!msg)
        return -1;
    int rc = -1;
    char *command = zmsg_popstr (msg);
    zframe_t *id = zmsg_pop (msg), *att = zmsg_pop (msg), *body = zmsg_pop (msg);
    if (command && streq (command, "RESULT") && body
    &&  zframe_size (body) == sizeof (chunk_result_t)) {
        memcpy (result, zframe_data (body), sizeof *result);
        self->busy = false;
        rc = 0;
    }
    free (command);
    zframe_destroy (&id);
    zframe_destroy (&att);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return rc;
}
