/*  coordinator/publish.c: see publish.h. The diagnostics that name the
    cause of a failed publish (lock holders, triggers, lost staging rows)
    are in publish_why.c. */
#include "publish.h"
#include "catalog.h"
#include "publish_plan.h"
#include "publish_sql.h"
#include "publish_why.h"
#include "log.h"
#include "phase.h"
#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  True when a query column is among the names; staging has the final
    table's columns, the job only some of them. */
static bool
s_in_query (const copyjob_t *job, const char *name)
{
    char *q = pg_quote_ident (name);
    /*  column_list is "\"a\", \"b\"": look for the quoted name followed by
        ',' or the end, preceded by the start or a space. */
    bool found = false;
    size_t ql = strlen (q);
    for (const char *p = job->column_list; (p = strstr (p, q)) != NULL; p += ql) {
        bool start = p == job->column_list || p[-1] == ' ';
        bool end = p[ql] == 0 || p[ql] == ',';
        if (start && end) {
            found = true;
            break;
        }
    }
    free (q);
    return found;
}

/*  Why an attempt failed, for the message composed after the rollback. */
typedef enum {
    FAIL_DONE,          /* err holds the whole message */
    FAIL_SQL,           /* p->what was being done, p->e the server's error */
    FAIL_COUNT,         /* count(*) of staging (p->rows) != expected, before the statement */
    FAIL_WRITTEN        /* the statement wrote p->rows rows, not the expected number */
} fail_t;

/*  The publish of one run: the statement's pieces, built once, and the
    outcome of the last attempt. */
typedef struct {
    const config_t *cfg;
    const copyjob_t *job;
    const char *staging;
    const publish_opts_t *opts;
    char *final;                    /* quoted final table */
    char **cols;                    /* staging's columns */
    int ncols;
    char **written;                 /* the query's columns among them (borrowed from cols) */
    publish_sql_t *sql;             /* the statements' pieces (publish_sql.h) */
    fail_t fail;
    const char *what;               /* FAIL_SQL: what was being done */
    pg_error_t e;                   /* FAIL_SQL: the server's error */
    int64_t rows;                   /* FAIL_COUNT, FAIL_WRITTEN */
    phase_t *phase;                 /* the progress line while publishing */
} pub_t;

/*  Records a failed statement: what it was doing and the server's error. */
static void
s_fail (pub_t *p, pg_conn_t *c, const char *what)
{
    p->fail = FAIL_SQL;
    p->e = *pg_conn_error (c);
    p->what = what;
}

/*  Builds the statements' pieces from staging's columns. Returns 0, or -1
    with p->fail (FAIL_DONE: err set, or FAIL_SQL). */
static int
s_prepare (pub_t *p, pg_conn_t *c, ferr_t *err)
{
    const config_t *cfg = p->cfg;
    if (cfg->target.merge_key_count == 0) {
        /*  config_load refuses such a job; never build SQL from no key. */
        ferr_set (err, NULL, false, "target.merge.key is empty: a merge needs a key; nothing "
                  "was published");
        p->fail = FAIL_DONE;
        return -1;
    }
    for (size_t i = 0; i < cfg->target.merge_key_count; i++)
        if (!s_in_query (p->job, cfg->target.merge_key[i])) {
            ferr_set (err, NULL, false, "target.merge.key: column \"%s\" is not among the "
                      "query's columns", cfg->target.merge_key[i]);
            p->fail = FAIL_DONE;
            return -1;
        }
    if (catalog_columns (c, p->staging, &p->cols, &p->ncols) != 0) {
        s_fail (p, c, p->staging);
        return -1;
    }
    p->written = xcalloc ((size_t) p->ncols + 1, sizeof *p->written);
    size_t n = 0;
    for (int i = 0; i < p->ncols; i++)
        if (s_in_query (p->job, p->cols[i]))
            p->written[n++] = p->cols[i];
    publish_sql_in_t in = { .final = p->final, .staging = p->staging,
                            .keys = cfg->target.merge_key, .nkeys = cfg->target.merge_key_count,
                            .cols = p->written, .ncols = n, .on_match = cfg->target.on_match };
    p->sql = publish_sql_new (&in);
    return 0;
}

