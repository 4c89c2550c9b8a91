/*  coordinator/run.h: what one coordinator run holds (the command line's
    choices, every handle of the run, and where it stands), shared by the
    run's phases:

        run.c          run_main: the phases in order, the record, cleanup
        run_plan.c     run_open, run_plan, run_record: target, source, plan
        resume.c       resume_prepare: a stopped run's plan and ledger
        run_load.c     run_load: workers, dispatch, concurrency
        run_finish.c   run_durable, run_verify, run_publish: every row
                       accounted for

    Each phase returns 0, or -1 with r->err (common/base/error.h; and
    r->exit_code when it is not EXIT_CODE_FAILED) set and NOT logged: run_main
    logs it once and stores it as is in ferry.runs.message and the
    report. A failure logged where it happened (the ledger's, the
    spawner's) leaves r->err empty: run_main then takes the first error
    logged as the run's reason. */
#ifndef FERRY_COORDINATOR_RUN_H
#define FERRY_COORDINATOR_RUN_H

#include "alertrun.h"
#include "chunktab.h"
#include "claim.h"
#include "concurrency.h"
#include "config.h"
#include "curve.h"
#include "copyjob.h"
#include "dispatch.h"
#include "error.h"
#include "fileplan.h"
#include "jobprint.h"
#include "ledger.h"
#include "observe.h"
#include "plan.h"
#include "publish.h"
#include "protocol.h"
#include "source.h"
#include "spawner.h"
#include "vacuum_guard.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *command;
    const char *job;
    const char *resume_id;
    int64_t local_workers;
    int64_t slots;
    const char *report;
    const char *run_id;
    bool sequential;
    const char *metrics;       /* --metrics ADDR (NULL: cluster.metrics) */
    double metrics_linger;     /* --metrics-linger S, when metrics_linger_set */
    bool metrics_linger_set;
} args_t;

typedef struct {
    args_t *args;
    config_t *cfg;
    char *run_id;
    char *final_q;             /* quoted final table */
    char *staging;             /* quoted staging, merge only */
    ledger_t *ledger;
    source_t *source;
    copyjob_t *job;
    plan_t *plan;
    chunktab_t *chunks;
    zsock_t *router;
    int port;                  /* the port bound (tcp) */
    char *endpoint;
    spawner_t *spawn;
    bool workers_started;      /* run_workers_start done (budget checked, local workers spawned) */
    bool early_failed;         /* run_workers_start_early failed: run_load fails with early_err */
    ferr_t early_err;
    dispatch_t *dispatch;
    protocol_job_t pjob;
    int64_t rows_source;
    bool snapshot_exact;
    bool plan_estimated;       /* --sequential or ctid: row count is the planner's estimate */
    source_heap_t heap;        /* the table a ctid split reads */
    char split_why[1100];      /* why the plan splits the way it does */
    vacuum_guard_t *guard;     /* direct: keeps autovacuum off the final table while loading */
    claim_t *claim;            /* direct: no other direct run into the same table */
    jobprint_t print;          /* the job's fingerprint */
    cc_t cc;                   /* pipeline.concurrency: auto */
    int64_t cc_started_ms;     /* when the controller started (for the report) */
    bool file;                 /* a file source (csv) */
    char *file_columns;        /* JOB's csv_columns (owned) */
    fileplan_t *fplan;
    int64_t rejected;
    char *secret;              /* the cluster secret (never logged); NULL with CURVE */
    curve_t *curve;            /* cluster.curve: CURVE on the ROUTER, or NULL */
    bool send_conninfo;        /* conninfos may travel in JOB (endpoint_policy) */
    alertrun_t *alerts;        /* the run's alerts (coordinator/alertrun.h) */
    volatile int *stop;        /* set by SIGINT/SIGTERM */
    retry_policy_t policy;
    bool plan_only;            /* command plan */
    bool resume;               /* command resume */
    bool direct;               /* target.publish: direct */
    bool shared;               /* one exported snapshot for every chunk */
    bool run_recorded;         /* ferry.runs has our row */
    int exit_code;
    const char *status;        /* published, failed, interrupted */
    ferr_t err;                /* why it failed, for the log, ferry.runs and the report */
    bool flushed;              /* run_durable made every chunk commit durable */
    double t_start, t_load, t_loaded, t_verified;
    double analyze_seconds;    /* the final table's ANALYZE (target.analyze) */
    publish_result_t pub;
    int64_t loaded;            /* rows the ledger holds */
    observe_t *obs;            /* metrics endpoint and bottleneck monitor (not for plan) */
    struct linger_t *linger;   /* heartbeats the workers while verifying and publishing */
} run_t;

