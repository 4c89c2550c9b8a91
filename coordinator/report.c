/*  coordinator/report.c: see report.h. */
#include "report.h"
#include "bottleneck.h"
#include "hist.h"
#include "log.h"
#include "utf8.h"
#include "util.h"

#include <json-c/json.h>

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

/*  On a terminal the line is the log's status line (common/base/log.h: log
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
            /*  The time a slot ran it: a group member ran as long as its
                group, though its busy time is its share. */
            spans[nspans++] = (span_t) { c->assigned_ms, c->done_ms > c->assigned_ms
                                         ? c->done_ms : c->assigned_ms + c->busy_ms };
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
                     - f->idle_seconds - r->verify_seconds - r->merge_seconds
                     - r->analyze_seconds;
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
    int64_t backups = 0, backups_won = 0;
    if (r->chunks)
        chunktab_backups (r->chunks, &backups, &backups_won);
    if (backups > 0)
        fprintf (out, "  backups         %" PRId64 " slow attempt(s) backed up at the tail, %" PRId64
                 " won by the backup\n", backups, backups_won);
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
             "%.2f, idle %.2f, verify %.2f, publish %.2f, analyze %.2f, other %.2f)\n",
             f.overhead_seconds, r->plan_seconds, f.dispatch_start_seconds, f.idle_seconds,
             r->verify_seconds, r->merge_seconds, r->analyze_seconds, f.other_seconds);
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

/*  The report is built with json-c. Strings are made valid UTF-8 first
    (invalid bytes become U+FFFD, common/base/utf8.h: json-c copies bytes as
    they are); numbers keep the precision the report always had. */
static void
s_put_str (json_object *o, const char *key, const char *raw)
{
    if (!raw) {
        json_object_object_add (o, key, NULL);
        return;
    }
    char *s = utf8_sanitize (raw);
    json_object_object_add (o, key, json_object_new_string (s));
    free (s);
}

static void
s_put_num (json_object *o, const char *key, double value, int decimals)
{
    char text[64];
    snprintf (text, sizeof text, "%.*f", decimals, value);
    json_object_object_add (o, key, json_object_new_double_s (value, text));
}

static void
s_put_int (json_object *o, const char *key, int64_t value)
{
    json_object_object_add (o, key, json_object_new_int64 (value));
}

/*  A JSON text another module made (alerts.c), as an object; null when
    it does not parse (it always should). */
static json_object *
s_parsed (char *text)
{
    json_object *o = text ? json_tokener_parse (text) : NULL;
    free (text);
    return o;
}

