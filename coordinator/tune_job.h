/*  coordinator/tune_job.h: what `ferry-coordinator tune` runs (see
    coordinator/cmd_tune.c): the sample of the source, the scratch job file
    each configuration runs, the child coordinator that runs it, the
    figures it recorded, and --write's copy of the job file.

    The sample is a contiguous range of the key: the first N rows in key
    order (`SELECT * FROM (<query>) WHERE key < <the key of row N+1>`), so
    that every configuration reads the same rows. A configuration runs as
    a child process, `/proc/self/exe run <scratch job> --local-workers W
    --slots S` (its own process group, SIGINT when tune dies), with the
    conninfos in its environment (FERRY_SOURCE_DSN, FERRY_TARGET_DSN: the
    scratch job file holds no secret) and FERRY_RUN_KIND=tune, so that
    ferry.runs records it as a measurement. The scratch job loads with
    publish: direct into an empty UNLOGGED scratch table
    ferry.tune_<id>_<n> (the final table's columns and defaults) that tune
    creates before and drops after each run. */
#ifndef FERRY_COORDINATOR_TUNE_JOB_H
#define FERRY_COORDINATOR_TUNE_JOB_H

#include "config.h"
#include "pg.h"
#include "tune_rules.h"

#include <stdint.h>
#include <sys/types.h>

typedef struct {
    char *query;                /* the sample's query (owned) */
    char *bound;                /* the key of the first row left out, or NULL (owned) */
    int64_t rows;               /* rows in the sample */
} tune_sample_t;

/*  The first `wanted` rows of the job's query in key order into *s.
    Returns 0, or -1 with err. */
int tune_sample_take (pg_conn_t *src, const config_t *cfg, int64_t wanted, tune_sample_t *s,
                      char *err, size_t errlen);
void tune_sample_free (tune_sample_t *s);

/*  Writes the scratch job of configuration c (its chunk size, slots,
    concurrency: pinned at workers x slots, auto for TUNE_AUTO) loading
    the sample into `table` to `path` (mode 0600). 0, or -1 with err. */
int tune_job_write (const config_t *cfg, const tune_sample_t *s, const tune_config_t *c,
                    const char *table, const char *path, char *err, size_t errlen);

/*  Starts the child coordinator on job_path as run_id; its output goes to
    log_path. Returns its pid, or -1 (err set). */
pid_t tune_job_spawn (const config_t *cfg, const tune_config_t *c, const char *job_path,
                      const char *run_id, const char *log_path, char *err, size_t errlen);

/*  Reads what run_id recorded (its report in ferry.runs) into c (the
    figures of tune_config_t) and adds its wall. Returns 0, 1 when the run
    did not publish (err holds its status and message), -1 on a query error
    (err). */
int tune_job_figures (pg_conn_t *tgt, const char *run_id, tune_config_t *c, char *err,
                      size_t errlen);

/*  Copies the job file job_path to out_path with its top-level pipeline:
    section replaced by the recommendation (other pipeline settings kept
    from cfg), and checks that the copy loads. 0, or -1 with err. */
int tune_job_write_recommended (const char *job_path, const config_t *cfg,
                                const tune_recommendation_t *rec, const char *out_path,
                                char *err, size_t errlen);

#endif
