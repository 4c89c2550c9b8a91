/*  tests/unit/test_plan.c: coordinator/plan: ranges from boundary samples
    (half-open, adjacent, first and last unbounded, equal by row count),
    repeated sample keys merged so a key never spans two chunks, est_rows
    summing to the total, the one-chunk plans, plan_chunk_count's edge
    cases, and plan_blocks (the ctid split): whole-block ranges as tids,
    open at both ends, as many as the estimate asks for but never more than
    blocks, near-equal in blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/*  The invariants every plan must hold, whatever its samples: at least one
    range, the first without a low bound, the last without a high bound,
    every other bound present, each range's lo equal to the previous hi,
    no negative estimate, and the estimates summing to total_rows. */
static void
s_assert_plan_sane (const plan_t *plan, int64_t total_rows)
{
    assert_non_null (plan);
    assert_true (plan->count >= 1);
    assert_int_equal (plan->total_rows, total_rows);
    assert_null (plan->ranges[0].lo);
    assert_null (plan->ranges[plan->count - 1].hi);
    int64_t sum = 0;
    for (size_t i = 0; i < plan->count; i++) {
        const plan_range_t *r = &plan->ranges[i];
        if (i > 0) {
            assert_non_null (r->lo);
            assert_non_null (plan->ranges[i - 1].hi);
            assert_string_equal (r->lo, plan->ranges[i - 1].hi);
        }
        if (i + 1 < plan->count)
            assert_non_null (r->hi);
        /*  No empty range: a repeated key never closes the range it opens
            (key ORDER is the source's, not strcmp's, so only equality). */
        if (r->lo && r->hi)
            assert_true (strcmp (r->lo, r->hi) != 0);
        assert_true (r->est_rows >= 0);
        sum += r->est_rows;
    }
    assert_int_equal (sum, total_rows);
}

/*  s_assert_range: range i is [lo, hi) with est rows (NULL = unbounded). */
static void
s_assert_range (const plan_t *plan, size_t i, const char *lo, const char *hi, int64_t est)
{
    assert_true (i < plan->count);
    const plan_range_t *r = &plan->ranges[i];
    if (lo)
        assert_string_equal (r->lo, lo);
    else
        assert_null (r->lo);
    if (hi)
        assert_string_equal (r->hi, hi);
    else
        assert_null (r->hi);
    assert_int_equal (r->est_rows, est);
}

static void
test_no_samples_one_chunk (void **state)
{
    plan_t *plan = plan_build (12345, NULL, 0);
    s_assert_plan_sane (plan, 12345);
    assert_int_equal (plan->count, 1);
    s_assert_range (plan, 0, NULL, NULL, 12345);
    plan_destroy (&plan);
    assert_null (plan);

    /*  An empty source still has one (empty) chunk. */
    plan = plan_build (0, NULL, 0);
    s_assert_plan_sane (plan, 0);
    assert_int_equal (plan->count, 1);
    s_assert_range (plan, 0, NULL, NULL, 0);
    plan_destroy (&plan);

    /*  A non-NULL but empty sample array is the same thing. */
    plan_sample_t unused = { "x", 2 };
    plan = plan_build (7, &unused, 0);
    s_assert_plan_sane (plan, 7);
    assert_int_equal (plan->count, 1);
    s_assert_range (plan, 0, NULL, NULL, 7);
    plan_destroy (&plan);
}

static void
test_single (void **state)
{
    plan_t *plan = plan_single (999);
    s_assert_plan_sane (plan, 999);
    assert_int_equal (plan->count, 1);
    s_assert_range (plan, 0, NULL, NULL, 999);
    plan_destroy (&plan);
    assert_null (plan);

    plan = plan_single (0);
    s_assert_plan_sane (plan, 0);
    plan_destroy (&plan);

    /*  destroy accepts NULL. */
    plan_destroy (&plan);
    assert_null (plan);
}

