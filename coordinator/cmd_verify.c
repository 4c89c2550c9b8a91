/*  coordinator/cmd_verify.c: ferry-coordinator verify, the source and the
    target compared row for row, after a load or at any time.

    The job's query is cut into key ranges as a run plans it (source_plan,
    one pass over the keys in a REPEATABLE READ transaction on the
    source). For each range both servers count the rows and sum a 60-bit
    hash of each row's text (md5 of ROW(...)::text), at the same time, the
    source inside its planning transaction and the target inside a
    REPEATABLE READ READ ONLY one: two consistent cuts. A column whose
    type differs between the two is converted on the source as the load's
    text COPY converts it: its text form read as the target's type. A range whose count
    or sum differs is read again as (key, md5) pairs on both sides and
    matched (coordinator/compare.c), which names the keys missing, extra
    or different. Reads only: nothing is created or changed on either
    server. */
#include "cmd.h"
#include "compare.h"
#include "config.h"
#include "copyjob.h"
#include "exit_codes.h"
#include "jsonout.h"
#include "log.h"
#include "pg.h"
#include "plan.h"
#include "source.h"
#include "stopsig.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  A range is read again row by row only up to this many rows a side:
    (key, md5) pairs held in memory, some 100 bytes a row. */
#define VERIFY_DETAIL_MAX_ROWS  2000000

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage: ferry-coordinator verify JOB.yaml [--chunk-size N] [--show N] [--allow-extra]\n"
"                                 [--json]\n"
"\n"
"Compares the job's source query with its target table row for row and says\n"
"whether they hold the same rows. The query is cut into key ranges (source.key,\n"
"about --chunk-size rows each); for every range both servers count the rows and\n"
"sum a hash of each row's text, at once, each in one consistent snapshot. A\n"
"range that differs is read again key by key, and the keys missing from the\n"
"target, extra in it (a row held twice counts once more) or with different\n"
"values are listed. A column whose types differ is compared as the load\n"
"converts it: the source's text form read as the target's type. Reads only.\n"
"\n"
"  --chunk-size N  rows per key range (default: the job's pipeline.chunk_size)\n"
"  --show N        keys listed per range and kind (default 10; 0: counts only)\n"
"  --allow-extra   rows only the target holds (a merge into a table that has\n"
"                  other rows) are listed but do not fail the check\n"
"  --json          one JSON document instead of the text report\n"
"  -h, --help      this help\n"
"\n"
"The source is compared as it is now: rows written to it since the load\n"
"show as differences. Exit status: 0 the same rows, 1 they differ (or a\n"
"query failed), 2 usage, 3 bad job file (or a file source: verify needs a\n"
"postgres source), 4 source unreachable, 5 target unreachable, 8 interrupted.\n");
}

typedef struct {
    const char *job_path;
    int64_t chunk_size, show;
    bool allow_extra, json;
} opts_t;

typedef struct {
    const opts_t *o;
    config_t *cfg;
    source_t *source;
    pg_conn_t *src, *tgt;      /* src: borrowed from source */
    copyjob_t *job;
    char *final_q;
    char *src_exprs, *tgt_exprs;   /* the compared columns, in the query's order */
    char *tgt_key_type;
    int64_t rows_source, rows_target, ranges_differing;
    compare_counts_t total;
    bool undetailed;           /* a differing range too big to read key by key */
    int64_t unexplained;       /* differing ranges the same key by key (a volatile query) */
    json_object *doc, *ranges;
    char err[2048];
} verify_t;

static int
s_parse (int argc, char **argv, opts_t *o)
{
    static const struct option opts[] = {
        CMD_OPT_HELP, CMD_OPT_JSON,
        { "chunk-size", required_argument, NULL, 'c' },
        { "show", required_argument, NULL, 's' },
        { "allow-extra", no_argument, NULL, 'x' },
        CMD_OPT_END
    };
    o->show = 10;
    optind = 1;
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': s_usage (stdout); exit (EXIT_CODE_OK);
        case 'J': o->json = true; break;
        case 'x': o->allow_extra = true; break;
        case 'c':
            if (util_parse_int64 (optarg, 1, 1000000000, &o->chunk_size) != 0) {
                fprintf (stderr, "ferry-coordinator verify: --chunk-size: expected 1..1000000000, "
                         "got '%s'\n", optarg);
                return -1;
            }
            break;
        case 's':
            if (util_parse_int64 (optarg, 0, 1000000, &o->show) != 0) {
                fprintf (stderr, "ferry-coordinator verify: --show: expected 0..1000000, got "
                         "'%s'\n", optarg);
                return -1;
            }
            break;
        default:
            fprintf (stderr, "Try 'ferry-coordinator verify --help'.\n");
            return -1;
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "ferry-coordinator verify: %s\nTry 'ferry-coordinator verify --help'.\n",
                 optind >= argc ? "which job? give JOB.yaml" : "unexpected argument");
        return -1;
    }
    o->job_path = argv[optind];
    return 0;
}

