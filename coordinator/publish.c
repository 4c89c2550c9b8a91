/*  coordinator/publish.c: see publish.h. The diagnostics that name the
    cause of a failed publish (lock holders, triggers, lost staging rows)
    are in publish_why.c. */
#include "publish.h"
#include "catalog.h"
#include "publish_plan.h"
#include "publish_why.h"
#include "log.h"
#include "phase.h"
#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  A growable string. */
typedef struct { char *s; size_t len, cap; } sbuf_t;

static void
s_add (sbuf_t *b, const char *text)
{
    size_t n = strlen (text);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc (b->s, b->cap);
    }
    memcpy (b->s + b->len, text, n + 1);
    b->len += n;
}

static bool
s_is_key (const config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->target.merge_key_count; i++)
        if (strcmp (cfg->target.merge_key[i], name) == 0)
            return true;
    return false;
}

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
    FAIL_SQL,           /* err holds what was being done, p->e the server's error */
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
    char **cols;
    int ncols, nset;
    sbuf_t keys, on, keyarr, ins, sel, set, mset;
    fail_t fail;
    pg_error_t e;                   /* FAIL_SQL: the server's error */
    int64_t rows;                   /* FAIL_COUNT, FAIL_WRITTEN */
    phase_t *phase;                 /* the progress line while publishing */
} pub_t;

/*  Records a failed statement: what it was doing and the server's error. */
static void
s_fail (pub_t *p, pg_conn_t *c, char *err, size_t errlen, const char *what)
{
    p->fail = FAIL_SQL;
    p->e = *pg_conn_error (c);
    snprintf (err, errlen, "%s", what);
}

/*  Builds the column lists, key lists and SET lists. Returns 0, or -1 with
    a message in err (FAIL_DONE or FAIL_SQL). */
static int
s_prepare (pub_t *p, pg_conn_t *c, char *err, size_t errlen)
{
    const config_t *cfg = p->cfg;
    if (cfg->target.merge_key_count == 0) {
        /*  config_load refuses such a job; never build SQL from no key. */
        snprintf (err, errlen, "target.merge.key is empty: a merge needs a key; nothing was "
                  "published");
        p->fail = FAIL_DONE;
        return -1;
    }
    if (catalog_columns (c, p->staging, &p->cols, &p->ncols) != 0) {
        s_fail (p, c, err, errlen, p->staging);
        return -1;
    }
    s_add (&p->keyarr, "{");
    for (size_t i = 0; i < cfg->target.merge_key_count; i++) {
        char *q = pg_quote_ident (cfg->target.merge_key[i]);
        s_add (&p->keys, i ? ", " : "");
        s_add (&p->keys, q);
        char *cond = util_strdupf ("%sf.%s = s.%s", i ? " AND " : "", q, q);
        s_add (&p->on, cond);
        free (cond);
        free (q);
        char *el = util_strdupf ("%s\"%s\"", i ? "," : "", cfg->target.merge_key[i]);
        s_add (&p->keyarr, el);
        free (el);
    }
    s_add (&p->keyarr, "}");
    for (int i = 0; i < p->ncols; i++) {
        if (!s_in_query (p->job, p->cols[i]))
            continue;
        char *q = pg_quote_ident (p->cols[i]);
        s_add (&p->ins, p->ins.len ? ", " : "");
        s_add (&p->ins, q);
        char *sc = util_strdupf ("%ss.%s", p->sel.len ? ", " : "", q);
        s_add (&p->sel, sc);
        free (sc);
        if (!s_is_key (cfg, p->cols[i])) {
            char *st = util_strdupf ("%s%s = EXCLUDED.%s", p->nset ? ", " : "", q, q);
            s_add (&p->set, st);
            free (st);
            /*  MERGE's UPDATE SET a = s.a. */
            st = util_strdupf ("%s%s = s.%s", p->nset ? ", " : "", q, q);
            s_add (&p->mset, st);
            free (st);
            p->nset++;
        }
        free (q);
    }
    for (size_t i = 0; i < cfg->target.merge_key_count; i++)
        if (!s_in_query (p->job, cfg->target.merge_key[i])) {
            snprintf (err, errlen, "target.merge.key: column \"%s\" is not among the query's "
                      "columns", cfg->target.merge_key[i]);
            p->fail = FAIL_DONE;
            return -1;
        }
    return 0;
}

