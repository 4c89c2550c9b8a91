/*  coordinator/report.c: see report.h. */
#include "report.h"
#include "hist.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
progress_init (progress_t *p, int64_t total_rows)
{
    memset (p, 0, sizeof *p);
    p->tty = isatty (STDERR_FILENO);
    p->started = util_now_s ();
    p->last_print = p->started;
    p->total_rows = total_rows;
}

void
progress_print (const dispatch_progress_t *d, void *arg)
{
    progress_t *p = arg;
    double now = util_now_s ();
    double interval = p->tty ? 0.5 : 10.0;
    if (now - p->last_print < interval)
        return;
    p->last_print = now;
    double elapsed = now - p->started;
    double rate = elapsed > 0 ? (double) d->rows_done / elapsed : 0;
    double pct = p->total_rows > 0 ? 100.0 * (double) d->rows_done / (double) p->total_rows : 0;
    if (pct > 100)
        pct = 100;
    char eta[32] = "--";
    if (rate > 0 && p->total_rows > d->rows_done)
        snprintf (eta, sizeof eta, "%.0fs", (double) (p->total_rows - d->rows_done) / rate);
    char line[256];
    int n = snprintf (line, sizeof line,
                      "%5.1f%%  %" PRId64 "/%" PRId64 " rows  %.0f rows/s  ETA %s  chunks %zu/%zu  workers %d",
                      pct, d->rows_done, p->total_rows, rate, eta, d->chunks_done,
                      d->chunks_total, d->workers_alive);
    if (p->tty) {
        int pad = p->last_len > n ? p->last_len - n : 0;
        fprintf (stderr, "\r%s%*s", line, pad, "");
        p->last_len = n;
    }
    else
        fprintf (stderr, "progress: %s\n", line);
    fflush (stderr);
}

void
progress_finish (progress_t *p)
{
    if (p->tty && p->last_len > 0) {
        fprintf (stderr, "\n");
        p->last_len = 0;
    }
}

/*  Chunk busy-time histogram (seconds) and the speedup numerator. */
static hist_t *
s_chunk_hist (const report_t *r, double *busy_sum)
{
    hist_t *h = hist_new ();
    *busy_sum = 0;
    size_t n = r->chunks ? chunktab_size (r->chunks) : 0;
    for (size_t i = 0; i < n; i++) {
        chunk_t *c = chunktab_get (r->chunks, (int64_t) i);
        if (c->state != CHUNK_STATE_DONE || c->done_by < 0)
            continue;
        hist_record (h, (double) c->busy_ms / 1000.0);
        *busy_sum += (double) c->busy_ms / 1000.0;
    }
    return h;
}

static int
s_slots (const report_t *r)
{
    int slots = 0;
    for (size_t i = 0; i < r->nworkers; i++)
        slots += r->workers[i]->slots;
    return slots;
}

void
report_print (const report_t *r, FILE *out)
{
    double busy = 0;
    hist_t *h = s_chunk_hist (r, &busy);
    int slots = s_slots (r);
    double speedup = r->load_seconds > 0 ? busy / r->load_seconds : 0;
    size_t nchunks = r->chunks ? chunktab_size (r->chunks) : 0;
    fprintf (out, "\nferry run %s: %s\n", r->run_id, r->status);
    if (r->message)
        fprintf (out, "  reason          %s\n", r->message);
    if (r->rows_source >= 0)
        fprintf (out, "  rows (source)   %" PRId64 "\n", r->rows_source);
    fprintf (out, "  rows loaded     %" PRId64 "\n", r->rows_loaded);
    if (r->rows_rejected >= 0)
        fprintf (out, "  rows rejected   %" PRId64 " (in ferry.rejects)\n", r->rows_rejected);
    fprintf (out, "  chunks          %zu (%zu retried)\n", nchunks,
             r->chunks ? chunktab_retried (r->chunks) : 0);
    fprintf (out, "  wall            %.2f s (load %.2f s, publish %.2f s)\n",
             r->wall_seconds, r->load_seconds, r->merge_seconds);
    fprintf (out, "  throughput      %.0f rows/s\n",
             r->wall_seconds > 0 ? (double) r->rows_loaded / r->wall_seconds : 0);
    fprintf (out, "  publish         %s%s%s%s\n", r->publish, r->strategy ? " (" : "",
             r->strategy ? r->strategy : "", r->strategy ? ")" : "");
    if (!r->atomic)
        fprintf (out, "                  not atomic: rows became visible chunk by chunk\n");
    fprintf (out, "  chunk time      mean %.2f s, p50 %.2f, p95 %.2f, p99 %.2f\n",
             hist_mean (h), hist_percentile (h, 50), hist_percentile (h, 95),
             hist_percentile (h, 99));
    fprintf (out, "  speedup         %.2f (efficiency %.0f%% of %d slots)\n", speedup,
             slots > 0 ? 100.0 * speedup / slots : 0, slots);
    if (r->nworkers) {
        fprintf (out, "  %-20s %7s %12s %9s %8s\n", "worker", "chunks", "rows", "busy s", "RSS MB");
        for (size_t i = 0; i < r->nworkers; i++) {
            worker_t *w = r->workers[i];
            fprintf (out, "  %-20s %7" PRId64 " %12" PRId64 " %9.2f %8.1f\n", w->name, w->chunks,
                     w->rows, (double) w->busy_ms / 1000.0, (double) w->peak_rss_kb / 1024.0);
        }
    }
    hist_destroy (&h);
}

