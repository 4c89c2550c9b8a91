/*  coordinator/run.c: one coordinator run (run, plan, resume), phase by
    phase (see run.h): open, plan and record (or resume), load, verify,
    publish; then the run's record and report, whatever happened. */
#include "auth.h"
#include "exit_codes.h"
#include "linger.h"
#include "log.h"
#include "report.h"
#include "run.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The secret every worker must prove (common/wire/auth.h): the operator's
    (FERRY_CLUSTER_SECRET or cluster.secret_file), else, when all workers
    are ours, a random one for this run. External workers with no secret
    configured: refuse. 0 or -1 (r->err). */
int
run_cluster_secret (run_t *r)
{
    if (r->cfg->cluster.curve_secret_key)
        return 0;       /* CURVE authenticates workers at the handshake */
    int rc = auth_secret_load (r->cfg->cluster.secret_file, &r->secret, r->err.message,
                               sizeof r->err.message);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return 0;
    if (r->args->local_workers > 0) {
        char hex[AUTH_HEX_LEN + 1];
        if (auth_random_hex (hex) != 0) {
            ferr_set (&r->err, NULL, false, "cannot draw the run's cluster secret (getrandom): %s",
                      strerror (errno));
            return -1;
        }
        r->secret = xstrdup (hex);
        explicit_bzero (hex, sizeof hex);
        return 0;
    }
    ferr_set (&r->err, NULL, false, "no cluster secret: without --local-workers the coordinator "
              "waits for external workers, and each must prove a secret it shares with the "
              "coordinator. Set FERRY_CLUSTER_SECRET (e.g. the output of 'openssl rand -hex 32') "
              "in the environment of the coordinator and of every worker, or name a file "
              "holding it in the job file (cluster.secret_file) and start each worker with "
              "--secret-file FILE");
    return -1;
}

static void
s_run_cleanup (run_t *r)
{
    if (r->secret)
        explicit_bzero (r->secret, strlen (r->secret));
    free (r->secret);
    r->secret = NULL;
    vacuum_guard_destroy (&r->guard);
    alertrun_destroy (&r->alerts);
    claim_destroy (&r->claim);
    dispatch_destroy (&r->dispatch);
    if (r->spawn) {
        spawner_stop (r->spawn, 5000);
        spawner_destroy (&r->spawn);
    }
    observe_destroy (&r->obs, r->stop);
    curve_destroy (&r->curve);
    zsock_destroy (&r->router);
    free (r->endpoint);
    free (r->file_columns);
    chunktab_destroy (&r->chunks);
    plan_destroy (&r->plan);
    fileplan_destroy (&r->fplan);
    copyjob_destroy (&r->job);
    source_destroy (&r->source);
    ledger_destroy (&r->ledger);
    free (r->staging);
    free (r->final_q);
    free (r->run_id);
    config_destroy (&r->cfg);
}

/*  What the report says of the concurrency: the mode, and the
    controller's changes. Caller frees both. */
static void
s_concurrency_text (run_t *r, char **mode, char **log)
{
    *mode = *log = NULL;
    if (!r->dispatch)
        return;
    if (r->args->sequential)
        *mode = xstrdup ("--sequential: one chunk");
    else if (r->cfg->pipeline.concurrency > 0)
        *mode = util_strdupf ("pinned at %d (pipeline.concurrency)", r->cfg->pipeline.concurrency);
    else {
        *mode = util_strdupf ("auto: ended at %d, at most %d", cc_limit (&r->cc), r->cc.peak_limit);
        *log = cc_history_text (&r->cc, r->cc_started_ms);
    }
}

/*  True when some chunk was ever handed to a worker (it may have
    committed rows). */
static bool
s_any_handed_out (chunktab_t *chunks)
{
    for (size_t i = 0; chunks && i < chunktab_size (chunks); i++)
        if (chunktab_get (chunks, (int64_t) i)->attempt > 0)
            return true;
    return false;
}