static void
test_boundaries (void **state)
{
    /*  10 rows a..j, chunk_size 3: samples are the keys at rn 4, 7, 10. */
    const plan_sample_t samples [] = { { "d", 4 }, { "g", 7 }, { "j", 10 } };
    plan_t *plan = plan_build (10, samples, 3);
    s_assert_plan_sane (plan, 10);
    assert_int_equal (plan->count, 4);
    s_assert_range (plan, 0, NULL, "d", 3);
    s_assert_range (plan, 1, "d", "g", 3);
    s_assert_range (plan, 2, "g", "j", 3);
    s_assert_range (plan, 3, "j", NULL, 1);
    plan_destroy (&plan);

    /*  One sample: two ranges. */
    const plan_sample_t one [] = { { "m", 6 } };
    plan = plan_build (11, one, 1);
    s_assert_plan_sane (plan, 11);
    assert_int_equal (plan->count, 2);
    s_assert_range (plan, 0, NULL, "m", 5);
    s_assert_range (plan, 1, "m", NULL, 6);
    plan_destroy (&plan);
}

/*  Equal by row count, not by key width: the keys of a skewed domain (most
    rows in a narrow band) still give chunks of chunk_size rows. */
static void
test_equal_by_row_count (void **state)
{
    enum { TOTAL = 10000, CHUNK = 1000, N = TOTAL / CHUNK - 1 };
    /*  Keys 1..9000 dense, then 1000 keys spread up to 1000000; the samples
        are the keys at rn 1001, 2001, ..., 9001. Zero-padded so text order
        is numeric order. */
    char keys [N][16];
    plan_sample_t samples [N];
    for (int i = 0; i < N; i++) {
        int64_t rn = (int64_t) (i + 1) * CHUNK + 1;
        int64_t key = rn <= 9000 ? rn : 9000 + (rn - 9000) * 991;
        snprintf (keys[i], sizeof keys[i], "%08lld", (long long) key);
        samples[i].key = keys[i];
        samples[i].rn = rn;
    }
    plan_t *plan = plan_build (TOTAL, samples, N);
    s_assert_plan_sane (plan, TOTAL);
    assert_int_equal (plan->count, N + 1);
    for (size_t i = 0; i < plan->count; i++)
        assert_int_equal (plan->ranges[i].est_rows, CHUNK);
    assert_string_equal (plan->ranges[7].hi, "00008001");
    assert_string_equal (plan->ranges[8].hi, "00009991");
    assert_string_equal (plan->ranges[9].lo, "00009991");
    plan_destroy (&plan);
}

static void
test_repeated_keys_merged (void **state)
{
    /*  rn:  1 2 3 4 5 6 7 8 9
        key: a a b b b b b c d   chunk_size 2: samples at rn 3, 5, 7, 9.
        "b" is sampled three times: it must start exactly one range, and
        the rows of b (rn 3..7) must not be split. */
    const plan_sample_t samples [] = { { "b", 3 }, { "b", 5 }, { "b", 7 }, { "d", 9 } };
    plan_t *plan = plan_build (9, samples, 4);
    s_assert_plan_sane (plan, 9);
    assert_int_equal (plan->count, 3);
    s_assert_range (plan, 0, NULL, "b", 2);
    s_assert_range (plan, 1, "b", "d", 6);
    s_assert_range (plan, 2, "d", NULL, 1);
    plan_destroy (&plan);

    /*  Every sample the same key: two ranges, before and from it. */
    const plan_sample_t same [] = { { "k", 2 }, { "k", 3 }, { "k", 4 }, { "k", 5 } };
    plan = plan_build (6, same, 4);
    s_assert_plan_sane (plan, 6);
    assert_int_equal (plan->count, 2);
    s_assert_range (plan, 0, NULL, "k", 1);
    s_assert_range (plan, 1, "k", NULL, 5);
    plan_destroy (&plan);

    /*  Repeats at the end: the last range absorbs them. */
    const plan_sample_t tail [] = { { "c", 3 }, { "e", 5 }, { "e", 7 }, { "e", 9 } };
    plan = plan_build (10, tail, 4);
    s_assert_plan_sane (plan, 10);
    assert_int_equal (plan->count, 3);
    s_assert_range (plan, 0, NULL, "c", 2);
    s_assert_range (plan, 1, "c", "e", 2);
    s_assert_range (plan, 2, "e", NULL, 6);
    plan_destroy (&plan);

    /*  Keys compare as exact text: "1.0" and "1.00" are different
        samples, "B" and "b" too. */
    const plan_sample_t texts [] = { { "1.0", 3 }, { "1.00", 5 } };
    plan = plan_build (6, texts, 2);
    assert_int_equal (plan->count, 3);
    plan_destroy (&plan);
}

