/*  common/base/retry.h: retry policy and exponential back-off with jitter.

    delay(n) = min (max_delay, initial_delay * backoff^n) scaled by a random
    factor in [0.5, 1.0] ("equal jitter"), so that workers that failed
    together do not come back together. Pure logic: no sleeping here except
    in retry_sleep. */
#ifndef FERRY_RETRY_H
#define FERRY_RETRY_H

#include <stdint.h>

typedef struct {
    int max_retries;        /* retries after the first attempt */
    double initial_delay;   /* seconds */
    double backoff;         /* multiplier per retry */
    double max_delay;       /* cap, seconds */
} retry_policy_t;

/*  The delay in seconds before retry number `retry` (0 = the first retry).
    `rng` is the caller's xorshift state (any non-zero seed); it is advanced.
    Can't fail; never negative, never above max_delay. */
double retry_delay (const retry_policy_t *policy, int retry, uint64_t *rng);

/*  The same without jitter (the upper bound retry_delay draws under). */
double retry_delay_max (const retry_policy_t *policy, int retry);

/*  Sleeps `seconds` (fractional). Returns early (-1) if *stop becomes
    non-zero while sleeping; stop may be NULL. Checks every 50 ms. */
int retry_sleep (double seconds, volatile int *stop);

/*  A non-zero seed from time and pid for the rng above. */
uint64_t retry_seed (void);

#endif
