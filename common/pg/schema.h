/*  common/pg/schema.h: ferry's run state in the target database.

    Schema `ferry` holds:
      ferry.runs           one row per run: status, timings, totals, report,
                           kind ('run', or 'tune' for tune's measurements)
      ferry.chunks         the plan: bounds, status, attempts, last error
      ferry.chunk_commits  the exactly-once fence, PK (run_id, chunk_id):
                           a chunk's rows and its ledger row commit in one
                           transaction, so rows committed <=> ledger row
      ferry.rejects        rejected input records (file sources)
      ferry.baselines      the sequential baselines `tune` measured per job
    docs/ARCHITECTURE.md describes each column. */
#ifndef FERRY_SCHEMA_H
#define FERRY_SCHEMA_H

#include "pg.h"

/*  Creates the schema and its tables if missing, in one transaction under
    an advisory lock, so that many workers starting together do not race.
    Returns 0 or -1 (error kept in the connection). */
int schema_ensure (pg_conn_t *conn);

/*  The staging table name for a run: ferry."stage_<run_id>" (quoted,
    caller frees). run_id must be valid (util_run_id_is_valid). */
char *schema_staging_name (const char *run_id);

/*  Creates the UNLOGGED staging table `staging` (quoted, qualified) with
    the columns of `final_table` (user text, e.g. public.accounts) and no
    indexes, constraints or defaults, if it does not exist. Returns 0 or -1
    (error kept; a missing final table is SQLSTATE 42P01). */
int schema_create_staging (pg_conn_t *conn, const char *staging,
                           const char *final_table);

#endif