/*  The empty string is a real key (text keys), not an unbounded side. */
static void
test_empty_string_key (void **state)
{
    const plan_sample_t samples [] = { { "", 3 }, { "", 5 }, { "x", 7 } };
    plan_t *plan = plan_build (8, samples, 3);
    s_assert_plan_sane (plan, 8);
    assert_int_equal (plan->count, 3);
    s_assert_range (plan, 0, NULL, "", 2);
    s_assert_range (plan, 1, "", "x", 4);
    s_assert_range (plan, 2, "x", NULL, 2);
    plan_destroy (&plan);
}

/*  The plan owns copies of the keys: the caller's buffers (PGresult values
    in source.c) die right after plan_build. */
static void
test_keys_copied (void **state)
{
    char k1 [] = "alpha", k2 [] = "omega";
    plan_sample_t samples [] = { { k1, 11 }, { k2, 21 } };
    plan_t *plan = plan_build (25, samples, 2);
    memset (k1, 'z', sizeof k1 - 1);
    memset (k2, 'z', sizeof k2 - 1);
    s_assert_plan_sane (plan, 25);
    s_assert_range (plan, 0, NULL, "alpha", 10);
    s_assert_range (plan, 1, "alpha", "omega", 10);
    s_assert_range (plan, 2, "omega", NULL, 5);
    assert_ptr_not_equal (plan->ranges[0].hi, plan->ranges[1].lo);
    plan_destroy (&plan);
}

static void
test_chunk_count (void **state)
{
    /*  ceil (total / chunk_size). */
    assert_int_equal (plan_chunk_count (10000, 1000, 0, 0), 10);
    assert_int_equal (plan_chunk_count (10001, 1000, 0, 0), 11);
    assert_int_equal (plan_chunk_count (9999, 1000, 0, 0), 10);
    assert_int_equal (plan_chunk_count (1001, 1000, 0, 0), 2);
    assert_int_equal (plan_chunk_count (6000, 700, 1000, 0), 9);
    /*  Not more than chunk_size rows: one chunk. */
    assert_int_equal (plan_chunk_count (1000, 1000, 0, 0), 1);
    assert_int_equal (plan_chunk_count (1, 1000, 0, 0), 1);
    assert_int_equal (plan_chunk_count (0, 1000, 0, 0), 1);
    /*  min_rows_for_parallel: below it one chunk, at it parallel. */
    assert_int_equal (plan_chunk_count (99999, 1000, 100000, 0), 1);
    assert_int_equal (plan_chunk_count (100000, 1000, 100000, 0), 100);
    assert_int_equal (plan_chunk_count (100001, 1000, 100000, 0), 101);
    /*  Sequential wins over everything. */
    assert_int_equal (plan_chunk_count (10000000, 1000, 0, 1), 1);
    assert_int_equal (plan_chunk_count (10000000, 1, 0, 1), 1);
    /*  chunk_size 1: one chunk per row. */
    assert_int_equal (plan_chunk_count (5, 1, 0, 0), 5);
    /*  A nonsensical chunk size never divides by zero or goes negative. */
    assert_int_equal (plan_chunk_count (10000, 0, 0, 0), 1);
    assert_int_equal (plan_chunk_count (10000, -5, 0, 0), 1);
    /*  Large counts at the config's limits (chunk_size <= 1e9,
        min_rows_for_parallel <= 1e12) do not overflow. */
    assert_int_equal (plan_chunk_count (INT64_C (1000000000000), 1, 0, 0), INT64_C (1000000000000));
    assert_int_equal (plan_chunk_count (INT64_C (1000000000000000), INT64_C (1000000000), 0, 0),
                      INT64_C (1000000));
    assert_int_equal (plan_chunk_count (INT64_C (999999999999), 1000, INT64_C (1000000000000), 0), 1);
}

