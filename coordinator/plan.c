/*  coordinator/plan.c: see plan.h. */
#include "plan.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

plan_t *
plan_single (int64_t total_rows)
{
    plan_t *self = xcalloc (1, sizeof *self);
    self->ranges = xcalloc (1, sizeof *self->ranges);
    self->count = 1;
    self->ranges[0].est_rows = total_rows;
    self->total_rows = total_rows;
    return self;
}

plan_t *
plan_build (int64_t total_rows, const plan_sample_t *samples, size_t nsamples)
{
    if (nsamples == 0)
        return plan_single (total_rows);
    plan_t *self = xcalloc (1, sizeof *self);
    self->ranges = xcalloc (nsamples + 1, sizeof *self->ranges);
    self->total_rows = total_rows;

    /*  Range i runs from boundary i-1 to boundary i; keep a boundary only
        when its key differs from the previous kept one. */
    const char *prev_key = NULL;
    int64_t prev_rn = 1;
    size_t n = 0;
    for (size_t i = 0; i < nsamples; i++) {
        if (samples[i].rn <= prev_rn)
            continue;                       /* not ascending: ignore */
        if (prev_key && strcmp (prev_key, samples[i].key) == 0)
            continue;                       /* repeated key: merge */
        plan_range_t *r = &self->ranges[n++];
        r->lo = xstrdup (prev_key);
        r->hi = xstrdup (samples[i].key);
        r->est_rows = samples[i].rn - prev_rn;
        prev_key = samples[i].key;
        prev_rn = samples[i].rn;
    }
    plan_range_t *last = &self->ranges[n++];
    last->lo = xstrdup (prev_key);
    last->hi = NULL;
    last->est_rows = total_rows - prev_rn + 1;
    if (last->est_rows < 0)
        last->est_rows = 0;
    self->count = n;
    return self;
}

void
plan_destroy (plan_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        plan_t *self = *self_p;
        for (size_t i = 0; i < self->count; i++) {
            free (self->ranges[i].lo);
            free (self->ranges[i].hi);
        }
        free (self->ranges);
        free (self);
        *self_p = NULL;
    }
}

int
plan_covers (const plan_t *plan, char *why, size_t whylen)
{
    if (plan->count == 0) {
        snprintf (why, whylen, "no ranges");
        return -1;
    }
    if (plan->ranges[0].lo) {
        snprintf (why, whylen, "range 0 starts at '%s', not below every key", plan->ranges[0].lo);
        return -1;
    }
    for (size_t i = 0; i + 1 < plan->count; i++) {
        const char *hi = plan->ranges[i].hi, *lo = plan->ranges[i + 1].lo;
        if (!hi || !lo || strcmp (hi, lo) != 0) {
            snprintf (why, whylen, "range %zu ends at %s%s%s but range %zu starts at %s%s%s", i,
                      hi ? "'" : "", hi ? hi : "+inf", hi ? "'" : "", i + 1, lo ? "'" : "",
                      lo ? lo : "-inf", lo ? "'" : "");
            return -1;
        }
    }
    if (plan->ranges[plan->count - 1].hi) {
        snprintf (why, whylen, "range %zu ends at '%s', not above every key", plan->count - 1,
                  plan->ranges[plan->count - 1].hi);
        return -1;
    }
    return 0;
}

int64_t
plan_chunk_count (int64_t total_rows, int64_t chunk_size,
                  int64_t min_rows_for_parallel, int sequential)
{
    if (sequential || total_rows < min_rows_for_parallel || total_rows <= chunk_size
    ||  chunk_size <= 0)
        return 1;
    /*  ceil without overflow near INT64_MAX */
    return total_rows / chunk_size + (total_rows % chunk_size != 0);
}

int64_t
plan_file_ranges (int64_t total_bytes, int64_t chunk_bytes, int slots)
{
    if (total_bytes <= 0)
        return 1;                       /* nothing to split */
    int64_t n = plan_chunk_count (total_bytes, chunk_bytes, 0, 0);
    if (slots > 1 && n % slots != 0)
        n += slots - n % slots;
    return n;
}

char *
plan_block_tid (int64_t block)
{
    return util_strdupf ("(%" PRId64 ",0)", block);
}

plan_t *
plan_blocks (int64_t nblocks, int64_t est_rows, int64_t chunk_size,
             int64_t min_rows_for_parallel)
{
    if (est_rows < 0)
        est_rows = 0;
    int64_t n = plan_chunk_count (est_rows, chunk_size, min_rows_for_parallel, 0);
    if (n > nblocks)
        n = nblocks;
    if (n <= 1)
        return plan_single (est_rows);
    plan_t *self = xcalloc (1, sizeof *self);
    self->ranges = xcalloc ((size_t) n, sizeof *self->ranges);
    self->count = (size_t) n;
    self->total_rows = est_rows;
    /*  Boundary i (1..n-1) is block floor (i * nblocks / n), computed
        without overflowing: nblocks < 2^32 and n <= nblocks. */
    const uint64_t nb = (uint64_t) nblocks, parts = (uint64_t) n;
    int64_t prev = 0, assigned = 0;
    for (int64_t i = 0; i < n; i++) {
        plan_range_t *r = &self->ranges[i];
        int64_t next = nblocks;
        if (i + 1 < n) {
            uint64_t k = (uint64_t) i + 1;
            next = (int64_t) (nb / parts * k + nb % parts * k / parts);
            r->hi = plan_block_tid (next);
        }
        if (i > 0)
            r->lo = plan_block_tid (prev);
        if (i + 1 < n) {
            r->est_rows = (int64_t) ((double) est_rows * (double) (next - prev) / (double) nblocks);
            assigned += r->est_rows;
        }
        else
            r->est_rows = est_rows - assigned > 0 ? est_rows - assigned : 0;
        prev = next;
    }
    return self;
}

int
plan_group_size (int64_t chunk_rows, int64_t group_rows, int64_t ready, int slots)
{
    if (group_rows <= 0 || ready <= 1)
        return 1;
    if (chunk_rows < 1)
        chunk_rows = 1;
    /*  Rounded up without overflow. */
    int64_t per = slots > 1 ? slots : 1;
    int64_t want = group_rows / chunk_rows + (group_rows % chunk_rows != 0);
    int64_t share = ready / per + (ready % per != 0);
    int64_t n = want < share ? want : share;
    if (n > 4096)
        n = 4096;
    return n < 1 ? 1 : (int) n;
}
