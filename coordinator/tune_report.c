/*  coordinator/tune_report.c: see tune_report.h. */
#include "tune_report.h"
#include "jsonout.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *
s_kind (tune_kind_t k)
{
    return k == TUNE_SEQUENTIAL ? "sequential" : k == TUNE_AUTO ? "auto" : "fixed";
}

/*  One configuration's measurements (those of a failed one: none). */
static json_object *
s_config_json (const tune_config_t *c)
{
    json_object *o = json_object_new_object ();
    jsonout_str (o, "label", c->label);
    jsonout_str (o, "kind", s_kind (c->kind));
    jsonout_int (o, "chunk_size", c->kind == TUNE_SEQUENTIAL ? 0 : c->chunk_size);
    jsonout_int (o, "workers", c->workers);
    jsonout_int (o, "slots", c->slots);
    jsonout_int (o, "runs", c->n);
    jsonout_int (o, "failures", c->failures);
    json_object *walls = json_object_new_array ();
    for (int k = 0; k < c->n; k++) {
        char text[32];
        snprintf (text, sizeof text, "%.3f", c->walls[k]);
        json_object_array_add (walls, json_object_new_double_s (c->walls[k], text));
    }
    json_object_object_add (o, "walls", walls);
    if (c->n > 0) {
        jsonout_num (o, "wall_seconds", c->wall, 3);
        jsonout_int (o, "rows", c->rows);
        jsonout_num (o, "rows_per_second", c->rows_per_second, 1);
        jsonout_num (o, "mb_per_second", c->mb_per_second, 3);
        jsonout_int (o, "chunks", c->chunks);
        jsonout_int (o, "retries", c->retries);
        jsonout_int (o, "slots_used", c->slots_used);
        jsonout_num (o, "peak_rss_mb", c->peak_rss_mb, 1);
        jsonout_num (o, "overhead_seconds", c->overhead_seconds, 3);
        if (c->speedup > 0) {
            jsonout_num (o, "speedup", c->speedup, 3);
            jsonout_num (o, "efficiency", c->efficiency, 3);
        }
        else {
            json_object_object_add (o, "speedup", NULL);
            json_object_object_add (o, "efficiency", NULL);
        }
    }
    json_object_object_add (o, "best", json_object_new_boolean (c->best));
    json_object_object_add (o, "within_noise", json_object_new_boolean (c->within_noise));
    return o;
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
    json_object *o = json_object_new_object ();
    jsonout_str (o, "job", r->job_path);
    jsonout_str (o, "job_hash", r->job_hash);
    jsonout_str (o, "table", r->table);
    json_object *sample = json_object_new_object ();
    jsonout_int (sample, "rows", r->sample_rows);
    jsonout_str (sample, "key", r->key);
    jsonout_str (sample, "below", r->bound);
    json_object_object_add (o, "sample", sample);
    jsonout_int (o, "repeat", r->repeat);
    json_object *configs = json_object_new_array ();
    for (size_t i = 0; i < r->n; i++)
        json_object_array_add (configs, s_config_json (&r->configs[i]));
    json_object_object_add (o, "configurations", configs);
    const tune_recommendation_t *rec = r->rec;
    jsonout_num (o, "noise", rec->noise, 3);
    json_object *pipeline = json_object_new_object ();
    jsonout_int (pipeline, "chunk_size", rec->chunk_size);
    jsonout_int (pipeline, "writers", rec->writers);
    if (rec->concurrency == 0)
        jsonout_str (pipeline, "concurrency", "auto");
    else
        jsonout_int (pipeline, "concurrency", rec->concurrency);
    jsonout_int (pipeline, "min_rows_for_parallel", rec->min_rows_for_parallel);
    json_object *ro = json_object_new_object ();
    json_object_object_add (ro, "pipeline", pipeline);
    jsonout_int (ro, "local_workers", rec->workers);
    if (rec->crossover_rows < 0)
        json_object_object_add (ro, "crossover_rows", NULL);
    else
        jsonout_int (ro, "crossover_rows", rec->crossover_rows);
    jsonout_str (ro, "bound", rec->bound);
    json_object *shares = json_object_new_object ();
    jsonout_num (shares, "source", rec->source_share, 3);
    jsonout_num (shares, "target", rec->target_share, 3);
    jsonout_num (shares, "ferry", rec->ferry_share, 3);
    json_object_object_add (ro, "shares", shares);
    json_object_object_add (o, "recommendation", ro);
    jsonout_str (o, "written", r->write_path);
    return jsonout_finish (o, 1);
}