/*  Runs `sql` (no parameters) into *res_p; on error records `what`. */
static int
s_query (pub_t *p, pg_conn_t *c, const char *sql, PGresult **res_p, char *err, size_t errlen,
         const char *what)
{
    if (pg_exec_params (c, sql, 0, NULL, res_p) == 0)
        return 0;
    s_fail (p, c, err, errlen, what);
    return -1;
}

/*  A NULL merge key never matches (NULL = NULL is not true), so a repeated
    merge would add such rows again each time: refuse staged rows with a
    NULL in a merge key column. Not checked when every merge key column is
    NOT NULL in the final table (the insert refuses a NULL by itself,
    23502). Returns 0 (none), or -1 with err and p->fail set. */
static int
s_null_keys (pub_t *p, pg_conn_t *c, char *err, size_t errlen)
{
    const config_t *cfg = p->cfg;
    const char *params[2] = { cfg->target.table, p->keyarr.s };
    char *notnull = NULL;
    if (pg_query_value (c, "SELECT coalesce(bool_and(attnotnull), false) FROM pg_attribute "
                        "WHERE attrelid = $1::regclass AND attname = ANY ($2::text[])",
                        2, params, &notnull) != 0) {
        s_fail (p, c, err, errlen, "publish: reading the merge key's columns");
        return -1;
    }
    bool skip = notnull && notnull[0] == 't';
    free (notnull);
    if (skip)
        return 0;
    sbuf_t cond = { 0 };
    for (size_t i = 0; i < cfg->target.merge_key_count; i++) {
        char *q = pg_quote_ident (cfg->target.merge_key[i]);
        char *part = util_strdupf ("%ss.%s IS NULL", i ? " OR " : "", q);
        s_add (&cond, part);
        free (part);
        free (q);
    }
    char *sql = util_strdupf ("SELECT count(*) FROM %s s WHERE %s", p->staging, cond.s);
    free (cond.s);
    PGresult *res = NULL;
    int rc = s_query (p, c, sql, &res, err, errlen, "publish: checking for NULL merge keys");
    free (sql);
    if (rc != 0)
        return -1;
    const char *n = PQgetvalue (res, 0, 0);
    if (strcmp (n, "0") != 0) {
        snprintf (err, errlen, "%s source row(s) have a NULL merge key (%s): a NULL key never "
                  "matches a row of %s, so every merge would add them again; nothing was "
                  "published. Filter them out in source.query, or choose a NOT NULL "
                  "target.merge.key", n, p->keys.s, cfg->target.table);
        p->fail = FAIL_DONE;
        rc = -1;
    }
    PQclear (res);
    return rc;
}

/*  One publish transaction. Returns 0 (committed), or -1 with p->fail and
    err set; the transaction is then rolled back (or the connection gone). */