/*  "label: message [SQLSTATE]" of a failed result into err. */
static void
s_result_error (verify_t *v, const char *label, const PGresult *res, PGconn *conn)
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
s_collect (verify_t *v, const char *label, PGconn *c)
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
s_both (verify_t *v, const char *ssql, const char *tsql, PGresult **rs, PGresult **rt)
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

/*  The compared columns: the query's, by name; on the source, one whose
    type differs from its target column's is converted as the load's text
    COPY converts it, through its text form into the target's type. */
static int
s_columns (verify_t *v)
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
        snprintf (v->err, sizeof v->err, "target: the columns of %s: %s", v->cfg->target.table,
                  pg_conn_error (v->tgt)->message);
        goto out;
    }
    size_t scap = 64, slen = 0, tcap = 64, tlen = 0;
    char *sx = xmalloc (scap), *tx = xmalloc (tcap);
    sx[0] = tx[0] = 0;
    for (int i = 0; i < n; i++) {
        const char *name = PQfname (desc, i), *stype = PQgetvalue (stypes, i, 0);
        const char *ttype = NULL;
        for (int r = 0; r < PQntuples (tcols); r++)
            if (strcmp (PQgetvalue (tcols, r, 0), name) == 0)
                ttype = PQgetvalue (tcols, r, 1);
        if (!ttype) {       /* copyjob_prepare said so already; to be sure */
            snprintf (v->err, sizeof v->err, "column \"%s\" of the source query does not exist "
                      "in target table %s", name, v->cfg->target.table);
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
        size_t need = strlen (se) + 3;
        if (slen + need >= scap)
            sx = xrealloc (sx, scap = (slen + need) * 2);
        slen += (size_t) snprintf (sx + slen, scap - slen, "%s%s", i ? ", " : "", se);
        need = strlen (te) + 3;
        if (tlen + need >= tcap)
            tx = xrealloc (tx, tcap = (tlen + need) * 2);
        tlen += (size_t) snprintf (tx + tlen, tcap - tlen, "%s%s", i ? ", " : "", te);
        free (q);
        free (se);
        free (te);
    }
    v->src_exprs = sx;
    v->tgt_exprs = tx;
    rc = v->tgt_key_type ? 0 : -1;
    if (rc)
        snprintf (v->err, sizeof v->err, "source.key: column \"%s\" is not in target table %s",
                  v->job->key, v->cfg->target.table);
out:
    free (sql);
    PQclear (desc);
    PQclear (stypes);
    PQclear (tcols);
    return rc;
}

