/*  coordinator/alertrun.h: a run's alerts (coordinator/alerts.h) as the
    run goes: the job's baseline read when the load starts
    (coordinator/baseline.h); every 2 s from the per-turn tick, the
    connections in use on both servers and its throughput over a window
    that opens once the run has moved 5% of its rows; at the end, execution time,
    throughput, error rate and the local workers' memory. Each alert is
    logged once as a WARN line when it fires, and goes into the report
    (its "alerts" list, stored in ferry.runs.report: history shows it).
    Uses the run's connections (borrowed): owns none. */
#ifndef FERRY_COORDINATOR_ALERTRUN_H
#define FERRY_COORDINATOR_ALERTRUN_H

#include "alerts.h"
#include "config.h"
#include "ledger.h"
#include "report.h"
#include "source.h"

typedef struct alertrun_t alertrun_t;

/*  Reads the job's baseline (a failure to read it is a warning: no
    baseline) and samples the servers' connections once. All borrowed;
    source may be NULL (file sources). Can't fail. */
alertrun_t *alertrun_new (const config_t *cfg, ledger_t *ledger, source_t *source,
                          const char *job_hash, const char *run_id);
void alertrun_destroy (alertrun_t **self_p);

/*  The progress the live throughput check reads (borrowed, updated by
    progress_print); the load starts now. */
void alertrun_watch (alertrun_t *self, const progress_t *progress);

/*  The live checks, at most every 2 s. Accepts NULL. */
void alertrun_tick (alertrun_t *self);

/*  The end checks against rep's figures; sets rep->alerts and
    rep->job_baseline (valid while self lives). Returns how many alerts
    the run has in all. Accepts NULL (returns 0). */
size_t alertrun_finish (alertrun_t *self, report_t *rep);

/*  alerts.fail_run: true and at least one alert. */
bool alertrun_fails_run (const alertrun_t *self);

#endif
