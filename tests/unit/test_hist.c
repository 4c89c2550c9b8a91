/*  tests/unit/test_hist.c: histogram percentiles against sorted truth,
    exact count/sum/min/max/mean, the empty histogram, merge, and values
    outside the bucketed range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "hist.h"
#include "util.h"

#define assert_near(a, b, eps) assert_true (fabs ((double) (a) - (double) (b)) <= (eps))

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/*  The nearest-rank percentile of sorted values. */
static double
s_true_percentile (const double *sorted, size_t n, double p)
{
    size_t rank = (size_t) ceil (p / 100.0 * (double) n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted [rank - 1];
}

static uint64_t s_rng = 88172645463325252ULL;

static double
s_uniform (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (double) (s_rng >> 11) / 9007199254740992.0;     /* [0, 1) */
}

/*  Records values into a histogram and checks percentiles within 5% of
    the truth, plus the exact statistics. */
static void
s_check_distribution (double *values, size_t n)
{
    hist_t *hist = hist_new ();
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        hist_record (hist, values [i]);
        sum += values [i];
        lo = fmin (lo, values [i]);
        hi = fmax (hi, values [i]);
    }
    qsort (values, n, sizeof (double), s_cmp_double);
    const double ps [] = { 1, 10, 25, 50, 75, 90, 95, 99, 99.9 };
    for (size_t i = 0; i < sizeof ps / sizeof ps [0]; i++) {
        double truth = s_true_percentile (values, n, ps [i]);
        double got = hist_percentile (hist, ps [i]);
        assert_true (fabs (got - truth) <= 0.05 * truth);
    }
    assert_int_equal (hist_count (hist), n);
    assert_true (hist_min (hist) == lo);
    assert_true (hist_max (hist) == hi);
    assert_true (hist_sum (hist) == sum);
    assert_true (hist_mean (hist) == sum / (double) n);
    assert_true (hist_percentile (hist, 0) == lo);
    assert_true (hist_percentile (hist, 100) == hi);
    hist_destroy (&hist);
    assert_null (hist);
}

static void
test_uniform_integers (void **state)
{
    size_t n = 10000;
    double *values = xmalloc (n * sizeof (double));
    for (size_t i = 0; i < n; i++)
        values [i] = (double) (i + 1);
    s_check_distribution (values, n);
    free (values);
}

static void
test_log_uniform (void **state)
{
    /*  Spread over eight decades, the case where log buckets matter. */
    size_t n = 50000;
    double *values = xmalloc (n * sizeof (double));
    for (size_t i = 0; i < n; i++)
        values [i] = pow (10.0, -2.0 + 8.0 * s_uniform ());
    s_check_distribution (values, n);
    free (values);
}

static void
test_exponential (void **state)
{
    /*  Latency-like: mean 20 ms, long tail. */
    size_t n = 50000;
    double *values = xmalloc (n * sizeof (double));
    for (size_t i = 0; i < n; i++)
        values [i] = 0.5 - 20.0 * log (1.0 - s_uniform ());
    s_check_distribution (values, n);
    free (values);
}

static void
test_known_values (void **state)
{
    hist_t *hist = hist_new ();
    hist_record (hist, 10);
    hist_record (hist, 20);
    hist_record (hist, 30);
    hist_record (hist, 40);
    assert_int_equal (hist_count (hist), 4);
    assert_true (hist_sum (hist) == 100);
    assert_true (hist_mean (hist) == 25);
    assert_true (hist_min (hist) == 10);
    assert_true (hist_max (hist) == 40);
    assert_near (hist_percentile (hist, 25), 10, 0.5);
    assert_near (hist_percentile (hist, 50), 20, 1.0);
    assert_near (hist_percentile (hist, 75), 30, 1.5);
    assert_true (hist_percentile (hist, 100) == 40);
    assert_true (hist_percentile (hist, 150) == 40);
    assert_true (hist_percentile (hist, -3) == 10);
    assert_true (hist_percentile (hist, NAN) == 10);
    hist_destroy (&hist);

    /*  A single value: every percentile is that value exactly (clamped). */
    hist = hist_new ();
    hist_record (hist, 123.456);
    for (double p = 0; p <= 100; p += 12.5)
        assert_true (hist_percentile (hist, p) == 123.456);
    hist_destroy (&hist);
}

