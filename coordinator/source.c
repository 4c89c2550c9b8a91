/*  coordinator/source.c: see source.h. */
#include "source.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct source_t {
    pg_conn_t *conn;
    char *snapshot;
    ferr_t err;                 /* the last failure (source_error) */
};

source_t *
source_new (const char *conninfo)
{
    source_t *self = xcalloc (1, sizeof *self);
    self->conn = pg_conn_new (conninfo, "source");
    return self;
}

void
source_connect_begin (source_t *self, const char *app)
{
    pg_conn_set_application_name (self->conn, app);
    pg_connect_begin (self->conn);
}

void
source_destroy (source_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        source_t *self = *self_p;
        pg_conn_destroy (&self->conn);
        free (self->snapshot);
        free (self);
        *self_p = NULL;
    }
}

/*  Records the connection's error as the source's last failure, for the
    caller to log once (source_error). */
static void
s_fail (source_t *self, const char *what)
{
    pg_ferr (self->conn, &self->err, what);
    ferr_prefix (&self->err, "source");
}

const ferr_t *
source_error (source_t *self)
{
    return &self->err;
}

int
source_open (source_t *self, const retry_policy_t *policy, bool export_snapshot,
             volatile int *stop)
{
    if (pg_connect (self->conn, policy, stop) != 0) {
        s_fail (self, "connect");
        return -1;
    }
    if (pg_exec (self->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) {
        s_fail (self, "BEGIN");
        return -1;
    }
    if (export_snapshot) {
        free (self->snapshot);
        self->snapshot = NULL;
        if (pg_query_value (self->conn, "SELECT pg_export_snapshot()", 0, NULL,
                            &self->snapshot) != 0 || !self->snapshot) {
            s_fail (self, "pg_export_snapshot");
            return -1;
        }
        log_info ("source: exported snapshot %s; every chunk reads this cut", self->snapshot);
    }
    return 0;
}

const char *
source_snapshot (source_t *self)
{
    return self->snapshot;
}

pg_conn_t *
source_conn (source_t *self)
{
    return self->conn;
}

int
source_estimate (source_t *self, const copyjob_t *job, int64_t *rows)
{
    *rows = 0;
    char *sql = util_strdupf ("EXPLAIN (FORMAT JSON) %s", job->read_query);
    char *plan = NULL;
    int rc = pg_query_value (self->conn, sql, 0, NULL, &plan);
    free (sql);
    if (rc != 0) {
        s_fail (self, "estimating rows");
        return -1;
    }
    /*  The top node's "Plan Rows" is the first one in the text. */
    const char *p = plan ? strstr (plan, "\"Plan Rows\":") : NULL;
    if (p)
        *rows = strtoll (p + strlen ("\"Plan Rows\":"), NULL, 10);
    free (plan);
    return 0;
}

/*  How many times `needle` occurs in `hay`. */
static int
s_count (const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr (p, needle)); p += strlen (needle))
        n++;
    return n;
}

/*  The first JSON string value of "field" in EXPLAIN (FORMAT JSON) output,
    unescaped into out. Inside a JSON string a quote is always escaped, so
    the pattern "field": " only matches a real key. Returns 0, or -1 when
    missing, too long or escaped in a way EXPLAIN does not write. */
static int
s_json_string (const char *json, const char *field, char *out, size_t outlen)
{
    char pattern[64];
    snprintf (pattern, sizeof pattern, "\"%s\": \"", field);
    const char *p = strstr (json, pattern);
    if (!p)
        return -1;
    p += strlen (pattern);
    size_t n = 0;
    for (; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            p++;
            switch (*p) {
            case '"': case '\\': case '/': c = *p; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            default: return -1;         /* \uXXXX: not worth decoding here */
            }
        }
        if (n + 1 >= outlen)
            return -1;
        out[n++] = c;
    }
    if (*p != '"')
        return -1;
    out[n] = 0;
    return 0;
}

/*  EXPLAIN (FORMAT JSON, VERBOSE) of sql into *plan. Returns 0, 1 when the
    server refused the statement (error text in why), -1 when the
    connection failed. */
static int
s_explain (source_t *self, const char *sql, char **plan, char *why, size_t whylen)
{
    char *explain = util_strdupf ("EXPLAIN (FORMAT JSON, VERBOSE) %s", sql);
    int rc = pg_query_value (self->conn, explain, 0, NULL, plan);
    free (explain);
    if (rc == 0)
        return 0;
    if (!pg_is_connected (self->conn))
        return -1;
    snprintf (why, whylen, "%s", pg_conn_error (self->conn)->message);
    return 1;
}

/*  Is this plan one node: a `type` scan of a table, with no Filter? The
    table's schema and name go into schema / name. */
