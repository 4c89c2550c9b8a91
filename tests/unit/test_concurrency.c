/*  tests/unit/test_concurrency.c: coordinator/concurrency, the adaptive
    limit of chunks in flight, fed synthetic throughput curves through a
    small simulator (100 ms steps, work = rate x time): concave curves
    peaking at 1, 3 and 12; flat; noisy (+-20%); a step change in the
    middle of a run; a budget that shrinks; unsaturated windows ignored.
    Each checks where the limit settles, the throughput reached against the
    curve's peak, and that the limit never leaves [1, max]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency.h"

typedef double curve_fn (int limit, double t_s);

typedef struct {
    double mean_limit;         /* time-average limit over the measured tail */
    double reached;            /* work rate over the tail / the curve's best rate */
    int final_limit;
    int max_seen;
    size_t changes;
} sim_t;

static uint64_t s_rng = 1;

static double
s_uniform (void)
{
    s_rng = s_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double) (s_rng >> 11) / (double) (1ULL << 53) * 2.0 - 1.0;
}

/*  A host of `cores` CPUs where each chunk in flight keeps `per_chunk`
    cores busy (capped at the cores), plus `other` cores of someone else's
    work; cores 0: no host model (cc_update gets NULL). */
typedef struct {
    double cores, per_chunk, other;
} host_model_t;

static host_model_t s_host;

/*  Runs cc against curve for `seconds`; the tail is the last `tail` s. */
static sim_t
s_simulate (cc_t *cc, curve_fn *curve, double noise, double seconds, double tail, int max)
{
    double busy_ms = 0, idle_ms = 0;
    sim_t r = { 0 };
    double work = 0, tail_work = 0, tail_limit = 0, best_tail = 0;
    double block_noise = 1;
    int steps = (int) (seconds * 10);
    for (int i = 0; i < steps; i++) {
        double t = i / 10.0;
        if (i % 20 == 0)           /* one draw per 2 s: a whole window off at once */
            block_noise = 1 + noise * s_uniform ();
        int limit = cc_limit (cc);
        assert_true (limit >= 1 && limit <= max);
        if (limit > r.max_seen)
            r.max_seen = limit;
        double rate = curve (limit, t) * block_noise;
        work += rate * 0.1;
        if (t >= seconds - tail) {
            tail_work += curve (limit, t) * 0.1;      /* noise-free: what the choice is worth */
            tail_limit += limit * 0.1;
            double best = 0;
            for (int l = 1; l <= max; l++)
                if (curve (l, t) > best)
                    best = curve (l, t);
            best_tail += best * 0.1;
        }
        cc_host_t host = { (int64_t) busy_ms, (int64_t) idle_ms };
        cc_update (cc, (int64_t) (t * 1000), (int64_t) work, true, s_host.cores > 0 ? &host : NULL);
        if (s_host.cores > 0) {
            double busy = s_host.per_chunk * limit + s_host.other;
            if (busy > s_host.cores)
                busy = s_host.cores;
            busy_ms += busy * 100;
            idle_ms += (s_host.cores - busy) * 100;
        }
    }
    r.mean_limit = tail_limit / tail;
    r.reached = tail_work / best_tail;
    r.final_limit = cc_limit (cc);
    r.changes = cc->nhistory;
    return r;
}

static double c_peak1 (int l, double t) { (void) t; return 100.0 / (1 + 0.15 * (l - 1)); }
static double c_peak3 (int l, double t) { (void) t; double v = 100 - 10.0 * (l - 3) * (l - 3); return v < 5 ? 5 : v; }
static double c_peak12 (int l, double t) { (void) t; return l <= 12 ? 100.0 * l / 12 : 100 - 5.0 * (l - 12); }
static double c_flat (int l, double t) { (void) t; (void) l; return 100; }
static double
c_step (int l, double t)
{
    if (t < 100)
        return l <= 8 ? 100.0 * l / 8 : 100 - 6.0 * (l - 8);
    double v = 100 - 12.0 * (l - 2) * (l - 2);
    return v < 5 ? 5 : v;
}

static void
s_start (cc_t *cc, int max)
{
    cc_config_t cfg = cc_config_default (max);
    cc_init (cc, &cfg, 0);
    s_rng = 12345;
    s_host = (host_model_t) { 0 };
}

