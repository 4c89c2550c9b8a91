/*  coordinator/source.h: the coordinator's connection to the source.

    Holds the run's consistent cut: with snapshot: shared it opens a
    REPEATABLE READ READ ONLY transaction, exports its snapshot
    (pg_export_snapshot) for every reader, plans inside it, and keeps it
    open until the load phase ends (an exported snapshot lives only as long
    as its transaction). Planning is one ordered pass over the keys
    (row_number() OVER (ORDER BY key)) that keeps every chunk_size-th key,
    the last row number (the exact row count) and where the NULL keys
    start (a range split would lose them). */
#ifndef FERRY_COORDINATOR_SOURCE_H
#define FERRY_COORDINATOR_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "copyjob.h"
#include "pg.h"
#include "plan.h"

typedef struct source_t source_t;

source_t *source_new (const char *conninfo);

/*  Why the last call that failed with an error from the server failed:
    "source: WHAT: [SQLSTATE] message (detail)" (borrowed; not logged:
    the caller logs it once, or carries it up). */
const ferr_t *source_error (source_t *self);
void source_destroy (source_t **self_p);

/*  Starts connecting on a thread of its own (pg_connect_begin): the run's
    other connections open meanwhile; source_open waits for it. The
    session is named app (a run's: ferry/<run>/coordinator-source). */
void source_connect_begin (source_t *self, const char *app);

/*  Connects (with retries) and opens the planning transaction; with
    `export_snapshot` also exports the snapshot (source_snapshot). Returns
    0 or -1 (source_error). */
int source_open (source_t *self, const retry_policy_t *policy, bool export_snapshot,
                 volatile int *stop);

/*  The exported snapshot id (borrowed) or NULL. */
const char *source_snapshot (source_t *self);

/*  The connection (borrowed), for copyjob_prepare. */
pg_conn_t *source_conn (source_t *self);

/*  The planner's row estimate for the query (EXPLAIN; cheap), for progress
    when no exact count is taken. Returns 0 or -1 (source_error). */
int source_estimate (source_t *self, const copyjob_t *job, int64_t *rows);

/*  The heap a ctid split reads (source_ctid_probe). */
typedef struct {
    int64_t nblocks;           /* blocks in the table's heap at planning */
    int64_t est_rows;          /* the planner's row estimate for the query */
    char relation[300];        /* schema.table, for messages */
    char schema[129], name[129]; /* the table's names, unquoted */
} source_heap_t;

/*  Whether the query can be split into ranges of heap blocks: its plan is
    a Seq Scan of one table with no filter and no subplans (so every row of
    the table, in this snapshot, is one row of the query), and the query
    followed by "WHERE ctid >= ... AND ctid < ..." plans as a TID Range
    Scan of that same table with no other condition. Runs inside a
    savepoint of the source transaction, so a query that refuses the WHERE
    leaves the exported snapshot alone. Returns 1 (eligible, heap filled),
    0 (not: the reason in why), -1 on a connection error (source_error). */
int source_ctid_probe (source_t *self, const copyjob_t *job, source_heap_t *heap,
                       char *why, size_t whylen);

/*  One pass over the keys: plans chunks of about chunk_size rows and
    returns the exact row count and the number of NULL keys. Returns the
    plan or NULL (source_error). */
plan_t *source_plan (source_t *self, const copyjob_t *job, int64_t chunk_size,
                     int64_t *total_rows, int64_t *null_keys);

/*  The planning transaction's snapshot as txid_current_snapshot() text
    (xmin:xmax:xip,...), recorded so that a resume can tell which rows
    changed since. Caller frees; NULL on error (source_error). */
char *source_txid_snapshot (source_t *self);

/*  Whether any row of heap's table was inserted or updated since snapshot
    (a source_txid_snapshot text of an earlier transaction): one
    sequential pass that stops at the first such row. Returns 1 (changed),
    0 (not: every row there now was there, as it is, in that snapshot), -1
    on error (source_error). Deleted rows are not seen. */
int source_heap_changed_since (source_t *self, const source_heap_t *heap, const char *snapshot);

/*  True while the snapshot-holding transaction is still alive (a cheap
    round trip). */
bool source_snapshot_alive (source_t *self);

/*  Ends the planning transaction (releases the snapshot). */
void source_close (source_t *self);

#endif
