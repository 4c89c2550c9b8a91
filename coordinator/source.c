/*  coordinator/source.c: see source.h. */
#include "source.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct source_t {
    pg_conn_t *conn;
    char *snapshot;
};

source_t *
source_new (const char *conninfo)
{
    source_t *self = xcalloc (1, sizeof *self);
    self->conn = pg_conn_new (conninfo, "source");
    return self;
}

void
source_destroy (source_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        source_t *self = *self_p;
        pg_conn_destroy (&self->conn);
        free (self->snapshot);
        free (self);
        *self_p = NULL;
    }
}

static void
s_log_error (source_t *self, const char *what)
{
    const pg_error_t *e = pg_conn_error (self->conn);
    log_error ("source: %s: [%s] %s%s%s%s", what, e->sqlstate[0] ? e->sqlstate : "-----",
               e->message, e->detail[0] ? " (" : "", e->detail, e->detail[0] ? ")" : "");
}

int
source_open (source_t *self, const retry_policy_t *policy, bool export_snapshot,
             volatile int *stop)
{
    if (pg_connect (self->conn, policy, stop) != 0) {
        s_log_error (self, "connect");
        return -1;
    }
    if (pg_exec (self->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) {
        s_log_error (self, "BEGIN");
        return -1;
    }
    if (export_snapshot) {
        free (self->snapshot);
        self->snapshot = NULL;
        if (pg_query_value (self->conn, "SELECT pg_export_snapshot()", 0, NULL,
                            &self->snapshot) != 0 || !self->snapshot) {
            s_log_error (self, "pg_export_snapshot");
            return -1;
        }
        log_info ("source: exported snapshot %s; every chunk reads this cut", self->snapshot);
    }
    return 0;
}

const char *
source_snapshot (source_t *self)
{
    return self->snapshot;
}

pg_conn_t *
source_conn (source_t *self)
{
    return self->conn;
}

int
source_estimate (source_t *self, const copyjob_t *job, int64_t *rows)
{
    *rows = 0;
    char *sql = util_strdupf ("EXPLAIN (FORMAT JSON) %s", job->read_query);
    char *plan = NULL;
    int rc = pg_query_value (self->conn, sql, 0, NULL, &plan);
    free (sql);
    if (rc != 0) {
        s_log_error (self, "estimating rows");
        return -1;
    }
    /*  The top node's "Plan Rows" is the first one in the text. */
    const char *p = plan ? strstr (plan, "\"Plan Rows\":") : NULL;
    if (p)
        *rows = strtoll (p + strlen ("\"Plan Rows\":"), NULL, 10);
    free (plan);
    return 0;
}

plan_t *
source_plan (source_t *self, const copyjob_t *job, int64_t chunk_size,
             int64_t *total_rows, int64_t *null_keys)
{
    /*  One ordered pass over the key (an index-only scan when the key is
        indexed) yields the boundaries, the exact count (the last row
        number) and where the NULL keys begin (they sort last). Keys travel
        as text in the key type's output format and come back through
        '<text>'::keytype in the workers' range predicates, under the same
        session settings (pg.c), so they round trip exactly. */
    const char *k = job->key_quoted;
    char *sql = util_strdupf (
        "SELECT s.k::text, s.rn, s.last, s.first_null FROM ("
        "  SELECT ferry_q.%s AS k, row_number() OVER w AS rn,"
        "         lead(1) OVER w IS NULL AS last,"
        "         ferry_q.%s IS NULL AND NOT lag(ferry_q.%s IS NULL, 1, false) OVER w AS first_null"
        "  FROM (%s) AS ferry_q WINDOW w AS (ORDER BY ferry_q.%s)) s "
        "WHERE (s.rn %% %" PRId64 " = 1 AND s.rn > 1 AND s.k IS NOT NULL) OR s.last OR s.first_null "
        "ORDER BY s.rn",
        k, k, k, job->read_query, k, chunk_size);
    PGresult *res = NULL;
    int rc = pg_exec_params (self->conn, sql, 0, NULL, &res);
    free (sql);
    if (rc != 0) {
        s_log_error (self, "planning key ranges");
        return NULL;
    }
    int n = PQntuples (res);
    plan_sample_t *samples = xcalloc ((size_t) n + 1, sizeof *samples);
    size_t nsamples = 0;
    int64_t total = 0, first_null = 0;
    for (int i = 0; i < n; i++) {
        int64_t rn = strtoll (PQgetvalue (res, i, 1), NULL, 10);
        bool null_key = PQgetisnull (res, i, 0);
        if (PQgetvalue (res, i, 2)[0] == 't')
            total = rn;
        if (PQgetvalue (res, i, 3)[0] == 't')
            first_null = rn;
        if (!null_key && rn > 1 && rn % chunk_size == 1) {
            samples[nsamples].key = PQgetvalue (res, i, 0);    /* borrowed from res */
            samples[nsamples].rn = rn;
            nsamples++;
        }
    }
    *total_rows = total;
    *null_keys = first_null > 0 ? total - first_null + 1 : 0;
    plan_t *plan = plan_build (total, samples, nsamples);
    free (samples);
    PQclear (res);
    return plan;
}

bool
source_snapshot_alive (source_t *self)
{
    return pg_is_connected (self->conn)
        && PQtransactionStatus (pg_conn_handle (self->conn)) == PQTRANS_INTRANS
        && pg_exec (self->conn, "SELECT 1") == 0;
}

void
source_close (source_t *self)
{
    if (pg_is_connected (self->conn))
        pg_exec (self->conn, "COMMIT");
    pg_disconnect (self->conn);
}
