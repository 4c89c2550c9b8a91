/*  coordinator/run_finish.c: after the load. run_durable makes the chunk
    commits durable and plans again any a target crash undid; run_verify
    checks that every row is accounted for (the ledger against the plan,
    verify_ledger) and,
    for a file, that the rejects stay within source.max_errors and
    source.max_error_rate; run_publish moves staging into the final table
    in one transaction (merge) and analyzes the final table. */
#include "log.h"
#include "phase.h"
#include "publish_why.h"
#include "run.h"
#include "util.h"
#include "verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/*  The ledger's committed rows per chunk against the plan. 0, or -1 with
    err. */
static int
s_verify_ledger (run_t *r, ferr_t *err)
{
    size_t n = chunktab_size (r->chunks);
    int64_t *ledger_rows = xcalloc (n + 1, sizeof *ledger_rows);
    int64_t *ledger_rejected = xcalloc (n + 1, sizeof *ledger_rejected);
    int rc = -1;
    r->rejected = 0;
    if (ledger_committed_rows (r->ledger, r->run_id, n, ledger_rows, ledger_rejected) != 0)
        ferr_set (err, NULL, false, "cannot read the ledger to verify the run");
    else
        rc = verify_ledger (r->chunks, ledger_rows, ledger_rejected, r->snapshot_exact,
                            r->rows_source, &r->loaded, &r->rejected, err);
    free (ledger_rows);
    free (ledger_rejected);
    return rc;
}

/*  ferry.runs.status 'verifying': a synchronous commit, so the WAL is on
    disk up to it, every chunk commit before it included. 0 or -1. */
static int
s_flush (run_t *r)
{
    if (ledger_set_status (r->ledger, r->run_id, "verifying") != 0)
        return -1;
    r->flushed = true;
    return 0;
}

/*  Rejected records of the done chunks. */
static int64_t
s_done_rejected (chunktab_t *chunks)
{
    int64_t n = 0;
    for (size_t i = 0; i < chunktab_size (chunks); i++) {
        chunk_t *c = chunktab_get (chunks, (int64_t) i);
        if (c->state == CHUNK_STATE_DONE)
            n += c->rejected;
    }
    return n;
}

int
run_durable (run_t *r)
{
    r->flushed = false;
    if (s_flush (r) != 0)
        return -1;
    size_t n = chunktab_size (r->chunks);
    int64_t *rows = xcalloc (n + 1, sizeof *rows);
    enum { NAMED = 8 };         /* chunk ids named in the warning */
    int64_t lost[NAMED];
    int redo = -1;
    if (ledger_committed_rows (r->ledger, r->run_id, n, rows, NULL) == 0) {
        int64_t rejected = s_done_rejected (r->chunks);
        size_t k = verify_lost_commits (r->chunks, rows, ledger_reconnected_ms (r->ledger),
                                        util_now_ms (), lost, NAMED);
        redo = (int) k;
        if (k > 0) {
            if (r->dispatch)
                dispatch_uncount_rejected (r->dispatch, rejected - s_done_rejected (r->chunks));
            char ids[128] = "";
            for (size_t i = 0, o = 0; i < k && i < NAMED && o < sizeof ids; i++)
                o += (size_t) snprintf (ids + o, sizeof ids - o, "%s%" PRId64, i ? ", " : "",
                                        lost[i]);
            log_warn ("%zu chunk(s) reported done lost their commit when the target restarted "
                      "or crashed (chunk %s%s): copying them again", k, ids,
                      k > NAMED ? ", ..." : "");
            r->flushed = false;
            ledger_set_status (r->ledger, r->run_id, "loading");
        }
    }
    free (rows);
    return redo;
}

