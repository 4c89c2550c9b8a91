/*  coordinator/report.c: see report.h. */
#include "report.h"
#include "bottleneck.h"
#include "hist.h"
#include "log.h"
#include "utf8.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void
progress_init (progress_t *p, int64_t total_rows)
{
    memset (p, 0, sizeof *p);
    p->tty = log_status_live ();
    p->started = util_now_s ();
    p->last_print = p->started;
    p->total_rows = total_rows;
}

/*  On a terminal the line is the log's status line (common/log.h: log
    lines clear it and redraw it); otherwise a log line every 10 s. */
void
progress_print (const dispatch_progress_t *d, void *arg)
{
    progress_t *p = arg;
    p->rows_done = d->rows_done;
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
    snprintf (line, sizeof line,
              "%5.1f%%  %" PRId64 "/%" PRId64 " rows  %.0f rows/s  ETA %s  chunks %zu/%zu  workers %d",
              pct, d->rows_done, p->total_rows, rate, eta, d->chunks_done,
              d->chunks_total, d->workers_alive);
    if (p->tty) {
        log_status_set (line);
        p->last_len = 1;
    }
    else
        log_info ("progress: %s", line);
}

void
progress_finish (progress_t *p)
{
    if (p->tty && p->last_len > 0) {
        log_status_end ();
        p->last_len = 0;
    }
}

/*  Chunk busy-time histogram (seconds). */
static hist_t *
s_chunk_hist (const report_t *r)
{
    hist_t *h = hist_new ();
    size_t n = r->chunks ? chunktab_size (r->chunks) : 0;
    for (size_t i = 0; i < n; i++) {
        chunk_t *c = chunktab_get (r->chunks, (int64_t) i);
        if (c->state == CHUNK_STATE_DONE && c->done_by >= 0)
            hist_record (h, (double) c->busy_ms / 1000.0);
    }
    return h;
}

typedef struct { int64_t from, to; } span_t;

