/*  coordinator/resume.c: `ferry-coordinator resume RUN_ID --job JOB.yaml`,
    up to the load; see resume_prepare in run.h.

    What resume refuses, and why:
    - a job file whose fingerprint differs from the run's (jobprint.h):
      the chunks still to copy would read another query, file or mapping
      than the committed ones, and the target would mix both;
    - a direct run whose table another direct run loaded since it stopped,
      or that another direct run holds now (claim.h);
    - a direct, ctid-split run whose source table changed since its first
      snapshot (block ranges no longer hold the rows they held; a direct
      load cannot be started over).
    What it starts over (merge runs): a ctid-split run whose source table
    changed; and of a run whose staging table lost rows (UNLOGGED tables
    are emptied by a target's crash recovery), the chunks committed before
    the target's last start (all of them when that does not explain the
    loss). */
#include "exit_codes.h"
#include "log.h"
#include "publish_why.h"
#include "run.h"
#include "schema.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The job file against the run's recorded fingerprint. 0 same (or not
    recorded: a warning), -1 differs (err). */
static int
s_check_job (run_t *r, const ledger_run_t *run, ferr_t *err)
{
    if (!run->job_keys) {
        log_warn ("run %s was recorded without a job fingerprint (by an older ferry): cannot "
                  "check that %s is the job file it started with", r->run_id, r->args->job);
        return 0;
    }
    char changed[512];
    int d = jobprint_diff (run->job_keys, &r->print, changed, sizeof changed);
    if (d == 0)
        return 0;
    if (d < 0)
        ferr_set (err, NULL, false, "run %s: its recorded job fingerprint (ferry.runs.job_keys) is "
                  "not readable, so %s cannot be checked against the job the run started with; "
                  "nothing was changed. Start a new run", r->run_id, r->args->job);
    else
        ferr_set (err, NULL, false, "run %s was started with another job file: %s changed in %s "
                  "(resuming would mix the rows of two jobs in %s); nothing was changed. Resume "
                  "with the job file the run started with, or start a new run", r->run_id,
                  changed, r->args->job, r->cfg->target.table);
    return -1;
}

/*  A direct run may only go on if no other direct run holds or has loaded
    its table since. 0 or -1 (err; empty when logged). */
static int
s_claim_direct (run_t *r, const retry_policy_t *policy, volatile int *stop, ferr_t *err)
{
    if (!r->claim)
        r->claim = claim_new (r->cfg->target.conninfo, r->cfg->target.table, r->run_id);
    if (claim_take (r->claim, policy, stop, err->message, sizeof err->message) != 0)
        return -1;
    char *later = NULL;
    if (ledger_later_direct_run (r->ledger, r->run_id, r->cfg->target.table, &later) != 0) {
        ferr_set (err, NULL, false, "cannot read ferry.runs to check for later direct runs into %s",
                  r->cfg->target.table);
        return -1;
    }
    if (later) {
        ferr_set (err, NULL, false, "run %s (publish: direct) cannot be resumed: run %s loaded "
                  "into %s after it stopped, and their rows would mix; nothing was changed. "
                  "TRUNCATE %s and start a new run", r->run_id, later, r->cfg->target.table,
                  r->cfg->target.table);
        free (later);
        return -1;
    }
    return 0;
}

/*  Merge runs: have staged rows been lost since their chunks committed
    (a crash of the target empties UNLOGGED tables, staging included)?
    Returns 0 (no), 1 (yes: every chunk must load again, why set), 2 (yes,
    exactly the chunks committed before the target's last start: they were
    forgotten from the ledger, the others stand), or -1 on error (err;
    empty when logged). */
