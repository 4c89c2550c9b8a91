/*  coordinator/metrics.c: see metrics.h. */
#include "metrics.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_chunk_bounds_s[METRICS_CHUNK_BOUNDS] = {
    0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900
};

void
metrics_fails_add (metrics_fails_t *f, const char *sqlstate, bool retried)
{
    char cls[3] = { 0 };
    if (sqlstate && strlen (sqlstate) >= 2) {
        cls[0] = sqlstate[0];
        cls[1] = sqlstate[1];
    }
    int i = 0;
    while (i < f->n && strcmp (f->e[i].cls, cls) != 0)
        i++;
    if (i == f->n) {
        if (f->n == METRICS_MAX_CLASSES) {
            /*  Full: the rest count as XX (internal error class). */
            for (i = 0; i < f->n && strcmp (f->e[i].cls, "XX") != 0; i++)
                ;
            if (i == f->n)
                i = f->n - 1;
        }
        else {
            memset (&f->e[i], 0, sizeof f->e[i]);
            memcpy (f->e[i].cls, cls, sizeof cls);
            f->n++;
        }
    }
    if (retried)
        f->e[i].retried++;
    else
        f->e[i].failed++;
}

void
metrics_snap_clear (metrics_snap_t *s)
{
    for (size_t i = 0; i < s->nworkers; i++)
        free (s->workers[i].name);
    free (s->workers);
    memset (s, 0, sizeof *s);
}

void
metrics_snap_move (metrics_snap_t *to, metrics_snap_t *from)
{
    metrics_snap_clear (to);
    *to = *from;
    memset (from, 0, sizeof *from);
}

/*  A label value, escaped as the exposition format wants (\\, \", \n). */
static void
s_label (FILE *f, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\')
            fputs ("\\\\", f);
        else if (*p == '"')
            fputs ("\\\"", f);
        else if (*p == '\n')
            fputs ("\\n", f);
        else
            fputc (*p, f);
    }
}