/*  Runs `sql` (no parameters; freed here) into *res_p; on error records
    `what`. */
static int
s_query (pub_t *p, pg_conn_t *c, char *sql, PGresult **res_p, const char *what)
{
    int rc = pg_exec_params (c, sql, 0, NULL, res_p);
    free (sql);
    if (rc != 0)
        s_fail (p, c, what);
    return rc;
}

/*  Runs a statement that returns one count (`sql` freed here) into *n_p
    (the text). Returns 0, or -1 with p->fail. */
static int
s_count (pub_t *p, pg_conn_t *c, char *sql, const char *what, char **n_p)
{
    PGresult *res = NULL;
    if (s_query (p, c, sql, &res, what) != 0)
        return -1;
    *n_p = xstrdup (PQgetvalue (res, 0, 0));
    PQclear (res);
    return 0;
}

/*  A NULL merge key never matches (NULL = NULL is not true), so a repeated
    merge would add such rows again each time: refuse staged rows with a
    NULL in a merge key column. Not checked when every merge key column is
    NOT NULL in the final table (the insert refuses a NULL by itself,
    23502). Returns 0 (none), or -1 with err and p->fail set. */
static int
s_null_keys (pub_t *p, pg_conn_t *c, ferr_t *err)
{
    const config_t *cfg = p->cfg;
    bool not_null = false;
    if (catalog_not_null (c, cfg->target.table, cfg->target.merge_key,
                          cfg->target.merge_key_count, &not_null) != 0) {
        s_fail (p, c, "publish: reading the merge key's columns");
        return -1;
    }
    if (not_null)
        return 0;
    char *n = NULL;
    if (s_count (p, c, publish_sql_null_keys (p->sql), "publish: checking for NULL merge keys",
                 &n) != 0)
        return -1;
    int rc = 0;
    if (strcmp (n, "0") != 0) {
        ferr_set (err, NULL, false, "%s source row(s) have a NULL merge key (%s): a NULL key "
                  "never matches a row of %s, so every merge would add them again; nothing "
                  "was published. Filter them out in source.query, or choose a NOT NULL "
                  "target.merge.key", n, p->sql->keys, cfg->target.table);
        p->fail = FAIL_DONE;
        rc = -1;
    }
    free (n);
    return rc;
}

/*  What the final table is like under the lock: a unique index on the
    merge key, empty. Returns 0, or -1 with p->fail. */
static int
s_inspect (pub_t *p, pg_conn_t *c, bool *unique, bool *empty)
{
    const config_t *cfg = p->cfg;
    const char *what = "publish: inspecting the final table";
    if (catalog_unique_index (c, cfg->target.table, cfg->target.merge_key,
                              cfg->target.merge_key_count, unique) != 0) {
        s_fail (p, c, what);
        return -1;
    }
    char *n = NULL;
    if (s_count (p, c, util_strdupf ("SELECT NOT EXISTS (SELECT 1 FROM %s)", p->final), what,
                 &n) != 0)
        return -1;
    *empty = n[0] == 't';
    free (n);
    return 0;
}

/*  The checks the plan asks for before the statement: duplicate keys in
    staging, rows that already exist (on_match: error). Returns 0, or -1
    with p->fail (and err for FAIL_DONE). */
