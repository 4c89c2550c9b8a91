/*  coordinator/publish_why.h: why a publish is refused or failed, in words
    an operator can act on.

    publish_merge (publish.c) calls the publish_why_lock / _cancel / _count
    helpers after its transaction rolled back, to name the cause: the
    sessions holding the lock it waited for, the statement_timeout that
    cancelled it, the triggers that skipped rows, the staged rows that a
    crash of the target took away. The coordinator also calls
    publish_why_staging_lost (resume: which chunks must be loaded again)
    and publish_why_nothing_loaded (a file source whose every record was
    rejected must not publish as a success).

    All queries run on the coordinator's target connection, outside any
    transaction; every result is cleared here. A query that fails only
    makes the explanation shorter: these helpers never fail the run. */
#ifndef FERRY_COORDINATOR_PUBLISH_WHY_H
#define FERRY_COORDINATOR_PUBLISH_WHY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "error.h"
#include "pg.h"

/*  Writes who holds a lock that the publish (LOCK TABLE final, its
    statement, DROP TABLE staging) waits for: up to 5 sessions holding a
    granted lock on the final table (other than ACCESS SHARE) or on staging,
    each as "pid P (application_name 'A', STATE, MODE on TABLE, query 'Q')"
    (the query cut to 120 characters). c may be NULL (no connection): then
    only the timeout is named. Can't fail. */
void publish_why_lock (pg_conn_t *c, const char *final_table, const char *staging,
                       double lock_timeout, char *out, size_t outlen);

/*  Writes why a publish statement was cancelled (57014): the session's
    statement_timeout when one is set (and where to raise it), else another
    session's pg_cancel_backend. c may be NULL. Can't fail. */
void publish_why_cancel (pg_conn_t *c, char *out, size_t outlen);

/*  The whole error (err) for a row count that does not add up: the publishing
    statement wrote `written` rows (or -1: not known) or staging was counted
    at `counted` rows (or -1), while the ledger accounts for `expected`.
    Counts staging again: when it holds `expected` rows, the statement
    skipped some and the final table's triggers (pg_trigger, not internal,
    enabled) are named as the likely cause; when it holds fewer, the rows
    were lost (publish_why_loss_message); when more, staging was written by
    something else. c may be NULL. Can't fail. */
void publish_why_count (pg_conn_t *c, const char *final_table, const char *staging,
                        const char *run_id, const char *job_file, int64_t expected,
                        int64_t written, int64_t counted, ferr_t *err);

/*  Staging against the ledger, for a run whose target may have crashed
    since its chunks committed (crash recovery empties UNLOGGED tables,
    staging included; a fast restart keeps them). */
typedef struct {
    int64_t staged;            /* count(*) of staging */
    int64_t ledger_rows;       /* rows of the run's committed chunks */
    int64_t ledger_chunks;     /* committed chunks */
    int64_t before_chunks;     /* chunks committed before the target's last start */
    int64_t before_rows;       /* ... and their rows */
    bool restart_explains;     /* before_chunks > 0 and staged == ledger_rows -
                                  before_rows: exactly the chunks committed before
                                  the last start are gone */
    char started_at[40];       /* pg_postmaster_start_time() as text */
} publish_loss_t;

/*  Compares count(*) of `staging` with the run's committed ledger rows.
    Returns 1 when staging holds fewer rows: staged rows were lost. The
    chunks to load again are then, when loss->restart_explains, those of
    ferry.chunk_commits with `committed_at < pg_postmaster_start_time()`;
    otherwise they cannot be told apart (a backend crash resets UNLOGGED
    tables without restarting the postmaster): load the whole run again.
    Returns 0 when staging holds at least the ledger's rows, -1 on error
    (err set, e.g. staging does not exist; left empty when the target
    could not be reached: that was logged). */
int publish_why_staging_lost (ledger_t *ledger, const char *run_id, const char *staging,
                              publish_loss_t *loss, ferr_t *err);

/*  The operator's message for a loss found by publish_why_staging_lost:
    what was lost, why, that nothing was published, and the resume command
    (job_file may be NULL: "JOB.yaml"). Can't fail. */
void publish_why_loss_message (const publish_loss_t *loss, const char *staging,
                               const char *run_id, const char *job_file, char *out,
                               size_t outlen);

/*  A file source that loaded nothing while rejecting records must not look
    like a success, whatever source.max_error_rate allows: returns -1 with
    a message (the first rejects from ferry.rejects, what to check: format,
    delimiter, encoding, columns; nothing was published) when loaded == 0
    and rejected > 0, else 0. */
int publish_why_nothing_loaded (ledger_t *ledger, const char *run_id, int64_t loaded,
                                int64_t rejected, ferr_t *err);

#endif
