/*  coordinator/concurrency.c: see concurrency.h. */
#include "concurrency.h"

#include "util.h"

#include <stdio.h>
#include <string.h>

cc_config_t
cc_config_default (int max)
{
    /*  Start at half the slots offered, at least 2: on two cores one
        stream or two cost about the same, and where more pay (a remote
        link) the climb starts a doubling or two higher. A first decision
        after 0.5 + 2 x 1.5 s, so that a run of ten seconds still climbs. */
    cc_config_t c = {
        .start = 0, .max = max < 1 ? 1 : max, .window_ms = 1500, .windows = 2,
        .settle_ms = 500, .gain = 0.08, .drop = 0.25, .reprobe = 6,
        .host_bound = false, .room = 0.5 };
    return c;
}

/*  The first limit for a budget of max: cfg.start, or (0) half of max,
    at least 2. */
static int
s_start (const cc_config_t *cfg, int max)
{
    int start = cfg->start > 0 ? cfg->start : (max + 1) / 2;
    if (cfg->start <= 0 && start < 2)
        start = 2;
    return start < max ? start : max;
}

static int
s_clamp (const cc_t *cc, int n)
{
    if (n > cc->cfg.max)
        n = cc->cfg.max;
    return n < 1 ? 1 : n;
}

/*  Moves the limit to `to` and starts measuring it afresh. */
static void
s_change (cc_t *cc, int64_t now_ms, int to, cc_phase_t phase, double rate_before,
          double rate_after, const char *why)
{
    to = s_clamp (cc, to);
    if (to != cc->limit) {
        if (cc->nhistory < CC_HISTORY_MAX)
            cc->history[cc->nhistory] = (cc_change_t) {
                .at_ms = now_ms, .from = cc->limit, .to = to, .rate_before = rate_before,
                .rate_after = rate_after, .why = why };
        cc->nhistory++;
    }
    cc->limit = to;
    if (to > cc->peak_limit)
        cc->peak_limit = to;
    cc->phase = phase;
    cc->holds = 0;
    cc->settle_until_ms = now_ms + cc->cfg.settle_ms;
    cc->win_open = false;
    cc->nsamples = 0;
}

/*  Starts a probe from the current limit to `to`. */
static void
s_probe (cc_t *cc, int64_t now_ms, int to, double rate_now, const char *why)
{
    cc->from = cc->limit;
    cc->rate_from = rate_now;
    s_change (cc, now_ms, to, to > cc->limit ? CC_PROBE_UP : CC_PROBE_DOWN, rate_now, 0, why);
}

/*  May a step up pay? Not when the host runs everything and has no idle
    CPU for `room` of one more chunk in flight. */
static bool
s_room (cc_t *cc)
{
    if (!cc->cfg.host_bound || cc->busy_cores < 0 || cc->limit < 1)
        return true;
    if (cc->idle_cores >= cc->cfg.room * cc->busy_cores / cc->limit)
        return true;
    cc->no_room++;
    return false;
}

static void
s_hold (cc_t *cc, double rate)
{
    cc->phase = CC_HOLD;
    cc->hold_rate = rate;
    cc->holds = 0;
}