static int
s_span_cmp (const void *a, const void *b)
{
    const span_t *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

void
report_figures (const report_t *r, report_figures_t *f)
{
    memset (f, 0, sizeof *f);
    size_t n = r->chunks ? chunktab_size (r->chunks) : 0;
    span_t *spans = n ? calloc (n, sizeof *spans) : NULL;
    size_t nspans = 0;
    int64_t first_assign = -1;
    for (size_t i = 0; i < n; i++) {
        chunk_t *c = chunktab_get (r->chunks, (int64_t) i);
        f->attempts += c->attempt;
        if (c->attempt > 0 && (first_assign < 0 || c->assigned_ms < first_assign))
            first_assign = c->assigned_ms;
        if (c->state != CHUNK_STATE_DONE)
            continue;
        f->chunks_done++;
        f->bytes += c->bytes;
        f->read_seconds += (double) c->read_ms / 1000.0;
        f->process_seconds += (double) c->process_ms / 1000.0;
        f->write_seconds += (double) c->write_ms / 1000.0;
        f->commit_seconds += (double) c->commit_ms / 1000.0;
        if (c->done_by < 0)
            continue;
        f->busy_seconds += (double) c->busy_ms / 1000.0;
        if (spans)
            spans[nspans++] = (span_t) { c->assigned_ms, c->assigned_ms + c->busy_ms };
    }
    if (nspans)
        qsort (spans, nspans, sizeof *spans, s_span_cmp);
    int64_t running_ms = 0, end = INT64_MIN;
    for (size_t i = 0; i < nspans; i++) {
        int64_t from = spans[i].from > end ? spans[i].from : end;
        if (spans[i].to > from)
            running_ms += spans[i].to - from;
        if (spans[i].to > end)
            end = spans[i].to;
    }
    free (spans);
    f->running_seconds = (double) running_ms / 1000.0;
    f->concurrency = r->load_seconds > 0 ? f->busy_seconds / r->load_seconds : 0;
    for (size_t i = 0; i < r->nworkers; i++)
        f->slots_offered += r->workers[i]->slots;
    f->slots_used = r->peak_inflight > 0 ? r->peak_inflight : f->slots_offered;
    f->has_baseline = r->baseline_run && r->baseline_wall > 0 && r->wall_seconds > 0;
    if (f->has_baseline) {
        f->speedup = r->baseline_wall / r->wall_seconds;
        f->efficiency = f->slots_used > 0 ? f->speedup / f->slots_used : 0;
    }
    f->overhead_seconds = r->wall_seconds - f->running_seconds;
    if (f->overhead_seconds < 0)
        f->overhead_seconds = 0;
    if (first_assign >= 0 && r->load_started > 0) {
        f->dispatch_start_seconds = (double) first_assign / 1000.0 - r->load_started;
        if (f->dispatch_start_seconds < 0)
            f->dispatch_start_seconds = 0;
    }
    f->idle_seconds = r->load_seconds - f->running_seconds - f->dispatch_start_seconds;
    if (f->idle_seconds < 0)
        f->idle_seconds = 0;
    f->other_seconds = f->overhead_seconds - r->plan_seconds - f->dispatch_start_seconds
                     - f->idle_seconds - r->verify_seconds - r->merge_seconds;
    if (f->other_seconds < 0)
        f->other_seconds = 0;
    if (r->wall_seconds > 0) {
        f->chunks_per_second = (double) f->chunks_done / r->wall_seconds;
        f->mb_per_second = (double) f->bytes / 1e6 / r->wall_seconds;
        f->rows_per_second = (double) r->rows_loaded / r->wall_seconds;
    }
    int64_t read = r->rows_loaded + (r->rows_rejected > 0 ? r->rows_rejected : 0);
    f->success_rate = read > 0 ? (double) r->rows_loaded / (double) read : 1.0;
}

void
report_print (const report_t *r, FILE *out)
{
    report_figures_t f;
    report_figures (r, &f);
    hist_t *h = s_chunk_hist (r);
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
    fprintf (out, "  throughput      %.0f rows/s, %.1f MB/s, %.2f chunks/s\n", f.rows_per_second,
             f.mb_per_second, f.chunks_per_second);
    fprintf (out, "  publish         %s%s%s%s\n", r->publish, r->strategy ? " (" : "",
             r->strategy ? r->strategy : "", r->strategy ? ")" : "");
    if (!r->atomic)
        fprintf (out, "                  not atomic: rows became visible chunk by chunk\n");
    fprintf (out, "  chunk time      mean %.2f s, p50 %.2f, p95 %.2f, p99 %.2f\n",
             hist_mean (h), hist_percentile (h, 50), hist_percentile (h, 95),
             hist_percentile (h, 99));
    fprintf (out, "  concurrency     %.2f chunks in flight on average (at most %d of %d slots)%s%s\n",
             f.concurrency, f.slots_used, f.slots_offered, r->concurrency_mode ? "; " : "",
             r->concurrency_mode ? r->concurrency_mode : "");
    if (r->concurrency_log)
        fprintf (out, "                  %s\n", r->concurrency_log);
    if (r->sequential)
        fprintf (out, "  speedup         this --sequential run is the baseline for later runs of "
                 "this job\n");
    else if (f.has_baseline)
        fprintf (out, "  speedup         %.2fx vs sequential run %s (%.2f s); efficiency %.2f over "
                 "%d slot(s) used\n", f.speedup, r->baseline_run, r->baseline_wall, f.efficiency,
                 f.slots_used);
    else
        fprintf (out, "  speedup         none: no sequential baseline of this job on the target "
                 "(run the same job once with --sequential to measure one)\n");
    fprintf (out, "  overhead        %.2f s with no chunk running (plan %.2f, dispatch start "
             "%.2f, idle %.2f, verify %.2f, publish %.2f, other %.2f)\n", f.overhead_seconds,
             r->plan_seconds, f.dispatch_start_seconds, f.idle_seconds, r->verify_seconds,
             r->merge_seconds, f.other_seconds);
    fprintf (out, "  success rate    %.2f%% of rows read; %zu chunk(s) in %" PRId64
             " attempt(s)\n", 100.0 * f.success_rate, f.chunks_done, f.attempts);
    if (r->job_baseline && r->job_baseline->runs > 0)
        fprintf (out, "  job baseline    %.2f s, %.0f rows/s (median of the last %d published "
                 "run(s))\n", r->job_baseline->wall_seconds, r->job_baseline->rows_per_second,
                 r->job_baseline->runs);
    if (r->alerts && r->alerts->count > 0)
        for (size_t i = 0; i < r->alerts->count; i++)
            fprintf (out, "  %-15s %s%s\n", i ? "" : "alerts", r->alerts->items[i].text,
                     strcmp (r->alerts->items[i].when, "live") == 0 ? " (while running)" : "");
    else
        fprintf (out, "  alerts          none\n");
    if (r->nworkers) {
        fprintf (out, "  %-20s %7s %12s %9s %8s\n", "worker", "chunks", "rows", "busy s", "RSS MB");
        for (size_t i = 0; i < r->nworkers; i++) {
            worker_t *w = r->workers[i];
            fprintf (out, "  %-20s %7" PRId64 " %12" PRId64 " %9.2f %8.1f\n", w->name, w->chunks,
                     w->rows, (double) w->busy_ms / 1000.0, (double) w->peak_rss_kb / 1024.0);
        }
        for (size_t i = 0; i < r->nworkers; i++) {
            report_stages_t st;
            report_worker_stages (r, i, &st);
            if (st.bound == BOTTLENECK_NONE)
                continue;
            fprintf (out, "  bottleneck      %s: %s (stage busy time: read %.2f s, process %.2f s "
                     "over %d processor(s), write %.2f s, commit %.2f s)\n", r->workers[i]->name,
                     bottleneck_name ((bottleneck_t) st.bound), st.read_s, st.process_s,
                     r->processors > 0 ? r->processors : 1, st.write_s, st.commit_s);
        }
    }
    hist_destroy (&h);
}

void
report_worker_stages (const report_t *r, size_t index, report_stages_t *st)
{
    memset (st, 0, sizeof *st);
    size_t n = r->chunks ? chunktab_size (r->chunks) : 0;
    for (size_t i = 0; i < n; i++) {
        chunk_t *c = chunktab_get (r->chunks, (int64_t) i);
        if (c->state != CHUNK_STATE_DONE || c->done_by != (int) index)
            continue;
        st->read_s += (double) c->read_ms / 1000.0;
        st->process_s += (double) c->process_ms / 1000.0;
        st->write_s += (double) c->write_ms / 1000.0;
        st->commit_s += (double) c->commit_ms / 1000.0;
    }
    st->bound = bottleneck_stage (st->read_s, st->process_s, r->processors,
                                  st->write_s + st->commit_s);
}

/*  Appends a JSON string literal, valid UTF-8 (invalid bytes become
    U+FFFD, common/utf8.h). */
static void
s_json_str (FILE *f, const char *raw)
{
    if (!raw) {
        fputs ("null", f);
        return;
    }
    char *s = utf8_sanitize (raw);
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
    free (s);
}

char *
report_json (const report_t *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    FERRY_ASSERT (f);
    report_figures_t fg;
    report_figures (r, &fg);
    hist_t *h = s_chunk_hist (r);
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
    fprintf (f, ", \"rows_per_second\": %.1f, \"mb_per_second\": %.3f, \"chunks_per_second\": %.3f",
             fg.rows_per_second, fg.mb_per_second, fg.chunks_per_second);
    fprintf (f, ", \"bytes\": %" PRId64 ", \"sequential\": %s", fg.bytes,
             r->sequential ? "true" : "false");
    fprintf (f, ", \"concurrency\": %.3f, \"slots_total\": %d, \"slots_used\": %d",
             fg.concurrency, fg.slots_offered, fg.slots_used);
    fputs (", \"concurrency_mode\": ", f);
    s_json_str (f, r->concurrency_mode);
    fputs (", \"concurrency_changes\": ", f);
    s_json_str (f, r->concurrency_log);
    if (fg.has_baseline) {
        fputs (", \"baseline\": {\"run_id\": ", f);
        s_json_str (f, r->baseline_run);
        fprintf (f, ", \"wall_seconds\": %.3f}, \"speedup\": %.3f, \"efficiency\": %.3f",
                 r->baseline_wall, fg.speedup, fg.efficiency);
    }
    else
        fputs (", \"baseline\": null, \"speedup\": null, \"efficiency\": null", f);
    fprintf (f, ", \"overhead_seconds\": {\"total\": %.3f, \"plan\": %.3f, "
             "\"dispatch_start\": %.3f, \"idle\": %.3f, \"verify\": %.3f, \"publish\": %.3f, "
             "\"other\": %.3f}", fg.overhead_seconds, r->plan_seconds, fg.dispatch_start_seconds,
             fg.idle_seconds, r->verify_seconds, r->merge_seconds, fg.other_seconds);
    fprintf (f, ", \"success_rate\": %.6f, \"chunk_attempts\": %" PRId64, fg.success_rate,
             fg.attempts);
    fprintf (f, ", \"chunk_seconds\": {\"mean\": %.3f, \"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f}",
             hist_mean (h), hist_percentile (h, 50), hist_percentile (h, 95),
             hist_percentile (h, 99));
    fprintf (f, ", \"stage_seconds\": {\"read\": %.3f, \"process\": %.3f, \"write\": %.3f, "
             "\"commit\": %.3f}", fg.read_seconds, fg.process_seconds, fg.write_seconds,
             fg.commit_seconds);
    {
        alerts_t none = { .count = 0 };
        alerts_baseline_t nobase = { 0, 0, 0 };
        char *aj = alerts_json (r->alerts ? r->alerts : &none);
        char *bj = alerts_baseline_json (r->job_baseline ? r->job_baseline : &nobase);
        fprintf (f, ", \"alerts\": %s, \"job_baseline\": %s", aj, bj);
        free (aj);
        free (bj);
    }
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
