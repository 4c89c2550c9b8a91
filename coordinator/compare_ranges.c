/*  coordinator/compare_ranges.c: see compare_ranges.h. */
#include "compare_ranges.h"
#include "jsonout.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  A range is read again row by row only up to this many rows a side:
    (key, md5) pairs held in memory, some 100 bytes a row. */
#define VERIFY_DETAIL_MAX_ROWS  2000000

/*  "label: message [SQLSTATE]" of a failed result into err. */
static void
s_result_error (rangecmp_t *v, const char *label, const PGresult *res, PGconn *conn)
{
    const char *state = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
    char line[1200];
    snprintf (line, sizeof line, "%s", res ? PQresultErrorMessage (res) : PQerrorMessage (conn));
    line[strcspn (line, "\n")] = 0;
    snprintf (v->err, sizeof v->err, "%s: %s%s%s%s", label, line, state ? " [" : "",
              state ? state : "", state ? "]" : "");
}

/*  The last result of the statement running on c (NULL on error, in err). */
static PGresult *
s_collect (rangecmp_t *v, const char *label, PGconn *c)
{
    PGresult *res, *last = NULL;
    while ((res = PQgetResult (c))) {
        PQclear (last);
        last = res;
    }
    if (last && PQresultStatus (last) == PGRES_TUPLES_OK)
        return last;
    if (!v->err[0])
        s_result_error (v, label, last, c);
    PQclear (last);
    return NULL;
}

/*  Runs ssql on the source and tsql on the target at the same time.
    0 with both results, or -1 (err; nothing to clear). */
static int
s_both (rangecmp_t *v, const char *ssql, const char *tsql, PGresult **rs, PGresult **rt)
{
    PGconn *s = pg_conn_handle (v->src), *t = pg_conn_handle (v->tgt);
    *rs = *rt = NULL;
    v->err[0] = 0;
    bool sent_s = PQsendQuery (s, ssql) == 1;
    if (!sent_s)
        s_result_error (v, "source", NULL, s);
    bool sent_t = PQsendQuery (t, tsql) == 1;
    if (!sent_t && !v->err[0])
        s_result_error (v, "target", NULL, t);
    if (sent_s)
        *rs = s_collect (v, "source", s);
    if (sent_t)
        *rt = s_collect (v, "target", t);
    if (*rs && *rt)
        return 0;
    PQclear (*rs);
    PQclear (*rt);
    *rs = *rt = NULL;
    return -1;
}

