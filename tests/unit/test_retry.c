/*  tests/unit/test_retry.c: back-off bounds, cap, saturation for huge
    retry numbers, jitter spread, seeding, and retry_sleep's early stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <time.h>

#include "retry.h"
#include "util.h"

/*  cmocka 1.1's assert_float_equal works in float; compare doubles. */
#define assert_near(a, b, eps) assert_true (fabs ((double) (a) - (double) (b)) <= (eps))

static const retry_policy_t s_policy = {
    .max_retries = 5, .initial_delay = 0.1, .backoff = 2.0, .max_delay = 5.0
};

static void
test_bounds_per_retry (void **state)
{
    uint64_t rng = 12345;
    for (int retry = 0; retry < 12; retry++) {
        double upper = fmin (5.0, 0.1 * pow (2.0, retry));
        assert_near (retry_delay_max (&s_policy, retry), upper, 1e-12);
        for (int i = 0; i < 1000; i++) {
            double d = retry_delay (&s_policy, retry, &rng);
            assert_true (d >= 0.5 * upper - 1e-12);
            assert_true (d <= upper);
        }
    }
}

static void
test_cap (void **state)
{
    uint64_t rng = 99;
    /*  0.1 * 2^6 = 6.4 > 5: capped from retry 6 on. */
    assert_near (retry_delay_max (&s_policy, 5), 3.2, 1e-12);
    assert_near (retry_delay_max (&s_policy, 6), 5.0, 0);
    assert_near (retry_delay_max (&s_policy, 100), 5.0, 0);
    for (int i = 0; i < 1000; i++) {
        double d = retry_delay (&s_policy, 50, &rng);
        assert_true (d >= 2.5 && d <= 5.0);
    }
    /*  An initial delay above the cap is capped too. */
    retry_policy_t big = { 3, 10.0, 2.0, 1.0 };
    assert_near (retry_delay_max (&big, 0), 1.0, 0);
}

static void
test_monotone_upper_bound (void **state)
{
    retry_policy_t policies [] = {
        { 10, 0.1, 2.0, 5.0 },
        { 10, 0.001, 1.5, 60.0 },
        { 10, 1.0, 1.0, 10.0 },
        { 10, 0.5, 10.0, 1e6 },
    };
    for (size_t p = 0; p < sizeof policies / sizeof policies [0]; p++) {
        double previous = 0;
        for (int retry = 0; retry < 2000; retry++) {
            double upper = retry_delay_max (&policies [p], retry);
            assert_true (upper >= previous);
            assert_true (upper <= policies [p].max_delay);
            previous = upper;
        }
    }
}

static void
test_huge_retry_finite (void **state)
{
    uint64_t rng = 7;
    retry_policy_t policies [] = {
        { 10, 0.1, 2.0, 5.0 },
        { 10, 1e-300, 1e300, 1e308 },
        { 10, 1.0, INFINITY, 30.0 },
        { 10, 1.0, 2.0, INFINITY },     /* no cap: still finite */
        { 10, 0.1, 0.5, 5.0 },          /* shrinking */
        { 10, 0.0, 2.0, 5.0 },          /* zero delay */
        { 10, 0.1, NAN, 5.0 },          /* nonsense multiplier */
    };
    int retries [] = { 0, 1, 63, 64, 1023, 1024, 1100, 100000, INT32_MAX };
    for (size_t p = 0; p < sizeof policies / sizeof policies [0]; p++)
        for (size_t r = 0; r < sizeof retries / sizeof retries [0]; r++) {
            double upper = retry_delay_max (&policies [p], retries [r]);
            double d = retry_delay (&policies [p], retries [r], &rng);
            assert_true (isfinite (upper));
            assert_true (isfinite (d));
            assert_true (upper >= 0);
            assert_true (d >= 0 && d <= upper);
        }
    assert_near (retry_delay_max (&policies [0], INT32_MAX), 5.0, 0);
    assert_near (retry_delay_max (&policies [2], 0), 1.0, 0);
    assert_near (retry_delay_max (&policies [2], 1), 30.0, 0);
    /*  A negative retry number is treated as the first retry. */
    assert_near (retry_delay_max (&policies [0], -5), 0.1, 1e-12);
}

