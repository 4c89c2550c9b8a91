/*  coordinator/observe.c: see observe.h. */
#include "observe.h"
#include "bottleneck.h"
#include "dispatch_int.h"
#include "log.h"
#include "metrics_http.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_SNAP_MS      250      /* a fresh snapshot at most this often */
#define S_MONITOR_MS   1000     /* a diagnosis per worker this often */
#define S_STREAK       3        /* diagnoses in a row before a WARN */
#define S_WARN_MS      30000    /* at most one WARN per worker this often */
#define S_RATE_SAMPLES 40       /* rows/s over the last 10 s of 250 ms samples */

typedef struct {
    bottleneck_t last;
    int streak;
    int64_t warned_ms;
} s_watch_t;

struct observe_t {
    metrics_http_t *http;      /* NULL: no endpoint */
    double linger_s;
    char run_id[64], fingerprint[80], publish[16], split[16];
    char phase[16];
    bool planned;
    bool looping;
    double start_time;
    int64_t last_snap_ms, last_monitor_ms;
    s_watch_t *watch;          /* one per dispatcher worker entry */
    size_t nwatch;
    struct { int64_t ms, rows; } rate[S_RATE_SAMPLES];
    size_t nrate;
    int64_t moving;            /* rows committed or in flight, last turn */
    double last_progress_time;
    metrics_snap_t last;       /* the last snapshot built (kept for phase changes) */
};

observe_t *
observe_new (const char *addr, double linger_s, char *err, size_t errlen)
{
    observe_t *self = xcalloc (1, sizeof *self);
    self->linger_s = linger_s;
    self->start_time = util_now_s ();
    snprintf (self->phase, sizeof self->phase, "planning");
    if (addr && *addr) {
        self->http = metrics_http_new (addr, err, errlen);
        if (!self->http) {
            free (self);
            return NULL;
        }
        log_info ("metrics: serving /metrics, /healthz and /readyz on %s (port %d)", addr,
                  metrics_http_port (self->http));
        observe_phase (self, "planning");
    }
    return self;
}

void
observe_destroy (observe_t **self_p, volatile int *stop)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        observe_t *self = *self_p;
        if (self->http && self->linger_s > 0) {
            fflush (stdout);            /* the summary is out before the wait */
            log_info ("metrics: serving the final values for %.0f s more (cluster.metrics_linger)",
                      self->linger_s);
            int64_t until = util_now_ms () + (int64_t) (self->linger_s * 1000);
            while (util_now_ms () < until && !(stop && *stop))
                usleep (50 * 1000);
        }
        metrics_http_destroy (&self->http);
        metrics_snap_clear (&self->last);
        free (self->watch);
        free (self);
        *self_p = NULL;
    }
}

void
observe_set_run (observe_t *self, const char *run_id, const char *fingerprint,
                 const char *publish, const char *split)
{
    if (!self)
        return;
    snprintf (self->run_id, sizeof self->run_id, "%s", run_id ? run_id : "");
    snprintf (self->fingerprint, sizeof self->fingerprint, "%s", fingerprint ? fingerprint : "");
    snprintf (self->publish, sizeof self->publish, "%s", publish ? publish : "");
    snprintf (self->split, sizeof self->split, "%s", split ? split : "");
}

/*  A copy of the last snapshot with the current labels and phase, handed
    to the endpoint. */
static void
s_publish (observe_t *self)
{
    if (!self->http)
        return;
    metrics_snap_t s = self->last;
    s.workers = NULL;
    s.nworkers = 0;
    if (self->last.nworkers) {
        s.workers = xcalloc (self->last.nworkers, sizeof *s.workers);
        for (size_t i = 0; i < self->last.nworkers; i++) {
            s.workers[i] = self->last.workers[i];
            s.workers[i].name = xstrdup (self->last.workers[i].name);
        }
        s.nworkers = self->last.nworkers;
    }
    memcpy (s.run_id, self->run_id, sizeof s.run_id);
    memcpy (s.fingerprint, self->fingerprint, sizeof s.fingerprint);
    memcpy (s.publish, self->publish, sizeof s.publish);
    memcpy (s.split, self->split, sizeof s.split);
    memcpy (s.phase, self->phase, sizeof s.phase);
    s.planned = self->planned;
    s.looping = self->looping;
    s.start_time = self->start_time;
    metrics_http_update (self->http, &s);
    metrics_snap_clear (&s);
}

