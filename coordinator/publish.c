/*  coordinator/publish.c: see publish.h. */
#include "publish.h"
#include "log.h"
#include "util.h"

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

/*  Splits job->column_list ("\"a\", \"b\"") back into names is fragile;
    ask the staging table instead: its columns are the query's. */
static int
s_columns (pg_conn_t *c, const char *staging, char ***names_p, int *n_p)
{
    const char *params[1] = { staging };
    PGresult *res = NULL;
    if (pg_exec_params (c, "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
                        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                        1, params, &res) != 0)
        return -1;
    int n = PQntuples (res);
    char **names = xcalloc ((size_t) n + 1, sizeof *names);
    for (int i = 0; i < n; i++)
        names[i] = xstrdup (PQgetvalue (res, i, 0));
    PQclear (res);
    *names_p = names;
    *n_p = n;
    return 0;
}

static void
s_free_names (char **names, int n)
{
    for (int i = 0; i < n; i++)
        free (names[i]);
    free (names);
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

static void
s_fail (pg_conn_t *c, char *err, size_t errlen, const char *what)
{
    const pg_error_t *e = pg_conn_error (c);
    snprintf (err, errlen, "%s: [%s] %s%s%s%s", what, e->sqlstate[0] ? e->sqlstate : "-----",
              e->message, e->detail[0] ? " (" : "", e->detail, e->detail[0] ? ")" : "");
}

/*  Fails (err set) when a staged row has a NULL in a merge key column.
    0 none, -1 some or error. */
static int
s_null_keys (pg_conn_t *c, const config_t *cfg, const char *staging, const char *keys,
             const char *keyarr, char *err, size_t errlen)
{
    /*  Key columns that are NOT NULL in the final table refuse a NULL by
        themselves (23502): no need to scan staging for it. */
    const char *params[2] = { cfg->target.table, keyarr };
    char *notnull = NULL;
    if (pg_query_value (c, "SELECT coalesce(bool_and(attnotnull), false) FROM pg_attribute "
                        "WHERE attrelid = $1::regclass AND attname = ANY ($2::text[])",
                        2, params, &notnull) != 0) {
        s_fail (c, err, errlen, "publish: reading the merge key's columns");
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
    char *sql = util_strdupf ("SELECT count(*) FROM %s s WHERE %s", staging, cond.s);
    free (cond.s);
    PGresult *res = NULL;
    int rc = pg_exec_params (c, sql, 0, NULL, &res);
    free (sql);
    if (rc != 0) {
        s_fail (c, err, errlen, "publish: checking for NULL merge keys");
        return -1;
    }
    const char *n = PQgetvalue (res, 0, 0);
    rc = 0;
    if (strcmp (n, "0") != 0) {
        snprintf (err, errlen, "%s source row(s) have a NULL merge key (%s): a NULL key never "
                  "matches a row of %s, so every merge would add them again; nothing was "
                  "published. Filter them out in source.query, or choose a NOT NULL "
                  "target.merge.key", n, keys, cfg->target.table);
        rc = -1;
    }
    PQclear (res);
    return rc;
}

int
publish_merge (ledger_t *ledger, const config_t *cfg, const copyjob_t *job,
               const char *staging, const char *run_id, int64_t expected_rows,
               publish_result_t *result, char *err, size_t errlen)
{
    memset (result, 0, sizeof *result);
    pg_conn_t *c = ledger_conn (ledger);
    if (!c) {
        snprintf (err, errlen, "publish: target unreachable");
        return -1;
    }
    double t0 = util_now_s ();
    int rc = -1;
    char **cols = NULL;
    int ncols = 0;
    char *final = pg_quote_qualified (cfg->target.table);
    sbuf_t keys = { 0 }, on = { 0 }, keyarr = { 0 }, ins = { 0 }, sel = { 0 }, set = { 0 };
    sbuf_t sql = { 0 };
    PGresult *res = NULL;

    if (!final) {
        snprintf (err, errlen, "target.table: '%s' is not a valid table name", cfg->target.table);
        goto cleanup;
    }
    if (cfg->target.merge_key_count == 0) {
        snprintf (err, errlen, "target.merge.key is empty: a merge needs a key; nothing was "
                  "published");
        goto cleanup;
    }
    if (s_columns (c, staging, &cols, &ncols) != 0) {
        s_fail (c, err, errlen, staging);
        goto cleanup;
    }
    s_add (&keyarr, "{");
    for (size_t i = 0; i < cfg->target.merge_key_count; i++) {
        char *q = pg_quote_ident (cfg->target.merge_key[i]);
        s_add (&keys, i ? ", " : "");
        s_add (&keys, q);
        char *cond = util_strdupf ("%sf.%s = s.%s", i ? " AND " : "", q, q);
        s_add (&on, cond);
        free (cond);
        free (q);
        char *el = util_strdupf ("%s\"%s\"", i ? "," : "", cfg->target.merge_key[i]);
        s_add (&keyarr, el);
        free (el);
    }
    s_add (&keyarr, "}");
    int nset = 0;
    for (int i = 0; i < ncols; i++) {
        if (!s_in_query (job, cols[i]))
            continue;
        char *q = pg_quote_ident (cols[i]);
        s_add (&ins, ins.len ? ", " : "");
        s_add (&ins, q);
        char *sc = util_strdupf ("%ss.%s", sel.len ? ", " : "", q);
        s_add (&sel, sc);
        free (sc);
        if (!s_is_key (cfg, cols[i])) {
            char *st = util_strdupf ("%s%s = EXCLUDED.%s", nset ? ", " : "", q, q);
            s_add (&set, st);
            free (st);
            nset++;
        }
        free (q);
    }
    for (size_t i = 0; i < cfg->target.merge_key_count; i++)
        if (!s_in_query (job, cfg->target.merge_key[i])) {
            snprintf (err, errlen, "target.merge.key: column \"%s\" is not among the query's columns",
                      cfg->target.merge_key[i]);
            goto cleanup;
        }

    if (pg_exec (c, "BEGIN") != 0) {
        s_fail (c, err, errlen, "publish BEGIN");
        goto cleanup;
    }
    /*  Lock out concurrent writers first: the emptiness and key checks
        below must still hold when the statement runs. */
    {
        char *q = util_strdupf ("LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE", final);
        int lrc = pg_exec (c, q);
        free (q);
        if (lrc != 0) {
            s_fail (c, err, errlen, "publish: locking the final table");
            goto rollback;
        }
    }
    /*  A NULL merge key never matches (NULL = NULL is not true), so a
        repeated merge would add such rows again each time. */
    if (s_null_keys (c, cfg, staging, keys.s, keyarr.s, err, errlen) != 0)
        goto rollback;
    /*  A unique index whose columns are exactly the merge key. */
    bool unique = false, empty = false;
    {
        const char *params[2] = { cfg->target.table, keyarr.s };
        char *q = util_strdupf (
                "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass "
                "AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL "
                "AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a "
                "     WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) "
                "  = (SELECT array_agg(k ORDER BY k) FROM unnest($2::text[]) k)), "
                "NOT EXISTS (SELECT 1 FROM %s)", final);
        int qrc = pg_exec_params (c, q, 2, params, &res);
        free (q);
        if (qrc != 0) {
            s_fail (c, err, errlen, "publish: inspecting the final table");
            goto rollback;
        }
        unique = PQgetvalue (res, 0, 0)[0] == 't';
        empty = PQgetvalue (res, 0, 1)[0] == 't';
        PQclear (res);
        res = NULL;
    }
    on_match_t on_match = cfg->target.on_match;
    /*  Only a plain INSERT (empty table, or on_match error after the check
        below) and a real DO UPDATE fail on duplicate keys by themselves;
        DO NOTHING (ignore, or update when every column is a key) and MERGE
        would not. */
    bool statement_catches_dups = unique && (empty || (on_match == ON_MATCH_UPDATE && nset > 0)
                                             || on_match == ON_MATCH_ERROR);
    if (!statement_catches_dups) {
        char *q = util_strdupf ("SELECT (%s)::text, count(*) FROM %s s GROUP BY %s "
                                "HAVING count(*) > 1 LIMIT 3", keys.s, staging, keys.s);
        /*  Qualify nothing: keys are staging's own columns. */
        int drc = pg_exec_params (c, q, 0, NULL, &res);
        free (q);
        if (drc != 0) {
            s_fail (c, err, errlen, "publish: checking duplicate merge keys");
            goto rollback;
        }
        if (PQntuples (res) > 0) {
            size_t n = (size_t) snprintf (err, errlen, "the source holds duplicate merge keys "
                                          "(%s): ", keys.s);
            for (int r = 0; r < PQntuples (res) && n < errlen; r++)
                n += (size_t) snprintf (err + n, errlen - n, "%s%s x%s", r ? ", " : "",
                                        PQgetvalue (res, r, 0), PQgetvalue (res, r, 1));
            if (n < errlen)
                snprintf (err + n, errlen - n, "; nothing was published");
            goto rollback;
        }
        PQclear (res);
        res = NULL;
    }
    if (on_match == ON_MATCH_ERROR && !empty) {
        char *q = util_strdupf ("SELECT count(*) FROM %s s WHERE EXISTS "
                                "(SELECT 1 FROM %s f WHERE %s)", staging, final, on.s);
        int mrc = pg_exec_params (c, q, 0, NULL, &res);
        free (q);
        if (mrc != 0) {
            s_fail (c, err, errlen, "publish: checking for existing keys");
            goto rollback;
        }
        const char *n = PQgetvalue (res, 0, 0);
        if (strcmp (n, "0") != 0) {
            snprintf (err, errlen, "target.merge.on_match is error and %s source rows already "
                      "exist in %s (by %s); nothing was published", n, cfg->target.table, keys.s);
            goto rollback;
        }
        PQclear (res);
        res = NULL;
    }

    if (empty && unique) {
        result->strategy = "insert";
        char *q = util_strdupf ("INSERT INTO %s (%s) SELECT %s FROM %s s", final, ins.s, sel.s, staging);
        s_add (&sql, q);
        free (q);
    }
    else if (unique && on_match != ON_MATCH_ERROR) {
        bool update = on_match == ON_MATCH_UPDATE && nset > 0;
        result->strategy = update ? "upsert" : "insert-ignore";
        char *q = util_strdupf ("INSERT INTO %s (%s) SELECT %s FROM %s s ON CONFLICT (%s) ",
                                final, ins.s, sel.s, staging, keys.s);
        s_add (&sql, q);
        free (q);
        if (update)
            {
            s_add (&sql, "DO UPDATE SET ");
            s_add (&sql, set.s);
        }
        else
            s_add (&sql, "DO NOTHING");
    }
    else if (on_match == ON_MATCH_ERROR || empty) {
        /*  No match is possible (checked above, under the lock). */
        result->strategy = "insert";
        char *q = util_strdupf ("INSERT INTO %s (%s) SELECT %s FROM %s s", final, ins.s, sel.s, staging);
        s_add (&sql, q);
        free (q);
    }
    else {
        result->strategy = "merge";
        char *q = util_strdupf ("MERGE INTO %s f USING %s s ON (%s) ", final, staging, on.s);
        s_add (&sql, q);
        free (q);
        if (on_match == ON_MATCH_UPDATE && nset > 0) {
            /*  UPDATE SET a = s.a: reuse the EXCLUDED list with s. */
            sbuf_t mset = { 0 };
            int k = 0;
            for (int i = 0; i < ncols; i++) {
                if (!s_in_query (job, cols[i]) || s_is_key (cfg, cols[i]))
                    continue;
                char *qc = pg_quote_ident (cols[i]);
                char *st = util_strdupf ("%s%s = s.%s", k++ ? ", " : "", qc, qc);
                s_add (&mset, st);
                free (st);
                free (qc);
            }
            s_add (&sql, "WHEN MATCHED THEN UPDATE SET ");
            s_add (&sql, mset.s);
            s_add (&sql, " ");
            free (mset.s);
        }
        else
            s_add (&sql, "WHEN MATCHED THEN DO NOTHING ");
        char *ni = util_strdupf ("WHEN NOT MATCHED THEN INSERT (%s) ", ins.s);
        s_add (&sql, ni);
        free (ni);
        s_add (&sql, "VALUES (");
        s_add (&sql, sel.s);
        s_add (&sql, ")");
    }

    bool counts_all = strcmp (result->strategy, "insert") == 0
                   || strcmp (result->strategy, "upsert") == 0;
    if (!counts_all) {
        char *q = util_strdupf ("SELECT count(*) FROM %s", staging);
        int crc = pg_exec_params (c, q, 0, NULL, &res);
        free (q);
        if (crc != 0) {
            s_fail (c, err, errlen, "publish: counting staging");
            goto rollback;
        }
        int64_t n = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
        PQclear (res);
        res = NULL;
        if (n != expected_rows) {
            snprintf (err, errlen, "staging %s holds %lld rows but the ledger accounts for %lld; "
                      "nothing was published", staging, (long long) n, (long long) expected_rows);
            goto rollback;
        }
    }
    if (pg_exec_params (c, sql.s, 0, NULL, &res) != 0) {
        const pg_error_t *e = pg_conn_error (c);
        if (strcmp (e->sqlstate, "21000") == 0)
            snprintf (err, errlen, "the source holds duplicate merge keys (%s): [%s] %s; "
                      "nothing was published", keys.s, e->sqlstate, e->message);
        else if (strcmp (e->sqlstate, "23505") == 0)
            snprintf (err, errlen, "a unique constraint of %s refused the rows (duplicate merge "
                      "keys in the source, or another unique column): [%s] %s%s%s; nothing was "
                      "published", cfg->target.table, e->sqlstate, e->message,
                      e->detail[0] ? ": " : "", e->detail);
        else
            s_fail (c, err, errlen, "publish");
        goto rollback;
    }
    result->rows_affected = strtoll (PQcmdTuples (res), NULL, 10);
    PQclear (res);
    res = NULL;
    if (counts_all && result->rows_affected != expected_rows) {
        snprintf (err, errlen, "staging %s held %lld rows but the ledger accounts for %lld; "
                  "rolled back, nothing was published", staging,
                  (long long) result->rows_affected, (long long) expected_rows);
        goto rollback;
    }
    {
        char *q = util_strdupf ("DROP TABLE %s", staging);
        const char *params[1] = { run_id };
        int drc = pg_exec (c, q);
        free (q);
        if (drc != 0
        ||  pg_exec_params (c, "UPDATE ferry.runs SET status = 'publishing' WHERE run_id = $1",
                            1, params, NULL) != 0) {
            s_fail (c, err, errlen, "publish: dropping staging");
            goto rollback;
        }
    }
    if (pg_exec (c, "COMMIT") != 0) {
        s_fail (c, err, errlen, "publish COMMIT");
        goto cleanup;
    }
    result->seconds = util_now_s () - t0;
    rc = 0;
    goto cleanup;

rollback:
    pg_rollback (c);
cleanup:
    PQclear (res);
    if (cols)
        s_free_names (cols, ncols);
    free (final);
    free (keys.s);
    free (on.s);
    free (keyarr.s);
    free (ins.s);
    free (sel.s);
    free (set.s);
    free (sql.s);
    return rc;
}