static void
test_empty (void **state)
{
    hist_t *hist = hist_new ();
    assert_int_equal (hist_count (hist), 0);
    assert_true (hist_mean (hist) == 0);
    assert_true (hist_sum (hist) == 0);
    assert_true (hist_min (hist) == 0);
    assert_true (hist_max (hist) == 0);
    assert_true (hist_percentile (hist, 0) == 0);
    assert_true (hist_percentile (hist, 50) == 0);
    assert_true (hist_percentile (hist, 100) == 0);
    hist_destroy (&hist);
    hist_destroy (&hist);       /* NULL is fine */
}

static void
test_merge (void **state)
{
    hist_t *a = hist_new ();
    hist_t *b = hist_new ();
    hist_t *all = hist_new ();
    hist_t *empty = hist_new ();
    for (int i = 0; i < 5000; i++) {
        double v = 1 + 100 * s_uniform ();
        hist_record (a, v);
        hist_record (all, v);
    }
    for (int i = 0; i < 3000; i++) {
        double v = 500 + 1000 * s_uniform ();
        hist_record (b, v);
        hist_record (all, v);
    }
    hist_merge (a, empty);              /* no-op */
    hist_merge (a, b);
    assert_int_equal (hist_count (a), 8000);
    assert_true (hist_min (a) == hist_min (all));
    assert_true (hist_max (a) == hist_max (all));
    assert_near (hist_sum (a), hist_sum (all), 1e-9 * hist_sum (all));
    for (double p = 0; p <= 100; p += 5)
        assert_true (hist_percentile (a, p) == hist_percentile (all, p));

    /*  Merging into an empty histogram copies min and max too. */
    hist_merge (empty, b);
    assert_true (hist_min (empty) == hist_min (b));
    assert_true (hist_max (empty) == hist_max (b));
    assert_int_equal (hist_count (empty), 3000);

    hist_destroy (&a);
    hist_destroy (&b);
    hist_destroy (&all);
    hist_destroy (&empty);
}

static void
test_extremes (void **state)
{
    hist_t *hist = hist_new ();
    hist_record (hist, -5);             /* counts as 0 */
    hist_record (hist, 0);
    hist_record (hist, 1e-9);
    hist_record (hist, 1e15);
    hist_record (hist, 1e300);
    assert_int_equal (hist_count (hist), 5);
    assert_true (hist_min (hist) == 0);
    assert_true (hist_max (hist) == 1e300);
    assert_true (hist_percentile (hist, 0) == 0);
    assert_true (hist_percentile (hist, 100) == 1e300);
    for (double p = 0; p <= 100; p += 1) {
        double v = hist_percentile (hist, p);
        assert_true (isfinite (v));
        assert_true (v >= 0 && v <= 1e300);
    }
    /*  The three small values share the underflow bucket: p40 is small. */
    assert_true (hist_percentile (hist, 40) < 1e-3);
    hist_destroy (&hist);

    /*  Bucket edges: powers of two and the range ends. */
    hist = hist_new ();
    const double edges [] = { 0.0009765625, 0.001, 1, 2, 1024, 1e9, 1073741824.0 };
    for (size_t i = 0; i < sizeof edges / sizeof edges [0]; i++) {
        hist_t *one = hist_new ();
        hist_record (one, edges [i]);
        hist_record (one, edges [i]);
        assert_true (hist_percentile (one, 50) == edges [i]);
        hist_destroy (&one);
        hist_record (hist, edges [i]);
    }
    assert_true (hist_percentile (hist, 100) == 1073741824.0);
    hist_destroy (&hist);
}

static void
test_resolution (void **state)
{
    /*  Two close values far apart in magnitude stay within 5% each. */
    const double vs [] = { 0.002, 0.75, 3.3, 47, 999, 12345, 5e6, 9e8 };
    for (size_t i = 0; i < sizeof vs / sizeof vs [0]; i++) {
        hist_t *hist = hist_new ();
        hist_record (hist, vs [i] * 0.5);
        hist_record (hist, vs [i]);
        hist_record (hist, vs [i] * 2);
        double p50 = hist_percentile (hist, 50);
        assert_true (fabs (p50 - vs [i]) <= 0.05 * vs [i]);
        hist_destroy (&hist);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_uniform_integers),
        cmocka_unit_test (test_log_uniform),
        cmocka_unit_test (test_exponential),
        cmocka_unit_test (test_known_values),
        cmocka_unit_test (test_empty),
        cmocka_unit_test (test_merge),
        cmocka_unit_test (test_extremes),
        cmocka_unit_test (test_resolution),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
