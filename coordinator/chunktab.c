/*  coordinator/chunktab.c: see chunktab.h. */
#include "chunktab.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct chunktab_t {
    chunk_t *chunks;
    size_t count;
    size_t cap;
    retry_policy_t policy;
    uint64_t rng;
};

chunktab_t *
chunktab_new (const retry_policy_t *policy, uint64_t seed)
{
    chunktab_t *self = xcalloc (1, sizeof *self);
    self->policy = *policy;
    self->rng = seed ? seed : 0x2545F4914F6CDD1Dull;
    return self;
}

void
chunktab_destroy (chunktab_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        chunktab_t *self = *self_p;
        for (size_t i = 0; i < self->count; i++) {
            free (self->chunks[i].lo);
            free (self->chunks[i].hi);
            free (self->chunks[i].path);
            free (self->chunks[i].last_error);
        }
        free (self->chunks);
        free (self);
        *self_p = NULL;
    }
}

chunk_t *
chunktab_add (chunktab_t *self, const char *lo, const char *hi, int64_t est_rows)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 64;
        self->chunks = xrealloc (self->chunks, self->cap * sizeof *self->chunks);
    }
    chunk_t *c = &self->chunks[self->count];
    memset (c, 0, sizeof *c);
    c->id = (int64_t) self->count;
    c->lo = xstrdup (lo);
    c->hi = xstrdup (hi);
    c->est_rows = est_rows;
    c->worker = -1;
    c->done_by = -1;
    c->group_lead = -1;
    c->prior_worker = -1;
    self->count++;
    return c;
}

chunk_t *
chunktab_add_file (chunktab_t *self, const char *path, int64_t offset, int64_t length,
                   int64_t first_line, int64_t est_rows)
{
    chunk_t *c = chunktab_add (self, NULL, NULL, est_rows);
    c->path = xstrdup (path);
    c->offset = offset;
    c->length = length;
    c->first_line = first_line;
    return c;
}

size_t
chunktab_size (chunktab_t *self)
{
    return self->count;
}

chunk_t *
chunktab_get (chunktab_t *self, int64_t id)
{
    if (id < 0 || (size_t) id >= self->count)
        return NULL;
    return &self->chunks[id];
}

chunk_t *
chunktab_next_ready (chunktab_t *self, int64_t now_ms)
{
    for (size_t i = 0; i < self->count; i++) {
        chunk_t *c = &self->chunks[i];
        if (c->state == CHUNK_STATE_PLANNED && c->not_before_ms <= now_ms)
            return c;
    }
    return NULL;
}

void
chunktab_assign (chunktab_t *self, chunk_t *c, int worker, int64_t now_ms)
{
    (void) self;
    FERRY_ASSERT (c->state == CHUNK_STATE_PLANNED);
    c->state = CHUNK_STATE_ASSIGNED;
    c->attempt++;
    c->tries++;
    c->worker = worker;
    c->assigned_ms = now_ms;
    c->progress_rows = 0;
    c->progress_bytes = 0;
    c->progress_ms = now_ms;
    c->group_lead = -1;
    c->group_size = 0;
    c->group_open = 0;
}

int
chunktab_ready_run (chunktab_t *self, const chunk_t *lead, int max, int64_t now_ms)
{
    int n = 1;
    for (size_t i = (size_t) lead->id + 1; i < self->count && n < max; i++, n++) {
        const chunk_t *c = &self->chunks[i];
        if (c->state != CHUNK_STATE_PLANNED || c->not_before_ms > now_ms || c->tries != 0
        ||  c->attempt != lead->attempt || c->path || lead->tries != 0)
            break;
    }
    return n;
}

void
chunktab_assign_group (chunktab_t *self, chunk_t *lead, int n, int worker, int64_t now_ms)
{
    for (int i = 0; i < n; i++)
        chunktab_assign (self, &self->chunks[lead->id + i], worker, now_ms);
    if (n < 2)
        return;
    for (int i = 0; i < n; i++)
        self->chunks[lead->id + i].group_lead = lead->id;
    lead->group_size = n;
    lead->group_open = n;
}

void
chunktab_group_progress (chunktab_t *self, int64_t lead_id, int32_t attempt)
{
    chunk_t *lead = chunktab_get (self, lead_id);
    if (!lead || lead->group_lead != lead->id || lead->attempt != attempt)
        return;
    for (int32_t k = 1; k < lead->group_size; k++) {
        chunk_t *c = chunktab_get (self, lead_id + k);
        if (c && c->state == CHUNK_STATE_ASSIGNED && c->attempt == attempt
        &&  c->group_lead == lead_id)
            c->progress_ms = lead->progress_ms;
    }
}