void
observe_phase (observe_t *self, const char *phase)
{
    if (!self)
        return;
    snprintf (self->phase, sizeof self->phase, "%s", phase);
    if (strcmp (phase, "loading") != 0)
        self->looping = false;
    s_publish (self);
}

void
observe_worker_message (worker_t *w, const protocol_msg_t *msg)
{
    if (msg->peak_rss_kb > w->peak_rss_kb)
        w->peak_rss_kb = msg->peak_rss_kb;
    if (msg->type != PROTO_MSG_PROGRESS && msg->type != PROTO_MSG_HEARTBEAT
    &&  msg->type != PROTO_MSG_DONE)
        return;
    if (msg->cpu_ms > w->cpu_ms)
        w->cpu_ms = msg->cpu_ms;
    w->pipelines = msg->pipelines;
    w->raw_queued = msg->raw_queued;
    w->processed_queued = msg->processed_queued;
    if (msg->batch_hist) {
        uint64_t counts[PROTOCOL_BATCH_BOUNDS + 1];
        if (protocol_batch_hist_parse (msg->batch_hist, counts) == 0) {
            memcpy (w->batch_hist, counts, sizeof counts);
            w->batch_us = msg->batch_us;
        }
    }
}

/*  The snapshot's workers: one per name (a worker that reconnected has an
    entry per link; the latest speaks for it). */
static void
s_workers (dispatch_t *d, metrics_snap_t *s)
{
    s->workers = xcalloc (d->nworkers ? d->nworkers : 1, sizeof *s->workers);
    for (size_t i = 0; i < d->nworkers; i++) {
        worker_t *w = d->workers[i];
        if (!w->proven && !w->chunks)
            continue;
        metrics_worker_t *m = NULL;
        for (size_t j = 0; j < s->nworkers; j++)
            if (strcmp (s->workers[j].name, w->name) == 0)
                m = &s->workers[j];
        int64_t chunks = 0, rows = 0;
        if (!m) {
            m = &s->workers[s->nworkers++];
            m->name = xstrdup (w->name);
        }
        else {
            chunks = m->chunks;
            rows = m->rows;
        }
        if (!m->alive || w->alive) {
            char *name = m->name;
            *m = (metrics_worker_t) { .name = name, .alive = w->alive, .slots = w->slots,
                .busy = w->busy, .peak_rss_kb = w->peak_rss_kb, .cpu_ms = w->cpu_ms,
                .pipelines = w->pipelines, .raw_queued = w->raw_queued,
                .processed_queued = w->processed_queued };
        }
        m->chunks = chunks + w->chunks;
        m->rows = rows + w->rows;
        if (w->alive) {
            s->workers_live++;
            s->slots_offered += w->slots;
        }
        s->workers_joined++;
        for (int b = 0; b <= PROTOCOL_BATCH_BOUNDS; b++)
            s->batch_hist[b] += w->batch_hist[b];
        s->batch_sum_s += (double) w->batch_us / 1e6;
    }
}

