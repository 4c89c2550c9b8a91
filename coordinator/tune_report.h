/*  coordinator/tune_report.h: what `ferry-coordinator tune` shows: the
    table of configurations (median wall, rows/s, MB/s, speedup,
    efficiency, chunks, retries, worker peak RSS; * the best, ~ within
    noise of it) and the recommendation, as text or as one JSON document.
    Pure formatting: no I/O beyond the FILE given. */
#ifndef FERRY_COORDINATOR_TUNE_REPORT_H
#define FERRY_COORDINATOR_TUNE_REPORT_H

#include "tune_rules.h"

#include <stdio.h>

typedef struct {
    const char *job_path, *job_hash, *table, *key;
    const char *bound;          /* the sample's end key, or NULL (the whole source) */
    int64_t sample_rows;
    int repeat;
    const tune_config_t *configs;   /* [0] sequential, then the matrix, [n - 1] auto */
    size_t n;
    const tune_recommendation_t *rec;
    const char *write_path;     /* --write, or NULL */
} tune_result_t;

/*  The table and the recommendation. */
void tune_report_print (const tune_result_t *r, FILE *out);

/*  The same as one JSON document (newline-terminated); caller frees. */
char *tune_report_json (const tune_result_t *r);

#endif