static int
s_checks (pub_t *p, pg_conn_t *c, const publish_plan_t *plan, ferr_t *err)
{
    const config_t *cfg = p->cfg;
    if (plan->check_duplicates) {
        PGresult *res = NULL;
        if (s_query (p, c, publish_sql_duplicates (p->sql), &res,
                     "publish: checking duplicate merge keys") != 0)
            return -1;
        int rows = PQntuples (res);
        if (rows > 0) {
            ferr_set (err, NULL, false, "the source holds duplicate merge keys (%s): ",
                      p->sql->keys);
            for (int r = 0; r < rows; r++)
                ferr_append (err, "%s%s x%s", r ? ", " : "", PQgetvalue (res, r, 0),
                             PQgetvalue (res, r, 1));
            ferr_append (err, "; nothing was published");
            p->fail = FAIL_DONE;
        }
        PQclear (res);
        if (rows > 0)
            return -1;
    }
    if (plan->check_existing) {
        char *n = NULL;
        if (s_count (p, c, publish_sql_existing (p->sql), "publish: checking for existing keys",
                     &n) != 0)
            return -1;
        bool any = strcmp (n, "0") != 0;
        if (any) {
            ferr_set (err, NULL, false, "target.merge.on_match is error and %s source rows "
                      "already exist in %s (by %s); nothing was published", n, cfg->target.table,
                      p->sql->keys);
            p->fail = FAIL_DONE;
        }
        free (n);
        if (any)
            return -1;
    }
    if (!plan->counts_all) {
        char *n = NULL;
        if (s_count (p, c, publish_sql_count (p->sql), "publish: counting staging", &n) != 0)
            return -1;
        p->rows = strtoll (n, NULL, 10);
        free (n);
        if (p->rows != p->opts->expected_rows) {
            p->fail = FAIL_COUNT;
            return -1;
        }
    }
    return 0;
}

/*  Runs the statement. Returns 0 with result->rows_affected, or -1 with
    p->fail (a duplicate key explained in err). */
static int
s_statement (pub_t *p, pg_conn_t *c, const publish_plan_t *plan, publish_result_t *result,
             ferr_t *err)
{
    char *sql = publish_sql_statement (p->sql, plan);
    PGresult *res = NULL;
    int rc = pg_exec_params (c, sql, 0, NULL, &res);
    free (sql);
    if (rc != 0) {
        const pg_error_t *e = pg_conn_error (c);
        p->fail = FAIL_DONE;
        if (strcmp (e->sqlstate, "21000") == 0)
            ferr_set (err, e->sqlstate, false, "the source holds duplicate merge keys (%s): "
                      "[%s] %s; nothing was published", p->sql->keys, e->sqlstate, e->message);
        else if (strcmp (e->sqlstate, "23505") == 0)
            ferr_set (err, e->sqlstate, false, "a unique constraint of %s refused the rows "
                      "(duplicate merge keys in the source, or another unique column): [%s] "
                      "%s%s%s; nothing was published", p->cfg->target.table, e->sqlstate,
                      e->message, e->detail[0] ? ": " : "", e->detail);
        else
            s_fail (p, c, "publish");
        return -1;
    }
    result->rows_affected = strtoll (PQcmdTuples (res), NULL, 10);
    PQclear (res);
    if (plan->counts_all && result->rows_affected != p->opts->expected_rows) {
        p->rows = result->rows_affected;
        p->fail = FAIL_WRITTEN;
        return -1;
    }
    return 0;
}

/*  Runs `sql` (freed here); on error records `what`. */
static int
s_exec (pub_t *p, pg_conn_t *c, char *sql, const char *what)
{
    int rc = pg_exec (c, sql);
    free (sql);
    if (rc != 0)
        s_fail (p, c, what);
    return rc;
}

/*  One publish transaction. Returns 0 (committed), or -1 with p->fail and
    err set; the transaction is then rolled back (or the connection gone). */
