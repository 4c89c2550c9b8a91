/*  coordinator/metrics.h: the run's metrics as a plain snapshot, and the
    pure functions the HTTP endpoint answers with (coordinator/metrics_http.c).

    The main loop fills a metrics_snap_t (coordinator/observe.c) and hands
    it to the endpoint's thread under a mutex; everything here is pure and
    unit-tested (tests/unit/test_metrics.c): metrics_render writes the
    Prometheus text exposition format (version 0.0.4), metrics_health and
    metrics_ready decide /healthz and /readyz. docs/OPERATIONS.md lists
    every metric. */
#ifndef FERRY_COORDINATOR_METRICS_H
#define FERRY_COORDINATOR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

/*  Chunk duration histogram bounds, in seconds. */
#define METRICS_CHUNK_BOUNDS 10
extern const double metrics_chunk_bounds_s[METRICS_CHUNK_BOUNDS];

/*  Failed chunk attempts by SQLSTATE class (the first two characters;
    "" when the worker gave none). */
#define METRICS_MAX_CLASSES 32
typedef struct {
    struct {
        char cls[3];
        int64_t retried;       /* the chunk went back to the queue */
        int64_t failed;        /* no try left, or permanent: the run fails */
    } e[METRICS_MAX_CLASSES];
    int n;
} metrics_fails_t;

/*  Counts one failed attempt. Classes beyond METRICS_MAX_CLASSES count
    under "XX". Can't fail. */
void metrics_fails_add (metrics_fails_t *f, const char *sqlstate, bool retried);

typedef struct {
    char *name;
    bool alive;
    int slots;
    int busy;                  /* chunks assigned now */
    int64_t peak_rss_kb;
    int64_t cpu_ms;
    int pipelines;
    int64_t raw_queued, processed_queued;
    int64_t chunks, rows;
} metrics_worker_t;

typedef struct {
    /* ferry_run_info */
    char run_id[64];
    char fingerprint[80];
    char publish[16];          /* merge | direct */
    char split[16];            /* key | ctid | file */
    /* the run's phase: planning, loading, verifying, publishing, published,
       failed, interrupted */
    char phase[16];
    bool planned;              /* chunks exist */
    bool looping;              /* the dispatch loop runs: /healthz watches its turns */
    double start_time;         /* unix seconds */
    int64_t rows_loaded, bytes_loaded, rows_rejected;
    int64_t chunks_planned, chunks_assigned, chunks_done, chunks_failed;
    metrics_fails_t fails;
    uint64_t chunk_hist[METRICS_CHUNK_BOUNDS + 1];
    double chunk_sum_s;
    uint64_t batch_hist[PROTOCOL_BATCH_BOUNDS + 1];   /* all workers */
    double batch_sum_s;
    int workers_live;
    int workers_joined;        /* ever */
    int slots_offered;
    int inflight;
    int concurrency_target;    /* the run's limit of chunks in flight now */
    double rows_per_second;
    double eta_seconds;        /* -1: unknown */
    double last_progress_time; /* unix seconds of the last rows committed or moving; 0: none */
    int raw_queue_max, processed_queue_max;
    metrics_worker_t *workers; /* owned */
    size_t nworkers;
} metrics_snap_t;

/*  Frees the workers and zeroes the snapshot. */
void metrics_snap_clear (metrics_snap_t *s);

/*  Moves *from into *to (clearing *to first); *from is left zeroed. */
void metrics_snap_move (metrics_snap_t *to, metrics_snap_t *from);

/*  The exposition text of s. Caller frees. Can't fail. */
char *metrics_render (const metrics_snap_t *s);

/*  /healthz: 200, or 503 when the dispatch loop runs and has not turned
    for stall_ms (last_turn_ms and now_ms on one monotonic clock). The
    body (one line) says which. */
int metrics_health (const metrics_snap_t *s, int64_t last_turn_ms, int64_t now_ms,
                    int64_t stall_ms, char *body, size_t size);

/*  /readyz: 200 once the run is planned and at least one worker joined,
    else 503; the body says why. */
int metrics_ready (const metrics_snap_t *s, char *body, size_t size);

#endif
