/*  coordinator/baseline.c: see baseline.h. */
#include "baseline.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int
baseline_median (pg_conn_t *c, const char *job_hash, const char *exclude_run,
                 alerts_baseline_t *b)
{
    *b = (alerts_baseline_t) { 0, 0, 0 };
    char limit[16];
    snprintf (limit, sizeof limit, "%d", ALERTS_BASELINE_RUNS);
    const char *params[3] = { job_hash, exclude_run ? exclude_run : "", limit };
    PGresult *res = NULL;
    if (pg_exec_params (c,
            "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY w), "
            "       percentile_cont(0.5) WITHIN GROUP (ORDER BY rps) "
            "FROM (SELECT (report->>'wall_seconds')::float8 AS w, "
            "             (report->>'rows_per_second')::float8 AS rps "
            "      FROM ferry.runs WHERE job_hash = $1 AND run_id <> $2 AND kind = 'run' "
            "      AND status = 'published' AND report->>'wall_seconds' IS NOT NULL "
            "      AND coalesce(report->>'sequential', 'false') <> 'true' "
            "      ORDER BY finished_at DESC NULLS LAST LIMIT $3::int) AS last", 3, params,
            &res) != 0)
        return -1;
    b->runs = atoi (PQgetvalue (res, 0, 0));
    if (b->runs > 0) {
        b->wall_seconds = strtod (PQgetvalue (res, 0, 1), NULL);
        b->rows_per_second = strtod (PQgetvalue (res, 0, 2), NULL);
    }
    PQclear (res);
    return 0;
}

int
baseline_record_tune (pg_conn_t *c, const char *job_hash, const char *run_id, int64_t rows,
                      double wall_seconds, double rows_per_second)
{
    char r[32], w[32], rps[32];
    snprintf (r, sizeof r, "%" PRId64, rows);
    snprintf (w, sizeof w, "%.3f", wall_seconds);
    snprintf (rps, sizeof rps, "%.1f", rows_per_second);
    const char *params[5] = { job_hash, run_id, r, w, rps };
    return pg_exec_params (c, "INSERT INTO ferry.baselines (job_hash, source, run_id, rows, "
                           "wall_seconds, rows_per_second) VALUES ($1, 'tune', $2, $3::bigint, "
                           "$4::float8, $5::float8)", 5, params, NULL);
}
