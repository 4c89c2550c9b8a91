/*  coordinator/tune_report.c: see tune_report.h. */
#include "tune_report.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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

static const char *
s_kind (tune_kind_t k)
{
    return k == TUNE_SEQUENTIAL ? "sequential" : k == TUNE_AUTO ? "auto" : "fixed";
}

void
tune_report_print (const tune_result_t *r, FILE *out)
{
    fprintf (out, "\nferry tune %s (job %s): %" PRId64 " rows of %s's source (%s%s%s), "
             "%d run(s) per configuration\n\n", r->job_path, r->job_hash, r->sample_rows,
             r->table, r->bound ? r->key : "all rows", r->bound ? " < " : "",
             r->bound ? r->bound : "", r->repeat);
    fprintf (out, "  %-42s %8s %9s %7s %8s %7s %7s %8s %8s\n", "configuration", "wall s",
             "rows/s", "MB/s", "speedup", "effic.", "chunks", "retries", "RSS MB");
    for (size_t i = 0; i < r->n; i++) {
        const tune_config_t *c = &r->configs[i];
        char mark = c->best ? '*' : c->within_noise ? '~' : ' ';
        if (c->n == 0) {
            fprintf (out, "%c %-42s %8s  (%d run(s) failed)\n", mark, c->label, "failed",
                     c->failures);
            continue;
        }
        char speed[16] = "-", eff[16] = "-";
        if (c->speedup > 0) {
            snprintf (speed, sizeof speed, "%.2fx", c->speedup);
            snprintf (eff, sizeof eff, "%.2f", c->efficiency);
        }
        fprintf (out, "%c %-42s %8.2f %9.0f %7.1f %8s %7s %7d %8d %8.1f\n", mark, c->label,
                 c->wall, c->rows_per_second, c->mb_per_second, speed, eff, c->chunks,
                 c->retries, c->peak_rss_mb);
    }
    const tune_recommendation_t *rec = r->rec;
    fprintf (out, "\n  * best; ~ within noise of it (%.0f%%: the best one's spread over its "
             "runs, at least %.0f%%)\n", 100.0 * rec->noise, 100.0 * TUNE_MIN_NOISE);
    fprintf (out, "\nrecommendation (run with --local-workers %d, or %d worker(s) of %d slot(s)):\n"
             "pipeline:\n  chunk_size: %" PRId64 "\n  writers: %d\n", rec->workers,
             rec->workers, rec->writers, rec->chunk_size, rec->writers);
    if (rec->concurrency == 0)
        fputs ("  concurrency: auto          # auto ran within noise of the best fixed setting\n",
               out);
    else
        fprintf (out, "  concurrency: %-13d # auto ran slower than the best fixed setting\n",
                 rec->concurrency);
    fprintf (out, "  min_rows_for_parallel: %" PRId64 "\n", rec->min_rows_for_parallel);
    if (rec->crossover_rows < 0)
        fputs ("crossover: parallel did not pay on this sample (slower than sequential, and its "
               "per-row cost was not lower): keep jobs of this kind sequential\n", out);
    else
        fprintf (out, "crossover: parallel pays from about %" PRId64 " rows (fixed costs and "
                 "per-row costs of the sequential and the best run)\n", rec->crossover_rows);
    fprintf (out, "bound: %s (of the best configuration's chunk time: target COPY and commit "
             "%.0f%%, ferry processing %.0f%%, waiting on the source %.0f%%)\n", rec->bound,
             100.0 * rec->target_share, 100.0 * rec->ferry_share, 100.0 * rec->source_share);
    if (r->write_path)
        fprintf (out, "written: %s\n", r->write_path);
}

char *
tune_report_json (const tune_result_t *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    FERRY_ASSERT (f);
    fputs ("{\"job\": ", f);
    s_json_str (f, r->job_path);
    fputs (", \"job_hash\": ", f);
    s_json_str (f, r->job_hash);
    fputs (", \"table\": ", f);
    s_json_str (f, r->table);
    fprintf (f, ", \"sample\": {\"rows\": %" PRId64 ", \"key\": ", r->sample_rows);
    s_json_str (f, r->key);
    fputs (", \"below\": ", f);
    s_json_str (f, r->bound);
    fprintf (f, "}, \"repeat\": %d, \"configurations\": [", r->repeat);
    for (size_t i = 0; i < r->n; i++) {
        const tune_config_t *c = &r->configs[i];
        fputs (i ? ", {\"label\": " : "{\"label\": ", f);
        s_json_str (f, c->label);
        fputs (", \"kind\": ", f);
        s_json_str (f, s_kind (c->kind));
        fprintf (f, ", \"chunk_size\": %" PRId64 ", \"workers\": %d, \"slots\": %d, "
                 "\"runs\": %d, \"failures\": %d, \"walls\": [", c->kind == TUNE_SEQUENTIAL
                 ? 0 : c->chunk_size, c->workers, c->slots, c->n, c->failures);
        for (int k = 0; k < c->n; k++)
            fprintf (f, "%s%.3f", k ? ", " : "", c->walls[k]);
        fputs ("]", f);
        if (c->n > 0) {
            fprintf (f, ", \"wall_seconds\": %.3f, \"rows\": %" PRId64 ", \"rows_per_second\": "
                     "%.1f, \"mb_per_second\": %.3f, \"chunks\": %d, \"retries\": %d, "
                     "\"slots_used\": %d, \"peak_rss_mb\": %.1f, \"overhead_seconds\": %.3f",
                     c->wall, c->rows, c->rows_per_second, c->mb_per_second, c->chunks,
                     c->retries, c->slots_used, c->peak_rss_mb, c->overhead_seconds);
            if (c->speedup > 0)
                fprintf (f, ", \"speedup\": %.3f, \"efficiency\": %.3f", c->speedup,
                         c->efficiency);
            else
                fputs (", \"speedup\": null, \"efficiency\": null", f);
        }
        fprintf (f, ", \"best\": %s, \"within_noise\": %s}", c->best ? "true" : "false",
                 c->within_noise ? "true" : "false");
    }
    const tune_recommendation_t *rec = r->rec;
    fprintf (f, "], \"noise\": %.3f, \"recommendation\": {\"pipeline\": {\"chunk_size\": %" PRId64
             ", \"writers\": %d, \"concurrency\": ", rec->noise, rec->chunk_size, rec->writers);
    if (rec->concurrency == 0)
        fputs ("\"auto\"", f);
    else
        fprintf (f, "%d", rec->concurrency);
    fprintf (f, ", \"min_rows_for_parallel\": %" PRId64 "}, \"local_workers\": %d, "
             "\"crossover_rows\": ", rec->min_rows_for_parallel, rec->workers);
    if (rec->crossover_rows < 0)
        fputs ("null", f);
    else
        fprintf (f, "%" PRId64, rec->crossover_rows);
    fputs (", \"bound\": ", f);
    s_json_str (f, rec->bound);
    fprintf (f, ", \"shares\": {\"source\": %.3f, \"target\": %.3f, \"ferry\": %.3f}}",
             rec->source_share, rec->target_share, rec->ferry_share);
    fputs (", \"written\": ", f);
    s_json_str (f, r->write_path);
    fputs ("}\n", f);
    fclose (f);
    return buf;
}
