/*  coordinator/observe.h: watching the run for operators: the metrics
    endpoint's snapshot (coordinator/metrics_http.c) and the bottleneck
    monitor (coordinator/bottleneck.h).

    Once per dispatch loop turn (from the tick), observe_turn marks the
    loop alive for /healthz, and a few times a second builds a fresh
    metrics snapshot from the dispatcher's state and hands it to the HTTP
    thread. Once a second it diagnoses each worker from the queue depths
    it reports; a diagnosis that holds for 3 s in a row is logged as a
    WARN, at most every 30 s per worker. Without an endpoint the monitor
    still runs. */
#ifndef FERRY_COORDINATOR_OBSERVE_H
#define FERRY_COORDINATOR_OBSERVE_H

#include <stddef.h>

#include "dispatch.h"
#include "protocol.h"

typedef struct observe_t observe_t;

/*  Starts the endpoint on addr (NULL or "": none). After the run it keeps
    answering for linger_s seconds (observe_destroy), so that a last
    scrape sees the final values. Returns NULL with a reason in err when
    the address cannot be served. */
observe_t *observe_new (const char *addr, double linger_s, char *err, size_t errlen);

/*  Waits linger_s (when serving; a signal cuts it short), stops the
    endpoint, frees. Accepts NULL and nulls. */
void observe_destroy (observe_t **self_p, volatile int *stop);

/*  The run's labels for ferry_run_info (copied). */
void observe_set_run (observe_t *self, const char *run_id, const char *fingerprint,
                      const char *publish, const char *split);

/*  The run's phase: planning (at start), loading (the first turn sets it),
    verifying, publishing, then the run's status (published, failed,
    interrupted). Publishes at once. NULL self: nothing. */
void observe_phase (observe_t *self, const char *phase);

/*  Once per dispatch loop turn (a tick). */
void observe_turn (observe_t *self, dispatch_t *d);

/*  Takes a worker's figures (PROGRESS, HEARTBEAT, DONE) into w. */
void observe_worker_message (worker_t *w, const protocol_msg_t *msg);

#endif