/*  Acts on one finished measurement (work/s at the current limit). */
static void
s_decide (cc_t *cc, int64_t now_ms, double rate)
{
    int l = cc->limit;
    switch (cc->phase) {
    case CC_MEASURE: {
        bool room = s_room (cc);
        if (l < cc->cfg.max && room)
            s_probe (cc, now_ms, l * 2, rate, "probing: more chunks in flight");
        else if (l > 1 && !room)
            s_probe (cc, now_ms, l - 1, rate, "the host's CPU is busy: one fewer");
        else
            s_hold (cc, rate);
        break;
    }
    case CC_PROBE_UP:
        if (rate > cc->rate_from * (1 + cc->cfg.gain)) {
            /*  It paid: keep it, and try further. */
            if (l < cc->cfg.max && s_room (cc))
                s_probe (cc, now_ms, cc->slow_start ? l * 2 : l + 1, rate,
                         "throughput rose: one step more");
            else
                s_hold (cc, rate);
        }
        else if (cc->slow_start && cc->from + 1 < l) {
            /*  A doubling did not pay: the peak may lie between. */
            cc->slow_start = false;
            int from = cc->from;
            double before = cc->rate_from;
            s_change (cc, now_ms, from + 1, CC_PROBE_UP, rate, before,
                      "a doubling did not pay: one at a time");
            cc->from = from;
            cc->rate_from = before;
        }
        else {
            cc->slow_start = false;
            double before = cc->rate_from;
            s_change (cc, now_ms, cc->from, CC_HOLD, rate, before,
                      "throughput did not rise: back");
            s_hold (cc, before);
        }
        break;
    case CC_PROBE_DOWN:
        if (rate >= cc->rate_from * (1 - cc->cfg.gain / 2)) {
            /*  As good with fewer: keep it, and try fewer still. */
            if (l > 1)
                s_probe (cc, now_ms, l - 1, rate, "as fast with fewer: one fewer");
            else
                s_hold (cc, rate);
        }
        else {
            double before = cc->rate_from;
            s_change (cc, now_ms, cc->from, CC_HOLD, rate, before,
                      "throughput fell with fewer: back");
            s_hold (cc, before);
        }
        break;
    case CC_HOLD:
        cc->holds++;
        if (rate < cc->hold_rate * (1 - cc->cfg.drop) && l > 1) {
            s_probe (cc, now_ms, l - 1, rate, "throughput fell: one fewer");
            break;
        }
        cc->hold_rate = (cc->hold_rate + rate) / 2;
        if (cc->holds >= cc->cfg.reprobe) {
            /*  Look around now and then: the servers' load changes. Up
                first, down from the top, or from 1 only up. */
            bool up = cc->reprobes++ % 2 == 0;
            bool room = l < cc->cfg.max && s_room (cc);
            if (l == 1)
                up = true;
            else if (!room)
                up = false;
            if (up && !room) {
                cc->holds = 0;          /* at 1 with no room: nothing to try */
                break;
            }
            if (up && l < cc->cfg.max)
                s_probe (cc, now_ms, l + 1, cc->hold_rate, "re-probing: one more");
            else if (l > 1)
                s_probe (cc, now_ms, l - 1, cc->hold_rate, "re-probing: one fewer");
            else
                cc->holds = 0;
        }
        break;
    }
}

void
cc_init (cc_t *cc, const cc_config_t *cfg, int64_t now_ms)
{
    memset (cc, 0, sizeof *cc);
    cc->cfg = *cfg;
    if (cc->cfg.max < 1)
        cc->cfg.max = 1;
    if (cc->cfg.windows < 1)
        cc->cfg.windows = 1;
    if (cc->cfg.windows > (int) (sizeof cc->samples / sizeof cc->samples[0]))
        cc->cfg.windows = (int) (sizeof cc->samples / sizeof cc->samples[0]);
    if (cc->cfg.reprobe < 1)
        cc->cfg.reprobe = 1;
    cc->limit = s_clamp (cc, s_start (&cc->cfg, cc->cfg.max));
    cc->peak_limit = cc->limit;
    cc->busy_cores = cc->idle_cores = -1;
    cc->phase = CC_MEASURE;
    cc->slow_start = true;
    cc->settle_until_ms = now_ms + cc->cfg.settle_ms;
}