char *
report_json (const report_t *r)
{
    report_figures_t fg;
    report_figures (r, &fg);
    hist_t *h = s_chunk_hist (r);
    size_t nchunks = r->chunks ? chunktab_size (r->chunks) : 0;
    json_object *o = json_object_new_object ();
    s_put_str (o, "run_id", r->run_id);
    s_put_str (o, "status", r->status);
    s_put_str (o, "message", r->message);
    s_put_str (o, "publish", r->publish);
    s_put_str (o, "publish_strategy", r->strategy);
    json_object_object_add (o, "publish_atomic", json_object_new_boolean (r->atomic));
    if (r->rows_source >= 0)
        s_put_int (o, "rows_source", r->rows_source);
    else
        json_object_object_add (o, "rows_source", NULL);
    if (r->rows_rejected >= 0) {
        s_put_int (o, "rows_read", r->rows_loaded + r->rows_rejected);
        s_put_int (o, "rows_rejected", r->rows_rejected);
    }
    s_put_int (o, "rows_loaded", r->rows_loaded);
    s_put_int (o, "chunks_total", (int64_t) nchunks);
    s_put_int (o, "chunks_retried", r->chunks ? (int64_t) chunktab_retried (r->chunks) : 0);
    int64_t backups = 0, backups_won = 0;
    if (r->chunks)
        chunktab_backups (r->chunks, &backups, &backups_won);
    json_object *bk = json_object_new_object ();
    s_put_int (bk, "started", backups);
    s_put_int (bk, "won", backups_won);
    json_object_object_add (o, "backups", bk);
    s_put_num (o, "wall_seconds", r->wall_seconds, 3);
    s_put_num (o, "load_seconds", r->load_seconds, 3);
    s_put_num (o, "merge_seconds", r->merge_seconds, 3);
    s_put_num (o, "rows_per_second", fg.rows_per_second, 1);
    s_put_num (o, "mb_per_second", fg.mb_per_second, 3);
    s_put_num (o, "chunks_per_second", fg.chunks_per_second, 3);
    s_put_int (o, "bytes", fg.bytes);
    json_object_object_add (o, "sequential", json_object_new_boolean (r->sequential));
    s_put_num (o, "concurrency", fg.concurrency, 3);
    s_put_int (o, "slots_total", fg.slots_offered);
    s_put_int (o, "slots_used", fg.slots_used);
    s_put_str (o, "concurrency_mode", r->concurrency_mode);
    s_put_str (o, "concurrency_changes", r->concurrency_log);
    if (fg.has_baseline) {
        json_object *b = json_object_new_object ();
        s_put_str (b, "run_id", r->baseline_run);
        s_put_num (b, "wall_seconds", r->baseline_wall, 3);
        json_object_object_add (o, "baseline", b);
        s_put_num (o, "speedup", fg.speedup, 3);
        s_put_num (o, "efficiency", fg.efficiency, 3);
    }
    else {
        json_object_object_add (o, "baseline", NULL);
        json_object_object_add (o, "speedup", NULL);
        json_object_object_add (o, "efficiency", NULL);
    }
    json_object *ov = json_object_new_object ();
    s_put_num (ov, "total", fg.overhead_seconds, 3);
    s_put_num (ov, "plan", r->plan_seconds, 3);
    s_put_num (ov, "dispatch_start", fg.dispatch_start_seconds, 3);
    s_put_num (ov, "idle", fg.idle_seconds, 3);
    s_put_num (ov, "verify", r->verify_seconds, 3);
    s_put_num (ov, "publish", r->merge_seconds, 3);
    s_put_num (ov, "analyze", r->analyze_seconds, 3);
    s_put_num (ov, "other", fg.other_seconds, 3);
    json_object_object_add (o, "overhead_seconds", ov);
    s_put_num (o, "success_rate", fg.success_rate, 6);
    s_put_int (o, "chunk_attempts", fg.attempts);
    json_object *cs = json_object_new_object ();
    s_put_num (cs, "mean", hist_mean (h), 3);
    s_put_num (cs, "p50", hist_percentile (h, 50), 3);
    s_put_num (cs, "p95", hist_percentile (h, 95), 3);
    s_put_num (cs, "p99", hist_percentile (h, 99), 3);
    json_object_object_add (o, "chunk_seconds", cs);
    json_object *st = json_object_new_object ();
    s_put_num (st, "read", fg.read_seconds, 3);
    s_put_num (st, "process", fg.process_seconds, 3);
    s_put_num (st, "write", fg.write_seconds, 3);
    s_put_num (st, "commit", fg.commit_seconds, 3);
    json_object_object_add (o, "stage_seconds", st);
    alerts_t none = { .count = 0 };
    alerts_baseline_t nobase = { 0, 0, 0 };
    json_object_object_add (o, "alerts", s_parsed (alerts_json (r->alerts ? r->alerts : &none)));
    json_object_object_add (o, "job_baseline", s_parsed (alerts_baseline_json (
                                r->job_baseline ? r->job_baseline : &nobase)));
    s_put_num (o, "coordinator_peak_rss_mb", (double) r->coordinator_peak_rss_kb / 1024.0, 1);
    json_object *ws = json_object_new_array ();
    for (size_t i = 0; i < r->nworkers; i++) {
        worker_t *w = r->workers[i];
        json_object *wo = json_object_new_object ();
        s_put_str (wo, "name", w->name);
        s_put_str (wo, "host", w->host);
        s_put_int (wo, "slots", w->slots);
        s_put_int (wo, "chunks", w->chunks);
        s_put_int (wo, "rows", w->rows);
        s_put_num (wo, "busy_seconds", (double) w->busy_ms / 1000.0, 3);
        s_put_num (wo, "peak_rss_mb", (double) w->peak_rss_kb / 1024.0, 1);
        json_object_array_add (ws, wo);
    }
    json_object_object_add (o, "workers", ws);
    char *out = util_strdupf ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_SPACED
                                                                       | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put (o);
    hist_destroy (&h);
    return out;
}