static void
s_build (observe_t *self, dispatch_t *d, int64_t now, metrics_snap_t *s)
{
    memset (s, 0, sizeof *s);
    int64_t moving = 0, total = 0;
    size_t n = chunktab_size (d->chunks);
    for (size_t i = 0; i < n; i++) {
        chunk_t *c = chunktab_get (d->chunks, (int64_t) i);
        total += c->est_rows;
        switch (c->state) {
        case CHUNK_STATE_PLANNED: s->chunks_planned++; break;
        case CHUNK_STATE_ASSIGNED:
            s->chunks_assigned++;
            moving += c->progress_rows;
            break;
        case CHUNK_STATE_FAILED: s->chunks_failed++; break;
        case CHUNK_STATE_DONE: {
            s->chunks_done++;
            int64_t rows = c->rows_from_ledger ? c->est_rows : c->rows;
            s->rows_loaded += rows;
            s->bytes_loaded += c->bytes;
            moving += rows;
            if (c->done_by >= 0) {
                double secs = (double) c->busy_ms / 1000.0;
                int b = 0;
                while (b < METRICS_CHUNK_BOUNDS && secs > metrics_chunk_bounds_s[b])
                    b++;
                s->chunk_hist[b]++;
                s->chunk_sum_s += secs;
            }
            break;
        }
        }
    }
    s->rows_rejected = d->rejected;
    s->fails = d->fails;
    s_workers (d, s);
    s->inflight = dispatch_inflight (d);
    int limit = pace_limit (d);
    s->concurrency_target = limit < s->slots_offered ? limit : s->slots_offered;
    s->raw_queue_max = d->job->raw_queue_max;
    s->processed_queue_max = d->job->processed_queue_max;

    /*  Rate over the last 10 s; progress time when rows moved. */
    if (moving != self->moving) {
        self->moving = moving;
        self->last_progress_time = util_now_s ();
    }
    if (self->nrate == S_RATE_SAMPLES) {
        memmove (self->rate, self->rate + 1, (S_RATE_SAMPLES - 1) * sizeof self->rate[0]);
        self->nrate--;
    }
    self->rate[self->nrate].ms = now;
    self->rate[self->nrate].rows = moving;
    self->nrate++;
    int64_t span = now - self->rate[0].ms;
    s->rows_per_second = span > 0 ? (double) (moving - self->rate[0].rows) * 1000.0 / (double) span
                                  : 0;
    if (s->rows_per_second < 0)
        s->rows_per_second = 0;
    s->eta_seconds = -1;
    if (s->chunks_planned + s->chunks_assigned == 0)
        s->eta_seconds = 0;
    else if (s->rows_per_second > 0)
        s->eta_seconds = (double) (total > moving ? total - moving : 0) / s->rows_per_second;
    s->last_progress_time = self->last_progress_time;
}

/*  The bottleneck monitor: one diagnosis per worker per second. */
static void
s_monitor (observe_t *self, dispatch_t *d, int64_t now)
{
    if (self->nwatch < d->nworkers) {
        self->watch = xrealloc (self->watch, d->nworkers * sizeof *self->watch);
        memset (self->watch + self->nwatch, 0, (d->nworkers - self->nwatch) * sizeof *self->watch);
        self->nwatch = d->nworkers;
    }
    for (size_t i = 0; i < d->nworkers; i++) {
        worker_t *w = d->workers[i];
        s_watch_t *wt = &self->watch[i];
        bottleneck_t b = w->alive
                       ? bottleneck_diagnose (w->raw_queued, w->processed_queued, w->pipelines,
                                              d->job->raw_queue_max, d->job->processed_queue_max)
                       : BOTTLENECK_NONE;
        wt->streak = b != BOTTLENECK_NONE && b == wt->last ? wt->streak + 1 : 1;
        wt->last = b;
        if (b == BOTTLENECK_NONE || wt->streak < S_STREAK)
            continue;
        if (wt->warned_ms && now - wt->warned_ms < S_WARN_MS)
            continue;
        wt->warned_ms = now;
        log_warn ("bottleneck on worker %s: %s (raw queue %" PRId64 "/%" PRId64 ", processed "
                  "queue %" PRId64 "/%" PRId64 " batches over %d chunk(s))", w->name,
                  bottleneck_advice (b), w->raw_queued,
                  (int64_t) w->pipelines * d->job->raw_queue_max, w->processed_queued,
                  (int64_t) w->pipelines * d->job->processed_queue_max, w->pipelines);
    }
}

void
observe_turn (observe_t *self, dispatch_t *d)
{
    if (!self)
        return;
    int64_t now = util_now_ms ();
    if (!self->looping || !self->planned) {
        self->looping = true;
        self->planned = true;
        snprintf (self->phase, sizeof self->phase, "loading");
    }
    if (self->http)
        metrics_http_touch (self->http, now);
    if (now - self->last_monitor_ms >= S_MONITOR_MS) {
        self->last_monitor_ms = now;
        s_monitor (self, d, now);
    }
    if (now - self->last_snap_ms < S_SNAP_MS && !chunktab_all_done (d->chunks))
        return;
    self->last_snap_ms = now;
    metrics_snap_t s;
    s_build (self, d, now, &s);
    metrics_snap_move (&self->last, &s);
    s_publish (self);
}
