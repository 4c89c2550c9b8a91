/*  coordinator/publish.h: from staging to the final table, in ONE
    transaction.

    The statement is chosen for speed with MERGE's result:
      - the final table is empty and has a unique index on the merge key:
        INSERT ... SELECT (duplicate keys fail on the index);
      - a unique index on the merge key and on_match update/ignore:
        INSERT ... ON CONFLICT (key) DO UPDATE / DO NOTHING;
      - otherwise MERGE INTO final USING staging ON key.
    Duplicate merge keys in the source are a clear error, found by the
    statement itself where it can (unique index, ON CONFLICT DO UPDATE) or
    by one GROUP BY over staging first. on_match: error checks for matching
    rows first and publishes nothing if there are any. The staging table is
    dropped and the run marked published in the same transaction.

    Accounting: staging must hold exactly `expected_rows` (the ledger's
    sum). Where the statement touches every staging row (insert, upsert)
    its own row count proves it, at no extra cost; otherwise one count(*)
    of staging runs first. A mismatch rolls everything back.

    Failures: the transaction waits at most target.lock_timeout for a lock;
    a retryable SQLSTATE (a target restart) retries it as a whole; every
    other failure is explained after the rollback by publish_why.c (lock
    holders, statement_timeout, triggers, lost staging rows). */
#ifndef FERRY_COORDINATOR_PUBLISH_H
#define FERRY_COORDINATOR_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "copyjob.h"
#include "ledger.h"

typedef struct {
    const char *strategy;      /* "insert", "upsert", "insert-ignore", "merge" (static) */
    int64_t rows_affected;
    double seconds;
    int attempts;              /* transactions tried (1 unless retried) */
} publish_result_t;

/*  What publish_merge needs besides the job. All borrowed. */
typedef struct {
    const char *run_id;
    const char *job_file;            /* named in the resume command of messages */
    int64_t expected_rows;           /* the ledger's sum */
    const retry_policy_t *policy;    /* retries of the whole transaction; NULL: none */
    volatile int *stop;              /* ends a back-off early; may be NULL */
} publish_opts_t;

/*  Publishes `staging` into the final table. The transaction runs under
    SET LOCAL lock_timeout = target.lock_timeout, and is retried as a whole
    (after the policy's back-off, on a fresh connection) when it fails with
    a retryable SQLSTATE (pg_sqlstate_is_retryable): a target restart in
    the middle of it costs a retry. A connection lost during COMMIT is
    resolved by the run's status ('publishing' is set inside the
    transaction) before trying again, so the rows are never published
    twice. Returns 0, or -1 with err (common/base/error.h) that names the cause
    (SQLSTATE; the blocking sessions for a lock timeout; the triggers when
    the statement wrote fewer rows than staging holds; lost staging rows),
    says that nothing was published and what to do (the resume command).
    Staging is kept on failure. Logs retries only (the caller logs err).
    The statements' text comes from publish_sql.c, the catalog queries
    from catalog.c. */
int publish_merge (ledger_t *ledger, const config_t *cfg, const copyjob_t *job,
                   const char *staging, const publish_opts_t *opts,
                   publish_result_t *result, ferr_t *err);

#endif