int
rangecmp_columns (rangecmp_t *v)
{
    char *sql = util_strdupf ("SELECT * FROM (%s\n) AS ferry_q LIMIT 0", v->job->read_query);
    PGresult *desc = NULL, *stypes = NULL, *tcols = NULL;
    int rc = -1;
    if (pg_exec_params (v->src, sql, 0, NULL, &desc) != 0) {
        snprintf (v->err, sizeof v->err, "source: describing the query: %s",
                  pg_conn_error (v->src)->message);
        goto out;
    }
    int n = PQnfields (desc);
    size_t cap = 64 + (size_t) n * 24;
    char *oids = xmalloc (cap), *mods = xmalloc (cap);
    size_t lo = (size_t) snprintf (oids, cap, "{"), lm = (size_t) snprintf (mods, cap, "{");
    for (int i = 0; i < n; i++) {
        lo += (size_t) snprintf (oids + lo, cap - lo, "%s%u", i ? "," : "", PQftype (desc, i));
        lm += (size_t) snprintf (mods + lm, cap - lm, "%s%d", i ? "," : "", PQfmod (desc, i));
    }
    snprintf (oids + lo, cap - lo, "}");
    snprintf (mods + lm, cap - lm, "}");
    const char *sp[2] = { oids, mods };
    int src_rc = pg_exec_params (v->src, "SELECT format_type(t.o, t.m) FROM unnest($1::oid[], "
                                 "$2::int[]) WITH ORDINALITY AS t(o, m, n) ORDER BY t.n", 2, sp,
                                 &stypes);
    free (oids);
    free (mods);
    if (src_rc != 0) {
        snprintf (v->err, sizeof v->err, "source: the query's column types: %s",
                  pg_conn_error (v->src)->message);
        goto out;
    }
    const char *tp[1] = { v->final_q };
    if (pg_exec_params (v->tgt, "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
                        "FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 "
                        "AND NOT a.attisdropped", 1, tp, &tcols) != 0) {
        snprintf (v->err, sizeof v->err, "target: the columns of %s: %s", v->table,
                  pg_conn_error (v->tgt)->message);
        goto out;
    }
    size_t scap = 0, slen = 0, tcap = 0, tlen = 0;
    char *sx = NULL, *tx = NULL;
    for (int i = 0; i < n; i++) {
        const char *name = PQfname (desc, i), *stype = PQgetvalue (stypes, i, 0);
        const char *ttype = NULL;
        for (int r = 0; r < PQntuples (tcols); r++)
            if (strcmp (PQgetvalue (tcols, r, 0), name) == 0)
                ttype = PQgetvalue (tcols, r, 1);
        if (!ttype) {       /* copyjob_prepare said so already; to be sure */
            snprintf (v->err, sizeof v->err, "column \"%s\" of the source query does not exist "
                      "in target table %s", name, v->table);
            free (sx);
            free (tx);
            goto out;
        }
        char *q = pg_quote_ident (name);
        /*  A column of another type goes through text in the load: the
            source's output function, then the target's input function
            (format's %s is the output function; a cast to text would
            differ, e.g. char(n) loses its padding). */
        char *se = strcmp (stype, ttype) == 0
                   ? util_strdupf ("ferry_q.%s", q)
                   : util_strdupf ("CASE WHEN ferry_q.%s IS NULL THEN NULL ELSE "
                                   "format('%%s', ferry_q.%s)::%s END", q, q, ttype);
        char *te = util_strdupf ("ferry_q.%s", q);
        if (strcmp (name, v->job->key) == 0)
            v->tgt_key_type = xstrdup (ttype);
        util_list_add (&sx, &slen, &scap, se);
        util_list_add (&tx, &tlen, &tcap, te);
        free (q);
        free (se);
        free (te);
    }
    v->src_exprs = sx;
    v->tgt_exprs = tx;
    rc = v->tgt_key_type ? 0 : -1;
    if (rc)
        snprintf (v->err, sizeof v->err, "source.key: column \"%s\" is not in target table %s",
                  v->job->key, v->table);
out:
    free (sql);
    PQclear (desc);
    PQclear (stypes);
    PQclear (tcols);
    return rc;
}

/*  The WHERE of [lo, hi) on one server (its own literal quoting). */
static char *
s_where (rangecmp_t *v, pg_conn_t *conn, const char *type, const plan_range_t *range)
{
    PGconn *c = pg_conn_handle (conn);
    char *elo = range->lo ? PQescapeLiteral (c, range->lo, strlen (range->lo)) : NULL;
    char *ehi = range->hi ? PQescapeLiteral (c, range->hi, strlen (range->hi)) : NULL;
    char *where = NULL;
    if ((!range->lo || elo) && (!range->hi || ehi))
        where = compare_where (v->job->key_quoted, type, elo, ehi);
    else
        snprintf (v->err, sizeof v->err, "cannot quote a key bound: %s", PQerrorMessage (c));
    PQfreemem (elo);
    PQfreemem (ehi);
    return where;
}

/*  The two statements over one range: the count and hash sum (detail
    false), or every row's key and md5 (detail true). */
