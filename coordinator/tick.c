/*  coordinator/tick.c: see tick.h. */
#include "tick.h"
#include "concurrency.h"
#include "log.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/*  The connection budget: the chunks in flight both servers' connections
    allow now (cc_budget), or INT_MAX when neither can be asked. Each chunk
    holds one connection to each server; with source and target on one
    server that over-counts by half, which only errs on the safe side. */
static int
s_connection_budget (ledger_t *ledger, source_t *source, const char *run_id)
{
    char *prefix = util_strdupf ("ferry/%s/", run_id);
    int budget = INT_MAX;
    pg_conn_t *conns[2] = { ledger_conn (ledger), source ? source_conn (source) : NULL };
    for (int i = 0; i < 2; i++) {
        int free = 0, mine = 0;
        if (!conns[i] || !pg_is_connected (conns[i])
        ||  pg_connection_room (conns[i], prefix, "%/coordinator-%", &free, &mine) != 0)
            continue;
        int b = cc_budget (free, mine, 1);
        if (b < budget)
            budget = b;
    }
    free (prefix);
    return budget;
}

void
tick_run (void *arg)
{
    tick_t *t = arg;
    if (t->spawn)
        spawner_reap (t->spawn, true);
    observe_turn (t->obs, t->dispatch);
    alertrun_tick (t->alerts);
    int64_t now = util_now_ms ();
    if (now - t->last_budget >= 5000) {
        /*  Another application may take connections while the run goes:
            keep under both servers' limits. */
        t->last_budget = now;
        int budget = s_connection_budget (t->ledger, t->source, t->run_id);
        if (budget != INT_MAX && budget != t->budget) {
            if (t->budget && budget < dispatch_inflight (t->dispatch))
                log_warn ("connection budget: the servers have room for %d chunk(s) in flight "
                          "now; fewer chunks until others release connections", budget);
            t->budget = budget;
            dispatch_set_budget (t->dispatch, budget);
        }
    }
    if (t->source && source_snapshot (t->source) && now - t->last_check >= 2000) {
        t->last_check = now;
        if (!source_snapshot_alive (t->source)) {
            char msg[512];
            snprintf (msg, sizeof msg, "source: the run's exported snapshot %s is gone (the source "
                      "server restarted or dropped the coordinator's connection); chunks can no "
                      "longer read one consistent cut. Nothing was published. Resume with: "
                      "ferry-coordinator resume %s --job %s (remaining chunks read a new snapshot)",
                      source_snapshot (t->source), t->run_id, t->job_file);
            dispatch_fail (t->dispatch, msg);
        }
    }
}

int
tick_init (tick_t *t, spawner_t *spawn, source_t *source, dispatch_t *dispatch,
           ledger_t *ledger, const char *run_id, const char *job_file)
{
    *t = (tick_t) { .spawn = spawn, .source = source, .dispatch = dispatch, .ledger = ledger,
                    .run_id = run_id, .job_file = job_file, .last_check = util_now_ms () };
    t->budget = s_connection_budget (ledger, source, run_id);
    t->last_budget = util_now_ms ();
    if (t->budget == INT_MAX)
        t->budget = 0;
    else
        dispatch_set_budget (dispatch, t->budget);
    return t->budget;
}
