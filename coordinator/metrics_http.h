/*  coordinator/metrics_http.h: the coordinator's HTTP endpoint
    (cluster.metrics, --metrics ADDR), owner of the libmicrohttpd daemon
    and its thread.

        GET /metrics   Prometheus text exposition format (metrics_render)
        GET /healthz   200 while the process lives and its dispatch loop
                       turns; 503 when the loop stopped turning
        GET /readyz    200 once planned and a worker joined; else 503

    The HTTP thread never touches the run's state: it reads one snapshot
    (metrics_snap_t) that the main loop hands over under a mutex
    (metrics_http_update), and the loop's last turn (an atomic). */
#ifndef FERRY_COORDINATOR_METRICS_HTTP_H
#define FERRY_COORDINATOR_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

typedef struct metrics_http_t metrics_http_t;

/*  /healthz answers 503 once the dispatch loop has not turned for this
    long (the loop turns at least every 200 ms when healthy). */
#define METRICS_HTTP_STALL_MS 15000

/*  Listens on addr ("HOST:PORT", "[V6]:PORT"; port 0 picks one) and serves
    from its own thread. Returns NULL with a reason in err (the address,
    and the system's error). */
metrics_http_t *metrics_http_new (const char *addr, char *err, size_t errlen);

/*  Stops the thread and closes the socket; accepts NULL and nulls. */
void metrics_http_destroy (metrics_http_t **self_p);

/*  The port it listens on. */
int metrics_http_port (metrics_http_t *self);

/*  Hands a new snapshot over (moved: *snap is left zeroed). */
void metrics_http_update (metrics_http_t *self, metrics_snap_t *snap);

/*  The dispatch loop turned now (util_now_ms). Lock-free. */
void metrics_http_touch (metrics_http_t *self, int64_t now_ms);

#endif
