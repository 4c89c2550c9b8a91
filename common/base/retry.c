/*  common/base/retry.c: exponential back-off with equal jitter.

    The delay grows as initial_delay * backoff^n up to max_delay, and each
    draw is scaled by a factor uniform in [0.5, 1.0] so that workers that
    failed together spread out, yet never come back sooner than half the
    nominal delay. The growth is computed in the log domain so that a huge
    retry number saturates at max_delay instead of overflowing to inf (and
    0 * inf to NaN). See retry.h. */
#include "log.h"
#include "retry.h"
#include "util.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

/*  The longest single nap in retry_sleep, so that *stop is seen quickly. */
#define RETRY_SLEEP_STEP_S 0.050

/*  xorshift64* (Vigna). State 0 is a fixed point of xorshift, so a zero
    state is replaced by a constant rather than yielding 0 forever. */
static uint64_t
s_rng_next (uint64_t *state)
{
    uint64_t x = *state;
    if (x == 0)
        x = 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/*  A double uniform in [0, 1], both ends included, from the top 53 bits. */
static double
s_rng_unit (uint64_t *state)
{
    return (double) (s_rng_next (state) >> 11) / (double) ((1ULL << 53) - 1);
}

double
retry_delay_max (const retry_policy_t *policy, int retry)
{
    FERRY_ASSERT (policy);
    double initial = policy->initial_delay;
    double cap = policy->max_delay;
    double backoff = policy->backoff;
    /*  The "!(x > 0)" forms also reject NaN. */
    if (!(cap > 0) || !(initial > 0))
        return 0;
    /*  "No cap" still has to yield a finite delay. */
    if (isinf (cap))
        cap = DBL_MAX;
    if (isinf (initial))
        initial = DBL_MAX;
    if (initial >= cap)
        return cap;
    if (retry < 0)
        retry = 0;
    /*  A nonsense multiplier (NaN, <= 0) means a flat delay; an infinite
        one goes through the log test below (retry 0 still gets initial). */
    if (!(backoff > 0))
        backoff = 1;
    if (backoff > 1) {
        /*  initial * backoff^n >= cap  <=>  n * log(backoff) >= log(cap/initial):
            decided without computing the (possibly infinite) power. */
        if ((double) retry * log (backoff) >= log (cap / initial))
            return cap;
    }
    /*  Below the cap (or shrinking/flat for backoff <= 1): the power is
        finite here, at most cap / initial. */
    double delay = initial * pow (backoff, (double) retry);
    if (!(delay >= 0))
        return 0;
    return delay < cap ? delay : cap;
}

double
retry_delay (const retry_policy_t *policy, int retry, uint64_t *rng)
{
    FERRY_ASSERT (policy);
    FERRY_ASSERT (rng);
    double upper = retry_delay_max (policy, retry);
    double delay = upper * (0.5 + 0.5 * s_rng_unit (rng));
    /*  Rounding cannot push 1.0 * upper above upper, but keep the contract
        explicit and cheap. */
    return delay > upper ? upper : delay;
}

/*  *stop is set by a signal handler or another thread: read it with an
    atomic load so that the read is never torn or cached, and so that
    ThreadSanitizer sees a synchronised access. */
static int
s_stop_requested (volatile int *stop)
{
    return stop && __atomic_load_n (stop, __ATOMIC_RELAXED);
}

int
retry_sleep (double seconds, volatile int *stop)
{
    if (s_stop_requested (stop))
        return -1;
    if (!(seconds > 0))
        return 0;
    double deadline = util_now_s () + seconds;
    for (;;) {
        double left = deadline - util_now_s ();
        if (left <= 0)
            return 0;
        double step = left < RETRY_SLEEP_STEP_S ? left : RETRY_SLEEP_STEP_S;
        struct timespec ts;
        ts.tv_sec = (time_t) step;
        ts.tv_nsec = (long) ((step - (double) ts.tv_sec) * 1e9);
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_nsec = 999999999L;
        /*  EINTR just ends this step early; the loop re-checks the clock. */
        nanosleep (&ts, NULL);
        if (s_stop_requested (stop))
            return -1;
    }
}

/*  splitmix64 finaliser: spreads nearby seeds (consecutive pids, close
    clock readings) over the whole 64-bit space. */
static uint64_t
s_mix64 (uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t
retry_seed (void)
{
    struct timespec wall, mono;
    clock_gettime (CLOCK_REALTIME, &wall);
    clock_gettime (CLOCK_MONOTONIC, &mono);
    uint64_t seed = (uint64_t) wall.tv_sec * 1000000000ULL + (uint64_t) wall.tv_nsec;
    seed ^= s_mix64 ((uint64_t) mono.tv_nsec + ((uint64_t) mono.tv_sec << 30));
    seed ^= s_mix64 ((uint64_t) getpid () << 17);
    /*  A stack address adds ASLR entropy for processes started in the
        same nanosecond with recycled pids. */
    int local = 0;
    seed ^= (uint64_t) (uintptr_t) &local;
    seed = s_mix64 (seed);
    return seed ? seed : 0x9E3779B97F4A7C15ULL;
}
