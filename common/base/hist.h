/*  common/base/hist.h: latency histogram with percentiles.

    Log-linear buckets (16 per power of two) over positive values, so a
    percentile is within ~4.5% of the true value whatever the range, in
    fixed memory. Values are in any unit the caller chooses (ferry uses
    milliseconds). Also keeps the exact count, sum, min and max. Not
    thread-safe: one owner, or merge per-thread histograms. */
#ifndef FERRY_HIST_H
#define FERRY_HIST_H

#include <stdint.h>

typedef struct hist_t hist_t;

/*  Creates an empty histogram. Can't fail (aborts on OOM). */
hist_t *hist_new (void);

/*  Destroys and nulls; accepts NULL. */
void hist_destroy (hist_t **self_p);

/*  Records one value; negative values count as 0. Can't fail. */
void hist_record (hist_t *self, double value);

/*  Adds every value of `other` into self. */
void hist_merge (hist_t *self, const hist_t *other);

/*  p in [0, 100]. Returns 0 on an empty histogram. The result is clamped
    to [min, max] of the recorded values; p=0 gives min, p=100 gives max. */
double hist_percentile (const hist_t *self, double p);

uint64_t hist_count (const hist_t *self);
double hist_mean (const hist_t *self);   /* exact; 0 when empty */
double hist_sum (const hist_t *self);
double hist_min (const hist_t *self);
double hist_max (const hist_t *self);

#endif
