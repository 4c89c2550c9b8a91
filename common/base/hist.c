/*  common/base/hist.c: log-linear latency histogram.

    Bucket 0 holds everything below 2^-10 (~1e-3, zero included). Then each
    power of two from 2^-10 to 2^30 (~1.07e9) is split into 16 equal
    sub-buckets, so a bucket is at most 1/16 of its lower bound wide and its
    midpoint is within 1/32 (~3.1%) of any value in it. Values at or above
    2^30 land in the last bucket; the exact max still bounds what a
    percentile returns. Index math uses frexp, not log, so bucket edges are
    exact. See hist.h. */
#include "log.h"
#include "hist.h"
#include "util.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

#define HIST_SUB_BITS      4
#define HIST_SUB_BUCKETS   (1 << HIST_SUB_BITS)        /* per power of two */
#define HIST_MIN_EXP       (-10)                       /* 2^-10 ~ 9.8e-4 */
#define HIST_MAX_EXP       30                          /* 2^30 ~ 1.07e9 */
#define HIST_OCTAVES       (HIST_MAX_EXP - HIST_MIN_EXP)
#define HIST_BUCKETS       (1 + HIST_OCTAVES * HIST_SUB_BUCKETS)

struct hist_t {
    uint64_t count;
    double sum;
    double min;
    double max;
    uint64_t buckets[HIST_BUCKETS];
};

/*  The bucket holding v (v >= 0, not NaN). */
static int
s_bucket_of (double v)
{
    if (v < ldexp (1.0, HIST_MIN_EXP))
        return 0;
    if (v >= ldexp (1.0, HIST_MAX_EXP))
        return HIST_BUCKETS - 1;
    int exp;
    double mant = frexp (v, &exp);             /* v = mant * 2^exp, mant in [0.5, 1) */
    int octave = exp - 1 - HIST_MIN_EXP;       /* v in [2^(exp-1), 2^exp) */
    int sub = (int) ((mant * 2.0 - 1.0) * HIST_SUB_BUCKETS);
    if (sub >= HIST_SUB_BUCKETS)               /* defensive: mant < 1 always */
        sub = HIST_SUB_BUCKETS - 1;
    return 1 + octave * HIST_SUB_BUCKETS + sub;
}

/*  The representative value of a bucket: its midpoint. */
static double
s_bucket_mid (int index)
{
    if (index == 0)
        return ldexp (0.5, HIST_MIN_EXP);
    int octave = (index - 1) / HIST_SUB_BUCKETS;
    int sub = (index - 1) % HIST_SUB_BUCKETS;
    return ldexp (1.0 + (sub + 0.5) / HIST_SUB_BUCKETS, octave + HIST_MIN_EXP);
}

hist_t *
hist_new (void)
{
    hist_t *self = xcalloc (1, sizeof (hist_t));
    return self;
}

void
hist_destroy (hist_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

void
hist_record (hist_t *self, double value)
{
    FERRY_ASSERT (self);
    /*  Negative (and NaN) values count as 0: a clock that stepped back must
        not poison the sum. */
    if (!(value > 0))
        value = 0;
    self->buckets [s_bucket_of (value)]++;
    if (self->count == 0 || value < self->min)
        self->min = value;
    if (self->count == 0 || value > self->max)
        self->max = value;
    self->count++;
    self->sum += value;
}

void
hist_merge (hist_t *self, const hist_t *other)
{
    FERRY_ASSERT (self);
    FERRY_ASSERT (other);
    if (other->count == 0)
        return;
    for (int i = 0; i < HIST_BUCKETS; i++)
        self->buckets [i] += other->buckets [i];
    if (self->count == 0 || other->min < self->min)
        self->min = other->min;
    if (self->count == 0 || other->max > self->max)
        self->max = other->max;
    self->count += other->count;
    self->sum += other->sum;
}

double
hist_percentile (const hist_t *self, double p)
{
    FERRY_ASSERT (self);
    if (self->count == 0)
        return 0;
    if (!(p > 0))                               /* also NaN */
        return self->min;
    if (p >= 100)
        return self->max;
    /*  The 1-based rank of the value at or below which p% of values lie
        (nearest-rank definition). */
    double exact = ceil (p / 100.0 * (double) self->count);
    uint64_t rank = exact < 1 ? 1 : (uint64_t) exact;
    if (rank > self->count)
        rank = self->count;
    uint64_t seen = 0;
    double value = self->max;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += self->buckets [i];
        if (seen >= rank) {
            value = s_bucket_mid (i);
            break;
        }
    }
    if (value < self->min)
        value = self->min;
    if (value > self->max)
        value = self->max;
    return value;
}

uint64_t
hist_count (const hist_t *self)
{
    FERRY_ASSERT (self);
    return self->count;
}

double
hist_mean (const hist_t *self)
{
    FERRY_ASSERT (self);
    return self->count ? self->sum / (double) self->count : 0;
}

double
hist_sum (const hist_t *self)
{
    FERRY_ASSERT (self);
    return self->sum;
}

double
hist_min (const hist_t *self)
{
    FERRY_ASSERT (self);
    return self->count ? self->min : 0;
}

double
hist_max (const hist_t *self)
{
    FERRY_ASSERT (self);
    return self->count ? self->max : 0;
}