static void
test_blocks (void **state)
{
    (void) state;
    /*  1000 blocks, 100000 rows, chunks of 10000 rows: 10 ranges of 100
        blocks, 10000 rows each. */
    plan_t *plan = plan_blocks (1000, 100000, 10000, 0);
    s_assert_plan_sane (plan, 100000);
    assert_int_equal (plan->count, 10);
    s_assert_range (plan, 0, NULL, "(100,0)", 10000);
    s_assert_range (plan, 1, "(100,0)", "(200,0)", 10000);
    s_assert_range (plan, 9, "(900,0)", NULL, 10000);
    plan_destroy (&plan);

    /*  Uneven: 10 blocks in 3 ranges of 3, 3 and 4 blocks. */
    plan = plan_blocks (10, 3000, 1000, 0);
    s_assert_plan_sane (plan, 3000);
    assert_int_equal (plan->count, 3);
    s_assert_range (plan, 0, NULL, "(3,0)", 900);
    s_assert_range (plan, 1, "(3,0)", "(6,0)", 900);
    s_assert_range (plan, 2, "(6,0)", NULL, 1200);
    plan_destroy (&plan);

    /*  More chunks wanted than blocks: one block per range. */
    plan = plan_blocks (4, 1000, 10, 0);
    s_assert_plan_sane (plan, 1000);
    assert_int_equal (plan->count, 4);
    s_assert_range (plan, 3, "(3,0)", NULL, 250);
    plan_destroy (&plan);

    /*  One unbounded range: below min_rows_for_parallel, within one
        chunk, an empty or one-block heap, a zero or negative estimate. */
    const int64_t one[][4] = {
        { 1000, 99999, 1000, 100000 }, { 1000, 1000, 1000, 0 }, { 0, 5000, 1000, 0 },
        { 1, 5000, 1000, 0 }, { 1000, 0, 1000, 0 }, { 1000, -1, 1000, 0 },
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        plan = plan_blocks (one[i][0], one[i][1], one[i][2], one[i][3]);
        assert_int_equal (plan->count, 1);
        assert_null (plan->ranges[0].lo);
        assert_null (plan->ranges[0].hi);
        plan_destroy (&plan);
    }

    /*  The largest heap PostgreSQL allows (2^32 - 1 blocks): no overflow,
        bounds ascending, the last boundary below the heap's end. */
    const int64_t max_blocks = INT64_C (4294967295);
    plan = plan_blocks (max_blocks, INT64_C (400000000000), 1000000000, 0);
    s_assert_plan_sane (plan, INT64_C (400000000000));
    assert_int_equal (plan->count, 400);
    long long prev = -1;
    for (size_t i = 1; i < plan->count; i++) {
        long long b = -1;
        assert_int_equal (sscanf (plan->ranges[i].lo, "(%lld,0)", &b), 1);
        assert_true (b > prev);
        assert_true (b < max_blocks);
        prev = b;
    }
    plan_destroy (&plan);

    char *tid = plan_block_tid (42);
    assert_string_equal (tid, "(42,0)");
    free (tid);
}

/*  File ranges: ceil (bytes / chunk_bytes), rounded up to a multiple of
    the known slots. */
static void
test_file_ranges (void **state)
{
    (void) state;
    /*  The bench's file: 908,748,010 bytes, 500k-row chunks of ~90.9 MB. */
    assert_int_equal (plan_file_ranges (908748010, 90874801, 0), 10);
    assert_int_equal (plan_file_ranges (908748010, 90874800, 0), 11);
    assert_int_equal (plan_file_ranges (908748010, 90874800, 1), 11);
    assert_int_equal (plan_file_ranges (908748010, 90874800, 2), 12);
    assert_int_equal (plan_file_ranges (908748010, 90874800, 4), 12);
    assert_int_equal (plan_file_ranges (908748010, 90874800, 3), 12);
    assert_int_equal (plan_file_ranges (908748010, 90874800, 5), 15);
    assert_int_equal (plan_file_ranges (908748010, 90874801, 2), 10);
    /*  Less than one chunk: one range, or one per slot when slots are
        known; nothing to split: one. */
    assert_int_equal (plan_file_ranges (1000, 1000, 0), 1);
    assert_int_equal (plan_file_ranges (1000, 1000, 1), 1);
    assert_int_equal (plan_file_ranges (1000, 1000, 4), 4);
    assert_int_equal (plan_file_ranges (999, 1000, 2), 2);
    assert_int_equal (plan_file_ranges (0, 1000, 4), 1);
    assert_int_equal (plan_file_ranges (1000, 0, 0), 1);
    assert_int_equal (plan_file_ranges (1000, 0, 3), 3);
    assert_int_equal (plan_file_ranges (1001, 1000, 4), 4);
    assert_int_equal (plan_file_ranges (INT64_MAX, 1, 0), INT64_MAX);
}

