/*  coordinator/alerts.h: a run's figures against the job's baseline and
    the servers' limits (issue 14). Pure: no I/O; coordinator/alertrun.c
    gathers the figures and logs what fires.

    The checks (thresholds from the job's `alerts:` section; a threshold
    of 0 turns its check off):
      execution_time  wall > wall_ratio x the baseline's wall
      throughput      rows/s < throughput_ratio x the baseline's rows/s;
                      also live: once the run has moved ALERTS_LIVE_SHARE of
                      its rows, over a window of at least ALERTS_LIVE_WINDOW
                      seconds from then (so that starting the workers, which
                      the rows of the first percent pay for, is not counted)
      error_rate      rejected / read (file sources), failed attempts /
                      attempts (chunks) > error_rate
      connections     client connections in use / max_connections >
                      connections, on the source or the target server
      memory          a worker's peak RSS / its memory limit > memory
    The two baseline checks need a baseline: the median of the job's last
    ALERTS_BASELINE_RUNS published runs (coordinator/baseline.h); with none
    they are skipped. Every alert carries its figure, the baseline and the
    threshold, in the figure's own unit (threshold = the value the figure
    crossed: 2 x a 10 s baseline is 20 s). Each check fires at most once
    per run and subject (a live throughput alert and the end one are two). */
#ifndef FERRY_COORDINATOR_ALERTS_H
#define FERRY_COORDINATOR_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERTS_MAX 16
#define ALERTS_BASELINE_RUNS 5
#define ALERTS_LIVE_SHARE 0.05
#define ALERTS_LIVE_WINDOW 5.0

typedef struct {
    double wall_ratio, throughput_ratio, error_rate, connections, memory;
} alerts_limits_t;

typedef struct {
    int runs;                   /* published runs in the median; 0 = no baseline */
    double wall_seconds;
    double rows_per_second;
} alerts_baseline_t;

typedef struct {
    const char *name;           /* static: execution_time, throughput, ... */
    const char *when;           /* static: "live" or "end" */
    char subject[64];           /* "target", "source", a worker's name, or "" */
    const char *unit;           /* static: "s", "rows/s", "ratio", "connections", "MB" */
    double figure, baseline, threshold;
    char text[320];             /* the sentence logged and shown */
} alert_t;

typedef struct {
    alert_t items[ALERTS_MAX];
    size_t count;
} alerts_t;

/*  A finished run's figures. */
typedef struct {
    double wall_seconds;
    double rows_per_second;
    int64_t rows_read;          /* file sources: records read; -1 otherwise */
    int64_t rows_rejected;
    int64_t attempts;           /* chunk attempts handed out */
    int64_t chunks_done;
} alerts_run_t;

/*  Appends the end-of-run checks (execution time, throughput, error rate)
    of run against baseline. Returns how many fired. Can't fail. */
int alerts_check_end (alerts_t *a, const alerts_limits_t *lim, const alerts_baseline_t *base,
                      const alerts_run_t *run);

/*  The live throughput check: fires (once per run) when the window began
    (the caller starts it once rows_done reached ALERTS_LIVE_SHARE of
    rows_total), is at least ALERTS_LIVE_WINDOW seconds long, and the rows
    moved in it / its seconds are under the threshold. Returns 1 when it
    fired now, else 0. */
int alerts_check_live (alerts_t *a, const alerts_limits_t *lim, const alerts_baseline_t *base,
                       int64_t window_rows, double window_seconds);

/*  True when rows_done is enough to start the live window. */
bool alerts_live_window_opens (int64_t rows_done, int64_t rows_total);

/*  Connections in use on `server` ("source", "target") against its
    max_connections. Fires once per server; a later, higher figure
    updates that alert. Returns 1 when it fired now, else 0. */
int alerts_check_connections (alerts_t *a, const alerts_limits_t *lim, const char *server,
                              int used, int max_connections);

/*  A worker's peak RSS against its memory limit (both in KiB; limit 0 =
    unknown: no check). Returns 1 when it fired, else 0. */
int alerts_check_memory (alerts_t *a, const alerts_limits_t *lim, const char *worker,
                         int64_t peak_rss_kb, int64_t limit_kb);

/*  The alerts as a JSON array (the report's "alerts"). Caller frees. */
char *alerts_json (const alerts_t *a);

/*  The baseline as JSON ({"runs": n, "wall_seconds": x, "rows_per_second":
    y}, or null without one). Caller frees. */
char *alerts_baseline_json (const alerts_baseline_t *b);

#endif