static void
test_jitter_spread (void **state)
{
    uint64_t rng = retry_seed ();
    double lo = 1e9, hi = 0, sum = 0;
    const int n = 10000;
    for (int i = 0; i < n; i++) {
        double d = retry_delay (&s_policy, 3, &rng);    /* upper 0.8 */
        lo = fmin (lo, d);
        hi = fmax (hi, d);
        sum += d;
    }
    /*  Uniform over [0.4, 0.8]: the draws cover most of it and average
        near the middle. */
    assert_true (lo >= 0.4 && lo < 0.42);
    assert_true (hi <= 0.8 && hi > 0.78);
    assert_true (fabs (sum / n - 0.6) < 0.01);

    /*  Same seed, same sequence; different seeds, different sequences. */
    uint64_t a = 42, b = 42, c = 43;
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        double da = retry_delay (&s_policy, 2, &a);
        double db = retry_delay (&s_policy, 2, &b);
        double dc = retry_delay (&s_policy, 2, &c);
        same &= da == db;
        differ |= da != dc;
    }
    assert_true (same);
    assert_true (differ);

    /*  A zero state must not get stuck. */
    uint64_t zero = 0;
    double first = retry_delay (&s_policy, 3, &zero);
    int moved = 0;
    for (int i = 0; i < 10; i++)
        moved |= retry_delay (&s_policy, 3, &zero) != first;
    assert_true (moved);
}

static void
test_seed (void **state)
{
    uint64_t s1 = retry_seed ();
    uint64_t s2 = retry_seed ();
    assert_true (s1 != 0);
    assert_true (s2 != 0);
    assert_true (s1 != s2);
}

static void
test_sleep_full (void **state)
{
    volatile int stop = 0;
    double t0 = util_now_s ();
    assert_int_equal (retry_sleep (0.12, &stop), 0);
    double elapsed = util_now_s () - t0;
    assert_true (elapsed >= 0.12 - 0.002);
    assert_true (elapsed < 1.0);
    assert_int_equal (retry_sleep (0.01, NULL), 0);
    assert_int_equal (retry_sleep (0, NULL), 0);
    assert_int_equal (retry_sleep (-1, NULL), 0);
    assert_int_equal (retry_sleep (NAN, NULL), 0);
}

static void *
s_stopper (void *arg)
{
    volatile int *stop = arg;
    struct timespec ts = { 0, 100 * 1000000L };
    nanosleep (&ts, NULL);
    __atomic_store_n (stop, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void
test_sleep_stops_early (void **state)
{
    volatile int stop = 1;
    assert_int_equal (retry_sleep (10.0, &stop), -1);

    /*  Set from another thread mid-sleep: noticed within one 50 ms step. */
    stop = 0;
    pthread_t thread;
    double t0 = util_now_s ();
    assert_int_equal (pthread_create (&thread, NULL, s_stopper, (void *) &stop), 0);
    int rc = retry_sleep (10.0, &stop);
    double elapsed = util_now_s () - t0;
    pthread_join (thread, NULL);
    assert_int_equal (rc, -1);
    assert_true (elapsed >= 0.09);
    assert_true (elapsed < 1.0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_bounds_per_retry),
        cmocka_unit_test (test_cap),
        cmocka_unit_test (test_monotone_upper_bound),
        cmocka_unit_test (test_huge_retry_finite),
        cmocka_unit_test (test_jitter_spread),
        cmocka_unit_test (test_seed),
        cmocka_unit_test (test_sleep_full),
        cmocka_unit_test (test_sleep_stops_early),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
