/*  common/pg/schema.c: DDL of ferry's run state; see schema.h. */
#include "schema.h"
#include "util.h"

#include <stdlib.h>

/*  Any constant works as long as every ferry process uses the same one. */
#define SCHEMA_LOCK_KEY "7268447521"

static const char *s_ddl =
    "CREATE SCHEMA IF NOT EXISTS ferry;"
    "CREATE TABLE IF NOT EXISTS ferry.runs ("
    "  run_id        text PRIMARY KEY,"
    "  job_hash      text,"
    "  status        text NOT NULL,"
    "  final_table   text,"
    "  staging_table text,"
    "  publish       text,"
    "  started_at    timestamptz NOT NULL DEFAULT now(),"
    "  finished_at   timestamptz,"
    "  rows_source   bigint,"
    "  rows_loaded   bigint,"
    "  chunks_total  int,"
    "  message       text,"
    "  report        jsonb);"
    "CREATE TABLE IF NOT EXISTS ferry.chunks ("
    "  run_id     text NOT NULL,"
    "  chunk_id   bigint NOT NULL,"
    "  lo         text,"
    "  hi         text,"
    "  est_rows   bigint,"
    "  path       text,"
    "  byte_offset bigint,"
    "  byte_length bigint,"
    "  first_line bigint,"
    "  status     text NOT NULL DEFAULT 'planned',"
    "  attempts   int NOT NULL DEFAULT 0,"
    "  worker     text,"
    "  last_error text,"
    "  updated_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (run_id, chunk_id));"
    "CREATE TABLE IF NOT EXISTS ferry.chunk_commits ("
    "  run_id       text NOT NULL,"
    "  chunk_id     bigint NOT NULL,"
    "  attempt      int NOT NULL,"
    "  worker       text NOT NULL,"
    "  token        text NOT NULL,"
    "  rows         bigint,"
    "  rejected     bigint NOT NULL DEFAULT 0,"
    "  bytes        bigint,"
    "  checksum     text,"
    "  started_at   timestamptz NOT NULL DEFAULT now(),"
    "  committed_at timestamptz,"
    "  PRIMARY KEY (run_id, chunk_id));"
    "CREATE TABLE IF NOT EXISTS ferry.rejects ("
    "  run_id   text NOT NULL,"
    "  chunk_id bigint NOT NULL,"
    "  file     text,"
    "  line     bigint,"
    "  raw      bytea,"
    "  reason   text NOT NULL,"
    "  logged_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX IF NOT EXISTS rejects_run ON ferry.rejects (run_id, chunk_id);"
    /*  Added after the first release: how the run split its source (key,
        ctid, file). */
    "ALTER TABLE ferry.runs ADD COLUMN IF NOT EXISTS split text;"
    /*  The job's fingerprint per key (common/job/jobprint.h), checked by
        resume; and the source snapshot the plan was cut in
        (pg_current_snapshot() text), with which resume checks that a ctid
        plan still holds. */
    "ALTER TABLE ferry.runs ADD COLUMN IF NOT EXISTS job_keys text;"
    "ALTER TABLE ferry.runs ADD COLUMN IF NOT EXISTS source_snapshot text;"
    /*  Issue 14: what made the run: 'run' (a load of the job) or 'tune'
        (a measurement by ferry-coordinator tune into a scratch table; not
        one of the job's published runs, never a baseline). And the
        baselines tune records for a job (its sequential run over the
        sample). */
    "ALTER TABLE ferry.runs ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'run';"
    "CREATE INDEX IF NOT EXISTS runs_job ON ferry.runs (job_hash, started_at);"
    "CREATE TABLE IF NOT EXISTS ferry.baselines ("
    "  job_hash        text NOT NULL,"
    "  source          text NOT NULL,"
    "  run_id          text,"
    "  rows            bigint,"
    "  wall_seconds    float8,"
    "  rows_per_second float8,"
    "  recorded_at     timestamptz NOT NULL DEFAULT now());";

int
schema_ensure (pg_conn_t *conn)
{
    /*  Quick path: nothing to do once the last table and the last column
        added exist. Saves the lock round trips for every worker after the
        first. */
    char *exists = NULL;
    if (pg_query_value (conn, "SELECT to_regclass('ferry.baselines') IS NOT NULL AND EXISTS ("
                        "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('ferry.runs') "
                        "AND attname = 'kind')", 0, NULL, &exists) == 0) {
        int ready = exists && exists[0] == 't';
        free (exists);
        if (ready)
            return 0;
    }
    else
        return -1;

    if (pg_exec (conn, "BEGIN") != 0)
        return -1;
    if (pg_exec (conn, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")") != 0
    ||  pg_exec (conn, s_ddl) != 0
    ||  pg_exec (conn, "COMMIT") != 0) {
        pg_rollback (conn);
        return -1;
    }
    return 0;
}

char *
schema_staging_name (const char *run_id)
{
    return util_strdupf ("ferry.\"stage_%s\"", run_id);
}

int
schema_create_staging (pg_conn_t *conn, const char *staging, const char *final_table)
{
    /*  The final table's name is user text: resolve it with regclass on the
        server (the server's own parsing and search_path), then build the
        column list from pg_attribute, so no user text is spliced into SQL. */
    const char *params[1] = { final_table };
    char *columns = NULL;
    if (pg_query_value (conn,
            "SELECT string_agg(quote_ident(attname) || ' ' "
            "                  || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) "
            "FROM pg_attribute WHERE attrelid = $1::regclass "
            "AND attnum > 0 AND NOT attisdropped",
            1, params, &columns) != 0)
        return -1;
    if (!columns) {     /* a table without columns: nothing to stage */
        pg_set_error (conn, "42P01", "table %s has no columns", final_table);
        return -1;
    }
    char *sql = util_strdupf ("BEGIN; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY "); "
                              "CREATE UNLOGGED TABLE IF NOT EXISTS %s (%s) WITH (autovacuum_enabled = false, "
                              "toast.autovacuum_enabled = false); COMMIT",
                              staging, columns);
    int rc = pg_exec (conn, sql);
    if (rc != 0)
        pg_rollback (conn);
    free (sql);
    free (columns);
    return rc;
}