static double
s_median (double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
cc_start_for_cores (int cores, bool source_server)
{
    int n = source_server ? cores / 2 : cores;
    return n < 1 ? 1 : n;
}

/*  The host's CPU over the measurement that just ended, then a new one
    starts (at `host`). */
static void
s_host_sample (cc_t *cc, int64_t elapsed_ms, const cc_host_t *host)
{
    cc->busy_cores = cc->idle_cores = -1;
    if (host && cc->meas_host_known && elapsed_ms > 0) {
        cc->busy_cores = (double) (host->busy_ms - cc->meas_host.busy_ms) / (double) elapsed_ms;
        cc->idle_cores = (double) (host->idle_ms - cc->meas_host.idle_ms) / (double) elapsed_ms;
        if (cc->busy_cores < 0 || cc->idle_cores < 0)
            cc->busy_cores = cc->idle_cores = -1;
    }
}

static void
s_host_mark (cc_t *cc, const cc_host_t *host)
{
    cc->meas_host_known = cc->cfg.host_bound && host != NULL;
    if (cc->meas_host_known)
        cc->meas_host = *host;
}

int
cc_update (cc_t *cc, int64_t now_ms, int64_t work, bool saturated, const cc_host_t *host)
{
    if (now_ms < cc->settle_until_ms)
        return cc->limit;
    if (!saturated) {
        cc->win_open = false;       /* this window says nothing about the limit */
        return cc->limit;
    }
    if (!cc->win_open) {
        cc->win_open = true;
        cc->win_start_ms = now_ms;
        cc->win_start_work = work;
        if (cc->nsamples == 0) {
            cc->meas_start_ms = now_ms;
            s_host_mark (cc, host);
        }
        return cc->limit;
    }
    int64_t elapsed = now_ms - cc->win_start_ms;
    if (elapsed < cc->cfg.window_ms)
        return cc->limit;
    cc->samples[cc->nsamples++] = (double) (work - cc->win_start_work) * 1000.0 / (double) elapsed;
    cc->win_start_ms = now_ms;
    cc->win_start_work = work;
    if (cc->nsamples >= cc->cfg.windows) {
        double rate = s_median (cc->samples, cc->nsamples);
        cc->nsamples = 0;
        s_host_sample (cc, now_ms - cc->meas_start_ms, host);
        s_decide (cc, now_ms, rate);
        if (cc->win_open) {         /* the next measurement starts here */
            cc->meas_start_ms = now_ms;
            s_host_mark (cc, host);
        }
    }
    return cc->limit;
}

void
cc_set_max (cc_t *cc, int max, int64_t now_ms)
{
    cc->cfg.max = max < 1 ? 1 : max;
    if (cc->phase == CC_MEASURE && cc->nhistory == 0) {
        /*  Not measured yet (the budget was not known when it started,
            e.g. before any worker joined): start where it would have. */
        cc->limit = s_start (&cc->cfg, cc->cfg.max);
        if (cc->limit > cc->peak_limit)
            cc->peak_limit = cc->limit;
        return;
    }
    if (cc->limit > cc->cfg.max)
        s_change (cc, now_ms, cc->cfg.max, CC_HOLD, 0, 0, "budget: fewer slots or connections");
}

int
cc_limit (const cc_t *cc)
{
    return cc->limit;
}

bool
cc_may_grow (const cc_t *cc)
{
    if (!cc->cfg.host_bound || cc->cfg.start != 1 || cc->limit != 1)
        return true;            /* the budget (max) may still grow as workers join */
    if (cc->busy_cores < 0)
        return false;               /* not measured yet: the cores say one stream */
    return cc->idle_cores >= cc->cfg.room * cc->busy_cores;
}

int
cc_budget (int free, int mine, int margin)
{
    int n = free + mine - margin;
    return n < 1 ? 1 : n;
}

char *
cc_history_text (const cc_t *cc, int64_t started_ms)
{
    size_t n = cc->nhistory < CC_HISTORY_MAX ? cc->nhistory : CC_HISTORY_MAX;
    if (n == 0 && cc->no_room > 0)
        return util_strdupf ("no change: more chunks in flight were not tried, the host's CPU "
                             "had no room for another (%d measurement(s))", cc->no_room);
    if (n == 0)
        return xstrdup ("no change: the run was too short to measure another limit, or none paid");
    size_t cap = 64 + n * 160, len = 0;
    char *text = xmalloc (cap);
    text[0] = 0;
    for (size_t i = 0; i < n && len < cap; i++) {
        const cc_change_t *h = &cc->history[i];
        len += (size_t) snprintf (text + len, cap - len, "%s%d->%d at %.1f s (%s)", i ? "; " : "",
                                  h->from, h->to, (double) (h->at_ms - started_ms) / 1000.0, h->why);
    }
    if (cc->nhistory > n && len < cap)
        snprintf (text + len, cap - len, "; and %zu more", cc->nhistory - n);
    return text;
}