/*  Records how the run ended in ferry.runs, prints the summary and writes
    --report. */
static void
s_report (run_t *r)
{
    double now = util_now_s ();
    report_t rep = {
        .run_id = r->run_id, .status = r->status, .publish = r->direct ? "direct" : "merge",
        .strategy = r->pub.strategy, .atomic = !r->direct,
        .message = ferr_is_set (&r->err) ? r->err.message : NULL,
        .rows_source = r->rows_source, .rows_loaded = r->loaded,
        .rows_rejected = r->file ? r->rejected : -1,
        .wall_seconds = now - r->t_start,
        .load_seconds = r->t_load > 0 ? (r->t_loaded > 0 ? r->t_loaded : now) - r->t_load : 0,
        .merge_seconds = r->pub.seconds, .chunks = r->chunks,
        .coordinator_peak_rss_kb = util_peak_rss_kb (),
        .plan_seconds = (r->t_load > 0 ? r->t_load : now) - r->t_start,
        .load_started = r->t_load,
        .verify_seconds = r->t_verified > 0 ? r->t_verified - r->t_loaded : 0,
        .analyze_seconds = r->analyze_seconds,
        .sequential = r->args->sequential, .processors = r->cfg->pipeline.processors };
    if (r->dispatch) {
        rep.workers = dispatch_workers (r->dispatch, &rep.nworkers);
        rep.peak_inflight = dispatch_peak_inflight (r->dispatch);
    }
    char *baseline = NULL, *cmode = NULL, *clog = NULL;
    s_concurrency_text (r, &cmode, &clog);
    rep.concurrency_mode = cmode;
    rep.concurrency_log = clog;
    if (r->exit_code == EXIT_CODE_OK && !r->args->sequential && r->run_recorded
    &&  ledger_baseline (r->ledger, r->print.hash, r->run_id, &baseline, &rep.baseline_wall) == 0)
        rep.baseline_run = baseline;
    if (alertrun_finish (r->alerts, &rep) > 0 && alertrun_fails_run (r->alerts)
    &&  r->exit_code == EXIT_CODE_OK) {
        log_error ("alerts.fail_run is true and the run raised %zu alert(s) (above): exit "
                   "status 1, although the rows were published", rep.alerts->count);
        r->exit_code = EXIT_CODE_FAILED;
    }
    char *json = report_json (&rep);
    if (r->run_recorded)
        ledger_end_run (r->ledger, r->run_id, r->status, rep.message, r->rows_source, r->loaded,
                        r->chunks ? (int64_t) chunktab_size (r->chunks) : 0, json);
    report_print (&rep, stdout);
    if (r->args->report) {
        FILE *f = fopen (r->args->report, "w");
        if (!f || fputs (json, f) < 0 || fclose (f) != 0) {
            log_error ("--report %s: %s", r->args->report, strerror (errno));
            if (r->exit_code == EXIT_CODE_OK)
                r->exit_code = EXIT_CODE_FAILED;
        }
    }
    free (json);
    free (baseline);
    free (cmode);
    free (clog);
}

