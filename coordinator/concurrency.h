/*  coordinator/concurrency.h: how many chunks to keep in flight
    (pipeline.concurrency: auto), decided from the throughput measured.

    A hill climb on measured work per second (bytes loaded, from PROGRESS
    and DONE): starting low, it adds chunks in flight (doubling while each
    step pays, then one at a time) as long as a step raises throughput by
    more than `gain`; a step that does not pay is undone and the controller
    holds there. While holding it re-measures: a drop of more than `drop`
    makes it probe one step down (kept if throughput does not fall), and
    every `reprobe` windows it probes one step up again, so a change in the
    servers' load mid-run is followed. It starts at half the slots offered
    (at least 2), or where the caller says (cfg.start). A window only counts when the limit
    was reached the whole time (the tail of a run, with fewer chunks left
    than the limit, says nothing about the limit) and starts `settle_ms`
    after a change (a new chunk needs a moment to reach speed). The limit
    never leaves [1, max]; max is the slots offered and the servers'
    connection budget, and may change at any time (cc_set_max).

    When this host runs the servers and the workers (cfg.host_bound), its
    CPU time is an input too: a step up is tried only when the host has
    idle CPU for at least `room` of what one chunk in flight uses now
    (busy cores / limit), and a first measurement without that room
    probes one step down instead. On two cores shared by both servers the
    climb thus stays at one stream, where adding one costs throughput;
    where the work waits on a link, the CPU is idle and the climb goes on.

    Pure: no I/O, no clock; the caller passes the time. */
#ifndef FERRY_COORDINATOR_CONCURRENCY_H
#define FERRY_COORDINATOR_CONCURRENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int start;                 /* first limit (clamped to [1, max]); 0 (the
                                  default): half of max, at least 2 */
    int max;                   /* slots offered / connection budget */
    int64_t window_ms;         /* one measurement: at least this long (1500) */
    int windows;               /* windows per measurement; their median counts (2) */
    int64_t settle_ms;         /* ignored after a change (500) */
    double gain;               /* a step up must raise throughput this much (0.08) */
    double drop;               /* a fall this large while holding: probe down (0.25) */
    int reprobe;               /* while holding, probe up every this many measurements (6) */
    bool host_bound;           /* the host's CPU runs the servers and workers (false) */
    double room;               /* host_bound: idle CPU needed for a step up, in
                                  chunks in flight's worth (0.5) */
} cc_config_t;

/*  The host's CPU time so far, summed over its cores, in ms (from
    /proc/stat: busy is everything but idle and iowait). */
typedef struct {
    int64_t busy_ms;
    int64_t idle_ms;
} cc_host_t;

/*  The defaults above for a budget of max slots. */
cc_config_t cc_config_default (int max);

/*  One change of the limit, for the report. */
typedef struct {
    int64_t at_ms;             /* when (the caller's clock) */
    int from, to;
    double rate_before, rate_after;    /* work/s at `from` and at `to`, 0 = not measured */
    const char *why;           /* static text */
} cc_change_t;

#define CC_HISTORY_MAX 64

typedef enum { CC_MEASURE, CC_PROBE_UP, CC_PROBE_DOWN, CC_HOLD } cc_phase_t;

typedef struct {
    cc_config_t cfg;
    int limit;
    cc_phase_t phase;
    bool slow_start;           /* doubling until a step does not pay */
    int from;                  /* the limit a probe started from */
    double rate_from;          /* its rate */
    double hold_rate;          /* the rate measured at the held limit */
    int holds;                 /* measurements since the last probe */
    int reprobes;              /* re-probes so far: they alternate up and down */
    /* the window being measured */
    int64_t settle_until_ms;
    int64_t win_start_ms, win_start_work;
    int64_t meas_start_ms;     /* when the measurement's first window opened */
    bool win_open;
    double samples[8];
    int nsamples;
    /* the host's CPU over the measurement (host_bound) */
    cc_host_t meas_host;
    bool meas_host_known;
    double busy_cores, idle_cores;     /* the last measurement's, -1 = unknown */
    /* what happened */
    cc_change_t history[CC_HISTORY_MAX];
    size_t nhistory;           /* may exceed CC_HISTORY_MAX: the first ones are kept */
    int peak_limit;
    int no_room;               /* steps up not tried: the host's CPU had no room */
} cc_t;

/*  Starts at cfg->start (clamped to [1, cfg->max]) at now_ms. */
void cc_init (cc_t *cc, const cc_config_t *cfg, int64_t now_ms);

/*  Feeds the cumulative work done so far (never decreasing) and the
    chunks in flight now; `saturated` is false when fewer chunks were ready
    than the limit allowed (such a window is discarded); `host` is the
    host's CPU time so far (NULL: not known; only read when
    cfg.host_bound). Returns the limit to use from now on. Call it often
    (every dispatch turn is fine). */
int cc_update (cc_t *cc, int64_t now_ms, int64_t work, bool saturated, const cc_host_t *host);

/*  The first limit cfg.start gives a run whose servers and workers share
    a host of `cores` CPUs: one chunk in flight per two cores when the
    source is a server on that host (each keeps a source backend, a target
    backend and a worker busy), one per core for a file source (the target
    backend and the worker); at least 1. */
int cc_start_for_cores (int cores, bool source_server);

/*  A new budget (slots joined or left, a server near its connection
    limit). The limit drops at once when above it; before the first
    measurement the start is taken again for the new budget. */
void cc_set_max (cc_t *cc, int max, int64_t now_ms);

/*  The chunks in flight one server's connections allow: the connections
    it would still take (`free`), plus those this run's workers hold now
    (`mine`: a chunk reuses its slot's connection), less `margin` left for
    others; at least 1 (a chunk that cannot connect is retried like any
    connection failure). */
int cc_budget (int free, int mine, int margin);

/*  The changes so far, for the report: "2->4 at 4.0 s (probing: more
    chunks in flight); ..." with times from started_ms, or a sentence
    saying there was none. Caller frees. Can't fail. */
char *cc_history_text (const cc_t *cc, int64_t started_ms);

/*  The limit now. */
int cc_limit (const cc_t *cc);

/*  Whether the limit may still rise: false while a host_bound controller
    that started at one chunk in flight (a host of two or three CPUs)
    holds there without a measurement showing room for another (none yet,
    or the last one had none). The dispatcher then sizes groups for one
    stream (coordinator/assign.c). */
bool cc_may_grow (const cc_t *cc);

#endif