static int
s_staging_lost (run_t *r, char *why, size_t whylen, ferr_t *err)
{
    pg_conn_t *c = ledger_conn (r->ledger);
    if (!c)
        return -1;
    const char *params[1] = { r->staging };
    char *missing = NULL;
    if (pg_query_value (c, "SELECT to_regclass($1) IS NULL", 1, params, &missing) != 0) {
        ledger_log_error (r->ledger, "looking for the staging table");
        return -1;
    }
    bool gone = missing && missing[0] == 't';
    free (missing);
    if (gone) {
        snprintf (why, whylen, "the staging table %s is gone", r->staging);
        return 1;
    }
    publish_loss_t loss;
    int lost = publish_why_staging_lost (r->ledger, r->run_id, r->staging, &loss, err);
    if (lost < 0)
        return -1;
    if (!lost)
        return 0;
    if (!loss.restart_explains) {
        snprintf (why, whylen, "staging %s holds %lld rows but the ledger accounts for %lld "
                  "committed rows: staged rows were lost (a crash of the target empties UNLOGGED "
                  "tables such as staging; or rows were deleted from it)", r->staging,
                  (long long) loss.staged, (long long) loss.ledger_rows);
        return 1;
    }
    log_warn ("run %s: staging %s holds %lld rows but the ledger accounts for %lld committed "
              "rows: the staged rows of the %lld chunk(s) committed before the target's restart "
              "at %s were lost with it (crash recovery empties UNLOGGED tables, and staging is "
              "one); loading those chunk(s) again", r->run_id, r->staging,
              (long long) loss.staged, (long long) loss.ledger_rows,
              (long long) loss.before_chunks, loss.started_at);
    int64_t n = ledger_forget_before_restart (r->ledger, r->run_id);
    return n < 0 ? -1 : 2;
}

/*  A ctid-split run: may its committed chunks stand? Sets *why to the
    reason they may not (empty: they may). 0, or -1 (err). */
static int
s_check_ctid (run_t *r, const ledger_run_t *run, bool partial, char *why, size_t whylen,
              ferr_t *err)
{
    why[0] = 0;
    char probe[1024] = "";
    int p = source_ctid_probe (r->source, r->job, &r->heap, probe, sizeof probe);
    if (p < 0) {
        ferr_copy (err, source_error (r->source));
        ferr_prefix (err, "run %s split the table by heap block (ctid), but the source "
                     "connection failed", r->run_id);
        return -1;
    }
    if (p == 0) {
        ferr_set (err, NULL, false, "run %s split the table by heap block (ctid), but %s",
                  r->run_id, probe);
        return -1;
    }
    r->job->ctid_split = true;
    if (!partial)
        return 0;           /* nothing or everything committed: one snapshot either way */
    if (!run->source_snapshot) {
        snprintf (why, whylen, "the run was recorded without its first snapshot (by an older "
                  "ferry)");
        return 0;
    }
    int changed = source_heap_changed_since (r->source, &r->heap, run->source_snapshot);
    if (changed < 0) {
        ferr_copy (err, source_error (r->source));
        ferr_prefix (err, "run %s: cannot check the source table %s for changes since the "
                     "run's first snapshot", r->run_id, r->heap.relation);
        return -1;
    }
    if (changed)
        snprintf (why, whylen, "rows of %s were inserted or updated since the run's first "
                  "snapshot, so its heap block ranges no longer hold the rows they held",
                  r->heap.relation);
    return 0;
}

