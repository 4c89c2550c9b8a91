/*  coordinator/ledger.h: the coordinator's connection to the target and
    the run state it keeps there (ferry.runs, ferry.chunks; see
    common/pg/schema.h). Every call reconnects (with the run's retry policy)
    when the connection was lost, so a target restart mid-run costs the
    coordinator a retry, not the run. Errors are logged here, once. */
#ifndef FERRY_COORDINATOR_LEDGER_H
#define FERRY_COORDINATOR_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "chunktab.h"
#include "pg.h"

typedef struct ledger_t ledger_t;

ledger_t *ledger_new (const char *conninfo, const retry_policy_t *policy, volatile int *stop);
void ledger_destroy (ledger_t **self_p);

/*  The connection, connected (reconnecting if needed), or NULL (logged). */
pg_conn_t *ledger_conn (ledger_t *self);

/*  Starts connecting on a thread of its own (pg_connect_begin), so that
    the other connections a run opens at its start open meanwhile; the
    first ledger_conn waits for it. The session, and every reconnect,
    is named ferry/<run_id>/coordinator-ledger. */
void ledger_connect_begin (ledger_t *self, const char *run_id);

/*  util_now_ms() of the last time the connection had to be made again
    (0: never): a restart or crash of the target ends every connection,
    so chunk commits before that moment may have been undone. */
int64_t ledger_reconnected_ms (ledger_t *self);

/*  Creates schema ferry if needed and records a new run (status
    'planning') with its publish mode, split ("key", "ctid", "file") and
    the job's fingerprint (job_hash, job_keys: common/job/jobprint.h). A run
    id that already exists is an error. Returns 0/-1. */
int ledger_begin_run (ledger_t *self, const char *run_id, const char *final_table,
                      const char *staging, const char *publish, const char *split,
                      const char *job_hash, const char *job_keys);

/*  *empty = the table has no rows. Returns 0/-1. */
int ledger_table_is_empty (ledger_t *self, const char *table, bool *empty);

/*  Writes the plan into ferry.chunks (one statement). Returns 0/-1. */
int ledger_write_plan (ledger_t *self, const char *run_id, chunktab_t *chunks);

/*  Records a chunk's state, attempts, worker and last error. Its commit
    does not wait for the WAL flush (synchronous_commit off for this one
    statement). Best effort: a failure is logged as a warning and returns
    -1. */
int ledger_chunk_update (ledger_t *self, const char *run_id, const chunk_t *chunk,
                         const char *worker);

/*  Reads ferry.chunk_commits for the run: rows_out[chunk_id] = committed
    rows, or -1 where no committed row exists (n = number of chunks);
    rejected_out (may be NULL) the records each chunk rejected.
    Returns 0/-1. */
int ledger_committed_rows (ledger_t *self, const char *run_id, size_t n, int64_t *rows_out,
                           int64_t *rejected_out);

/*  Writes the run's rejects (ferry.rejects) to `path`, one per line:
    file:line: reason <TAB> raw record. Returns the count written, or -1
    (logged). */
int64_t ledger_write_rejects_file (ledger_t *self, const char *run_id, const char *path);

/*  count(*) of a table into *rows. Returns 0/-1. */
int ledger_count (ledger_t *self, const char *table, int64_t *rows);

/*  Sets the run's final status and totals; report_json may be NULL.
    Returns 0/-1. */
int ledger_end_run (ledger_t *self, const char *run_id, const char *status,
                    const char *message, int64_t rows_source, int64_t rows_loaded,
                    int64_t chunks_total, const char *report_json);

/*  Sets the run's status (planning, loading, interrupted, ...). 0/-1. */
int ledger_set_status (ledger_t *self, const char *run_id, const char *status);

/*  A run's row, as resume needs it. Strings owned; NULL where the column
    is NULL (staging for direct runs; job_keys and source_snapshot for runs
    recorded by an older ferry). split is "key" when not recorded. */
typedef struct {
    char *status, *staging, *publish, *split, *final_table;
    char *job_hash, *job_keys, *source_snapshot;
} ledger_run_t;

/*  Reads a run's row. Returns 0, 1 when the run does not exist, -1 on
    error (logged). ledger_run_free frees the strings (safe on a zeroed
    struct). */
int ledger_load_run (ledger_t *self, const char *run_id, ledger_run_t *run);
void ledger_run_free (ledger_run_t *run);

/*  The latest published --sequential run of the same job (job_hash),
    other than run_id: its id (*run, caller frees; NULL when none) and
    wall seconds. 0, or -1 on error (logged). */
int ledger_baseline (ledger_t *self, const char *job_hash, const char *run_id, char **run,
                     double *wall);

/*  Records the source snapshot the plan was cut in (pg_current_snapshot()
    as text). 0/-1 (logged). */
int ledger_set_source_snapshot (ledger_t *self, const char *run_id, const char *snapshot);

/*  The id of a direct run into final_table other than run_id that was
    started after run_id (a later run that found the table empty while
    run_id was stopped), or NULL; -1 on error. Caller frees *other. */
int ledger_later_direct_run (ledger_t *self, const char *run_id, const char *final_table,
                             char **other);

/*  Forgets what a run created before any chunk committed: drops the
    staging table (when given) and deletes the run's plan. The ferry.runs
    row stays, with the failure's reason. Best effort, 0/-1 (logged). */
int ledger_drop_unloaded (ledger_t *self, const char *run_id, const char *staging);

/*  Starts a merge run's load over: ends every target backend of the run
    (application_name "ferry/<run_id>/..."), then in one transaction
    empties the staging table, forgets the run's chunk commits and rejects
    and marks every chunk planned. Returns 0/-1 (logged). */
int ledger_reset_load (ledger_t *self, const char *run_id, const char *staging);

/*  Forgets the run's chunks committed before the target's last start
    (pg_postmaster_start_time(): its crash recovery emptied staging): in
    one transaction deletes their ledger rows and rejects and marks them
    planned. Returns how many, or -1 (logged). */
int64_t ledger_forget_before_restart (ledger_t *self, const char *run_id);

/*  Loads the run's plan from ferry.chunks into an empty chunk table (ids
    in order). Returns the number of chunks, or -1 (logged). */
int ledger_load_plan (ledger_t *self, const char *run_id, chunktab_t *chunks);

/*  Ends the target backends of a worker (application_name
    "ferry/<run_id>/<worker>"), so that its open chunk transaction releases
    what it holds. Returns how many were ended, or -1 (logged as a
    warning). */
int ledger_terminate_worker (ledger_t *self, const char *run_id, const char *worker);

/*  The same, only for the worker's backends inside a transaction (an
    attempt still open: a stalled or zombie one) when in_transaction. */
int ledger_terminate_worker_if (ledger_t *self, const char *run_id, const char *worker,
                                bool in_transaction);

/*  Logs the connection's last error as "target: WHAT: [SQLSTATE] msg". */
void ledger_log_error (ledger_t *self, const char *what);

#endif