static int
s_statements (rangecmp_t *v, const plan_range_t *range, bool detail, char **ssql, char **tsql)
{
    char *sw = s_where (v, v->src, v->job->key_type, range);
    char *tw = sw ? s_where (v, v->tgt, v->tgt_key_type, range) : NULL;
    if (!tw) {
        free (sw);
        return -1;
    }
#define VERIFY_SUM  "count(*), coalesce(sum(('x' || substr(md5(ROW(%s)::text), 1, 15))" \
                    "::bit(60)::bigint), 0)"
#define VERIFY_ROWS "ferry_q.%s::text, md5(ROW(%s)::text)"
    char *sel_s = detail ? util_strdupf (VERIFY_ROWS, v->job->key_quoted, v->src_exprs)
                         : util_strdupf (VERIFY_SUM, v->src_exprs);
    char *sel_t = detail ? util_strdupf (VERIFY_ROWS, v->job->key_quoted, v->tgt_exprs)
                         : util_strdupf (VERIFY_SUM, v->tgt_exprs);
    *ssql = util_strdupf ("SELECT %s FROM (%s\n) AS ferry_q%s", sel_s, v->job->read_query, sw);
    *tsql = util_strdupf ("SELECT %s FROM %s AS ferry_q%s", sel_t, v->final_q, tw);
    free (sel_s);
    free (sel_t);
    free (sw);
    free (tw);
    return 0;
}

/*  Reads one range on both servers (s_statements, s_both). 0 with both
    results, or -1 (err). */
static int
s_read (rangecmp_t *v, const plan_range_t *range, bool detail, PGresult **rs, PGresult **rt)
{
    char *ssql = NULL, *tsql = NULL;
    int rc = s_statements (v, range, detail, &ssql, &tsql) == 0
             ? s_both (v, ssql, tsql, rs, rt) : -1;
    free (ssql);
    free (tsql);
    return rc;
}

static compare_row_t *
s_rows (const PGresult *res)
{
    int n = PQntuples (res);
    compare_row_t *rows = xcalloc ((size_t) n + 1, sizeof *rows);
    for (int i = 0; i < n; i++) {
        rows[i].key = PQgetisnull (res, i, 0) ? NULL : PQgetvalue (res, i, 0);
        snprintf (rows[i].hash, sizeof rows[i].hash, "%s", PQgetvalue (res, i, 1));
    }
    return rows;
}

/*  One differing range, read key by key: its differences reported. */
static const char *s_kind_text[] = { "missing in target", "extra in target",
                                     "different values" };

static int
s_detail (rangecmp_t *v, const plan_range_t *range, int64_t ns, int64_t nt,
          json_object *jr)
{
    if (ns > VERIFY_DETAIL_MAX_ROWS || nt > VERIFY_DETAIL_MAX_ROWS) {
        v->undetailed = true;
        if (!v->ranges_json)
            printf ("  too many rows to read key by key (over %d a side): verify again with a "
                    "smaller --chunk-size to find them\n", VERIFY_DETAIL_MAX_ROWS);
        return 0;
    }
    PGresult *rs = NULL, *rt = NULL;
    if (s_read (v, range, true, &rs, &rt) != 0)
        return -1;
    compare_row_t *a = s_rows (rs), *b = s_rows (rt);
    compare_diff_t *d = NULL;
    compare_counts_t c;
    size_t n = compare_rows (a, (size_t) PQntuples (rs), b, (size_t) PQntuples (rt), &d, &c);
    v->total.missing += c.missing;
    v->total.extra += c.extra;
    v->total.differs += c.differs;
    if (n == 0)
        v->unexplained++;
    if (n == 0 && !v->ranges_json)
        printf ("  read again key by key, the same rows: the query does not return the same "
                "rows twice in one snapshot (a volatile function?)\n");
    for (int k = COMPARE_MISSING; k <= COMPARE_DIFFERS; k++) {
        int64_t count = k == COMPARE_MISSING ? c.missing : k == COMPARE_EXTRA ? c.extra
                                                                              : c.differs;
        json_object *keys = v->ranges_json ? json_object_new_array () : NULL;
        if (!keys && count == 0)
            continue;
        if (!keys)
            printf ("  %s (%" PRId64 ")%s", s_kind_text[k], count, v->show ? ": " : "");
        int64_t shown = 0;
        for (size_t i = 0; i < n && shown < v->show; i++) {
            if ((int) d[i].kind != k)
                continue;
            if (keys)
                json_object_array_add (keys, d[i].key ? json_object_new_string (d[i].key) : NULL);
            else
                printf ("%s%s %s", shown ? ", " : "", v->job->key, d[i].key ? d[i].key : "NULL");
            shown++;
        }
        if (keys) {
            jsonout_int (jr, compare_kind_name ((compare_kind_t) k), count);
            char name[32];
            snprintf (name, sizeof name, "%s_keys", compare_kind_name ((compare_kind_t) k));
            json_object_object_add (jr, name, keys);
        }
        else
            printf ("%s\n", count > shown && shown ? ", ..." : "");
    }
    free (d);
    free (a);
    free (b);
    PQclear (rs);
    PQclear (rt);
    return 0;
}

