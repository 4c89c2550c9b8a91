/*  coordinator/baseline.h: a job's baselines in the target's ferry schema
    (issue 14).

    The job's baseline: the median wall seconds and rows/s of its last
    ALERTS_BASELINE_RUNS (5) published runs (ferry.runs of the same
    job_hash, kind 'run', status 'published', not --sequential: a
    sequential run is the speedup's baseline, not a typical run). Runs
    that `tune` made (kind 'tune') never count. `tune` records the
    sequential run it measured over its sample in ferry.baselines.

    Owns nothing: every call borrows a connection. */
#ifndef FERRY_COORDINATOR_BASELINE_H
#define FERRY_COORDINATOR_BASELINE_H

#include "alerts.h"
#include "pg.h"

#include <stdint.h>

/*  The job's baseline into *b (b->runs = 0 when it has no published run
    yet), leaving out run exclude_run (may be NULL). Returns 0, or -1
    (error kept in the connection). */
int baseline_median (pg_conn_t *c, const char *job_hash, const char *exclude_run,
                     alerts_baseline_t *b);

/*  Records tune's sequential baseline of a job: the measurement's run id,
    the sample's rows, its wall seconds and rows/s. 0, or -1 (error kept). */
int baseline_record_tune (pg_conn_t *c, const char *job_hash, const char *run_id, int64_t rows,
                          double wall_seconds, double rows_per_second);

#endif