/*  The WHERE of [lo, hi) on one server (its own literal quoting). */
static char *
s_where (verify_t *v, pg_conn_t *conn, const char *type, const plan_range_t *range)
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
s_statements (verify_t *v, const plan_range_t *range, bool detail, char **ssql, char **tsql)
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
s_detail (verify_t *v, const plan_range_t *range, int64_t ns, int64_t nt,
          json_object *jr)
{
    if (ns > VERIFY_DETAIL_MAX_ROWS || nt > VERIFY_DETAIL_MAX_ROWS) {
        v->undetailed = true;
        if (!v->doc)
            printf ("  too many rows to read key by key (over %d a side): verify again with a "
                    "smaller --chunk-size to find them\n", VERIFY_DETAIL_MAX_ROWS);
        return 0;
    }
    char *ssql = NULL, *tsql = NULL;
    PGresult *rs = NULL, *rt = NULL;
    if (s_statements (v, range, true, &ssql, &tsql) != 0 || s_both (v, ssql, tsql, &rs, &rt) != 0) {
        free (ssql);
        free (tsql);
        return -1;
    }
    compare_row_t *a = s_rows (rs), *b = s_rows (rt);
    compare_diff_t *d = NULL;
    compare_counts_t c;
    size_t n = compare_rows (a, (size_t) PQntuples (rs), b, (size_t) PQntuples (rt), &d, &c);
    v->total.missing += c.missing;
    v->total.extra += c.extra;
    v->total.differs += c.differs;
    if (n == 0)
        v->unexplained++;
    if (n == 0 && !v->doc)
        printf ("  read again key by key, the same rows: the query does not return the same "
                "rows twice in one snapshot (a volatile function?)\n");
    for (int k = COMPARE_MISSING; k <= COMPARE_DIFFERS; k++) {
        int64_t count = k == COMPARE_MISSING ? c.missing : k == COMPARE_EXTRA ? c.extra
                                                                              : c.differs;
        json_object *keys = v->doc ? json_object_new_array () : NULL;
        if (!keys && count == 0)
            continue;
        if (!keys)
            printf ("  %s (%" PRId64 ")%s", s_kind_text[k], count, v->o->show ? ": " : "");
        int64_t shown = 0;
        for (size_t i = 0; i < n && shown < v->o->show; i++) {
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
    free (ssql);
    free (tsql);
    return 0;
}

/*  One range: 0 compared (a difference counted and reported), -1 a
    query failed (err). */
static int
s_range (verify_t *v, size_t id, const plan_range_t *range)
{
    char *ssql = NULL, *tsql = NULL;
    PGresult *rs = NULL, *rt = NULL;
    if (s_statements (v, range, false, &ssql, &tsql) != 0 || s_both (v, ssql, tsql, &rs, &rt) != 0) {
        free (ssql);
        free (tsql);
        return -1;
    }
    free (ssql);
    free (tsql);
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
    json_object *jr = NULL;
    if (v->doc) {
        jr = json_object_new_object ();
        jsonout_int (jr, "range", (int64_t) id);
        json_object_object_add (jr, "lo", range->lo ? json_object_new_string (range->lo) : NULL);
        json_object_object_add (jr, "hi", range->hi ? json_object_new_string (range->hi) : NULL);
        jsonout_int (jr, "source_rows", ns);
        jsonout_int (jr, "target_rows", nt);
        json_object_array_add (v->ranges, jr);
    }
    else
        printf ("range %zu %s[%s, %s): source %" PRId64 " rows, target %" PRId64 "%s\n", id,
                range->lo ? "" : "(and NULL keys) ", range->lo ? range->lo : "-inf",
                range->hi ? range->hi : "+inf", ns, nt, ns == nt ? ", rows differ" : "");
    return s_detail (v, range, ns, nt, jr);
}

/*  Connects, prepares the columns, plans and compares every range.
    Returns an exit status. */
static int
s_verify (verify_t *v)
{
    config_t *cfg = v->cfg;
    double t0 = util_now_s ();
    retry_policy_t policy = {
        .max_retries = cfg->retry.max_retries, .initial_delay = cfg->retry.initial_delay,
        .backoff = cfg->retry.backoff, .max_delay = cfg->retry.max_delay };
    v->source = source_new (cfg->source.conninfo);
    source_connect_begin (v->source, "ferry/verify");
    v->tgt = pg_conn_new (cfg->target.conninfo, "target");
    pg_conn_set_application_name (v->tgt, "ferry/verify");
    pg_connect_begin (v->tgt);
    if (source_open (v->source, &policy, false, &stopsig_raised) != 0) {
        log_error ("%s", source_error (v->source)->message);
        return pg_is_connected (source_conn (v->source)) ? EXIT_CODE_FAILED : EXIT_CODE_SOURCE;
    }
    v->src = source_conn (v->source);
    if (pg_connect (v->tgt, &policy, &stopsig_raised) != 0) {
        log_error ("target: cannot connect: %s", pg_conn_error (v->tgt)->message);
        return EXIT_CODE_TARGET;
    }
    /*  The comparisons are data statements: no control-statement timeout.
        The target's reads are one snapshot, like the source's. */
    if (pg_exec (v->src, "SET statement_timeout = 0") != 0
    ||  pg_exec (v->tgt, "SET statement_timeout = 0") != 0
    ||  pg_exec (v->tgt, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) {
        log_error ("%s", pg_conn_error (pg_conn_error (v->src)->message[0] ? v->src
                                                                            : v->tgt)->message);
        return EXIT_CODE_FAILED;
    }
    v->job = copyjob_from_config (cfg, "verify", "verify", v->final_q);
    bool retryable = false;
    if (copyjob_prepare (v->job, v->src, v->tgt, v->err, sizeof v->err, &retryable) != 0
    ||  s_columns (v) != 0) {
        log_error ("%s", v->err);
        return EXIT_CODE_FAILED;
    }
    int64_t chunk_size = v->o->chunk_size ? v->o->chunk_size : cfg->pipeline.chunk_size;
    int64_t total = 0, null_keys = 0;
    plan_t *plan = source_plan (v->source, v->job, chunk_size, &total, &null_keys);
    if (!plan) {
        log_error ("%s", source_error (v->source)->message);
        return EXIT_CODE_FAILED;
    }
    int rc = EXIT_CODE_OK;
    for (size_t i = 0; i < plan->count && rc == EXIT_CODE_OK; i++) {
        if (stopsig_raised)
            rc = EXIT_CODE_INTERRUPTED;
        else if (s_range (v, i, &plan->ranges[i]) != 0) {
            log_error ("verify: key range %zu: %s", i, v->err);
            rc = EXIT_CODE_FAILED;
        }
    }
    double seconds = util_now_s () - t0;
    bool only_extra = v->total.missing == 0 && v->total.differs == 0 && !v->undetailed
                      && v->unexplained == 0;
    bool failed = v->ranges_differing > 0 && !(v->o->allow_extra && only_extra);
    if (rc == EXIT_CODE_OK && v->doc) {
        jsonout_str (v->doc, "status", failed ? "differ" : "same");
        jsonout_str (v->doc, "table", cfg->target.table);
        jsonout_str (v->doc, "key", v->job->key);
        jsonout_int (v->doc, "ranges", (int64_t) plan->count);
        jsonout_int (v->doc, "ranges_differing", v->ranges_differing);
        jsonout_int (v->doc, "source_rows", v->rows_source);
        jsonout_int (v->doc, "target_rows", v->rows_target);
        jsonout_int (v->doc, "missing", v->total.missing);
        jsonout_int (v->doc, "extra", v->total.extra);
        jsonout_int (v->doc, "differs", v->total.differs);
        json_object_object_add (v->doc, "allow_extra", json_object_new_boolean (v->o->allow_extra));
        jsonout_num (v->doc, "seconds", seconds, 3);
        json_object_object_add (v->doc, "differing", json_object_get (v->ranges));
        char *text = jsonout_finish (v->doc, 1);
        v->doc = NULL;
        fputs (text, stdout);
        free (text);
    }
    else if (rc == EXIT_CODE_OK && !failed)
        printf ("verify: %s: source %" PRId64 " rows, target %" PRId64 " in %zu key range(s) of %s "
                "(count and a hash of every row's text per range)%s, %.1f s\n",
                v->total.extra ? "every source row is in the target" : "the same rows",
                v->rows_source, v->rows_target, plan->count, v->job->key,
                v->total.extra ? "; the target holds other rows too (--allow-extra)" : "",
                seconds);
    else if (rc == EXIT_CODE_OK)
        printf ("verify: DIFFERENT: %" PRId64 " of %zu key range(s) differ; source %" PRId64
                " rows, target %" PRId64 "; %" PRId64 " missing in target, %" PRId64
                " extra, %" PRId64 " with different values%s, %.1f s\n", v->ranges_differing,
                plan->count, v->rows_source, v->rows_target, v->total.missing, v->total.extra,
                v->total.differs, v->undetailed ? " (not counting the ranges too big to read "
                "key by key)" : "", seconds);
    fflush (stdout);
    plan_destroy (&plan);
    if (rc == EXIT_CODE_OK && failed)
        rc = EXIT_CODE_FAILED;
    return rc;
}

int
cmd_verify_main (int argc, char **argv)
{
    opts_t o;
    memset (&o, 0, sizeof o);
    if (s_parse (argc, argv, &o) != 0)
        return EXIT_CODE_USAGE;
    verify_t v;
    memset (&v, 0, sizeof v);
    v.o = &o;
    v.cfg = config_load (o.job_path, v.err, sizeof v.err);
    if (!v.cfg) {
        log_error ("%s", v.err);
        return EXIT_CODE_BAD_CONFIG;
    }
    if (v.cfg->source.kind != SOURCE_KIND_POSTGRES) {
        log_error ("verify: %s: source.kind csv: verify compares a postgres source with the "
                   "target; for a file load, ferry.runs (rows_loaded, rows_rejected) and the "
                   "rejects file account for every record", o.job_path);
        config_destroy (&v.cfg);
        return EXIT_CODE_BAD_CONFIG;
    }
    v.final_q = pg_quote_qualified (v.cfg->target.table);
    if (o.json) {
        v.doc = json_object_new_object ();
        v.ranges = json_object_new_array ();
    }
    stopsig_install ();
    int rc = s_verify (&v);
    json_object_put (v.doc);
    json_object_put (v.ranges);
    if (v.tgt && pg_is_connected (v.tgt))
        pg_rollback (v.tgt);
    pg_conn_destroy (&v.tgt);
    source_destroy (&v.source);
    copyjob_destroy (&v.job);
    free (v.final_q);
    free (v.src_exprs);
    free (v.tgt_exprs);
    free (v.tgt_key_type);
    config_destroy (&v.cfg);
    return rc;
}