/*  Appends a JSON string literal. */
static void
s_json_str (FILE *f, const char *s)
{
    if (!s) {
        fputs ("null", f);
        return;
    }
    fputc ('"', f);
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf (f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf (f, "\\u%04x", *p);
        else
            fputc (*p, f);
    }
    fputc ('"', f);
}

char *
report_json (const report_t *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    FERRY_ASSERT (f);
    double busy = 0;
    hist_t *h = s_chunk_hist (r, &busy);
    int slots = s_slots (r);
    double speedup = r->load_seconds > 0 ? busy / r->load_seconds : 0;
    size_t nchunks = r->chunks ? chunktab_size (r->chunks) : 0;
    fputs ("{\"run_id\": ", f);
    s_json_str (f, r->run_id);
    fputs (", \"status\": ", f);
    s_json_str (f, r->status);
    fputs (", \"message\": ", f);
    s_json_str (f, r->message);
    fputs (", \"publish\": ", f);
    s_json_str (f, r->publish);
    fputs (", \"publish_strategy\": ", f);
    s_json_str (f, r->strategy);
    fprintf (f, ", \"publish_atomic\": %s", r->atomic ? "true" : "false");
    if (r->rows_source >= 0)
        fprintf (f, ", \"rows_source\": %" PRId64, r->rows_source);
    else
        fputs (", \"rows_source\": null", f);
    if (r->rows_rejected >= 0)
        fprintf (f, ", \"rows_read\": %" PRId64 ", \"rows_rejected\": %" PRId64,
                 r->rows_loaded + r->rows_rejected, r->rows_rejected);
    fprintf (f, ", \"rows_loaded\": %" PRId64 ", \"chunks_total\": %zu, \"chunks_retried\": %zu",
             r->rows_loaded, nchunks, r->chunks ? chunktab_retried (r->chunks) : 0);
    fprintf (f, ", \"wall_seconds\": %.3f, \"load_seconds\": %.3f, \"merge_seconds\": %.3f",
             r->wall_seconds, r->load_seconds, r->merge_seconds);
    fprintf (f, ", \"rows_per_second\": %.1f",
             r->wall_seconds > 0 ? (double) r->rows_loaded / r->wall_seconds : 0);
    fprintf (f, ", \"speedup\": %.3f, \"efficiency\": %.3f, \"slots_total\": %d", speedup,
             slots > 0 ? speedup / slots : 0, slots);
    fprintf (f, ", \"chunk_seconds\": {\"mean\": %.3f, \"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f}",
             hist_mean (h), hist_percentile (h, 50), hist_percentile (h, 95),
             hist_percentile (h, 99));
    fprintf (f, ", \"coordinator_peak_rss_mb\": %.1f", (double) r->coordinator_peak_rss_kb / 1024.0);
    fputs (", \"workers\": [", f);
    for (size_t i = 0; i < r->nworkers; i++) {
        worker_t *w = r->workers[i];
        fputs (i ? ", {\"name\": " : "{\"name\": ", f);
        s_json_str (f, w->name);
        fputs (", \"host\": ", f);
        s_json_str (f, w->host);
        fprintf (f, ", \"slots\": %d, \"chunks\": %" PRId64 ", \"rows\": %" PRId64
                 ", \"busy_seconds\": %.3f, \"peak_rss_mb\": %.1f}", w->slots, w->chunks, w->rows,
                 (double) w->busy_ms / 1000.0, (double) w->peak_rss_kb / 1024.0);
    }
    fputs ("]}\n", f);
    fclose (f);
    hist_destroy (&h);
    return buf;
}