/*  host_bound, started as the coordinator starts it for `cores`. */
static void
s_start_host (cc_t *cc, int max, host_model_t host)
{
    cc_config_t cfg = cc_config_default (max);
    cfg.host_bound = true;
    cfg.start = cc_start_for_cores ((int) host.cores, true);
    cc_init (cc, &cfg, 0);
    s_rng = 12345;
    s_host = host;
}

/*  Two cores, both servers and the worker on them: one stream keeps 1.43
    cores busy and a second only slows both (the bench's figures). The
    controller starts at 1 and never tries 2: the host has no room for
    half a stream more. */
static void
test_host_two_cores_stays_at_one (void **state)
{
    (void) state;
    cc_t cc;
    s_start_host (&cc, 4, (host_model_t) { .cores = 2, .per_chunk = 1.43 });
    assert_int_equal (cc_limit (&cc), 1);
    assert_false (cc_may_grow (&cc));       /* two cores: one stream until shown otherwise */
    sim_t r = s_simulate (&cc, c_peak1, 0.1, 120, 60, 4);
    printf ("host 2 cores: mean limit %.2f, max seen %d, changes %zu\n", r.mean_limit,
            r.max_seen, r.changes);
    assert_int_equal (r.max_seen, 1);
    assert_int_equal (r.final_limit, 1);
    assert_true (r.reached > 0.99);
    char *text = cc_history_text (&cc, 0);
    assert_non_null (strstr (text, "the host's CPU had no room for another"));
    free (text);
    assert_false (cc_may_grow (&cc));
}

/*  The same host when the work waits on a link: each stream keeps 0.1
    core busy, throughput grows to 12 in flight. The CPU rule does not
    get in the way: it climbs as without it. */
static void
test_host_idle_link_climbs (void **state)
{
    (void) state;
    cc_t cc;
    s_start_host (&cc, 16, (host_model_t) { .cores = 2, .per_chunk = 0.1 });
    assert_false (cc_may_grow (&cc));       /* nothing measured yet */
    cc_t early = cc;
    s_simulate (&early, c_peak12, 0, 4, 1, 16);
    assert_true (cc_may_grow (&early) || cc_limit (&early) > 1);   /* room seen */
    sim_t r = s_simulate (&cc, c_peak12, 0, 180, 90, 16);
    printf ("host idle, link-bound: mean limit %.2f, reached %.3f\n", r.mean_limit, r.reached);
    assert_true (r.mean_limit >= 10);
    assert_true (r.reached > 0.9);
}

/*  Started above what the host can run (8 cores, each stream 3 cores, the
    throughput falling past 2): a first measurement without room steps
    down, not up, and it ends at 2 or 3. */
static void
test_host_busy_steps_down (void **state)
{
    (void) state;
    cc_t cc;
    s_start_host (&cc, 8, (host_model_t) { .cores = 8, .per_chunk = 3 });
    assert_int_equal (cc_limit (&cc), 4);
    sim_t r = s_simulate (&cc, c_peak3, 0, 120, 60, 8);
    printf ("host busy: final %d, max seen %d, history %s\n", r.final_limit, r.max_seen,
            cc.nhistory ? cc.history[0].why : "-");
    assert_int_equal (r.max_seen, 4);
    assert_true (r.final_limit == 2 || r.final_limit == 3);
    assert_string_equal (cc.history[0].why, "the host's CPU is busy: one fewer");
}

/*  The start for a host: one stream per two cores, at least one. */
static void
test_start_for_cores (void **state)
{
    (void) state;
    cc_t cc;
    s_start (&cc, 8);
    assert_true (cc_may_grow (&cc));        /* not host_bound: it may */
    cc_set_max (&cc, 1, 0);
    assert_true (cc_may_grow (&cc));        /* even at its budget: more workers may join */
    assert_int_equal (cc_start_for_cores (1, true), 1);
    assert_int_equal (cc_start_for_cores (2, true), 1);
    assert_int_equal (cc_start_for_cores (3, true), 1);
    assert_int_equal (cc_start_for_cores (4, true), 2);
    assert_int_equal (cc_start_for_cores (64, true), 32);
    assert_int_equal (cc_start_for_cores (1, false), 1);     /* a file source */
    assert_int_equal (cc_start_for_cores (2, false), 2);
    assert_int_equal (cc_start_for_cores (64, false), 64);
}