static bool
s_single_scan (const char *plan, const char *type, char *schema, size_t slen,
               char *name, size_t nlen)
{
    char node[32];
    return plan && s_count (plan, "\"Node Type\": ") == 1
        && s_json_string (plan, "Node Type", node, sizeof node) == 0 && strcmp (node, type) == 0
        && !strstr (plan, "\"Filter\": ") && !strstr (plan, "\"Plans\": ")
        && s_json_string (plan, "Schema", schema, slen) == 0
        && s_json_string (plan, "Relation Name", name, nlen) == 0;
}

int
source_ctid_probe (source_t *self, const copyjob_t *job, source_heap_t *heap,
                   char *why, size_t whylen)
{
    memset (heap, 0, sizeof *heap);
    char schema[64 * 2 + 1], name[64 * 2 + 1], schema2[sizeof schema], name2[sizeof name];
    char *plan = NULL, *probe_plan = NULL, *probe = NULL, *value = NULL;
    int rc = -1;
    if (pg_exec (self->conn, "SAVEPOINT ferry_probe") != 0) {
        s_fail (self, "SAVEPOINT");
        return -1;
    }
    int e = s_explain (self, job->read_query, &plan, why, whylen);
    if (e != 0) {
        if (e < 0)
            s_fail (self, "planning (EXPLAIN of the query)");
        rc = e < 0 ? -1 : 0;
        goto done;
    }
    if (!s_single_scan (plan, "Seq Scan", schema, sizeof schema, name, sizeof name)) {
        snprintf (why, whylen, "the query is not a plain scan of one table (it filters, joins, "
                  "sorts, aggregates or reads a view)");
        rc = 0;
        goto done;
    }
    const char *p = strstr (plan, "\"Plan Rows\": ");
    heap->est_rows = p ? strtoll (p + strlen ("\"Plan Rows\": "), NULL, 10) : 0;
    snprintf (heap->relation, sizeof heap->relation, "%s.%s", schema, name);
    snprintf (heap->schema, sizeof heap->schema, "%s", schema);
    snprintf (heap->name, sizeof heap->name, "%s", name);

    probe = util_strdupf ("%s\nWHERE ctid >= '(0,0)'::tid AND ctid < '(1,0)'::tid",
                          job->read_query);
    e = s_explain (self, probe, &probe_plan, why, whylen);
    if (e != 0) {
        if (e > 0) {
            char server[256];
            snprintf (server, sizeof server, "%s", why);
            snprintf (why, whylen, "the query does not take a ctid condition (%s)", server);
        }
        if (e < 0)
            s_fail (self, "planning (EXPLAIN with a ctid condition)");
        rc = e < 0 ? -1 : 0;
        goto done;
    }
    if (!s_single_scan (probe_plan, "Tid Range Scan", schema2, sizeof schema2, name2, sizeof name2)
    ||  strcmp (schema, schema2) != 0 || strcmp (name, name2) != 0) {
        snprintf (why, whylen, "with a ctid condition the query does not plan as a TID Range "
                  "Scan of %s", heap->relation);
        rc = 0;
        goto done;
    }
    /*  Blocks now: EXPLAIN took an ACCESS SHARE lock, held until the
        coordinator's transaction ends, so the heap cannot be truncated or
        rewritten under the run; rows added later land past the last bound,
        in the open-ended last chunk. */
    const char *params[2] = { schema, name };
    if (pg_query_value (self->conn,
                        "SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint "
                        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'm')",
                        2, params, &value) != 0) {
        if (!pg_is_connected (self->conn)) {
            s_fail (self, "reading the table's size");
            goto done;
        }
        snprintf (why, whylen, "cannot read the size of %s: %s", heap->relation,
                  pg_conn_error (self->conn)->message);
        rc = 0;
        goto done;
    }
    if (!value) {
        snprintf (why, whylen, "%s is not a plain table", heap->relation);
        rc = 0;
        goto done;
    }
    heap->nblocks = strtoll (value, NULL, 10);
    rc = 1;
done:
    free (plan);
    free (probe_plan);
    free (probe);
    free (value);
    if (rc >= 0) {
        /*  A refused probe aborted the savepoint, not the snapshot. On
            success RELEASE keeps the probe's lock on the table (ROLLBACK TO
            would drop it). */
        if ((rc == 0 && pg_exec (self->conn, "ROLLBACK TO SAVEPOINT ferry_probe") != 0)
        ||  pg_exec (self->conn, "RELEASE SAVEPOINT ferry_probe") != 0) {
            s_fail (self, "ending the probe's savepoint");
            rc = -1;
        }
    }
    return rc;
}

