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
source_count (source_t *self, const copyjob_t *job, int64_t *rows, int64_t *null_keys)
{
    char *sql = util_strdupf ("SELECT count(*), count(ferry_q.%s) FROM (%s) AS ferry_q",
                              job->key_quoted, job->query);
    PGresult *res = NULL;
    int rc = pg_exec_params (self->conn, sql, 0, NULL, &res);
    free (sql);
    if (rc != 0) {
        s_log_error (self, "counting rows");
        return -1;
    }
    *rows = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    *null_keys = *rows - strtoll (PQgetvalue (res, 0, 1), NULL, 10);
    PQclear (res);
    return 0;
}

plan_t *
source_plan (source_t *self, const copyjob_t *job, int64_t total_rows, int64_t chunk_size)
{
    /*  One ordered pass over the key: an index-only scan when the key is
        indexed. Keys travel as text in the key type's own output format and
        come back through '<text>'::keytype in the workers' range
        predicates, under the same session settings (pg.c), so they round
        trip exactly. */
    char *sql = util_strdupf (
        "SELECT s.k::text, s.rn FROM ("
        "  SELECT ferry_q.%s AS k, row_number() OVER (ORDER BY ferry_q.%s) AS rn"
        "  FROM (%s) AS ferry_q) s "
        "WHERE s.rn %% %" PRId64 " = 1 AND s.rn > 1 ORDER BY s.rn",
        job->key_quoted, job->key_quoted, job->query, chunk_size);
    PGresult *res = NULL;
    int rc = pg_exec_params (self->conn, sql, 0, NULL, &res);
    free (sql);
    if (rc != 0) {
        s_log_error (self, "planning key ranges");
        return NULL;
    }
    int n = PQntuples (res);
    plan_sample_t *samples = xcalloc ((size_t) n + 1, sizeof *samples);
    for (int i = 0; i < n; i++) {
        samples[i].key = PQgetvalue (res, i, 0);    /* borrowed from res */
        samples[i].rn = strtoll (PQgetvalue (res, i, 1), NULL, 10);
    }
    plan_t *plan = plan_build (total_rows, samples, (size_t) n);
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