/*  A file's rejects: written out, and within the job's limits. */
static int
s_check_rejects (run_t *r)
{
    config_t *cfg = r->cfg;
    if (cfg->source.rejects_file) {
        int64_t n = ledger_write_rejects_file (r->ledger, r->run_id, cfg->source.rejects_file);
        if (n >= 0 && r->rejected > 0)
            log_info ("%" PRId64 " rejected record(s) written to %s", n, cfg->source.rejects_file);
    }
    double rate = r->rows_source > 0 ? (double) r->rejected / (double) r->rows_source : 0;
    if (r->rejected > 0)
        log_warn ("%" PRId64 " of %" PRId64 " records rejected (%.3f%%); reasons in "
                  "ferry.rejects (run %s)", r->rejected, r->rows_source, 100.0 * rate, r->run_id);
    if (publish_why_nothing_loaded (r->ledger, r->run_id, r->loaded, r->rejected, &r->err) != 0)
        return -1;
    if (cfg->source.max_errors >= 0 && r->rejected > cfg->source.max_errors) {
        ferr_set (&r->err, NULL, false, "source.max_errors: %" PRId64 " records "
                  "rejected (limit %" PRId64 "); nothing was published", r->rejected,
                  cfg->source.max_errors);
        return -1;
    }
    if (rate > cfg->source.max_error_rate) {
        ferr_set (&r->err, NULL, false, "source.max_error_rate: %.4f of the records "
                  "were rejected (limit %.4f); nothing was published", rate,
                  cfg->source.max_error_rate);
        return -1;
    }
    return 0;
}

int
run_verify (run_t *r)
{
    observe_phase (r->obs, "verifying");
    char err[2048];
    if (r->claim && claim_check (r->claim, err, sizeof err) != 0) {
        ferr_set (&r->err, NULL, false, "%s; the rows committed so far stay in %s", err,
                  r->cfg->target.table);
        return -1;
    }
    phase_t *verifying = phase_new ("verifying");
    /*  A resumed run that had nothing left to load did not pass
        run_durable. */
    int vrc = r->flushed || s_flush (r) == 0 ? s_verify_ledger (r, &r->err) : -1;
    if (vrc != 0 && !ferr_is_set (&r->err))
        ferr_set (&r->err, NULL, false, "cannot update ferry.runs before verifying");
    phase_destroy (&verifying);
    if (vrc != 0) {
        ferr_prefix (&r->err, "verification failed");
        ferr_append (&r->err, "; nothing was published");
        return -1;
    }
    r->t_verified = util_now_s ();
    if (r->plan_estimated)
        r->rows_source = r->loaded + r->rejected;  /* what the chunks read is the source */
    return r->file ? s_check_rejects (r) : 0;
}

int
run_publish (run_t *r)
{
    observe_phase (r->obs, "publishing");
    if (!r->direct) {
        publish_opts_t po = { .run_id = r->run_id, .job_file = r->args->job,
                              .expected_rows = r->loaded, .policy = &r->policy,
                              .stop = r->stop };
        if (publish_merge (r->ledger, r->cfg, r->job, r->staging, &po, &r->pub, &r->err) != 0) {
            ferr_prefix (&r->err, "publish failed");
            return -1;
        }
        log_info ("published %" PRId64 " rows into %s by %s in %.2fs", r->loaded,
                  r->cfg->target.table, r->pub.strategy, r->pub.seconds);
    }
    if (!r->cfg->target.analyze)
        return 0;
    /*  ANALYZE reads the whole table: the server's statement_timeout,
        not target.statement_timeout (for control statements). */
    char *an = util_strdupf ("BEGIN; SET LOCAL statement_timeout TO DEFAULT; ANALYZE %s; "
                             "COMMIT", r->final_q);
    pg_conn_t *c = ledger_conn (r->ledger);
    double t0 = util_now_s ();
    if (c && pg_exec (c, an) != 0)
        log_warn ("ANALYZE %s failed: %s", r->cfg->target.table, pg_conn_error (c)->message);
    r->analyze_seconds = util_now_s () - t0;
    free (an);
    return 0;
}