/*  The whole run (run, plan, resume); returns its exit status. */
int run_main (args_t *args, volatile int *stop);

/*  The cluster secret workers must prove (common/wire/auth.h). 0 or -1. */
int run_cluster_secret (run_t *r);

/*  Config read; opens the target (ledger) and the source (or plans the
    files), prepares the copy job, binds the ROUTER. */
int run_open (run_t *r);

/*  Binds the ROUTER to cluster.bind (before anything is recorded). */
int run_bind (run_t *r);

/*  A new run's plan; for the plan command, prints it. */
int run_plan (run_t *r);

/*  A new direct run's claim on its final table (claim.h); taken before
    the plan, so a second direct run is refused before it plans. */
int run_claim (run_t *r);

/*  A new run's record: ferry.runs, staging, ferry.chunks. */
int run_record (run_t *r);

/*  The connection budget check, then the local workers; once. 0 or -1
    (r->err, or logged). run_load calls it. */
int run_workers_start (run_t *r);

/*  run_workers_start for a new run, before its plan: the workers start
    and say HELLO while the coordinator plans. A failure is kept, and
    run_load reports it once the run is recorded. */
void run_workers_start_early (run_t *r);

/*  Hands every chunk not yet done to workers until all are committed. */
int run_load (run_t *r);

/*  Once every chunk is done: makes the chunk commits durable (workers
    commit with synchronous_commit off; one synchronous write here flushes
    the WAL up to itself) and plans again the chunks whose commit a crash
    of the target undid since their DONE (verify_lost_commits). Returns how
    many were planned again (the load goes on), 0, or -1 when the ledger
    could not be read (run_verify then says so). */
int run_durable (run_t *r);

/*  Every row accounted for (and a file's rejects within limits). */
int run_verify (run_t *r);

/*  Merge: staging into the final table in one transaction; then ANALYZE. */
int run_publish (run_t *r);

/*  resume (coordinator/resume.c): checks that the job file is the one the
    run started with, takes a direct run's claim, loads the run's plan and
    marks committed chunks done from the ledger; starts the load over where
    what committed can no longer be trusted (a ctid plan whose table
    changed, staging emptied by a target crash). Returns 0 (exit_code set
    to OK when the run was already published: nothing to do) or -1 with
    err set (not logged), or empty when the reason was logged. */
int resume_prepare (run_t *r, const retry_policy_t *policy, volatile int *stop,
                    ferr_t *err, int *exit_code);

/*  run --run-id X (coordinator/rerun.c): what to do when X may exist.
    Returns 0 to start X as a new run (it does not exist, or it stopped
    before its plan was recorded: its row was deleted), 1 to resume it
    with resume_prepare (it exists with a plan, or is already published:
    resume_prepare then says so and the run exits 0), -1 on error
    (err set when there is one to record, not logged). */
int rerun_decide (run_t *r, ferr_t *err);

/*  The control link's security (coordinator/curve.c): checks the bind
    against endpoint_policy (a non-loopback bind needs CURVE or
    cluster.insecure), sets r->send_conninfo and, with cluster.curve,
    makes r->router a CURVE server under ZAP (r->curve). Call after the
    ROUTER is created and before it binds. 0, or -1 with message
    (logged). */
int curve_run_setup (run_t *r, char *message, size_t size);

#endif