plan_t *
source_plan (source_t *self, const copyjob_t *job, int64_t chunk_size,
             int64_t *total_rows, int64_t *null_keys)
{
    /*  One ordered pass over the key (an index-only scan when the key is
        indexed) yields the boundaries, the exact count (the last row
        number) and where the NULL keys begin (they sort last). Keys travel
        as text in the key type's output format and come back through
        '<text>'::keytype in the workers' range predicates, under the same
        session settings (pg.c), so they round trip exactly. */
    const char *k = job->key_quoted;
    char *sql = util_strdupf (
        "SELECT s.k::text, s.rn, s.last, s.first_null FROM ("
        "  SELECT ferry_q.%s AS k, row_number() OVER w AS rn,"
        "         lead(1) OVER w IS NULL AS last,"
        "         ferry_q.%s IS NULL AND NOT lag(ferry_q.%s IS NULL, 1, false) OVER w AS first_null"
        "  FROM (%s\n) AS ferry_q WINDOW w AS (ORDER BY ferry_q.%s)) s "
        "WHERE (s.rn %% %" PRId64 " = 1 AND s.rn > 1 AND s.k IS NOT NULL) OR s.last OR s.first_null "
        "ORDER BY s.rn",
        k, k, k, job->read_query, k, chunk_size);
    PGresult *res = NULL;
    int rc = pg_exec_params (self->conn, sql, 0, NULL, &res);
    free (sql);
    if (rc != 0) {
        s_fail (self, "planning key ranges");
        return NULL;
    }
    int n = PQntuples (res);
    plan_sample_t *samples = xcalloc ((size_t) n + 1, sizeof *samples);
    size_t nsamples = 0;
    int64_t total = 0, first_null = 0;
    for (int i = 0; i < n; i++) {
        int64_t rn = strtoll (PQgetvalue (res, i, 1), NULL, 10);
        bool null_key = PQgetisnull (res, i, 0);
        if (PQgetvalue (res, i, 2)[0] == 't')
            total = rn;
        if (PQgetvalue (res, i, 3)[0] == 't')
            first_null = rn;
        if (!null_key && rn > 1 && rn % chunk_size == 1) {
            samples[nsamples].key = PQgetvalue (res, i, 0);    /* borrowed from res */
            samples[nsamples].rn = rn;
            nsamples++;
        }
    }
    *total_rows = total;
    *null_keys = first_null > 0 ? total - first_null + 1 : 0;
    plan_t *plan = plan_build (total, samples, nsamples);
    free (samples);
    PQclear (res);
    return plan;
}

bool
source_snapshot_alive (source_t *self)
{
    return pg_is_connected (self->conn)
        && PQtransactionStatus (pg_conn_handle (self->conn)) == PQTRANS_INTRANS
        && pg_exec (self->conn, "SELECT 1") == 0;
}

void
source_close (source_t *self)
{
    if (pg_is_connected (self->conn))
        pg_exec (self->conn, "COMMIT");
    pg_disconnect (self->conn);
}

char *
source_txid_snapshot (source_t *self)
{
    char *value = NULL;
    if (pg_query_value (self->conn, "SELECT txid_current_snapshot()::text", 0, NULL, &value) != 0) {
        s_fail (self, "reading the transaction's snapshot");
        return NULL;
    }
    return value;
}

int
source_heap_changed_since (source_t *self, const source_heap_t *heap, const char *snapshot)
{
    /*  A tuple's xmin is a 32-bit xid: widen it with the epoch of the
        current next xid (every live, unfrozen xmin is within 2^31 of it),
        then ask whether that transaction was visible in the old snapshot.
        Frozen tuples keep their raw xmin; a very old one may widen to a
        recent xid and count as changed, which only errs on the safe side
        (the caller then starts over). xids 0-2 are special (bootstrap,
        frozen): always old. */
    char *sch = pg_quote_ident (heap->schema), *nam = pg_quote_ident (heap->name);
    char *sql = util_strdupf (
            "WITH s AS (SELECT txid_snapshot_xmax(txid_current_snapshot()) AS nx) "
            "SELECT EXISTS (SELECT 1 FROM ONLY %s.%s t, s, "
            "  LATERAL (SELECT ((s.nx >> 32) << 32) + t.xmin::text::bigint AS w) x "
            "  WHERE t.xmin::text::bigint > 2 AND NOT txid_visible_in_snapshot("
            "    CASE WHEN x.w > s.nx THEN x.w - 4294967296 ELSE x.w END, $1::txid_snapshot))",
            sch, nam);
    const char *params[1] = { snapshot };
    char *value = NULL;
    int rc = pg_query_value (self->conn, sql, 1, params, &value);
    free (sql);
    free (sch);
    free (nam);
    if (rc != 0) {
        s_fail (self, "looking for rows changed since the run's first snapshot");
        return -1;
    }
    rc = value && value[0] == 't';
    free (value);
    return rc;
}