int
resume_prepare (run_t *r, const retry_policy_t *policy, volatile int *stop,
                ferr_t *err, int *exit_code)
{
    ledger_run_t run;
    int rc = ledger_load_run (r->ledger, r->run_id, &run);
    if (rc != 0) {
        if (rc == 1)
            ferr_set (err, NULL, false, "run %s does not exist in ferry.runs on the target",
                      r->run_id);
        return -1;
    }
    rc = -1;
    int64_t *rows = NULL;
    bool direct = strcmp (run.publish, "direct") == 0;
    if (strcmp (run.status, "published") == 0 || strcmp (run.status, "publishing") == 0) {
        /*  'publishing' is only ever committed together with the publish. */
        log_info ("run %s is already published; nothing to do", r->run_id);
        *exit_code = EXIT_CODE_OK;
        rc = 0;
        goto done;
    }
    if (direct != (r->cfg->target.publish == PUBLISH_DIRECT)) {
        ferr_set (err, NULL, false, "run %s was started with publish: %s but the job file says %s",
                  r->run_id, run.publish, direct ? "merge" : "direct");
        goto done;
    }
    if (s_check_job (r, &run, err) != 0)
        goto done;
    if (direct && s_claim_direct (r, policy, stop, err) != 0)
        goto done;
    free (r->staging);
    r->staging = direct ? NULL : xstrdup (run.staging);
    r->chunks = chunktab_new (policy, retry_seed ());
    int n = ledger_load_plan (r->ledger, r->run_id, r->chunks);
    if (n < 0)
        goto done;
    if (n == 0) {
        ferr_set (err, NULL, false, "run %s has no plan in ferry.chunks (it stopped before loading "
                  "anything): start a new run", r->run_id);
        goto done;
    }
    rows = xcalloc ((size_t) n, sizeof *rows);
    if (ledger_committed_rows (r->ledger, r->run_id, (size_t) n, rows, NULL) != 0)
        goto done;
    int committed = 0;
    for (int i = 0; i < n; i++)
        committed += rows[i] >= 0;

    /*  May what committed stand? */
    char why[1024] = "";
    bool ctid = strcmp (run.split, "ctid") == 0;
    bool partial = committed > 0 && committed < n;
    if (ctid && s_check_ctid (r, &run, partial, why, sizeof why, err) != 0)
        goto done;
    if (ctid && !why[0] && partial)
        log_info ("run %s split %s by heap block (ctid): the table is unchanged since the run's "
                  "first snapshot, so the %d committed chunk(s) stand", r->run_id,
                  r->heap.relation, committed);
    if (!why[0] && !direct && committed > 0) {
        int lost = s_staging_lost (r, why, sizeof why, err);
        if (lost < 0)
            goto done;
        if (lost == 2) {
            /*  Only the chunks committed before the restart were forgotten:
                read the ledger again. */
            if (ledger_committed_rows (r->ledger, r->run_id, (size_t) n, rows, NULL) != 0)
                goto done;
            committed = 0;
            for (int i = 0; i < n; i++)
                committed += rows[i] >= 0;
        }
    }
    if (why[0] && partial && direct) {
        ferr_set (err, NULL, false, "run %s (publish: direct) cannot be resumed: %s. The %d "
                  "chunk(s) left cannot be read consistently with the %d committed; nothing was "
                  "changed. TRUNCATE %s and start a new run (source.split: key makes direct runs "
                  "resumable while the source is written)", r->run_id, why, n - committed,
                  committed, r->cfg->target.table);
        goto done;
    }
    if (!direct) {
        pg_conn_t *c = ledger_conn (r->ledger);
        if (!c)
            goto done;      /* logged */
        if (schema_create_staging (c, r->staging, r->cfg->target.table) != 0) {
            pg_ferr (c, err, "target: creating the staging table");
            goto done;
        }
    }
    if (why[0] && committed > 0 && !direct) {
        log_warn ("run %s: %s; loading every chunk again on a new snapshot (%d of %d chunk(s) "
                  "had committed)", r->run_id, why, committed, n);
        if (ledger_reset_load (r->ledger, r->run_id, r->staging) != 0)
            goto done;
        for (int i = 0; i < n; i++)
            rows[i] = -1;
        committed = 0;
    }
    if (ctid && committed == 0 && source_snapshot (r->source)) {
        /*  The whole load reads this snapshot now: later resumes check
            against it. */
        char *snap = source_txid_snapshot (r->source);
        if (!snap)
            ferr_copy (err, source_error (r->source));
        if (!snap || ledger_set_source_snapshot (r->ledger, r->run_id, snap) != 0) {
            free (snap);
            goto done;
        }
        free (snap);
    }
    for (int i = 0; i < n; i++)
        if (rows[i] >= 0) {
            chunktab_done (r->chunks, i, 0, -1, util_now_ms (), rows[i], 0, 0);
            chunk_t *c = chunktab_get (r->chunks, i);
            c->rows_from_ledger = true;
        }
    if (source_snapshot (r->source) && committed > 0 && committed < n)
        log_warn ("resumed run: the %d chunk(s) still to copy read a new snapshot of the source; "
                  "the %d committed before read the old one", n - committed, committed);
    log_info ("resuming run %s: %d of %d chunk(s) already committed, %d to copy", r->run_id,
              committed, n, n - committed);
    /*  Chunks whose commit the previous coordinator never heard of (it
        died first) are done in ferry.chunks too, with their attempts as
        they were. */
    const char *params[1] = { r->run_id };
    if (committed > 0 && pg_exec_params (ledger_conn (r->ledger), "UPDATE ferry.chunks k SET "
                                         "status = 'done', worker = c.worker, updated_at = now() "
                                         "FROM ferry.chunk_commits c WHERE k.run_id = $1 AND "
                                         "c.run_id = $1 AND c.chunk_id = k.chunk_id AND "
                                         "c.committed_at IS NOT NULL AND k.status <> 'done'",
                                         1, params, NULL) != 0)
        ledger_log_error (r->ledger, "marking the committed chunks done in ferry.chunks");
    /*  The source may have changed since the first count: no exact
        source-count check on a resumed run (the ledger and staging still
        must agree). */
    r->rows_source = -1;
    r->snapshot_exact = false;
    ledger_set_status (r->ledger, r->run_id, "loading");
    rc = 0;
done:
    free (rows);
    ledger_run_free (&run);
    return rc;
}
