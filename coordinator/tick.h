/*  coordinator/tick.h: what the coordinator does once per dispatch loop
    turn, beside the messages: reap (and restart) local workers; every 5 s
    keep the chunks in flight within both servers' free connections (the
    connection budget); every 2 s make sure the source still holds the
    run's exported snapshot, and fail the run (resumable) when it does not. */
#ifndef FERRY_COORDINATOR_TICK_H
#define FERRY_COORDINATOR_TICK_H

#include "alertrun.h"
#include "dispatch.h"
#include "ledger.h"
#include "observe.h"
#include "source.h"
#include "spawner.h"

#include <stdint.h>

typedef struct {
    spawner_t *spawn;          /* local workers, or NULL */
    source_t *source;          /* the snapshot-holding connection, or NULL */
    dispatch_t *dispatch;
    ledger_t *ledger;
    const char *run_id;
    const char *job_file;
    int64_t last_check;
    int64_t last_budget;
    int budget;                /* last connection budget set (0: none yet) */
    observe_t *obs;            /* metrics and bottleneck monitor, or NULL */
    alertrun_t *alerts;        /* the run's live alert checks, or NULL */
} tick_t;

/*  Fills t (all borrowed), measures the connection budget now and gives
    it to the dispatcher; returns it, or 0 when neither server could be
    asked. */
int tick_init (tick_t *t, spawner_t *spawn, source_t *source, dispatch_t *dispatch,
               ledger_t *ledger, const char *run_id, const char *job_file);

/*  A dispatch_tick_fn (arg: tick_t). */
void tick_run (void *arg);

#endif
