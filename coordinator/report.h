/*  coordinator/report.h: progress while the run goes, and the summary at
    its end (a table on stdout, JSON with --report).

    Progress goes to stderr: on a terminal one line rewritten in place
    (percent, rows, rows/s, ETA, chunks done/total, live workers);
    otherwise one line every 10 s. Metrics are computed from the chunk
    table and worker stats: speedup = sum of chunk busy time / load wall
    time; efficiency = speedup / total slots. */
#ifndef FERRY_COORDINATOR_REPORT_H
#define FERRY_COORDINATOR_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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
    chunktab_t *chunks;
    worker_t **workers;
    size_t nworkers;
    int64_t coordinator_peak_rss_kb;
} report_t;

/*  Progress printer state. */
typedef struct {
    bool tty;
    double started;
    double last_print;
    int64_t total_rows;
    int last_len;
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