static int
s_attempt (pub_t *p, pg_conn_t *c, publish_result_t *result, char *err, size_t errlen)
{
    const config_t *cfg = p->cfg;
    const char *staging = p->staging, *final = p->final;
    int64_t expected_rows = p->opts->expected_rows;
    sbuf_t sql = { 0 };
    PGresult *res = NULL;
    char *q = NULL;
    int rc = -1;

    if (pg_exec (c, "BEGIN") != 0) {
        s_fail (p, c, err, errlen, "publish BEGIN");
        goto cleanup;
    }
    /*  Never wait silently on a lock someone else holds (a long report on
        the final table, an open transaction, a reader of staging): give up
        after target.lock_timeout and name the holders (publish_why_lock).
        0 waits as long as it takes, whatever the server's default. */
    /*  The publish writes every staged row: not a control statement, so
        not under target.statement_timeout; the server's own setting
        (postgresql.conf, ALTER ROLE/DATABASE) applies, as in any
        session. */
    q = util_strdupf ("SET LOCAL lock_timeout = '%lldms'; "
                      "SET LOCAL statement_timeout TO DEFAULT",
                      (long long) (cfg->target.lock_timeout * 1000.0 + 0.5));
    int src = pg_exec (c, q);
    free (q);
    q = NULL;
    if (src != 0) {
        s_fail (p, c, err, errlen, "publish: setting lock_timeout");
        goto rollback;
    }
    /*  Lock out concurrent writers first: the emptiness and key checks
        below must still hold when the statement runs. */
    q = util_strdupf ("LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE", final);
    int lrc = pg_exec (c, q);
    free (q);
    q = NULL;
    if (lrc != 0) {
        s_fail (p, c, err, errlen, "publish: locking the final table");
        goto rollback;
    }
    if (s_null_keys (p, c, err, errlen) != 0)
        goto rollback;
    /*  A unique index whose columns are exactly the merge key. */
    bool unique = false, empty = false;
    {
        const char *params[2] = { cfg->target.table, p->keyarr.s };
        q = util_strdupf (
                "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass "
                "AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL "
                "AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a "
                "     WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) "
                "  = (SELECT array_agg(k ORDER BY k) FROM unnest($2::text[]) k)), "
                "NOT EXISTS (SELECT 1 FROM %s)", final);
        int qrc = pg_exec_params (c, q, 2, params, &res);
        free (q);
        q = NULL;
        if (qrc != 0) {
            s_fail (p, c, err, errlen, "publish: inspecting the final table");
            goto rollback;
        }
        unique = PQgetvalue (res, 0, 0)[0] == 't';
        empty = PQgetvalue (res, 0, 1)[0] == 't';
        PQclear (res);
        res = NULL;
    }
    publish_plan_t plan = publish_plan (unique, empty, cfg->target.on_match, p->nset);
    result->strategy = plan.name;
    q = util_strdupf ("publishing by %s", plan.name);
    phase_set_what (p->phase, q);
    free (q);
    q = NULL;
    if (plan.check_duplicates) {
        /*  Qualify nothing: keys are staging's own columns. */
        q = util_strdupf ("SELECT (%s)::text, count(*) FROM %s s GROUP BY %s "
                          "HAVING count(*) > 1 LIMIT 3", p->keys.s, staging, p->keys.s);
        if (s_query (p, c, q, &res, err, errlen, "publish: checking duplicate merge keys") != 0)
            goto rollback;
        if (PQntuples (res) > 0) {
            size_t n = (size_t) snprintf (err, errlen, "the source holds duplicate merge keys "
                                          "(%s): ", p->keys.s);
            for (int r = 0; r < PQntuples (res) && n < errlen; r++)
                n += (size_t) snprintf (err + n, errlen - n, "%s%s x%s", r ? ", " : "",
                                        PQgetvalue (res, r, 0), PQgetvalue (res, r, 1));
            if (n < errlen)
                snprintf (err + n, errlen - n, "; nothing was published");
            p->fail = FAIL_DONE;
            goto rollback;
        }
        PQclear (res);
        res = NULL;
        free (q);
        q = NULL;
    }
    if (plan.check_existing) {
        q = util_strdupf ("SELECT count(*) FROM %s s WHERE EXISTS "
                          "(SELECT 1 FROM %s f WHERE %s)", staging, final, p->on.s);
        if (s_query (p, c, q, &res, err, errlen, "publish: checking for existing keys") != 0)
            goto rollback;
        const char *n = PQgetvalue (res, 0, 0);
        if (strcmp (n, "0") != 0) {
            snprintf (err, errlen, "target.merge.on_match is error and %s source rows already "
                      "exist in %s (by %s); nothing was published", n, cfg->target.table,
                      p->keys.s);
            p->fail = FAIL_DONE;
            goto rollback;
        }
        PQclear (res);
        res = NULL;
        free (q);
        q = NULL;
    }

    bool update = plan.statement == PUBLISH_SQL_UPSERT || (plan.statement == PUBLISH_SQL_MERGE
                  && cfg->target.on_match == ON_MATCH_UPDATE && p->nset > 0);
    if (plan.statement == PUBLISH_SQL_INSERT) {
        /*  No match is possible: the index refuses duplicates, or the check
            above proved none under the lock. */
        q = util_strdupf ("INSERT INTO %s (%s) SELECT %s FROM %s s", final, p->ins.s, p->sel.s,
                          staging);
        s_add (&sql, q);
    }
    else if (plan.statement != PUBLISH_SQL_MERGE) {
        q = util_strdupf ("INSERT INTO %s (%s) SELECT %s FROM %s s ON CONFLICT (%s) %s%s",
                          final, p->ins.s, p->sel.s, staging, p->keys.s,
                          update ? "DO UPDATE SET " : "DO NOTHING", update ? p->set.s : "");
        s_add (&sql, q);
    }
    else {
        q = util_strdupf ("MERGE INTO %s f USING %s s ON (%s) WHEN MATCHED THEN %s%s "
                          "WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)", final, staging,
                          p->on.s, update ? "UPDATE SET " : "DO NOTHING",
                          update ? p->mset.s : "", p->ins.s, p->sel.s);
        s_add (&sql, q);
    }
    free (q);
    q = NULL;

    bool counts_all = plan.counts_all;
    if (!counts_all) {
        q = util_strdupf ("SELECT count(*) FROM %s", staging);
        if (s_query (p, c, q, &res, err, errlen, "publish: counting staging") != 0)
            goto rollback;
        p->rows = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
        PQclear (res);
        res = NULL;
        free (q);
        q = NULL;
        if (p->rows != expected_rows) {
            p->fail = FAIL_COUNT;
            goto rollback;
        }
    }
    if (pg_exec_params (c, sql.s, 0, NULL, &res) != 0) {
        const pg_error_t *e = pg_conn_error (c);
        p->fail = FAIL_DONE;
        if (strcmp (e->sqlstate, "21000") == 0)
            snprintf (err, errlen, "the source holds duplicate merge keys (%s): [%s] %s; "
                      "nothing was published", p->keys.s, e->sqlstate, e->message);
        else if (strcmp (e->sqlstate, "23505") == 0)
            snprintf (err, errlen, "a unique constraint of %s refused the rows (duplicate merge "
                      "keys in the source, or another unique column): [%s] %s%s%s; nothing was "
                      "published", cfg->target.table, e->sqlstate, e->message,
                      e->detail[0] ? ": " : "", e->detail);
        else
            s_fail (p, c, err, errlen, "publish");
        goto rollback;
    }
    result->rows_affected = strtoll (PQcmdTuples (res), NULL, 10);
    PQclear (res);
    res = NULL;
    if (counts_all && result->rows_affected != expected_rows) {
        p->rows = result->rows_affected;
        p->fail = FAIL_WRITTEN;
        goto rollback;
    }
    {
        const char *params[1] = { p->opts->run_id };
        q = util_strdupf ("DROP TABLE %s", staging);
        if (pg_exec (c, q) != 0) {
            s_fail (p, c, err, errlen, "publish: dropping staging");
            goto rollback;
        }
        if (pg_exec_params (c, "UPDATE ferry.runs SET status = 'publishing' WHERE run_id = $1",
                            1, params, NULL) != 0) {
            s_fail (p, c, err, errlen, "publish: marking the run publishing");
            goto rollback;
        }
    }
    if (pg_exec (c, "COMMIT") != 0) {
        s_fail (p, c, err, errlen, "publish COMMIT");
        goto cleanup;
    }
    rc = 0;
    goto cleanup;

rollback:
    pg_rollback (c);
cleanup:
    PQclear (res);
    free (q);
    free (sql.s);
    return rc;
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
s_explain (pub_t *p, pg_conn_t *conn, int attempts, char *err, size_t errlen)
{
    const char *run_id = p->opts->run_id;
    const char *job_file = p->opts->job_file ? p->opts->job_file : "JOB.yaml";
    if (p->fail == FAIL_DONE)
        return;
    char what[512];
    snprintf (what, sizeof what, "%s", err);
    /*  The explanations query the target: only on a live connection. */
    pg_conn_t *c = pg_is_connected (conn) ? conn : NULL;
    char why[1536] = "";
    const char *todo = "once the cause is fixed";
    const char *outcome = "nothing was published (the transaction rolled back";
    if (p->fail == FAIL_COUNT || p->fail == FAIL_WRITTEN) {
        publish_why_count (c, p->cfg->target.table, p->staging, run_id, job_file,
                           p->opts->expected_rows, p->fail == FAIL_WRITTEN ? p->rows : -1,
                           p->fail == FAIL_COUNT ? p->rows : -1, err, errlen);
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
        if (strcmp (what, "publish COMMIT") == 0)
            outcome = "the COMMIT's outcome is unknown (if it did not commit, nothing was "
                      "published";
    }
    snprintf (err, errlen, "%s: [%s] %s%s%s%s%s%s; %s; staging %s kept). %c%s: "
              "ferry-coordinator resume %s --job %s", what,
              e->sqlstate[0] ? e->sqlstate : "-----", e->message, e->detail[0] ? " (" : "",
              e->detail, e->detail[0] ? ")" : "", why[0] ? ": " : "", why, outcome, p->staging,
              toupper ((unsigned char) todo[0]), todo + 1, run_id, job_file);
}

int
publish_merge (ledger_t *ledger, const config_t *cfg, const copyjob_t *job,
               const char *staging, const publish_opts_t *opts,
               publish_result_t *result, char *err, size_t errlen)
{
    memset (result, 0, sizeof *result);
    pub_t p = { .cfg = cfg, .job = job, .staging = staging, .opts = opts };
    double t0 = util_now_s ();
    uint64_t rng = retry_seed ();
    int max_retries = opts->policy ? opts->policy->max_retries : 0;
    int rc = -1;

    p.phase = phase_new ("publishing");
    p.final = pg_quote_qualified (cfg->target.table);
    if (!p.final) {
        snprintf (err, errlen, "target.table: '%s' is not a valid table name", cfg->target.table);
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
            snprintf (err, errlen, "publish: cannot connect to the target (logged above); "
                      "nothing was published (staging %s kept). Once the target is reachable: "
                      "ferry-coordinator resume %s --job %s", staging, opts->run_id,
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
        if ((p.cols || s_prepare (&p, c, err, errlen) == 0)
        &&  s_attempt (&p, c, result, err, errlen) == 0) {
            rc = 0;
            break;
        }
        /*  A connection lost (the target restarted), a deadlock or a
            serialization failure: the transaction rolled back, try it again
            as a whole. Anything else is for the operator. */
        if (p.fail == FAIL_SQL && p.e.retryable && attempt < max_retries) {
            double delay = retry_delay (opts->policy, attempt, &rng);
            log_warn_ctx (-1, p.e.sqlstate, "%s: [%s] %s; the publish transaction rolled back; retry %d/%d in %.1fs",
                      err, p.e.sqlstate, p.e.message, attempt + 1, max_retries, delay);
            if (retry_sleep (delay, opts->stop) == 0)
                continue;
        }
        s_explain (&p, c, attempt + 1, err, errlen);
        break;
    }
    result->seconds = util_now_s () - t0;

cleanup:
    phase_destroy (&p.phase);
    if (p.cols)
        catalog_names_free (p.cols, p.ncols);
    free (p.final);
    free (p.keys.s);
    free (p.on.s);
    free (p.keyarr.s);
    free (p.ins.s);
    free (p.sel.s);
    free (p.set.s);
    free (p.mset.s);
    return rc;
}