bool
chunktab_report_closes (chunktab_t *self, chunk_t *c, int32_t attempt)
{
    chunk_t *lead = c->group_lead >= 0 ? chunktab_get (self, c->group_lead) : NULL;
    if (lead && lead->prior_open > 0 && attempt == lead->prior_group_attempt)
        return --lead->prior_open == 0;     /* the group a backup backed up */
    if (!lead || lead->group_open <= 0)
        return true;            /* alone (or a late report): as before groups */
    if (attempt != lead->attempt)
        return false;           /* a report of an older assignment */
    return --lead->group_open == 0;
}

int
chunktab_done (chunktab_t *self, int64_t id, int32_t attempt, int worker, int64_t now_ms,
               int64_t rows, int64_t bytes, uint64_t checksum)
{
    chunk_t *c = chunktab_get (self, id);
    if (!c)
        return -1;
    if (c->state == CHUNK_STATE_DONE)
        return 0;
    /*  Even a chunk marked failed is taken back: its rows are committed
        (the fence guarantees only this attempt did), and accounting must
        see them. The run has already stopped in that case. */
    c->state = CHUNK_STATE_DONE;
    c->rows = rows;
    c->bytes = bytes;
    c->checksum = checksum;
    c->done_by = worker;
    c->busy_ms = now_ms - c->assigned_ms;
    if (c->backup_attempt > 0) {
        c->backup_won = attempt == c->backup_attempt;
        if (c->prior_attempt > 0 && attempt == c->prior_attempt)
            c->busy_ms = now_ms - c->prior_assigned_ms;
    }
    c->done_ms = now_ms;
    c->worker = -1;
    return 1;
}

static void
s_set_error (chunk_t *c, const char *message)
{
    free (c->last_error);
    c->last_error = xstrdup (message);
}

/*  Back to planned with back-off, or failed when out of attempts. */
static int
s_requeue (chunktab_t *self, chunk_t *c, int64_t now_ms, bool backoff)
{
    c->worker = -1;
    if (c->tries >= self->policy.max_retries + 1) {
        c->state = CHUNK_STATE_FAILED;
        return 2;
    }
    c->state = CHUNK_STATE_PLANNED;
    c->not_before_ms = now_ms;
    if (backoff)
        c->not_before_ms += (int64_t) (retry_delay (&self->policy, c->tries - 1, &self->rng) * 1000.0);
    return 1;
}

int
chunktab_fail (chunktab_t *self, int64_t id, int32_t attempt, bool retryable,
               const char *message, int64_t now_ms)
{
    chunk_t *c = chunktab_get (self, id);
    if (!c || c->state != CHUNK_STATE_ASSIGNED || c->attempt != attempt)
        return 0;
    s_set_error (c, message ? message : "failed");
    if (!retryable) {
        c->state = CHUNK_STATE_FAILED;
        c->worker = -1;
        return 2;
    }
    return s_requeue (self, c, now_ms, true);
}

int
chunktab_unassign (chunktab_t *self, int64_t id, int32_t attempt, int64_t now_ms,
                   int64_t delay_ms)
{
    chunk_t *c = chunktab_get (self, id);
    if (!c || c->state != CHUNK_STATE_ASSIGNED || c->attempt != attempt)
        return 0;
    c->state = CHUNK_STATE_PLANNED;
    /*  The attempt number stays spent: handing it out again would let a
        late FAILED of this assignment pass for the next one. */
    c->tries--;
    c->worker = -1;
    c->not_before_ms = now_ms + delay_ms;
    return 1;
}

int
chunktab_redo (chunktab_t *self, int64_t id, int64_t now_ms)
{
    chunk_t *c = chunktab_get (self, id);
    if (!c || c->state != CHUNK_STATE_DONE)
        return 0;
    c->state = CHUNK_STATE_PLANNED;
    if (c->tries > 0)
        c->tries--;
    c->worker = -1;
    c->not_before_ms = now_ms;
    c->rows = c->bytes = c->rejected = 0;
    c->checksum = 0;
    c->busy_ms = c->done_ms = 0;
    c->read_ms = c->process_ms = c->write_ms = c->commit_ms = 0;
    c->done_by = -1;
    c->rows_from_ledger = false;
    s_set_error (c, "its commit was lost: the target restarted before it reached disk");
    return 1;
}

int
chunktab_worker_lost (chunktab_t *self, int worker, int64_t now_ms, chunk_t **failed_p)
{
    if (failed_p)
        *failed_p = NULL;
    int requeued = 0;
    for (size_t i = 0; i < self->count; i++) {
        chunk_t *c = &self->chunks[i];
        if (c->prior_worker == worker)
            chunktab_prior_ended (self, c, c->prior_attempt);
        if (c->state != CHUNK_STATE_ASSIGNED || c->worker != worker)
            continue;
        s_set_error (c, "worker lost (no message within liveness x heartbeat)");
        if (s_requeue (self, c, now_ms, false) == 2) {
            if (failed_p && !*failed_p)
                *failed_p = c;
        }
        else
            requeued++;
    }
    return requeued;
}