static int
s_attempt (pub_t *p, pg_conn_t *c, publish_result_t *result, ferr_t *err)
{
    const config_t *cfg = p->cfg;
    if (pg_exec (c, "BEGIN") != 0) {
        s_fail (p, c, "publish BEGIN");
        return -1;
    }
    /*  Never wait silently on a lock someone else holds (a long report on
        the final table, an open transaction, a reader of staging): give up
        after target.lock_timeout and name the holders (publish_why_lock).
        0 waits as long as it takes, whatever the server's default. */
    /*  The publish writes every staged row: not a control statement, so
        not under target.statement_timeout; the server's own setting
        (postgresql.conf, ALTER ROLE/DATABASE) applies, as in any
        session. */
    if (s_exec (p, c, util_strdupf ("SET LOCAL lock_timeout = '%lldms'; "
                                    "SET LOCAL statement_timeout TO DEFAULT",
                                    (long long) (cfg->target.lock_timeout * 1000.0 + 0.5)),
                "publish: setting lock_timeout") != 0)
        goto rollback;
    /*  Lock out concurrent writers first: the emptiness and key checks
        below must still hold when the statement runs. */
    if (s_exec (p, c, util_strdupf ("LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE", p->final),
                "publish: locking the final table") != 0)
        goto rollback;
    if (s_null_keys (p, c, err) != 0)
        goto rollback;
    bool unique = false, empty = false;
    if (s_inspect (p, c, &unique, &empty) != 0)
        goto rollback;
    publish_plan_t plan = publish_plan (unique, empty, cfg->target.on_match, p->sql->nset);
    result->strategy = plan.name;
    char *what = util_strdupf ("publishing by %s", plan.name);
    phase_set_what (p->phase, what);
    free (what);
    if (s_checks (p, c, &plan, err) != 0 || s_statement (p, c, &plan, result, err) != 0)
        goto rollback;
    if (s_exec (p, c, util_strdupf ("DROP TABLE %s", p->staging),
                "publish: dropping staging") != 0)
        goto rollback;
    const char *params[1] = { p->opts->run_id };
    if (pg_exec_params (c, "UPDATE ferry.runs SET status = 'publishing' WHERE run_id = $1",
                        1, params, NULL) != 0) {
        s_fail (p, c, "publish: marking the run publishing");
        goto rollback;
    }
    if (pg_exec (c, "COMMIT") != 0) {
        s_fail (p, c, "publish COMMIT");
        return -1;
    }
    return 0;

rollback:
    pg_rollback (c);
    return -1;
}

/*  After a retryable failure: did an earlier attempt commit after all (the
    connection died during COMMIT)? The run's status says 'publishing'
    only together with the published rows. 1 yes, 0 no, -1 unknown. */
static int
s_already_published (pg_conn_t *c, const char *run_id)
{
    const char *params[1] = { run_id };
    char *status = NULL;
    if (pg_query_value (c, "SELECT status FROM ferry.runs WHERE run_id = $1", 1, params,
                        &status) != 0)
        return -1;
    int rc = status && (strcmp (status, "publishing") == 0 || strcmp (status, "published") == 0);
    free (status);
    return rc;
}

/*  The message for a failed attempt, composed after the rollback (the
    explanations query the target). */
static void
s_explain (pub_t *p, pg_conn_t *conn, int attempts, ferr_t *err)
{
    const char *run_id = p->opts->run_id;
    const char *job_file = p->opts->job_file ? p->opts->job_file : "JOB.yaml";
    if (p->fail == FAIL_DONE)
        return;
    /*  The explanations query the target: only on a live connection. */
    pg_conn_t *c = pg_is_connected (conn) ? conn : NULL;
    char why[1536] = "";
    const char *todo = "once the cause is fixed";
    const char *outcome = "nothing was published (the transaction rolled back";
    if (p->fail == FAIL_COUNT || p->fail == FAIL_WRITTEN) {
        publish_why_count (c, p->cfg->target.table, p->staging, run_id, job_file,
                           p->opts->expected_rows, p->fail == FAIL_WRITTEN ? p->rows : -1,
                           p->fail == FAIL_COUNT ? p->rows : -1, err);
        return;
    }
    const pg_error_t *e = &p->e;
    if (strcmp (e->sqlstate, "55P03") == 0) {
        publish_why_lock (c, p->cfg->target.table, p->staging, p->cfg->target.lock_timeout,
                          why, sizeof why);
        todo = "end that session or wait for it to finish, then";
    }
    else if (strcmp (e->sqlstate, "57014") == 0) {
        publish_why_cancel (c, why, sizeof why);
        todo = "once that is fixed";
    }
    else if (e->retryable) {
        snprintf (why, sizeof why, "the publish transaction was tried %d time(s) "
                  "(retry.max_retries)", attempts);
        todo = "once the target is reachable";
        /*  The connection died with COMMIT sent: the server may have
            committed. resume finds out ('already published'). */
        if (strcmp (p->what, "publish COMMIT") == 0)
            outcome = "the COMMIT's outcome is unknown (if it did not commit, nothing was "
                      "published";
    }
    pg_error_to_ferr (e, err, p->what);
    ferr_append (err, "%s%s; %s; staging %s kept). %c%s: ferry-coordinator resume %s --job %s",
                 why[0] ? ": " : "", why, outcome, p->staging,
                 toupper ((unsigned char) todo[0]), todo + 1, run_id, job_file);
}

