/*  coordinator/report.h: progress while the run goes, and the summary at
    its end (a table on stdout, JSON with --report).

    Progress goes to stderr: on a terminal one line rewritten in place
    (percent, rows, rows/s, ETA, chunks done/total, live workers), the
    log's status line, which log lines clear and redraw (common/base/log.h);
    otherwise (or with JSON logs) an INFO log line every 10 s.

    The figures (report_figures, pure): concurrency = the chunks' busy
    time (ASSIGN to DONE) summed over the load's wall time, the average
    number of chunks in flight. That is not a speedup: speedup = the wall
    time of a sequential run of the same job (same fingerprint, run with
    --sequential) / this run's wall time, and efficiency = speedup / the
    most chunks in flight at once; both appear only when such a baseline
    exists. Overhead = wall time when no chunk was running, split into
    plan (start to load), dispatch start (load to first ASSIGN), idle
    (gaps while loading), verify, publish and other (ANALYZE, report). */
#ifndef FERRY_COORDINATOR_REPORT_H
#define FERRY_COORDINATOR_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alerts.h"
#include "chunktab.h"
#include "dispatch.h"

typedef struct {
    const char *run_id;
    const char *status;         /* published | failed | interrupted | planned */
    const char *publish;        /* merge | direct */
    const char *strategy;       /* statement used by publish, or NULL */
    bool atomic;                /* false for direct */
    const char *message;        /* failure reason or NULL */
    int64_t rows_source;        /* -1 when unknown */
    int64_t rows_loaded;
    int64_t rows_rejected;      /* file sources; -1 otherwise */
    double wall_seconds;
    double load_seconds;
    double merge_seconds;
    double plan_seconds;        /* start to the load phase */
    double load_started;        /* util_now_s () when the load began (0: none) */
    double verify_seconds;      /* the checks of 2.5 before publish */
    double analyze_seconds;     /* the final table's ANALYZE at the end (0: none) */
    chunktab_t *chunks;
    worker_t **workers;
    size_t nworkers;
    int64_t coordinator_peak_rss_kb;
    bool sequential;            /* --sequential: a baseline for later runs */
    int peak_inflight;          /* most chunks in flight at once (0: unknown) */
    const char *baseline_run;   /* the sequential run compared with, or NULL */
    double baseline_wall;       /* its wall seconds (when baseline_run) */
    const char *concurrency_mode; /* "auto", "fixed N" or NULL */
    const char *concurrency_log;  /* what the controller chose and when, or NULL */
    int processors;             /* pipeline.processors (per chunk) */
    const alerts_t *alerts;     /* the run's alerts (coordinator/alerts.h), or NULL */
    const alerts_baseline_t *job_baseline; /* the job's baseline they were judged by, or NULL */
} report_t;

/*  What bounded worker `index` of r (the dispatcher's index, as in
    chunk_t.done_by): the stages' busy seconds summed over the chunks it
    committed (process over all processors), and the stage that worked
    longest (bottleneck_stage). Pure. */
typedef struct {
    double read_s, process_s, write_s, commit_s;
    int bound;                  /* a bottleneck_t */
} report_stages_t;
void report_worker_stages (const report_t *r, size_t index, report_stages_t *st);

/*  What report_print and report_json show, computed from report_t. */
typedef struct {
    double busy_seconds;        /* sum of chunk busy time */
    double running_seconds;     /* union of the chunks' busy intervals */
    double concurrency;         /* busy / load wall */
    int slots_offered;
    int slots_used;             /* peak in flight (or slots offered when unknown) */
    bool has_baseline;
    double speedup, efficiency; /* only when has_baseline */
    double overhead_seconds;    /* wall - running */
    double dispatch_start_seconds, idle_seconds, other_seconds;
    double chunks_per_second, mb_per_second, rows_per_second;
    int64_t bytes;
    double success_rate;        /* rows loaded / rows read */
    int64_t attempts;           /* chunk attempts handed out */
    size_t chunks_done;
    double read_seconds, process_seconds, write_seconds, commit_seconds;
                                /* the workers' stage times, summed over done chunks */
} report_figures_t;

/*  Pure: the figures of r. Can't fail. */
void report_figures (const report_t *r, report_figures_t *f);

/*  Progress printer state. */
typedef struct {
    bool tty;                   /* drawn as the log's status line */
    double started;
    double last_print;
    int64_t total_rows;
    int64_t rows_done;          /* the last figure seen (coordinator/alertrun.c reads it) */
    int last_len;               /* > 0 once a line was drawn */
} progress_t;

void progress_init (progress_t *p, int64_t total_rows);

/*  A dispatch_progress_fn: prints when due. */
void progress_print (const dispatch_progress_t *d, void *progress);

/*  Ends the progress line (newline on a terminal). */
void progress_finish (progress_t *p);

/*  The summary table. */
void report_print (const report_t *r, FILE *out);

/*  The JSON report; caller frees. */
char *report_json (const report_t *r);

#endif