static void
test_peak_at_one (void **state)
{
    (void) state;
    cc_t cc;
    s_start (&cc, 8);
    sim_t r = s_simulate (&cc, c_peak1, 0, 180, 90, 8);
    printf ("peak 1: mean limit %.2f, reached %.3f, changes %zu\n", r.mean_limit, r.reached, r.changes);
    assert_true (r.mean_limit < 1.5);
    assert_true (r.reached > 0.95);
}

static void
test_peak_at_three (void **state)
{
    (void) state;
    cc_t cc;
    s_start (&cc, 8);
    sim_t r = s_simulate (&cc, c_peak3, 0, 180, 90, 8);
    printf ("peak 3: mean limit %.2f, final %d, reached %.3f\n", r.mean_limit, r.final_limit, r.reached);
    assert_int_equal (r.final_limit, 3);
    assert_true (r.mean_limit > 2.5 && r.mean_limit < 3.5);
    assert_true (r.reached > 0.95);
}

static void
test_peak_at_twelve (void **state)
{
    (void) state;
    cc_t cc;
    s_start (&cc, 16);
    sim_t r = s_simulate (&cc, c_peak12, 0, 240, 90, 16);
    printf ("peak 12: mean limit %.2f, final %d, reached %.3f\n", r.mean_limit, r.final_limit, r.reached);
    assert_true (r.final_limit >= 10 && r.final_limit <= 14);
    assert_true (r.reached > 0.9);
}

static void
test_flat_holds_low (void **state)
{
    (void) state;
    cc_t cc;
    s_start (&cc, 16);
    sim_t r = s_simulate (&cc, c_flat, 0, 240, 60, 16);
    printf ("flat: mean limit %.2f, max seen %d\n", r.mean_limit, r.max_seen);
    /*  More chunks in flight buy nothing: from its start (8 of 16) it
        steps down while fewer are as fast, and stays low. */
    assert_true (r.mean_limit < 2.0);
}

static void
test_noisy (void **state)
{
    (void) state;
    double reached = 0, mean = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        cc_t cc;
        s_start (&cc, 8);
        s_rng = seed * 7919;
        sim_t r = s_simulate (&cc, c_peak3, 0.2, 240, 120, 8);
        printf ("noisy peak 3 (seed %llu): mean limit %.2f, reached %.3f\n",
                (unsigned long long) seed, r.mean_limit, r.reached);
        reached += r.reached / 5;
        mean += r.mean_limit / 5;
        assert_true (r.reached > 0.8);
    }
    assert_true (reached > 0.88);
    assert_true (mean > 1.8 && mean < 4.5);
}

static void
test_step_change (void **state)
{
    (void) state;
    cc_t cc;
    s_start (&cc, 16);
    sim_t r = s_simulate (&cc, c_step, 0, 100, 40, 16);
    printf ("step, before: mean limit %.2f, reached %.3f\n", r.mean_limit, r.reached);
    assert_true (r.reached > 0.85);
    assert_true (r.mean_limit >= 6);
    /*  The servers get busier: the best is now 2. */
    double work = 0;
    double tail_limit = 0, tail_work = 0;
    for (int i = 1000; i < 3000; i++) {
        double t = i / 10.0;
        int limit = cc_limit (&cc);
        work += c_step (limit, t) * 0.1;
        if (t >= 240) {
            tail_limit += limit * 0.1;
            tail_work += c_step (limit, t) * 0.1;
        }
        cc_update (&cc, (int64_t) (t * 1000), (int64_t) work, true, NULL);
    }
    printf ("step, after: mean limit %.2f, reached %.3f\n", tail_limit / 60, tail_work / (100 * 60));
    assert_true (tail_limit / 60 < 3.5);
    assert_true (tail_work / (100 * 60) > 0.85);
}

