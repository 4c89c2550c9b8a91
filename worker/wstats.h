/*  worker/wstats.h: the worker's own figures for the coordinator's metrics
    and bottleneck monitor (docs/PROTOCOL.md, "Worker figures").

    Process-wide and lock-free (atomics): the writer threads of every slot
    record their batch write latencies, the pipelines' queues move two
    gauges (common/base/queue.h, queue_set_gauge), and the session thread reads
    it all into PROGRESS and HEARTBEAT. Counts are cumulative since the
    worker started. */
#ifndef FERRY_WORKER_WSTATS_H
#define FERRY_WORKER_WSTATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "protocol.h"

/*  Microseconds on the monotonic clock. Can't fail. */
int64_t wstats_now_us (void);

/*  One batch written to the target, started at wstats_now_us () == t0_us. */
void wstats_batch_since (int64_t t0_us);

/*  The gauges a pipeline's raw and processed queues move (borrowed,
    process lifetime). */
_Atomic int64_t *wstats_raw_gauge (void);
_Atomic int64_t *wstats_processed_gauge (void);

/*  A pipeline's queues start (+1) or end (-1). */
void wstats_pipeline (int delta);

/*  Fills the worker's figures into a PROGRESS or HEARTBEAT: cpu_ms,
    pipelines, raw_queued, processed_queued, batch_hist (allocated: owned by
    msg, freed by protocol_msg_reset) and batch_us. */
void wstats_fill (protocol_msg_t *msg);

#endif
