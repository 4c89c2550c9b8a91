/*  tests/unit/test_report.c: coordinator/report's figures: concurrency is
    busy time over load time (not a speedup); speedup and efficiency exist
    only against a baseline, as baseline wall / wall and speedup / slots
    used; the overhead is wall minus the union of the chunks' busy
    intervals, its parts add up; rates and success rate; the JSON report
    is valid UTF-8 and parses back (json-c) when the failure message holds
    bytes that are not UTF-8 (a server's message from a SQL_ASCII
    database). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "utf8.h"

#include <json-c/json.h>
#include <stdlib.h>

/*  Three chunks: [0, 4000), [1000, 3000), [6000, 8000) ms, on a load that
    started at t = 0 s (so the running union is 4 + 2 = 6 s). */
static chunktab_t *
s_chunks (void)
{
    retry_policy_t policy = { .max_retries = 3, .initial_delay = 1, .backoff = 2, .max_delay = 30 };
    chunktab_t *t = chunktab_new (&policy, 1);
    int64_t spans[3][2] = { { 0, 4000 }, { 1000, 3000 }, { 6000, 8000 } };
    for (int i = 0; i < 3; i++) {
        chunk_t *c = chunktab_add (t, NULL, NULL, 100);
        chunktab_assign (t, c, 0, spans[i][0]);
        assert_int_equal (chunktab_done (t, i, c->attempt, 0, spans[i][1], 100, 1000000, 0), 1);
    }
    return t;
}

static worker_t s_w = { .name = "w", .slots = 4 };
static worker_t *s_ws[1] = { &s_w };

static report_t
s_report (chunktab_t *t)
{
    report_t r = {
        .run_id = "r", .status = "published", .publish = "merge", .rows_loaded = 300,
        .rows_rejected = -1, .wall_seconds = 10, .load_seconds = 8, .merge_seconds = 0.5,
        .plan_seconds = 1, .load_started = 0.0001, .verify_seconds = 0.25,
        .analyze_seconds = 0.1, .chunks = t,
        .workers = s_ws, .nworkers = 1, .peak_inflight = 2 };
    return r;
}

static void
test_no_baseline_no_speedup (void **state)
{
    (void) state;
    chunktab_t *t = s_chunks ();
    report_t r = s_report (t);
    report_figures_t f;
    report_figures (&r, &f);
    assert_false (f.has_baseline);
    assert_true (f.speedup == 0 && f.efficiency == 0);
    /*  busy 4 + 2 + 2 = 8 s over 8 s of load: one chunk in flight on average. */
    assert_true (fabs (f.concurrency - 1.0) < 1e-9);
    assert_int_equal (f.slots_offered, 4);
    assert_int_equal (f.slots_used, 2);
    char *json = report_json (&r);
    assert_non_null (strstr (json, "\"speedup\": null, \"efficiency\": null"));
    assert_non_null (strstr (json, "\"baseline\": null"));
    free (json);
    chunktab_destroy (&t);
}

static void
test_baseline_speedup (void **state)
{
    (void) state;
    chunktab_t *t = s_chunks ();
    report_t r = s_report (t);
    r.baseline_run = "seq1";
    r.baseline_wall = 15;
    report_figures_t f;
    report_figures (&r, &f);
    assert_true (f.has_baseline);
    assert_true (fabs (f.speedup - 1.5) < 1e-9);          /* 15 s / 10 s */
    assert_true (fabs (f.efficiency - 0.75) < 1e-9);      /* over the 2 slots used */
    char *json = report_json (&r);
    assert_non_null (strstr (json, "\"speedup\": 1.500, \"efficiency\": 0.750"));
    free (json);
    /*  Unknown peak: the slots offered count. */
    r.peak_inflight = 0;
    report_figures (&r, &f);
    assert_true (fabs (f.efficiency - 0.375) < 1e-9);
    chunktab_destroy (&t);
}