static void
test_budget (void **state)
{
    (void) state;
    cc_t cc;
    s_start (&cc, 16);
    s_simulate (&cc, c_peak12, 0, 120, 60, 16);
    assert_true (cc_limit (&cc) > 4);
    cc_set_max (&cc, 4, 120000);
    assert_int_equal (cc_limit (&cc), 4);
    assert_string_equal (cc.history[(cc.nhistory - 1) % CC_HISTORY_MAX].why,
                         "budget: fewer slots or connections");
    /*  It keeps working inside the new budget, never above it. */
    double work = 0;
    for (int i = 1200; i < 2400; i++) {
        work += c_peak12 (cc_limit (&cc), i / 10.0) * 0.1;
        cc_update (&cc, i * 100, (int64_t) work, true, NULL);
        assert_true (cc_limit (&cc) <= 4);
    }
    assert_int_equal (cc_limit (&cc), 4);
    cc_set_max (&cc, 0, 240000);          /* nonsense is clamped */
    assert_int_equal (cc_limit (&cc), 1);
}

static void
test_unsaturated_windows_ignored (void **state)
{
    (void) state;
    cc_t cc;
    s_start (&cc, 8);
    int64_t work = 0;
    for (int i = 0; i < 2000; i++) {
        work += 10;
        cc_update (&cc, i * 100, work, false, NULL);
    }
    assert_int_equal (cc_limit (&cc), 4);   /* the start (half of 8), unchanged */
    assert_int_equal (cc.nhistory, 0);
}

static void
test_start_clamped_and_history (void **state)
{
    (void) state;
    cc_config_t cfg = cc_config_default (3);
    cfg.start = 10;
    cc_t cc;
    cc_init (&cc, &cfg, 0);
    assert_int_equal (cc_limit (&cc), 3);
    s_rng = 1;
    cc_t cc2;
    s_start (&cc2, 8);
    s_simulate (&cc2, c_peak3, 0, 60, 30, 8);
    assert_true (cc2.nhistory >= 2);
    assert_int_equal (cc2.history[0].from, 4);     /* half of 8 */
    assert_int_equal (cc2.history[0].to, 8);       /* slow start doubles */
    assert_non_null (cc2.history[0].why);
    assert_true (cc2.history[0].at_ms >= 3500);    /* settle + two windows first */
}

static void
test_start_follows_the_budget (void **state)
{
    (void) state;
    cc_config_t cfg = cc_config_default (1);   /* no worker joined yet */
    cc_t cc;
    cc_init (&cc, &cfg, 0);
    assert_int_equal (cc_limit (&cc), 1);
    cc_set_max (&cc, 8, 100);                  /* two workers x four slots */
    assert_int_equal (cc_limit (&cc), 4);      /* half of them */
    cc_set_max (&cc, 3, 200);
    assert_int_equal (cc_limit (&cc), 2);      /* at least 2 */
    assert_int_equal (cc.nhistory, 0);         /* not a decision */
}

static void
test_history_text (void **state)
{
    (void) state;
    cc_t cc;
    s_start (&cc, 8);
    char *none = cc_history_text (&cc, 0);
    assert_string_equal (none, "no change: the run was too short to measure another limit, or none paid");
    free (none);
    s_simulate (&cc, c_peak3, 0, 30, 10, 8);
    char *text = cc_history_text (&cc, 0);
    char want[128];
    snprintf (want, sizeof want, "4->8 at %.1f s (probing: more chunks in flight)",
              (double) cc.history[0].at_ms / 1000.0);
    assert_memory_equal (text, want, strlen (want));
    free (text);
}

static void
test_connection_budget (void **state)
{
    (void) state;
    assert_int_equal (cc_budget (10, 0, 1), 9);
    assert_int_equal (cc_budget (2, 6, 1), 7);     /* our own connections count as room */
    assert_int_equal (cc_budget (0, 0, 1), 1);     /* never below one */
    assert_int_equal (cc_budget (-3, 2, 1), 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_peak_at_one),
        cmocka_unit_test (test_peak_at_three),
        cmocka_unit_test (test_peak_at_twelve),
        cmocka_unit_test (test_flat_holds_low),
        cmocka_unit_test (test_noisy),
        cmocka_unit_test (test_step_change),
        cmocka_unit_test (test_budget),
        cmocka_unit_test (test_unsaturated_windows_ignored),
        cmocka_unit_test (test_start_clamped_and_history),
        cmocka_unit_test (test_connection_budget),
        cmocka_unit_test (test_history_text),
        cmocka_unit_test (test_start_follows_the_budget),
        cmocka_unit_test (test_host_two_cores_stays_at_one),
        cmocka_unit_test (test_host_idle_link_climbs),
        cmocka_unit_test (test_host_busy_steps_down),
        cmocka_unit_test (test_start_for_cores),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
