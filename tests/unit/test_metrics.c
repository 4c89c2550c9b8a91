/*  tests/unit/test_metrics.c: coordinator/metrics, the pure render of a
    snapshot into the Prometheus text format (exact lines, label escaping,
    cumulative histograms, NaN ETA), failed attempts by SQLSTATE class, and
    the /healthz and /readyz decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

static void
s_has (const char *text, const char *line)
{
    if (!strstr (text, line))
        fail_msg ("missing line: %s\n--- in:\n%s", line, text);
}

static void
test_render (void **state)
{
    (void) state;
    metrics_snap_t s;
    memset (&s, 0, sizeof s);
    strcpy (s.run_id, "r1");
    strcpy (s.fingerprint, "ab\"c\\d");
    strcpy (s.publish, "merge");
    strcpy (s.split, "key");
    strcpy (s.phase, "loading");
    s.rows_loaded = 12345;
    s.chunks_planned = 3;
    s.chunks_done = 2;
    s.chunk_hist[0] = 1;
    s.chunk_hist[METRICS_CHUNK_BOUNDS] = 2;
    s.chunk_sum_s = 2000.5;
    s.batch_hist[1] = 4;
    s.eta_seconds = -1;
    metrics_fails_add (&s.fails, "08006", true);
    metrics_fails_add (&s.fails, "08001", true);
    metrics_fails_add (&s.fails, "23505", false);
    s.nworkers = 1;
    s.workers = calloc (1, sizeof *s.workers);
    s.workers[0].name = xstrdup ("w\n1");
    s.workers[0].cpu_ms = 1500;
    s.workers[0].peak_rss_kb = 2;
    char *text = metrics_render (&s);
    s_has (text, "# TYPE ferry_rows_loaded_total counter\nferry_rows_loaded_total 12345\n");
    s_has (text, "ferry_run_info{run_id=\"r1\",fingerprint=\"ab\\\"c\\\\d\",publish=\"merge\","
                 "split=\"key\"} 1\n");
    s_has (text, "ferry_run_phase{phase=\"loading\"} 1\n");
    s_has (text, "ferry_chunks{state=\"planned\"} 3\n");
    s_has (text, "ferry_chunks{state=\"done\"} 2\n");
    s_has (text, "ferry_chunk_attempts_retried_total{sqlstate_class=\"08\"} 2\n");
    s_has (text, "ferry_chunk_attempts_failed_total{sqlstate_class=\"23\"} 1\n");
    s_has (text, "ferry_chunk_duration_seconds_bucket{le=\"0.1\"} 1\n");
    s_has (text, "ferry_chunk_duration_seconds_bucket{le=\"900\"} 1\n");
    s_has (text, "ferry_chunk_duration_seconds_bucket{le=\"+Inf\"} 3\n");
    s_has (text, "ferry_chunk_duration_seconds_sum 2000.5\nferry_chunk_duration_seconds_count 3\n");
    s_has (text, "ferry_batch_write_duration_seconds_bucket{le=\"0.001\"} 0\n");
    s_has (text, "ferry_batch_write_duration_seconds_bucket{le=\"0.0025\"} 4\n");
    s_has (text, "ferry_eta_seconds NaN\n");
    s_has (text, "ferry_worker_cpu_seconds_total{worker=\"w\\n1\"} 1.5\n");
    s_has (text, "ferry_worker_peak_rss_bytes{worker=\"w\\n1\"} 2048\n");
    free (text);
    metrics_snap_clear (&s);
    assert_null (s.workers);
}

static void
test_fails_overflow (void **state)
{
    (void) state;
    metrics_fails_t f;
    memset (&f, 0, sizeof f);
    metrics_fails_add (&f, "", true);
    assert_int_equal (f.n, 1);
    assert_string_equal (f.e[0].cls, "");
    char st[6] = "00000";
    for (int i = 0; i < 40; i++) {
        st[0] = (char) ('A' + i % 26);
        st[1] = (char) ('0' + i / 26);
        metrics_fails_add (&f, st, false);
    }
    assert_int_equal (f.n, METRICS_MAX_CLASSES);
    int64_t total = 0;
    for (int i = 0; i < f.n; i++)
        total += f.e[i].failed + f.e[i].retried;
    assert_int_equal (total, 41);              /* nothing lost */
}

static void
test_health_ready (void **state)
{
    (void) state;
    metrics_snap_t s;
    memset (&s, 0, sizeof s);
    char body[256];
    strcpy (s.phase, "planning");
    assert_int_equal (metrics_health (&s, 0, 999999, 15000, body, sizeof body), 200);
    assert_string_equal (body, "ok: planning\n");
    assert_int_equal (metrics_ready (&s, body, sizeof body), 503);
    assert_string_equal (body, "not ready: planning (no plan yet)\n");
    s.planned = true;
    s.looping = true;
    strcpy (s.phase, "loading");
    assert_int_equal (metrics_ready (&s, body, sizeof body), 503);
    assert_string_equal (body, "not ready: no worker joined yet\n");
    s.workers_joined = 1;
    s.workers_live = 1;
    s.chunks_planned = 3;
    s.chunks_done = 1;
    assert_int_equal (metrics_ready (&s, body, sizeof body), 200);
    assert_string_equal (body, "ready: loading, 1 of 4 chunk(s) done, 1 worker(s) live\n");
    /*  The loop stopped turning: 503 past the limit, 200 within it. */
    assert_int_equal (metrics_health (&s, 1000, 16001, 15000, body, sizeof body), 503);
    assert_string_equal (body, "unhealthy: the dispatch loop has not turned for 15001 ms "
                               "(limit 15000 ms)\n");
    assert_int_equal (metrics_health (&s, 1000, 16000, 15000, body, sizeof body), 200);
    /*  Publishing is one long statement, not the loop: still healthy. */
    s.looping = false;
    strcpy (s.phase, "publishing");
    assert_int_equal (metrics_health (&s, 1000, 99000, 15000, body, sizeof body), 200);
    assert_string_equal (body, "ok: publishing\n");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_render),
        cmocka_unit_test (test_fails_overflow),
        cmocka_unit_test (test_health_ready),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
