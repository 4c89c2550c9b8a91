/*  coordinator/rerun.c: `ferry-coordinator run JOB --run-id X` when X is
    already in ferry.runs: the same command again (a Job controller's
    retry of a pod that died) goes on with the same run. See rerun_decide
    in run.h.

    Why `run --run-id X` itself and not a separate --resume-or-run: a
    Job's pod template cannot change between retries, so the command must
    mean "this run, however far it got" every time it is started; a
    second run under a name that already exists was always refused
    (ferry.runs' key), so no command that worked changes meaning; and
    resume refuses a job file other than the one X started with
    (jobprint.h), so reusing a name by mistake cannot mix two jobs. */
#include "log.h"
#include "run.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The rows of ferry.chunks and ferry.chunk_commits for run_id, into
    *plan and *commits. 0, or -1 (logged). */
static int
s_counts (run_t *r, int64_t *plan, int64_t *commits)
{
    pg_conn_t *c = ledger_conn (r->ledger);
    const char *params[1] = { r->run_id };
    char *v = NULL;
    if (!c || pg_query_value (c, "SELECT (SELECT count(*) FROM ferry.chunks WHERE run_id = $1) "
                              "|| ' ' || (SELECT count(*) FROM ferry.chunk_commits "
                              "WHERE run_id = $1)", 1, params, &v) != 0) {
        ledger_log_error (r->ledger, "reading the run's plan and ledger");
        free (v);
        return -1;
    }
    long long p = 0, n = 0;
    int ok = v && sscanf (v, "%lld %lld", &p, &n) == 2;
    free (v);
    if (!ok)
        return -1;
    *plan = p;
    *commits = n;
    return 0;
}

int
rerun_decide (run_t *r, ferr_t *err)
{
    ledger_run_t run;
    int rc = ledger_load_run (r->ledger, r->run_id, &run);
    if (rc != 0)
        return rc == 1 ? 0 : -1;        /* 1: a new run */
    rc = -1;
    int64_t plan = 0, commits = 0;
    if (strcmp (run.status, "published") == 0 || strcmp (run.status, "publishing") == 0) {
        log_info ("run %s exists and is %s: nothing to do (run --run-id goes on with a run "
                  "that exists)", r->run_id, run.status);
        rc = 1;
    }
    else if (s_counts (r, &plan, &commits) != 0)
        ferr_set (err, NULL, false, "run %s: cannot read its plan in ferry.chunks", r->run_id);
    else if (plan > 0 || commits > 0) {
        log_info ("run %s exists (status %s): resuming it (run --run-id goes on with a run "
                  "that exists)", r->run_id, run.status);
        rc = 1;
    }
    else {
        /*  It stopped before its plan was written: nothing of it is in
            the target but its row (and maybe an empty staging table).
            Start it again under the same name. */
        const char *params[1] = { r->run_id };
        PGresult *res = NULL;
        pg_conn_t *c = ledger_conn (r->ledger);
        if (ledger_drop_unloaded (r->ledger, r->run_id, run.staging) != 0
        ||  !c || pg_exec_params (c, "DELETE FROM ferry.runs WHERE run_id = $1 AND NOT EXISTS "
                                  "(SELECT 1 FROM ferry.chunk_commits WHERE run_id = $1)",
                                  1, params, &res) != 0)
            ferr_set (err, NULL, false, "run %s exists without a plan and cannot be started "
                      "again: its row in ferry.runs could not be deleted", r->run_id);
        else {
            log_info ("run %s exists (status %s) but stopped before its plan was recorded: "
                      "starting it again", r->run_id, run.status);
            rc = 0;
        }
        PQclear (res);
    }
    ledger_run_free (&run);
    return rc;
}
