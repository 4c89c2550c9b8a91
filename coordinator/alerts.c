/*  coordinator/alerts.c: see alerts.h. */
#include "alerts.h"
#include "jsonout.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static alert_t *
s_find (alerts_t *a, const char *name, const char *when, const char *subject)
{
    for (size_t i = 0; i < a->count; i++)
        if (strcmp (a->items[i].name, name) == 0 && strcmp (a->items[i].when, when) == 0
        &&  strcmp (a->items[i].subject, subject) == 0)
            return &a->items[i];
    return NULL;
}

static alert_t *
s_add (alerts_t *a, const char *name, const char *when, const char *subject, const char *unit,
       double figure, double baseline, double threshold)
{
    if (a->count >= ALERTS_MAX)
        return NULL;
    alert_t *x = &a->items[a->count++];
    memset (x, 0, sizeof *x);
    x->name = name;
    x->when = when;
    snprintf (x->subject, sizeof x->subject, "%s", subject ? subject : "");
    x->unit = unit;
    x->figure = figure;
    x->baseline = baseline;
    x->threshold = threshold;
    return x;
}

static void
s_text (alert_t *x, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_text (alert_t *x, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (x->text, sizeof x->text, format, args);
    va_end (args);
}

int
alerts_check_end (alerts_t *a, const alerts_limits_t *lim, const alerts_baseline_t *base,
                  const alerts_run_t *run)
{
    int fired = 0;
    alert_t *x;
    if (base->runs > 0 && lim->wall_ratio > 0 && base->wall_seconds > 0) {
        double limit = lim->wall_ratio * base->wall_seconds;
        if (run->wall_seconds > limit
        &&  (x = s_add (a, "execution_time", "end", "", "s", run->wall_seconds,
                        base->wall_seconds, limit))) {
            s_text (x, "execution time %.2f s is over %.1fx the job's baseline of %.2f s "
                    "(median of %d published run(s)): over %.2f s", run->wall_seconds,
                    lim->wall_ratio, base->wall_seconds, base->runs, limit);
            fired++;
        }
    }
    if (base->runs > 0 && lim->throughput_ratio > 0 && base->rows_per_second > 0) {
        double limit = lim->throughput_ratio * base->rows_per_second;
        if (run->rows_per_second < limit
        &&  (x = s_add (a, "throughput", "end", "", "rows/s", run->rows_per_second,
                        base->rows_per_second, limit))) {
            s_text (x, "throughput %.0f rows/s is under %.0f%% of the job's baseline of %.0f "
                    "rows/s (median of %d published run(s)): under %.0f rows/s",
                    run->rows_per_second, 100.0 * lim->throughput_ratio, base->rows_per_second,
                    base->runs, limit);
            fired++;
        }
    }
    if (lim->error_rate > 0) {
        double rate = 0;
        const char *what;
        if (run->rows_read > 0) {
            rate = (double) run->rows_rejected / (double) run->rows_read;
            what = "of the records read were rejected";
        }
        else {
            int64_t failed = run->attempts - run->chunks_done;
            rate = run->attempts > 0 && failed > 0 ? (double) failed / (double) run->attempts : 0;
            what = "of the chunk attempts failed";
        }
        if (rate > lim->error_rate
        &&  (x = s_add (a, "error_rate", "end", "", "ratio", rate, 0, lim->error_rate))) {
            s_text (x, "error rate: %.1f%% %s (threshold %.1f%%)", 100.0 * rate, what,
                    100.0 * lim->error_rate);
            fired++;
        }
    }
    return fired;
}

bool
alerts_live_window_opens (int64_t rows_done, int64_t rows_total)
{
    return rows_total > 0 && rows_done > 0
        && (double) rows_done >= ALERTS_LIVE_SHARE * (double) rows_total;
}

int
alerts_check_live (alerts_t *a, const alerts_limits_t *lim, const alerts_baseline_t *base,
                   int64_t window_rows, double window_seconds)
{
    if (base->runs <= 0 || lim->throughput_ratio <= 0 || base->rows_per_second <= 0
    ||  window_seconds < ALERTS_LIVE_WINDOW || s_find (a, "throughput", "live", ""))
        return 0;
    double rate = (double) window_rows / window_seconds;
    double limit = lim->throughput_ratio * base->rows_per_second;
    if (rate >= limit)
        return 0;
    alert_t *x = s_add (a, "throughput", "live", "", "rows/s", rate, base->rows_per_second, limit);
    if (!x)
        return 0;
    s_text (x, "throughput while running %.0f rows/s (%" PRId64 " rows in the last %.1f s) is "
            "under %.0f%% of the job's baseline of %.0f rows/s (median of %d published run(s))",
            rate, window_rows, window_seconds, 100.0 * lim->throughput_ratio,
            base->rows_per_second, base->runs);
    return 1;
}

int
alerts_check_connections (alerts_t *a, const alerts_limits_t *lim, const char *server,
                          int used, int max_connections)
{
    if (lim->connections <= 0 || max_connections <= 0)
        return 0;
    double limit = lim->connections * max_connections;
    if ((double) used <= limit)
        return 0;
    alert_t *x = s_find (a, "connections", "end", server);
    bool fresh = x == NULL;
    if (x && (double) used <= x->figure)
        return 0;
    if (!x && !(x = s_add (a, "connections", "end", server, "connections", used,
                           max_connections, limit)))
        return 0;
    x->figure = used;
    s_text (x, "connections: %d of the %s server's max_connections %d in use (over %.0f%%)",
            used, server, max_connections, 100.0 * lim->connections);
    return fresh ? 1 : 0;
}

int
alerts_check_memory (alerts_t *a, const alerts_limits_t *lim, const char *worker,
                     int64_t peak_rss_kb, int64_t limit_kb)
{
    if (lim->memory <= 0 || limit_kb <= 0 || s_find (a, "memory", "end", worker))
        return 0;
    double limit = lim->memory * (double) limit_kb;
    if ((double) peak_rss_kb <= limit)
        return 0;
    alert_t *x = s_add (a, "memory", "end", worker, "MB", (double) peak_rss_kb / 1024.0,
                        (double) limit_kb / 1024.0, limit / 1024.0);
    if (!x)
        return 0;
    s_text (x, "memory: worker %s peaked at %.1f MB RSS, over %.0f%% of its limit of %.1f MB",
            worker, x->figure, 100.0 * lim->memory, x->baseline);
    return 1;
}

char *
alerts_json (const alerts_t *a)
{
    json_object *list = json_object_new_array ();
    for (size_t i = 0; i < a->count; i++) {
        const alert_t *x = &a->items[i];
        json_object *o = json_object_new_object ();
        const char *what[][2] = {
            { "name", x->name }, { "when", x->when }, { "subject", x->subject },
            { "unit", x->unit }
        };
        for (size_t k = 0; k < sizeof what / sizeof what[0]; k++)
            jsonout_str (o, what[k][0], what[k][1]);
        /*  Figures with the precision the report gives them ("%.6g"). */
        jsonout_num_g (o, "figure", x->figure);
        if (x->baseline > 0)
            jsonout_num_g (o, "baseline", x->baseline);
        else
            json_object_object_add (o, "baseline", NULL);
        jsonout_num_g (o, "threshold", x->threshold);
        jsonout_str (o, "message", x->text);
        json_object_array_add (list, o);
    }
    return jsonout_finish (list, 0);
}

char *
alerts_baseline_json (const alerts_baseline_t *b)
{
    if (b->runs <= 0)
        return xstrdup ("null");
    return util_strdupf ("{\"runs\": %d, \"wall_seconds\": %.3f, \"rows_per_second\": %.1f}",
                         b->runs, b->wall_seconds, b->rows_per_second);
}