/*  The phases up to a published run. 0, or -1 (r->err, exit_code). */
static int
s_phases (run_t *r)
{
    if (run_open (r) != 0)
        return -1;
    if (!r->plan_only && run_bind (r) != 0)
        return -1;
    if (!r->plan_only && !r->resume && r->args->run_id) {
        int rr = rerun_decide (r, &r->err);
        if (rr < 0)
            return -1;
        r->resume = rr == 1;    /* an existing run: go on with it */
    }
    if (r->resume) {
        if (resume_prepare (r, &r->policy, r->stop, &r->err, &r->exit_code) != 0)
            return -1;
        if (r->exit_code == EXIT_CODE_OK)
            return 0;           /* already published: nothing to do */
        r->run_recorded = true;
    }
    else {
        /*  The claim, then the workers: they start and say HELLO while the
            plan is made (the dispatcher answers once it runs). */
        if (!r->plan_only) {
            if (run_claim (r) != 0)
                return -1;
            run_workers_start_early (r);
        }
        if (run_plan (r) != 0)
            return -1;
        if (r->plan_only) {
            r->exit_code = EXIT_CODE_OK;
            return 0;
        }
        if (run_record (r) != 0)
            return -1;
    }
    if (!r->shared && !r->file && chunktab_size (r->chunks) > 1)
        log_warn ("source.snapshot is none and the plan has %zu chunks: each chunk reads its own "
                  "snapshot, so rows written while the load runs may be loaded twice (a row "
                  "whose key moved between chunks), missed, or mixed old and new. Use snapshot: "
                  "shared unless the source is not written during the load",
                  chunktab_size (r->chunks));
    /*  Without a shared snapshot nothing needs the planning transaction:
        don't hold it open (and hold back vacuum) for the whole load. */
    if (r->source && !r->shared)
        source_close (r->source);
    if (run_load (r) != 0 || run_verify (r) != 0 || run_publish (r) != 0)
        return -1;
    r->status = "published";
    r->exit_code = EXIT_CODE_OK;
    return 0;
}

int
run_main (args_t *args, volatile int *stop)
{
    run_t *r = xcalloc (1, sizeof *r);
    r->args = args;
    r->stop = stop;
    r->rows_source = -1;
    r->plan_only = strcmp (args->command, "plan") == 0;
    r->resume = args->resume_id != NULL;
    r->exit_code = EXIT_CODE_FAILED;
    r->status = "failed";
    r->t_start = util_now_s ();
    log_first_error_reset ();
    r->run_id = args->run_id ? xstrdup (args->run_id) : util_run_id_new ();
    log_set_ident (r->run_id);
    log_set_run (r->run_id);

    int rc = s_phases (r);
    bool already_published = rc == 0 && r->resume && !r->run_recorded;
    /*  The reason, logged once here and stored as is; when it was logged
        where it happened (a ledger or spawner failure), the first error
        logged travels to the run's record. */
    if (ferr_is_set (&r->err))
        log_error_ctx (-1, r->err.sqlstate[0] ? r->err.sqlstate : NULL, "%s", r->err.message);
    else if (r->exit_code != EXIT_CODE_OK)
        log_first_error (r->err.message, sizeof r->err.message);
    /*  The workers hear how the run ended (a failed or interrupted load
        told them already). */
    linger_stop (&r->linger);
    if (r->dispatch)
        dispatch_stop_workers (r->dispatch, r->exit_code == EXIT_CODE_OK ? "run complete"
                               : r->err.message, r->exit_code == EXIT_CODE_OK
                               ? PROTOCOL_OUTCOME_PUBLISHED : *r->stop
                               ? PROTOCOL_OUTCOME_CANCELLED : PROTOCOL_OUTCOME_FAILED, 2000);
    /*  A new run that failed before any chunk was handed out loaded
        nothing: drop what it created (staging, plan); its ferry.runs row
        stays, failed, with the reason. */
    if (r->run_recorded && !r->resume && !s_any_handed_out (r->chunks)
    &&  r->exit_code != EXIT_CODE_OK
    &&  ledger_drop_unloaded (r->ledger, r->run_id, r->staging) == 0 && r->staging)
        log_info ("dropped the staging table %s (nothing was loaded)", r->staging);
    /*  A published run resumed again: leave its record and report alone. */
    /*  Nor is there a record for a job refused before the target was
        opened (bad table name, no cluster secret). */
    bool refused = r->exit_code == EXIT_CODE_BAD_CONFIG && !r->ledger;
    observe_phase (r->obs, r->status);
    if (!r->plan_only && r->cfg && !already_published && !refused)
        s_report (r);
    int exit_code = r->exit_code;
    s_run_cleanup (r);
    free (r);
    return exit_code;
}