int
chunktab_worker_released (chunktab_t *self, int worker, int64_t now_ms)
{
    int n = 0;
    for (size_t i = 0; i < self->count; i++) {
        chunk_t *c = &self->chunks[i];
        if (c->prior_worker == worker)
            chunktab_prior_ended (self, c, c->prior_attempt);
        if (c->state == CHUNK_STATE_ASSIGNED && c->worker == worker)
            n += chunktab_unassign (self, c->id, c->attempt, now_ms, 0);
    }
    return n;
}

int
chunktab_progress (chunktab_t *self, int64_t id, int32_t attempt, int64_t rows, int64_t bytes,
                   int64_t now_ms)
{
    chunk_t *c = chunktab_get (self, id);
    if (!c || c->state != CHUNK_STATE_ASSIGNED || c->attempt != attempt)
        return 0;
    if (rows > c->progress_rows || bytes > c->progress_bytes)
        c->progress_ms = now_ms;
    c->progress_rows = rows;
    c->progress_bytes = bytes;
    return 1;
}

chunk_t *
chunktab_next_stalled (chunktab_t *self, int64_t now_ms, int64_t stall_ms)
{
    if (stall_ms <= 0)
        return NULL;
    for (size_t i = 0; i < self->count; i++) {
        chunk_t *c = &self->chunks[i];
        if (c->state == CHUNK_STATE_ASSIGNED && now_ms - c->progress_ms > stall_ms)
            return c;
    }
    return NULL;
}

int
chunktab_stalled (chunktab_t *self, chunk_t *c, const char *message, int64_t now_ms)
{
    if (c->state != CHUNK_STATE_ASSIGNED)
        return 0;
    s_set_error (c, message ? message : "stalled");
    return s_requeue (self, c, now_ms, false);
}

int32_t
chunktab_backup (chunktab_t *self, chunk_t *c, int worker, int64_t now_ms)
{
    bool group = c->group_lead >= 0;
    int32_t n = group ? c->group_size : 1;
    if (c->state != CHUNK_STATE_ASSIGNED || c->backup_attempt > 0 || c->worker < 0
    ||  worker == c->worker || (group && (c->group_lead != c->id || c->group_open != n)))
        return 0;
    for (int32_t k = 1; k < n; k++) {
        const chunk_t *m = chunktab_get (self, c->id + k);
        if (!m || m->state != CHUNK_STATE_ASSIGNED || m->attempt != c->attempt
        ||  m->group_lead != c->id || m->backup_attempt > 0)
            return 0;
    }
    int32_t attempt = c->attempt + 1;
    for (int32_t k = 0; k < n; k++) {
        chunk_t *m = &self->chunks[c->id + k];
        m->prior_worker = m->worker;
        m->prior_attempt = m->attempt;
        m->prior_assigned_ms = m->assigned_ms;
        m->attempt = attempt;
        m->backup_attempt = attempt;
        m->worker = worker;
        m->assigned_ms = now_ms;
        m->progress_rows = 0;
        m->progress_bytes = 0;
        m->progress_ms = now_ms;
    }
    if (group) {
        c->prior_group_attempt = attempt - 1;
        c->prior_open = n;
        c->group_open = n;
    }
    return attempt;
}

bool
chunktab_prior_ended (chunktab_t *self, chunk_t *c, int32_t attempt)
{
    (void) self;
    if (c->prior_attempt <= 0 || attempt != c->prior_attempt)
        return false;
    c->prior_worker = -1;
    c->prior_attempt = 0;
    return true;
}

void
chunktab_backups (chunktab_t *self, int64_t *started, int64_t *won)
{
    *started = *won = 0;
    for (size_t i = 0; i < self->count; i++) {
        const chunk_t *c = &self->chunks[i];
        if (c->backup_attempt <= 0 || (c->group_lead >= 0 && c->group_lead != c->id))
            continue;           /* a group counts once, by its lead */
        *started += 1;
        *won += c->state == CHUNK_STATE_DONE && c->backup_won;
    }
}

size_t
chunktab_count (chunktab_t *self, chunk_state_t state)
{
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++)
        if (self->chunks[i].state == state)
            n++;
    return n;
}

bool
chunktab_all_done (chunktab_t *self)
{
    return chunktab_count (self, CHUNK_STATE_DONE) == self->count;
}

size_t
chunktab_retried (chunktab_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++)
        if (self->chunks[i].tries > 1)
            n++;
    return n;
}