static void
test_json_invalid_utf8 (void **state)
{
    (void) state;
    chunktab_t *t = s_chunks ();
    report_t r = s_report (t);
    r.status = "failed";
    r.message = "chunk 1 failed: [P0001] caf\xE9 \"quoted\" \\ \x01 \xFF";
    char *json = report_json (&r);
    assert_true (utf8_is_valid (json, strlen (json)));
    json_object *o = json_tokener_parse (json);
    assert_non_null (o);
    json_object *m = NULL;
    assert_true (json_object_object_get_ex (o, "message", &m));
    assert_string_equal (json_object_get_string (m),
                         "chunk 1 failed: [P0001] caf\xEF\xBF\xBD \"quoted\" \\ \x01 \xEF\xBF\xBD");
    json_object_put (o);
    free (json);
    chunktab_destroy (&t);
}

static void
test_overhead_parts (void **state)
{
    (void) state;
    chunktab_t *t = s_chunks ();
    report_t r = s_report (t);
    report_figures_t f;
    report_figures (&r, &f);
    assert_true (fabs (f.running_seconds - 6.0) < 1e-9);
    assert_true (fabs (f.overhead_seconds - 4.0) < 1e-9);
    /*  load 8 s = dispatch start ~0 + running 6 + idle 2. */
    assert_true (f.dispatch_start_seconds < 0.001);
    assert_true (fabs (f.idle_seconds - 2.0) < 0.001);
    double parts = r.plan_seconds + f.dispatch_start_seconds + f.idle_seconds + r.verify_seconds
                 + r.merge_seconds + r.analyze_seconds + f.other_seconds;
    assert_true (fabs (parts - f.overhead_seconds) < 1e-6);
    assert_true (fabs (f.other_seconds - 0.15) < 0.001);
    assert_true (fabs (f.chunks_per_second - 0.3) < 1e-9);
    assert_true (fabs (f.mb_per_second - 0.3) < 1e-9);     /* 3 MB in 10 s */
    assert_int_equal (f.attempts, 3);
    assert_true (f.success_rate == 1.0);
    r.rows_rejected = 100;                                 /* 300 of 400 loaded */
    report_figures (&r, &f);
    assert_true (fabs (f.success_rate - 0.75) < 1e-9);
    chunktab_destroy (&t);
}

/*  A group of two chunks ran as one COPY from 0 to 4000 ms: each member's
    busy time is its share (2 s, as results_done divides it), but the slot
    ran for the whole 4 s: running 4 s, not 2, so no idle time is made up. */
static void
test_group_spans (void **state)
{
    (void) state;
    retry_policy_t policy = { .max_retries = 3, .initial_delay = 1, .backoff = 2, .max_delay = 30 };
    chunktab_t *t = chunktab_new (&policy, 1);
    chunktab_add (t, "1", "2", 100);
    chunktab_add (t, "2", "3", 100);
    chunktab_assign_group (t, chunktab_get (t, 0), 2, 0, 0);
    for (int i = 0; i < 2; i++) {
        chunk_t *c = chunktab_get (t, i);
        assert_int_equal (chunktab_done (t, i, c->attempt, 0, 4000, 100, 1000000, 0), 1);
        c->busy_ms /= 2;
    }
    report_t r = s_report (t);
    r.load_seconds = 4;
    r.wall_seconds = 5;
    report_figures_t f;
    report_figures (&r, &f);
    assert_true (fabs (f.running_seconds - 4.0) < 1e-9);
    assert_true (fabs (f.busy_seconds - 4.0) < 1e-9);
    assert_true (f.idle_seconds < 0.001);
    chunktab_destroy (&t);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_no_baseline_no_speedup),
        cmocka_unit_test (test_baseline_speedup),
        cmocka_unit_test (test_overhead_parts),
        cmocka_unit_test (test_group_spans),
        cmocka_unit_test (test_json_invalid_utf8),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
