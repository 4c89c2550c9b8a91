/*  coordinator/alertrun.c: see alertrun.h. */
#include "alertrun.h"
#include "baseline.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alertrun_t {
    alerts_limits_t limits;
    bool fail_run;
    ledger_t *ledger;
    source_t *source;
    alerts_baseline_t base;
    alerts_t alerts;
    size_t logged;              /* alerts already logged */
    const progress_t *progress;
    double window_started;      /* when the live window opened (0: not yet) */
    int64_t window_rows0;       /* rows done then */
    int64_t last_tick_ms;
};

/*  Logs the alerts not logged yet. */
static void
s_log_new (alertrun_t *self)
{
    for (; self->logged < self->alerts.count; self->logged++)
        log_warn ("alert: %s", self->alerts.items[self->logged].text);
}

/*  Client connections in use and max_connections of one server. */
static void
s_connections (alertrun_t *self, pg_conn_t *c, const char *server)
{
    if (!c || !pg_is_connected (c))
        return;
    PGresult *res = NULL;
    if (pg_exec (c, "SELECT pg_stat_clear_snapshot()") != 0
    ||  pg_exec_params (c, "SELECT count(*) FILTER (WHERE backend_type = 'client backend'), "
                        "current_setting('max_connections')::int FROM pg_stat_activity", 0, NULL,
                        &res) != 0) {
        log_debug ("alerts: cannot count the %s server's connections: %s", server,
                   pg_conn_error (c)->message);
        return;
    }
    int used = atoi (PQgetvalue (res, 0, 0)), max = atoi (PQgetvalue (res, 0, 1));
    PQclear (res);
    alerts_check_connections (&self->alerts, &self->limits, server, used, max);
}

static void
s_sample_connections (alertrun_t *self)
{
    if (self->limits.connections <= 0)
        return;
    s_connections (self, ledger_conn (self->ledger), "target");
    if (self->source)
        s_connections (self, source_conn (self->source), "source");
}

alertrun_t *
alertrun_new (const config_t *cfg, ledger_t *ledger, source_t *source, const char *job_hash,
              const char *run_id)
{
    alertrun_t *self = xcalloc (1, sizeof *self);
    self->limits = (alerts_limits_t) {
        cfg->alerts.wall_ratio, cfg->alerts.throughput_ratio, cfg->alerts.error_rate,
        cfg->alerts.connections, cfg->alerts.memory };
    self->fail_run = cfg->alerts.fail_run;
    self->ledger = ledger;
    self->source = source;
    pg_conn_t *c = ledger_conn (ledger);
    if (c && baseline_median (c, job_hash, run_id, &self->base) != 0) {
        log_warn ("alerts: cannot read the job's baseline from ferry.runs (%s); no baseline "
                  "checks in this run", pg_conn_error (c)->message);
        self->base.runs = 0;
    }
    if (self->base.runs > 0)
        log_info ("job baseline: %.2f s, %.0f rows/s (median of the last %d published run(s))",
                  self->base.wall_seconds, self->base.rows_per_second, self->base.runs);
    s_sample_connections (self);
    s_log_new (self);
    self->last_tick_ms = util_now_ms ();
    return self;
}

void
alertrun_destroy (alertrun_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

void
alertrun_watch (alertrun_t *self, const progress_t *progress)
{
    if (!self)
        return;
    self->progress = progress;
}

void
alertrun_tick (alertrun_t *self)
{
    if (!self)
        return;
    int64_t now = util_now_ms ();
    if (now - self->last_tick_ms < 2000)
        return;
    self->last_tick_ms = now;
    s_sample_connections (self);
    const progress_t *p = self->progress;
    if (p && self->window_started == 0 && alerts_live_window_opens (p->rows_done, p->total_rows)) {
        self->window_started = util_now_s ();
        self->window_rows0 = p->rows_done;
    }
    else if (p && self->window_started > 0)
        alerts_check_live (&self->alerts, &self->limits, &self->base,
                           p->rows_done - self->window_rows0,
                           util_now_s () - self->window_started);
    s_log_new (self);
}

/*  This host's memory limit in KiB: the cgroup's memory.max when set
    (cgroup v2), else MemTotal; 0 when neither can be read. */
static int64_t
s_memory_limit_kb (void)
{
    int64_t limit = 0;
    FILE *f = fopen ("/proc/self/cgroup", "r");
    char line[512];
    if (f) {
        while (fgets (line, sizeof line, f))
            if (strncmp (line, "0::", 3) == 0) {
                line[strcspn (line, "\n")] = 0;
                char path[600];
                snprintf (path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
                FILE *m = fopen (path, "r");
                char v[64];
                if (m && fgets (v, sizeof v, m) && strncmp (v, "max", 3) != 0)
                    limit = strtoll (v, NULL, 10) / 1024;
                if (m)
                    fclose (m);
            }
        fclose (f);
    }
    if (limit > 0)
        return limit;
    f = fopen ("/proc/meminfo", "r");
    if (f) {
        while (fgets (line, sizeof line, f))
            if (sscanf (line, "MemTotal: %" SCNd64, &limit) == 1)
                break;
        fclose (f);
    }
    return limit;
}

size_t
alertrun_finish (alertrun_t *self, report_t *rep)
{
    if (!self)
        return 0;
    rep->alerts = &self->alerts;
    rep->job_baseline = &self->base;
    s_sample_connections (self);
    if (strcmp (rep->status, "published") == 0) {
        report_figures_t f;
        report_figures (rep, &f);
        alerts_run_t run = {
            .wall_seconds = rep->wall_seconds, .rows_per_second = f.rows_per_second,
            .rows_read = rep->rows_rejected >= 0 ? rep->rows_loaded + rep->rows_rejected : -1,
            .rows_rejected = rep->rows_rejected, .attempts = f.attempts,
            .chunks_done = (int64_t) f.chunks_done };
        alerts_check_end (&self->alerts, &self->limits, &self->base, &run);
    }
    /*  Memory: the workers on this host, against this host's limit (a
        remote worker's limit is not known here). */
    int64_t limit = rep->nworkers ? s_memory_limit_kb () : 0;
    for (size_t i = 0; i < rep->nworkers; i++) {
        worker_t *w = rep->workers[i];
        if (w->host && strcmp (w->host, util_hostname ()) == 0)
            alerts_check_memory (&self->alerts, &self->limits, w->name, w->peak_rss_kb, limit);
    }
    s_log_new (self);
    return self->alerts.count;
}

bool
alertrun_fails_run (const alertrun_t *self)
{
    return self && self->fail_run && self->alerts.count > 0;
}