int
publish_merge (ledger_t *ledger, const config_t *cfg, const copyjob_t *job,
               const char *staging, const publish_opts_t *opts,
               publish_result_t *result, ferr_t *err)
{
    memset (result, 0, sizeof *result);
    ferr_clear (err);
    pub_t p = { .cfg = cfg, .job = job, .staging = staging, .opts = opts };
    double t0 = util_now_s ();
    uint64_t rng = retry_seed ();
    int max_retries = opts->policy ? opts->policy->max_retries : 0;
    int rc = -1;

    p.phase = phase_new ("publishing");
    p.final = pg_quote_qualified (cfg->target.table);
    if (!p.final) {
        ferr_set (err, NULL, false, "target.table: '%s' is not a valid table name",
                  cfg->target.table);
        goto cleanup;
    }
    for (int attempt = 0;; attempt++) {
        pg_conn_t *c = ledger_conn (ledger);
        if (!c && attempt > 0 && attempt < max_retries) {
            /*  The target is still restarting after the connection was lost
                mid-publish (ledger_conn's own retries ran out): wait once
                more before giving up. */
            double delay = retry_delay (opts->policy, attempt, &rng);
            log_warn ("publish: the target is still unreachable; retry %d/%d in %.1fs",
                      attempt + 1, max_retries, delay);
            if (retry_sleep (delay, opts->stop) == 0)
                continue;
        }
        if (!c) {
            ferr_set (err, "08006", true, "publish: cannot connect to the target (logged "
                      "above); nothing was published (staging %s kept). Once the target is "
                      "reachable: ferry-coordinator resume %s --job %s", staging, opts->run_id,
                      opts->job_file ? opts->job_file : "JOB.yaml");
            goto cleanup;
        }
        result->attempts = attempt + 1;
        if (attempt > 0 && s_already_published (c, opts->run_id) == 1) {
            log_warn ("publish: the previous attempt committed before its connection was lost");
            result->rows_affected = opts->expected_rows;
            rc = 0;
            break;
        }
        p.fail = FAIL_DONE;
        if ((p.sql || s_prepare (&p, c, err) == 0) && s_attempt (&p, c, result, err) == 0) {
            rc = 0;
            break;
        }
        /*  A connection lost (the target restarted), a deadlock or a
            serialization failure: the transaction rolled back, try it again
            as a whole. Anything else is for the operator. */
        if (p.fail == FAIL_SQL && p.e.retryable && attempt < max_retries) {
            double delay = retry_delay (opts->policy, attempt, &rng);
            ferr_t e;
            pg_error_to_ferr (&p.e, &e, p.what);
            log_warn_ctx (-1, e.sqlstate, "%s; the publish transaction rolled back; retry %d/%d "
                          "in %.1fs", e.message, attempt + 1, max_retries, delay);
            if (retry_sleep (delay, opts->stop) == 0)
                continue;
        }
        s_explain (&p, c, attempt + 1, err);
        break;
    }
    result->seconds = util_now_s () - t0;

cleanup:
    phase_destroy (&p.phase);
    publish_sql_destroy (&p.sql);
    free (p.written);
    if (p.cols)
        catalog_names_free (p.cols, p.ncols);
    free (p.final);
    return rc;
}