/*  One range: 0 compared (a difference counted and reported), -1 a
    query failed (err). */
int
rangecmp_range (rangecmp_t *v, size_t id, const plan_range_t *range)
{
    PGresult *rs = NULL, *rt = NULL;
    if (s_read (v, range, false, &rs, &rt) != 0)
        return -1;
    int64_t ns = strtoll (PQgetvalue (rs, 0, 0), NULL, 10);
    int64_t nt = strtoll (PQgetvalue (rt, 0, 0), NULL, 10);
    bool same = ns == nt && strcmp (PQgetvalue (rs, 0, 1), PQgetvalue (rt, 0, 1)) == 0;
    PQclear (rs);
    PQclear (rt);
    v->rows_source += ns;
    v->rows_target += nt;
    if (same)
        return 0;
    v->ranges_differing++;
    /*  With --run: who committed that chunk (its ledger row), if anyone. */
    char who[300] = "";
    if (v->run_id) {
        char idtext[24];
        snprintf (idtext, sizeof idtext, "%zu", id);
        const char *params[2] = { v->run_id, idtext };
        PGresult *res = NULL;
        if (pg_exec_params (v->tgt, "SELECT worker, attempt FROM ferry.chunk_commits "
                            "WHERE run_id = $1 AND chunk_id = $2::bigint", 2, params, &res) == 0) {
            if (PQntuples (res) == 1)
                snprintf (who, sizeof who, "committed by worker %s, attempt %s",
                          PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 1));
            else
                snprintf (who, sizeof who, "no ledger row: the run did not commit it");
        }
        PQclear (res);
    }
    json_object *jr = NULL;
    if (v->ranges_json) {
        jr = json_object_new_object ();
        jsonout_int (jr, "range", (int64_t) id);
        if (who[0])
            jsonout_str (jr, "chunk", who);
        json_object_object_add (jr, "lo", range->lo ? json_object_new_string (range->lo) : NULL);
        json_object_object_add (jr, "hi", range->hi ? json_object_new_string (range->hi) : NULL);
        jsonout_int (jr, "source_rows", ns);
        jsonout_int (jr, "target_rows", nt);
        json_object_array_add (v->ranges_json, jr);
    }
    else
        printf ("%s %zu %s[%s, %s): source %" PRId64 " rows, target %" PRId64 "%s%s%s%s\n",
                v->run_id ? "chunk" : "range", id, range->lo ? "" : "(and NULL keys) ",
                range->lo ? range->lo : "-inf", range->hi ? range->hi : "+inf", ns, nt,
                ns == nt ? ", rows differ" : "", who[0] ? " (" : "", who, who[0] ? ")" : "");
    return s_detail (v, range, ns, nt, jr);
}

void
rangecmp_free (rangecmp_t *self)
{
    free (self->src_exprs);
    free (self->tgt_exprs);
    free (self->tgt_key_type);
    self->src_exprs = self->tgt_exprs = self->tgt_key_type = NULL;
}
