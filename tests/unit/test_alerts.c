/*  tests/unit/test_alerts.c: coordinator/alerts, the thresholds of issue
    14: execution time over 2x the baseline, throughput under 50% of it
    (at the end and live once 5% of the rows moved), error rate over 5%,
    connections over 80% of max_connections, memory over 80% of the limit;
    nothing without a baseline; each alert carries figure, baseline and
    threshold; a threshold of 0 turns its check off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alerts.h"

static const alerts_limits_t s_lim = { 2.0, 0.5, 0.05, 0.8, 0.8 };
static const alerts_baseline_t s_base = { 5, 10.0, 100000.0 };

static void
test_normal_run_fires_nothing (void **state)
{
    (void) state;
    alerts_t a = { .count = 0 };
    alerts_run_t run = { .wall_seconds = 19.9, .rows_per_second = 50001, .rows_read = -1,
                         .attempts = 21, .chunks_done = 20 };     /* 1/21 = 4.8% */
    assert_int_equal (alerts_check_end (&a, &s_lim, &s_base, &run), 0);
    assert_int_equal (alerts_check_live (&a, &s_lim, &s_base, 500000, 9.0), 0);
    assert_int_equal (alerts_check_connections (&a, &s_lim, "target", 80, 100), 0);
    assert_int_equal (alerts_check_memory (&a, &s_lim, "w1", 800, 1000), 0);
    assert_int_equal (a.count, 0);
}

static void
test_slow_run (void **state)
{
    (void) state;
    alerts_t a = { .count = 0 };
    alerts_run_t run = { .wall_seconds = 25.0, .rows_per_second = 40000, .rows_read = -1,
                         .attempts = 4, .chunks_done = 4 };
    assert_int_equal (alerts_check_end (&a, &s_lim, &s_base, &run), 2);
    assert_string_equal (a.items[0].name, "execution_time");
    assert_true (a.items[0].figure == 25.0);
    assert_true (a.items[0].baseline == 10.0);
    assert_true (a.items[0].threshold == 20.0);
    assert_non_null (strstr (a.items[0].text, "over 2.0x the job's baseline of 10.00 s"));
    assert_string_equal (a.items[1].name, "throughput");
    assert_true (a.items[1].threshold == 50000.0);
    char *json = alerts_json (&a);
    assert_non_null (strstr (json, "\"name\": \"execution_time\", \"when\": \"end\""));
    assert_non_null (strstr (json, "\"figure\": 25, \"baseline\": 10, \"threshold\": 20"));
    free (json);
}

static void
test_no_baseline (void **state)
{
    (void) state;
    alerts_t a = { .count = 0 };
    alerts_baseline_t none = { 0, 0, 0 };
    alerts_run_t run = { .wall_seconds = 1000, .rows_per_second = 1, .rows_read = -1 };
    assert_int_equal (alerts_check_end (&a, &s_lim, &none, &run), 0);
    assert_int_equal (alerts_check_live (&a, &s_lim, &none, 10, 100), 0);
    char *json = alerts_baseline_json (&none);
    assert_string_equal (json, "null");
    free (json);
    json = alerts_baseline_json (&s_base);
    assert_string_equal (json, "{\"runs\": 5, \"wall_seconds\": 10.000, \"rows_per_second\": 100000.0}");
    free (json);
}

static void
test_live_throughput (void **state)
{
    (void) state;
    alerts_t a = { .count = 0 };
    /*  The window opens once 5% moved. */
    assert_false (alerts_live_window_opens (49999, 1000000));
    assert_true (alerts_live_window_opens (50000, 1000000));
    assert_false (alerts_live_window_opens (0, 0));
    /*  A window shorter than 5 s is not judged, however slow. */
    assert_int_equal (alerts_check_live (&a, &s_lim, &s_base, 0, 4.9), 0);
    /*  125,000 rows in 5 s = 25,000 rows/s < 50,000. */
    assert_int_equal (alerts_check_live (&a, &s_lim, &s_base, 125000, 5.0), 1);
    assert_string_equal (a.items[0].when, "live");
    assert_true (a.items[0].figure == 25000.0);
    assert_non_null (strstr (a.items[0].text, "125000 rows in the last 5.0 s"));
    /*  Once per run. */
    assert_int_equal (alerts_check_live (&a, &s_lim, &s_base, 0, 10.0), 0);
    assert_int_equal (a.count, 1);
}

static void
test_error_rate (void **state)
{
    (void) state;
    alerts_t a = { .count = 0 };
    alerts_run_t chunks = { .wall_seconds = 1, .rows_per_second = 1e6, .rows_read = -1,
                            .attempts = 5, .chunks_done = 4 };    /* 1 of 5 failed: 20% */
    assert_int_equal (alerts_check_end (&a, &s_lim, &s_base, &chunks), 1);
    assert_string_equal (a.items[0].name, "error_rate");
    assert_true (a.items[0].figure == 0.2);
    assert_non_null (strstr (a.items[0].text, "20.0% of the chunk attempts failed"));
    alerts_t b = { .count = 0 };
    alerts_run_t file = { .wall_seconds = 1, .rows_per_second = 1e6, .rows_read = 1000,
                          .rows_rejected = 51, .attempts = 1, .chunks_done = 1 };
    assert_int_equal (alerts_check_end (&b, &s_lim, &s_base, &file), 1);
    assert_non_null (strstr (b.items[0].text, "5.1% of the records read were rejected"));
}

static void
test_connections_and_memory (void **state)
{
    (void) state;
    alerts_t a = { .count = 0 };
    assert_int_equal (alerts_check_connections (&a, &s_lim, "target", 25, 30), 1);
    assert_int_equal (alerts_check_connections (&a, &s_lim, "target", 24, 30), 0);
    assert_int_equal (alerts_check_connections (&a, &s_lim, "target", 27, 30), 0);
    assert_int_equal (a.count, 1);
    assert_true (a.items[0].figure == 27);          /* the peak seen */
    assert_true (a.items[0].baseline == 30);
    assert_true (a.items[0].threshold == 24);
    assert_int_equal (alerts_check_connections (&a, &s_lim, "source", 25, 30), 1);
    assert_int_equal (alerts_check_memory (&a, &s_lim, "w1", 900, 1000), 1);
    assert_int_equal (alerts_check_memory (&a, &s_lim, "w2", 900, 0), 0);   /* limit unknown */
    assert_int_equal (a.count, 3);
}

static void
test_zero_turns_off (void **state)
{
    (void) state;
    alerts_limits_t off = { 0, 0, 0, 0, 0 };
    alerts_t a = { .count = 0 };
    alerts_run_t run = { .wall_seconds = 1000, .rows_per_second = 1, .rows_read = 10,
                         .rows_rejected = 10 };
    assert_int_equal (alerts_check_end (&a, &off, &s_base, &run), 0);
    assert_int_equal (alerts_check_live (&a, &off, &s_base, 10, 100), 0);
    assert_int_equal (alerts_check_connections (&a, &off, "target", 100, 100), 0);
    assert_int_equal (alerts_check_memory (&a, &off, "w", 1000, 1000), 0);
    assert_int_equal (a.count, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_normal_run_fires_nothing),
        cmocka_unit_test (test_slow_run),
        cmocka_unit_test (test_no_baseline),
        cmocka_unit_test (test_live_throughput),
        cmocka_unit_test (test_error_rate),
        cmocka_unit_test (test_connections_and_memory),
        cmocka_unit_test (test_zero_turns_off),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
