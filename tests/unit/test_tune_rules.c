/*  tests/unit/test_tune_rules.c: coordinator/tune_rules, how tune judges:
    medians, the best fixed configuration and those within noise of it
    (the best one's spread, at least 5%), speedup and efficiency, the
    crossover from fixed and per-row costs, the bound from stage times,
    the recommendation (auto only when within noise), the list parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tune_rules.h"

static tune_config_t
s_config (tune_kind_t kind, int64_t chunk, int workers, double w1, double w2, double w3)
{
    tune_config_t c;
    memset (&c, 0, sizeof c);
    c.kind = kind;
    c.chunk_size = chunk;
    c.workers = workers;
    c.slots = 2;
    c.slots_used = workers * 2;
    c.rows = 1000000;
    tune_add_wall (&c, w1);
    tune_add_wall (&c, w2);
    tune_add_wall (&c, w3);
    return c;
}

static void
test_median (void **state)
{
    (void) state;
    double odd[3] = { 3, 1, 2 }, even[4] = { 4, 1, 3, 2 };
    assert_true (tune_median (odd, 3) == 2);
    assert_true (tune_median (even, 4) == 2.5);
    assert_true (tune_median (odd, 0) == 0);
}

static void
test_rank_and_noise (void **state)
{
    (void) state;
    tune_config_t seq = s_config (TUNE_SEQUENTIAL, 0, 1, 10, 10, 10);
    tune_config_t c[4] = {
        s_config (TUNE_FIXED, 50000, 1, 6.0, 6.1, 6.2),
        s_config (TUNE_FIXED, 50000, 2, 4.0, 4.4, 4.2),    /* best: median 4.2, spread 0.4/4.2 */
        s_config (TUNE_FIXED, 100000, 2, 4.5, 4.5, 4.5),   /* within 9.5% of 4.2 */
        s_config (TUNE_AUTO, 50000, 2, 4.0, 4.1, 4.0),     /* faster, but never "best" */
    };
    double noise = 0;
    assert_int_equal (tune_rank (c, 4, &seq, &noise), 1);
    assert_true (noise > 0.095 && noise < 0.096);
    assert_true (c[1].best && c[1].within_noise);
    assert_true (c[2].within_noise && !c[2].best);
    assert_false (c[0].within_noise);
    assert_true (c[3].within_noise && !c[3].best);
    assert_true (c[1].speedup > 2.38 && c[1].speedup < 2.39);        /* 10 / 4.2 */
    assert_true (c[1].efficiency > 0.59 && c[1].efficiency < 0.60);  /* over 4 slots */
    /*  Nothing measured: no best. */
    tune_config_t none[1];
    memset (none, 0, sizeof none);
    none[0].kind = TUNE_FIXED;
    assert_int_equal (tune_rank (none, 1, &seq, &noise), -1);
    assert_true (noise == TUNE_MIN_NOISE);
}

static void
test_crossover (void **state)
{
    (void) state;
    /*  Sequential: 1 s fixed + 9 s for 1M rows (9 us/row). Parallel: 2 s
        fixed + 3 s (3 us/row): equal at 1 s / 6 us = 166,667 rows. */
    tune_config_t seq = s_config (TUNE_SEQUENTIAL, 0, 1, 10, 10, 10);
    seq.wall = 10;
    seq.overhead_seconds = 1;
    tune_config_t best = s_config (TUNE_FIXED, 50000, 2, 5, 5, 5);
    best.wall = 5;
    best.overhead_seconds = 2;
    assert_int_equal (tune_crossover (&seq, &best), 166667);
    /*  Less fixed cost too: parallel always pays. */
    best.overhead_seconds = 0.5;
    assert_int_equal (tune_crossover (&seq, &best), 0);
    /*  Per-row cost not lower and slower on the sample: never. */
    best.wall = 12;
    best.overhead_seconds = 2;
    assert_int_equal (tune_crossover (&seq, &best), -1);
    /*  Per-row cost not lower (9.5 us) but faster on the sample (its fixed
        cost is lower): from the start. */
    best.wall = 9.6;
    best.overhead_seconds = 0.1;
    assert_int_equal (tune_crossover (&seq, &best), 0);
    assert_int_equal (tune_crossover (NULL, &best), -1);
}

static void
test_bound (void **state)
{
    (void) state;
    tune_config_t c;
    memset (&c, 0, sizeof c);
    c.busy_seconds = 10;
    c.write_seconds = 5;
    c.commit_seconds = 1;
    c.process_seconds = 1;
    double s, t, f;
    assert_string_equal (tune_bound (&c, &s, &t, &f), "target");
    assert_true (t > 0.59 && t < 0.61 && f > 0.09 && f < 0.11 && s > 0.29 && s < 0.31);
    c.write_seconds = 1;
    c.commit_seconds = 0;
    assert_string_equal (tune_bound (&c, NULL, NULL, NULL), "source");
    c.process_seconds = 6;
    assert_string_equal (tune_bound (&c, NULL, NULL, NULL), "ferry");
}

static void
test_recommend (void **state)
{
    (void) state;
    tune_config_t seq = s_config (TUNE_SEQUENTIAL, 0, 1, 10, 10, 10);
    seq.overhead_seconds = 1;
    tune_config_t c[2] = { s_config (TUNE_FIXED, 50000, 2, 5, 5, 5),
                           s_config (TUNE_AUTO, 50000, 4, 5.1, 5.1, 5.1) };
    c[0].overhead_seconds = 2;
    double noise;
    int best = tune_rank (c, 2, &seq, &noise);
    tune_recommendation_t rec;
    tune_recommend (&seq, &c[best], &c[1], noise, &rec);
    assert_int_equal (rec.chunk_size, 50000);
    assert_int_equal (rec.writers, 2);
    assert_int_equal (rec.workers, 2);
    assert_int_equal (rec.concurrency, 0);                /* auto within 5% */
    assert_int_equal (rec.crossover_rows, 166667);
    assert_int_equal (rec.min_rows_for_parallel, 167000);
    /*  Auto 20% slower: pinned at the best one's slots. */
    c[1].walls[0] = c[1].walls[1] = c[1].walls[2] = 6;
    tune_recommend (&seq, &c[best], &c[1], noise, &rec);
    assert_int_equal (rec.concurrency, 4);
    /*  Parallel never paid. */
    c[0].walls[0] = c[0].walls[1] = c[0].walls[2] = 20;
    best = tune_rank (c, 1, &seq, &noise);
    tune_recommend (&seq, &c[best], NULL, noise, &rec);
    assert_int_equal (rec.crossover_rows, -1);
    assert_true (rec.min_rows_for_parallel == TUNE_NEVER_PARALLEL);
}

static void
test_parse_list (void **state)
{
    (void) state;
    int64_t v[4];
    assert_int_equal (tune_parse_list ("25000,50000", 1, 1000000, v, 4), 2);
    assert_true (v[0] == 25000 && v[1] == 50000);
    assert_int_equal (tune_parse_list ("1,2,x", 1, 64, v, 4), -1);
    assert_int_equal (tune_parse_list ("1,2,3,4,5", 1, 64, v, 4), -1);
    assert_int_equal (tune_parse_list ("0", 1, 64, v, 4), -1);
    assert_int_equal (tune_parse_list ("", 1, 64, v, 4), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_median),
        cmocka_unit_test (test_rank_and_noise),
        cmocka_unit_test (test_crossover),
        cmocka_unit_test (test_bound),
        cmocka_unit_test (test_recommend),
        cmocka_unit_test (test_parse_list),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
