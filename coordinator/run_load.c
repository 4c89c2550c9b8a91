/*  coordinator/run_load.c: the load phase. run_bind binds the ROUTER
    (before anything is recorded, so a port in use fails clean).
    run_workers_start checks the connection budget and starts local
    workers (a new run's before its plan). run_load builds the JOB every
    worker gets, sets the
    concurrency (auto or pinned, within the connection budget) and runs
    the dispatcher until every chunk is committed, or says why not and how
    to resume. */
#include "budget.h"
#include "endpoint.h"
#include "exit_codes.h"
#include "hostcpu.h"
#include "linger.h"
#include "log.h"
#include "report.h"
#include "run.h"
#include "tick.h"
#include "util.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Binds the ROUTER to cluster.bind. Done before the run is recorded or
    anything is created on the target, so a port already in use (a second
    run on the default port) fails with nothing to clean up. 0, or -1
    with r->err. */
int
run_bind (run_t *r)
{
    r->router = zsock_new (ZMQ_ROUTER);
    if (!r->router) {
        ferr_set (&r->err, NULL, false, "cluster.bind: cannot create a ZeroMQ socket: %s",
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    zsock_set_router_mandatory (r->router, 1);
    /*  Anything may connect to this port: refuse absurd frames before
        libzmq allocates them (a ZMTP 1.0 header can claim any size). */
    zsock_set_maxmsgsize (r->router, PROTOCOL_MAX_FRAME);
    char msg[FERR_MESSAGE_SIZE];
    if (curve_run_setup (r, msg, sizeof msg) != 0)
        return -1;      /* logged */
    int port = zsock_bind (r->router, "%s", r->cfg->cluster.bind);
    if (port < 0) {
        ferr_set (&r->err, NULL, false, "cluster.bind: cannot bind %s: %s (another ferry run on this "
                  "port? give this job another cluster.bind); nothing was changed on the target",
                  r->cfg->cluster.bind, zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (port == 0) {
        const char *colon = strrchr (r->cfg->cluster.bind, ':');
        port = colon ? atoi (colon + 1) : 0;
    }
    r->port = port;
    return 0;
}

/*  The connection check, then the local workers (--local-workers). A
    new run does this before its plan, so the workers start, HELLO and
    wait while the coordinator plans; a resume from run_load. Runs once. */
int
run_workers_start (run_t *r)
{
    if (r->workers_started)
        return 0;
    config_t *cfg = r->cfg;
    /*  Not even one chunk fits in the servers' free connections: refuse
        before any worker starts (coordinator/budget.c). */
    if (budget_check (ledger_conn (r->ledger), r->source ? source_conn (r->source) : NULL,
                      r->file ? NULL : cfg->source.conninfo, r->err.message,
                      sizeof r->err.message) != 0)
        return -1;
    r->workers_started = true;
    r->endpoint = endpoint_for_local_workers (cfg->cluster.bind, r->port);
    if (r->args->local_workers == 0)
        return 0;
    char *bin = spawner_find_worker ();
    if (!bin)
        return -1;
    int slots = r->args->slots ? (int) r->args->slots : cfg->pipeline.writers;
    if (r->args->sequential)
        slots = 1;
    r->spawn = spawner_new (bin, r->endpoint, (int) r->args->local_workers, slots, r->run_id);
    free (bin);
    /*  Local workers get the conninfos through their environment (never
        argv, never the wire), whatever the bind address. */
    spawner_set_dsns (r->spawn, r->file ? NULL : cfg->source.conninfo, cfg->target.conninfo);
    spawner_set_secret (r->spawn, r->secret);
    if (r->curve)
        spawner_set_curve (r->spawn, curve_local_key (r->curve), curve_coordinator_public (r->curve));
    return spawner_start (r->spawn);
}

void
run_workers_start_early (run_t *r)
{
    if (run_workers_start (r) == 0)
        return;
    /*  Kept for run_load, which fails with it once the run is recorded
        (a refusal, or a worker that cannot start, belongs in ferry.runs). */
    r->early_failed = true;
    ferr_copy (&r->early_err, &r->err);
    ferr_clear (&r->err);
}

/*  The JOB every worker gets, and the dispatcher. */
static int
s_start (run_t *r)
{
    config_t *cfg = r->cfg;
    /*  Loopback (the BIND address is judged: a wildcard accepts remote
        peers even though local workers reach it on 127.0.0.1), or CURVE
        (curve_run_setup). */
    bool local = r->send_conninfo;
    copyjob_to_protocol (r->job, cfg, r->direct ? r->final_q : r->staging,
                         r->source ? source_snapshot (r->source) : NULL, local, &r->pjob,
                         &r->file_columns);
    r->dispatch = dispatch_new (r->router, r->run_id, &r->pjob, r->chunks, r->ledger,
                                cfg->cluster.heartbeat_ms, cfg->cluster.liveness, r->stop);
    if (r->file)
        dispatch_set_max_errors (r->dispatch, cfg->source.max_errors);
    dispatch_set_fence_lost (r->dispatch, r->direct);
    dispatch_set_backups (r->dispatch, r->cfg->pipeline.backups && !r->args->sequential);
    if (r->curve)
        dispatch_set_handshake_auth (r->dispatch);
    else
        dispatch_set_secret (r->dispatch, r->secret);
    dispatch_set_stall_timeout (r->dispatch, (int64_t) (cfg->cluster.chunk_stall_timeout * 1000.0));
    if (!r->file && !r->args->sequential)
        dispatch_set_group_rows (r->dispatch, cfg->pipeline.group_rows,
                                 (int) r->args->local_workers
                                 * (r->args->slots ? (int) r->args->slots : cfg->pipeline.writers));
    if (r->args->local_workers == 0)
        log_info ("waiting for workers; start them with:  ferry-worker --coordinator %s "
                  "[--slots N] [--name NAME] %s%s", r->endpoint,
                  r->curve ? "--curve-key WORKER_secret --coordinator-key COORDINATOR_PUBLIC"
                           : "(with the cluster secret: FERRY_CLUSTER_SECRET or --secret-file)",
                  local ? "" : "  (with FERRY_SOURCE_DSN and FERRY_TARGET_DSN set: "
                               "conninfos are not sent over a non-loopback link)");
    return 0;
}

/*  Why the load stopped, and how to go on from there. */
static void
s_load_failed (run_t *r)
{
    const char *why = dispatch_error (r->dispatch);
    r->rejected = dispatch_rejected (r->dispatch);
    if (*r->stop) {
        r->status = "interrupted";
        r->exit_code = EXIT_CODE_INTERRUPTED;
        ferr_set (&r->err, NULL, false, "run %s interrupted; nothing was published. Resume "
                  "with: ferry-coordinator resume %s --job %s", r->run_id, r->run_id,
                  r->args->job);
    }
    else if (r->direct)
        ferr_set (&r->err, NULL, false, "run %s failed: %s. publish is direct: the rows of the "
                  "chunks committed so far are in %s (direct is not atomic; see "
                  "ferry.chunk_commits); once the cause is fixed: ferry-coordinator resume %s "
                  "--job %s", r->run_id, why, r->cfg->target.table, r->run_id, r->args->job);
    else
        ferr_set (&r->err, NULL, false, "run %s failed: %s; nothing was published (staging "
                  "kept for inspection; once the cause is fixed: ferry-coordinator resume %s "
                  "--job %s)", r->run_id, why, r->run_id, r->args->job);
}

/*  Every chunk is committed, but an attempt given up on (stalled, or a
    zombie's) may still hold its transaction open on the target until
    STOP, which now waits for the outcome: its locks would block the
    publish (staging's) until target.lock_timeout. It can never commit
    (the ledger fence), so its backends are ended now. */
static void
s_end_open_attempts (run_t *r)
{
    size_t n = 0;
    worker_t **ws = dispatch_workers (r->dispatch, &n);
    for (size_t i = 0; i < n; i++) {
        int ended = ledger_terminate_worker_if (r->ledger, r->run_id, ws[i]->name, true);
        if (ended > 0)
            log_info ("ended %d open transaction(s) of worker %s on the target: every chunk is "
                      "committed, so what they held can only be a given-up attempt", ended,
                      ws[i]->name);
    }
}

int
run_load (run_t *r)
{
    r->t_load = util_now_s ();
    observe_set_run (r->obs, r->run_id, r->print.hash, r->direct ? "direct" : "merge",
                     r->file ? "file" : r->job->ctid_split ? "ctid" : "key");
    if (chunktab_all_done (r->chunks))
        goto loaded;
    if (!r->secret && run_cluster_secret (r) != 0) {
        r->exit_code = EXIT_CODE_BAD_CONFIG;
        return -1;
    }
    if (r->early_failed) {
        ferr_copy (&r->err, &r->early_err);
        return -1;
    }
    if (run_workers_start (r) != 0 || s_start (r) != 0)
        return -1;
    if (r->claim)      /* publish: direct */
        r->guard = vacuum_guard_new (claim_conn (r->claim), r->final_q);
    /*  How many chunks in flight: measured (auto) or pinned, within the
        slots offered and the servers' connection budget. */
    int pinned = r->args->sequential ? 1 : r->cfg->pipeline.concurrency;
    r->cc_started_ms = util_now_ms ();
    if (pinned == 0) {
        cc_config_t ccc = cc_config_default (1);
        /*  Workers spawned here and both servers on this host: the host's
            CPU is what the streams share, so it starts from the cores and
            watches them (coordinator/concurrency.h). */
        ccc.host_bound = r->args->local_workers > 0
                         && endpoint_pg_is_local (r->cfg->target.conninfo)
                         && (r->cfg->source.kind == SOURCE_KIND_CSV
                             || endpoint_pg_is_local (r->cfg->source.conninfo));
        if (ccc.host_bound)
            ccc.start = cc_start_for_cores (hostcpu_cores (),
                                            r->cfg->source.kind != SOURCE_KIND_CSV);
        cc_init (&r->cc, &ccc, r->cc_started_ms);
        /*  One host: a second attempt would share the CPU the slow one
            needs; a backup pays where workers differ (hosts, links). */
        if (ccc.host_bound)
            dispatch_set_backups (r->dispatch, false);
        if (ccc.host_bound)
            log_info ("concurrency auto: servers and workers on this host (%d CPUs): starting "
                      "at %d chunk(s) in flight, more only while the CPUs have room",
                      hostcpu_cores (), ccc.start);
    }
    dispatch_set_concurrency (r->dispatch, pinned == 0 ? &r->cc : NULL, pinned);
    tick_t tick;
    int budget = tick_init (&tick, r->spawn, r->source, r->dispatch, r->ledger, r->run_id,
                            r->args->job);
    if (budget > 0)
        log_info ("concurrency %s, at most %d chunk(s) in flight by the servers' free "
                  "connections", pinned ? "pinned" : "auto", budget);
    tick.obs = r->obs;
    tick.alerts = r->alerts = alertrun_new (r->cfg, r->ledger, r->source, r->print.hash, r->run_id);
    dispatch_set_tick (r->dispatch, tick_run, &tick);
    progress_t progress;
    int64_t total = r->rows_source;
    if (total < 0) {            /* resumed or sequential: the plan's estimate */
        total = 0;
        for (size_t i = 0; i < chunktab_size (r->chunks); i++)
            total += chunktab_get (r->chunks, (int64_t) i)->est_rows;
    }
    progress_init (&progress, total);
    dispatch_set_progress (r->dispatch, progress_print, &progress);
    alertrun_watch (r->alerts, &progress);
    /*  Every chunk done: make the commits durable, and copy again what a
        target crash undid meanwhile (at most a few rounds: a target that
        keeps crashing fails the run at verify). */
    int drc = dispatch_run (r->dispatch);
    for (int round = 0; drc == 0 && round < 3 && run_durable (r) > 0; round++)
        drc = dispatch_run (r->dispatch);
    alertrun_watch (r->alerts, NULL);
    vacuum_guard_destroy (&r->guard);
    progress_finish (&progress);
    /*  tick and progress live on this stack: the dispatcher must not call
        them once run_load returns. */
    dispatch_set_tick (r->dispatch, NULL, NULL);
    dispatch_set_progress (r->dispatch, NULL, NULL);
    if (drc != 0)
        dispatch_stop_workers (r->dispatch, dispatch_error (r->dispatch),
                               *r->stop ? PROTOCOL_OUTCOME_CANCELLED : PROTOCOL_OUTCOME_FAILED,
                               2000);
    else {      /* STOP says the outcome: heartbeat the workers until it is known */
        s_end_open_attempts (r);
        r->linger = linger_start (r->router, r->dispatch, r->cfg->cluster.heartbeat_ms);
    }
    if (drc != 0) {
        s_load_failed (r);
        return -1;
    }
loaded:
    if (r->source)
        source_close (r->source);
    r->t_loaded = util_now_s ();
    return 0;
}