static void
s_head (FILE *f, const char *name, const char *type, const char *help)
{
    fprintf (f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*  A float the way Prometheus parses it (NaN, +Inf, shortest %g). */
static void
s_num (FILE *f, double v)
{
    if (isnan (v))
        fputs ("NaN", f);
    else if (isinf (v))
        fputs (v > 0 ? "+Inf" : "-Inf", f);
    else {
        char b[40];
        snprintf (b, sizeof b, "%.15g", v);     /* shortest that reads back */
        if (strtod (b, NULL) != v)
            snprintf (b, sizeof b, "%.17g", v);
        fputs (b, f);
    }
}

static void
s_one (FILE *f, const char *name, const char *type, const char *help, double v)
{
    s_head (f, name, type, help);
    fprintf (f, "%s ", name);
    s_num (f, v);
    fputc ('\n', f);
}

static void
s_hist (FILE *f, const char *name, const char *help, const double *bounds, int nbounds,
        const uint64_t *counts, double sum)
{
    s_head (f, name, "histogram", help);
    uint64_t cum = 0;
    for (int i = 0; i < nbounds; i++) {
        cum += counts[i];
        fprintf (f, "%s_bucket{le=\"", name);
        s_num (f, bounds[i]);
        fprintf (f, "\"} %" PRIu64 "\n", cum);
    }
    cum += counts[nbounds];
    fprintf (f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum ", name, cum, name);
    s_num (f, sum);
    fprintf (f, "\n%s_count %" PRIu64 "\n", name, cum);
}

/*  One counter per SQLSTATE class of failed chunk attempts: the retried
    ones, or those with no retry. */
static void
s_per_class (FILE *f, const metrics_fails_t *fails, bool retried, const char *name,
             const char *help)
{
    s_head (f, name, "counter", help);
    for (int i = 0; i < fails->n; i++) {
        fprintf (f, "%s{sqlstate_class=\"", name);
        s_label (f, fails->e[i].cls);
        fprintf (f, "\"} %" PRId64 "\n", retried ? fails->e[i].retried : fails->e[i].failed);
    }
}

/*  One gauge or counter per worker. `field` picks the value. */
typedef double (s_worker_value_fn) (const metrics_worker_t *w);
static double s_w_rss (const metrics_worker_t *w) { return (double) w->peak_rss_kb * 1024.0; }
static double s_w_cpu (const metrics_worker_t *w) { return (double) w->cpu_ms / 1000.0; }
static double s_w_raw (const metrics_worker_t *w) { return (double) w->raw_queued; }
static double s_w_proc (const metrics_worker_t *w) { return (double) w->processed_queued; }
static double s_w_pipes (const metrics_worker_t *w) { return (double) w->pipelines; }
static double s_w_slots (const metrics_worker_t *w) { return (double) w->slots; }
static double s_w_rows (const metrics_worker_t *w) { return (double) w->rows; }

static void
s_per_worker (FILE *f, const metrics_snap_t *s, const char *name, const char *type,
              const char *help, s_worker_value_fn *value)
{
    s_head (f, name, type, help);
    for (size_t i = 0; i < s->nworkers; i++) {
        fprintf (f, "%s{worker=\"", name);
        s_label (f, s->workers[i].name);
        fputs ("\"} ", f);
        s_num (f, value (&s->workers[i]));
        fputc ('\n', f);
    }
}

/*  The per-worker series, in the order they are rendered. */
typedef struct {
    const char *name, *type, *help;
    s_worker_value_fn *value;
} s_worker_series_t;
static const s_worker_series_t s_worker_series[] = {
    { "ferry_worker_slots", "gauge", "Chunk slots of the worker.", s_w_slots },
    { "ferry_worker_rows_loaded_total", "counter",
      "Rows committed by the worker's chunks.", s_w_rows },
    { "ferry_worker_peak_rss_bytes", "gauge",
      "Peak resident memory of the worker process.", s_w_rss },
    { "ferry_worker_cpu_seconds_total", "counter",
      "CPU time of the worker process (user and system).", s_w_cpu },
    { "ferry_worker_pipelines", "gauge", "Chunk attempts streaming on the worker now.", s_w_pipes },
    { "ferry_worker_raw_queue_batches", "gauge",
      "Batches waiting for the processors (summed over its pipelines).", s_w_raw },
    { "ferry_worker_processed_queue_batches", "gauge",
      "Batches waiting for the writer (summed over its pipelines).", s_w_proc },
};

char *
metrics_render (const metrics_snap_t *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    FERRY_ASSERT (f);

    s_head (f, "ferry_run_info", "gauge",
            "The run: id, job fingerprint, publish mode and split (value 1).");
    fputs ("ferry_run_info{run_id=\"", f);
    s_label (f, s->run_id);
    fputs ("\",fingerprint=\"", f);
    s_label (f, s->fingerprint);
    fputs ("\",publish=\"", f);
    s_label (f, s->publish);
    fputs ("\",split=\"", f);
    s_label (f, s->split);
    fputs ("\"} 1\n", f);
    s_head (f, "ferry_run_phase", "gauge", "The phase the run is in (value 1).");
    fputs ("ferry_run_phase{phase=\"", f);
    s_label (f, s->phase);
    fputs ("\"} 1\n", f);
    s_one (f, "ferry_run_start_time_seconds", "gauge",
           "When the coordinator started the run (unix time).", s->start_time);

    s_one (f, "ferry_rows_loaded_total", "counter",
           "Rows committed into the target by chunks.", (double) s->rows_loaded);
    s_one (f, "ferry_bytes_loaded_total", "counter",
           "Bytes read from the source by committed chunks.", (double) s->bytes_loaded);
    s_one (f, "ferry_rows_rejected_total", "counter",
           "Records rejected into ferry.rejects (file sources).", (double) s->rows_rejected);

    s_head (f, "ferry_chunks", "gauge", "Chunks of the plan by state.");
    fprintf (f, "ferry_chunks{state=\"planned\"} %" PRId64 "\n", s->chunks_planned);
    fprintf (f, "ferry_chunks{state=\"assigned\"} %" PRId64 "\n", s->chunks_assigned);
    fprintf (f, "ferry_chunks{state=\"done\"} %" PRId64 "\n", s->chunks_done);
    fprintf (f, "ferry_chunks{state=\"failed\"} %" PRId64 "\n", s->chunks_failed);

    s_per_class (f, &s->fails, true, "ferry_chunk_attempts_retried_total",
                 "Failed chunk attempts that were requeued, by SQLSTATE class.");
    s_per_class (f, &s->fails, false, "ferry_chunk_attempts_failed_total",
                 "Failed chunk attempts with no retry (permanent, or out of tries), by SQLSTATE class.");

    s_hist (f, "ferry_chunk_duration_seconds",
            "Committed chunks, from ASSIGN to DONE.", metrics_chunk_bounds_s,
            METRICS_CHUNK_BOUNDS, s->chunk_hist, s->chunk_sum_s);
    double bounds[PROTOCOL_BATCH_BOUNDS];
    for (int i = 0; i < PROTOCOL_BATCH_BOUNDS; i++)
        bounds[i] = protocol_batch_bounds_ms[i] / 1000.0;
    s_hist (f, "ferry_batch_write_duration_seconds",
            "Batches written to the target (one COPY data write each), all workers.",
            bounds, PROTOCOL_BATCH_BOUNDS, s->batch_hist, s->batch_sum_s);

    s_one (f, "ferry_workers_live", "gauge", "Workers that proved the secret and are alive.",
           s->workers_live);
    s_one (f, "ferry_slots_offered", "gauge", "Chunk slots the live workers offer.",
           s->slots_offered);
    s_one (f, "ferry_chunks_in_flight", "gauge", "Chunks assigned and not finished.",
           s->inflight);
    s_one (f, "ferry_concurrency_target", "gauge",
           "The most chunks the run allows in flight now (pipeline.concurrency, budget, slots).",
           s->concurrency_target);
    s_one (f, "ferry_rows_per_second", "gauge", "Rows loaded per second over the last 10 s.",
           s->rows_per_second);
    s_one (f, "ferry_eta_seconds", "gauge", "Seconds left by the current rate (NaN: unknown).",
           s->eta_seconds < 0 ? NAN : s->eta_seconds);
    s_one (f, "ferry_last_progress_time_seconds", "gauge",
           "When rows last moved (unix time; 0: not yet).", s->last_progress_time);
    s_head (f, "ferry_queue_capacity_batches", "gauge",
            "Batches one chunk's raw and processed queues hold.");
    fprintf (f, "ferry_queue_capacity_batches{queue=\"raw\"} %d\n", s->raw_queue_max);
    fprintf (f, "ferry_queue_capacity_batches{queue=\"processed\"} %d\n", s->processed_queue_max);

    for (size_t i = 0; i < sizeof s_worker_series / sizeof s_worker_series[0]; i++) {
        const s_worker_series_t *w = &s_worker_series[i];
        s_per_worker (f, s, w->name, w->type, w->help, w->value);
    }
    fclose (f);
    return buf;
}

int
metrics_health (const metrics_snap_t *s, int64_t last_turn_ms, int64_t now_ms, int64_t stall_ms,
                char *body, size_t size)
{
    int64_t age = now_ms - last_turn_ms;
    if (s->looping && age > stall_ms) {
        snprintf (body, size, "unhealthy: the dispatch loop has not turned for %" PRId64
                  " ms (limit %" PRId64 " ms)\n", age, stall_ms);
        return 503;
    }
    snprintf (body, size, "ok: %s\n", s->phase[0] ? s->phase : "starting");
    return 200;
}

int
metrics_ready (const metrics_snap_t *s, char *body, size_t size)
{
    if (!s->planned) {
        snprintf (body, size, "not ready: %s (no plan yet)\n", s->phase[0] ? s->phase : "starting");
        return 503;
    }
    if (s->workers_joined == 0) {
        snprintf (body, size, "not ready: no worker joined yet\n");
        return 503;
    }
    snprintf (body, size, "ready: %s, %" PRId64 " of %" PRId64 " chunk(s) done, %d worker(s) live\n",
              s->phase, s->chunks_done,
              s->chunks_planned + s->chunks_assigned + s->chunks_done + s->chunks_failed,
              s->workers_live);
    return 200;
}