/*  plan_group_size: enough chunks for group_rows, never more than the
    ready chunks per slot (rounded up), at least 1; 0 = off. */
static void
test_group_size (void **state)
{
    (void) state;
    /*  1M rows as 20 chunks of 50k on 4 slots: 5 per group (250k rows). */
    assert_int_equal (plan_group_size (50000, 500000, 20, 4), 5);
    /*  On 2 slots: 10 (500k rows, the default chunk size). */
    assert_int_equal (plan_group_size (50000, 500000, 20, 2), 10);
    /*  Enough for group_rows first: 1,000 chunks of 1,000 on 2 slots. */
    assert_int_equal (plan_group_size (1000, 500000, 1000, 2), 500);
    assert_int_equal (plan_group_size (1000, 500001, 100000, 1), 501);
    /*  Chunks as big as a group or bigger: alone. */
    assert_int_equal (plan_group_size (500000, 500000, 20, 2), 1);
    assert_int_equal (plan_group_size (900000, 500000, 20, 2), 1);
    /*  The tail: fewer ready chunks than slots. */
    assert_int_equal (plan_group_size (50000, 500000, 3, 4), 1);
    assert_int_equal (plan_group_size (50000, 500000, 5, 4), 2);
    assert_int_equal (plan_group_size (50000, 500000, 1, 4), 1);
    /*  Off, nothing known, odd inputs. */
    assert_int_equal (plan_group_size (50000, 0, 20, 2), 1);
    assert_int_equal (plan_group_size (0, 500000, 20, 0), 20);
    assert_int_equal (plan_group_size (-5, 500000, 7, -1), 7);
    assert_int_equal (plan_group_size (1, INT64_MAX, INT64_MAX, 1), 4096);
}

/*  plan_covers: a built plan covers; a gap, an overlap, a bounded end
    are named. */
static void
test_covers (void **state)
{
    (void) state;
    plan_sample_t s[] = { { "10", 11 }, { "20", 21 } };
    plan_t *p = plan_build (30, s, 2);
    char why[200] = "";
    assert_int_equal (plan_covers (p, why, sizeof why), 0);
    free (p->ranges[2].lo);
    p->ranges[2].lo = strdup ("21");
    assert_int_equal (plan_covers (p, why, sizeof why), -1);
    assert_string_equal (why, "range 1 ends at '20' but range 2 starts at '21'");
    free (p->ranges[2].hi);
    p->ranges[2].hi = strdup ("99");
    free (p->ranges[2].lo);
    p->ranges[2].lo = strdup ("20");
    assert_int_equal (plan_covers (p, why, sizeof why), -1);
    assert_string_equal (why, "range 2 ends at '99', not above every key");
    plan_destroy (&p);
    p = plan_single (5);
    assert_int_equal (plan_covers (p, why, sizeof why), 0);
    p->count = 0;
    assert_int_equal (plan_covers (p, why, sizeof why), -1);
    p->count = 1;
    plan_destroy (&p);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_no_samples_one_chunk),
        cmocka_unit_test (test_single),
        cmocka_unit_test (test_boundaries),
        cmocka_unit_test (test_equal_by_row_count),
        cmocka_unit_test (test_repeated_keys_merged),
        cmocka_unit_test (test_empty_string_key),
        cmocka_unit_test (test_keys_copied),
        cmocka_unit_test (test_chunk_count),
        cmocka_unit_test (test_blocks),
        cmocka_unit_test (test_file_ranges),
        cmocka_unit_test (test_group_size),
        cmocka_unit_test (test_covers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
