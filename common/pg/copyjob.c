/*  common/pg/copyjob.c: describe, match and decide binary vs text; see
    copyjob.h. */
#include "copyjob.h"
#include "jobcheck.h"
#include "log.h"
#include "sqltext.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*  Type OIDs below this are built in and mean the same on every server;
    above it (extensions, enums, domains) they are local to a database. */
#define FIRST_NORMAL_OID 16384

static copyjob_t *
s_new (const char *run_id, const char *worker)
{
    copyjob_t *self = xcalloc (1, sizeof *self);
    self->run_id = xstrdup (run_id);
    self->worker = xstrdup (worker);
    return self;
}

copyjob_t *
copyjob_from_config (const config_t *cfg, const char *run_id,
                     const char *worker, const char *copy_table)
{
    copyjob_t *self = s_new (run_id, worker);
    self->source_conninfo = xstrdup (cfg->source.conninfo);
    self->target_conninfo = xstrdup (cfg->target.conninfo);
    self->source_connect_timeout = (int) (cfg->source.connect_timeout + 0.999);
    self->target_connect_timeout = (int) (cfg->target.connect_timeout + 0.999);
    self->query = xstrdup (cfg->source.query);
    self->read_query = sqltext_unordered (self->query);
    if (!self->read_query)
        self->read_query = xstrdup (self->query);
    self->key = xstrdup (cfg->source.key);
    self->copy_table = xstrdup (copy_table);
    self->final_table = xstrdup (cfg->target.table);
    self->processors = cfg->pipeline.processors;
    self->raw_queue_max = cfg->pipeline.raw_queue_max;
    self->processed_queue_max = cfg->pipeline.processed_queue_max;
    self->read_buffer = cfg->pipeline.read_buffer;
    self->retry.max_retries = cfg->retry.max_retries;
    self->retry.initial_delay = cfg->retry.initial_delay;
    self->retry.backoff = cfg->retry.backoff;
    self->retry.max_delay = cfg->retry.max_delay;
    self->kind = cfg->source.kind;
    self->batch_size = cfg->pipeline.batch_size;
    if (self->kind == SOURCE_KIND_CSV) {
        self->csv.delimiter = cfg->source.format.delimiter;
        self->csv.quote = cfg->source.format.quote;
        self->csv.escape = cfg->source.format.escape;
        self->csv.header = cfg->source.format.header;
        self->csv_null = xstrdup (cfg->source.format.null_marker);
        self->csv.null_marker = self->csv_null;
        self->encoding = xstrdup (cfg->source.format.encoding);
        self->max_record_bytes = cfg->source.format.max_record_bytes;
    }
    return self;
}

static char *
s_env_or (const char *value, const char *env)
{
    if (value && *value)
        return xstrdup (value);
    const char *e = getenv (env);
    return (e && *e) ? xstrdup (e) : NULL;
}

void
copyjob_to_protocol (const copyjob_t *self, const config_t *cfg, const char *copy_table,
                     const char *snapshot, bool with_conninfos, protocol_job_t *pj,
                     char **owned)
{
    memset (pj, 0, sizeof *pj);
    *owned = NULL;
    bool file = cfg->source.kind == SOURCE_KIND_CSV;
    pj->target_conninfo = with_conninfos ? cfg->target.conninfo : NULL;
    if (file) {
        pj->source_kind = "csv";
        pj->csv_delimiter = (unsigned char) cfg->source.format.delimiter;
        pj->csv_quote = (unsigned char) cfg->source.format.quote;
        pj->csv_escape = (unsigned char) cfg->source.format.escape;
        pj->csv_header = cfg->source.format.header;
        pj->csv_null = cfg->source.format.null_marker;
        pj->csv_encoding = cfg->source.format.encoding;
        pj->csv_columns = *owned = copyjob_file_columns_joined (self);
        pj->csv_max_record = cfg->source.format.max_record_bytes;
    }
    else {
        pj->source_conninfo = with_conninfos ? cfg->source.conninfo : NULL;
        pj->query = cfg->source.query;
        pj->key = self->key;
        pj->split = self->ctid_split ? "ctid" : NULL;
        pj->snapshot = (char *) snapshot;
    }
    pj->copy_table = (char *) copy_table;
    pj->final_table = cfg->target.table;
    pj->source_connect_timeout = self->source_connect_timeout;
    pj->target_connect_timeout = self->target_connect_timeout;
    pj->processors = cfg->pipeline.processors;
    pj->raw_queue_max = cfg->pipeline.raw_queue_max;
    pj->processed_queue_max = cfg->pipeline.processed_queue_max;
    pj->read_buffer = cfg->pipeline.read_buffer;
    pj->batch_size = cfg->pipeline.batch_size;
    pj->max_retries = cfg->retry.max_retries;
    pj->initial_delay = cfg->retry.initial_delay;
    pj->backoff = cfg->retry.backoff;
    pj->max_delay = cfg->retry.max_delay;
}

copyjob_t *
copyjob_from_protocol (const protocol_job_t *job, const char *run_id,
                       const char *worker, char *err, size_t errlen)
{
    copyjob_t *self = s_new (run_id, worker);
    /*  The environment wins on a worker (DESIGN: env wins on a worker), so a
        pod's own secrets beat whatever the coordinator sent. */
    const char *se = getenv ("FERRY_SOURCE_DSN"), *te = getenv ("FERRY_TARGET_DSN");
    self->source_conninfo = (se && *se) ? xstrdup (se) : s_env_or (job->source_conninfo, "FERRY_SOURCE_DSN");
    self->target_conninfo = (te && *te) ? xstrdup (te) : s_env_or (job->target_conninfo, "FERRY_TARGET_DSN");
    bool file = job->source_kind && strcmp (job->source_kind, "csv") == 0;
    if ((!self->source_conninfo && !file) || !self->target_conninfo) {
        snprintf (err, errlen, "the coordinator sent no %s conninfo (it does not send secrets over "
                  "a non-loopback link without CURVE): set %s on this worker",
                  self->source_conninfo ? "target" : "source",
                  self->source_conninfo ? "FERRY_TARGET_DSN" : "FERRY_SOURCE_DSN");
        copyjob_destroy (&self);
        return NULL;
    }
    self->source_connect_timeout = job->source_connect_timeout;
    self->target_connect_timeout = job->target_connect_timeout;
    self->query = xstrdup (job->query);
    self->read_query = sqltext_unordered (self->query);
    if (!self->read_query)
        self->read_query = xstrdup (self->query);
    self->key = xstrdup (job->key);
    self->ctid_split = job->split && strcmp (job->split, "ctid") == 0;
    self->snapshot = xstrdup (job->snapshot);
    self->copy_table = xstrdup (job->copy_table);
    self->final_table = xstrdup (job->final_table);
    self->processors = job->processors > 0 ? job->processors : 2;
    self->raw_queue_max = job->raw_queue_max > 0 ? job->raw_queue_max : 20;
    self->processed_queue_max = job->processed_queue_max > 0 ? job->processed_queue_max : 10;
    self->read_buffer = job->read_buffer >= 4096 ? job->read_buffer : 65536;
    self->retry.max_retries = job->max_retries;
    self->retry.initial_delay = job->initial_delay;
    self->retry.backoff = job->backoff >= 1.0 ? job->backoff : 2.0;
    self->retry.max_delay = job->max_delay;
    self->batch_size = job->batch_size > 0 ? job->batch_size : 5000;
    if (job->source_kind && strcmp (job->source_kind, "csv") == 0) {
        self->kind = SOURCE_KIND_CSV;
        self->csv.delimiter = (char) job->csv_delimiter;
        self->csv.quote = (char) job->csv_quote;
        self->csv.escape = (char) job->csv_escape;
        self->csv.header = job->csv_header != 0;
        self->csv_null = xstrdup (job->csv_null ? job->csv_null : "");
        self->csv.null_marker = self->csv_null;
        self->encoding = xstrdup (job->csv_encoding ? job->csv_encoding : "UTF8");
        self->max_record_bytes = job->csv_max_record > 0 ? job->csv_max_record
                                                         : JOBCHECK_MAX_RECORD_DEFAULT;
        /*  It goes into COPY ... (ENCODING '<name>'): names only. */
        for (const char *e = self->encoding; *e; e++)
            if (!((*e >= 'A' && *e <= 'Z') || (*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9')
                  || *e == '_' || *e == '-')) {
                snprintf (err, errlen, "JOB: csv_encoding is not an encoding name");
                copyjob_destroy (&self);
                return NULL;
            }
        /*  Split "a<SEP><SEP>b" into a, NULL (skipped), b. */
        const char *p = job->csv_columns ? job->csv_columns : "";
        int n = 1;
        for (const char *q = p; *q; q++)
            n += *q == PROTOCOL_COLUMN_SEP;
        char **targets = xcalloc ((size_t) n, sizeof *targets);
        for (int i = 0; i < n; i++) {
            const char *end = strchr (p, PROTOCOL_COLUMN_SEP);
            size_t len = end ? (size_t) (end - p) : strlen (p);
            if (len > 0) {
                targets[i] = xmalloc (len + 1);
                memcpy (targets[i], p, len);
                targets[i][len] = 0;
            }
            p += len + (end ? 1 : 0);
        }
        copyjob_set_file_columns (self, targets, n);
        for (int i = 0; i < n; i++)
            free (targets[i]);
        free (targets);
    }
    return self;
}

void
copyjob_destroy (copyjob_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        copyjob_t *self = *self_p;
        free (self->run_id);
        free (self->worker);
        free (self->source_conninfo);
        free (self->target_conninfo);
        free (self->query);
        free (self->read_query);
        free (self->key);
        free (self->snapshot);
        free (self->copy_table);
        free (self->final_table);
        free (self->key_quoted);
        free (self->key_type);
        free (self->column_list);
        free (self->text_columns);
        free (self->csv_null);
        free (self->encoding);
        for (int i = 0; i < self->nfile_columns; i++)
            free (self->file_targets[i]);
        free (self->file_targets);
        free (self->validators);
        free (self);
        *self_p = NULL;
    }
}

copyjob_column_t
copyjob_column_mode (unsigned src_oid, unsigned tgt_oid, char src_cat, char tgt_cat)
{
    if (src_oid == tgt_oid && src_oid < FIRST_NORMAL_OID)
        return COPYJOB_COLUMN_BINARY;
    /*  Type categories (pg_type.typcategory) between which text I/O can
        carry a value: same category, or either side a string, or a
        user/unknown type we cannot judge (the server will say). */
    if (src_cat == tgt_cat || tgt_cat == 'S' || src_cat == 'S' || src_cat == 'U'
        || tgt_cat == 'U' || src_cat == 'X' || tgt_cat == 'X')
        return COPYJOB_COLUMN_TEXT;
    return COPYJOB_COLUMN_REFUSED;
}

static void
s_set_err (char *err, size_t errlen, bool *retryable, pg_conn_t *conn, const char *what)
{
    const pg_error_t *e = pg_conn_error (conn);
    snprintf (err, errlen, "%s: [%s] %s%s%s%s", what, e->sqlstate[0] ? e->sqlstate : "-----",
              e->message, e->detail[0] ? " (" : "", e->detail, e->detail[0] ? ")" : "");
    *retryable = e->retryable;
}

/*  The row of `res` whose first column equals name, or -1. */
static int
s_find_row (const PGresult *res, const char *name)
{
    for (int r = 0; r < PQntuples (res); r++)
        if (strcmp (PQgetvalue (res, r, 0), name) == 0)
            return r;
    return -1;
}

int
copyjob_prepare (copyjob_t *self, pg_conn_t *source, pg_conn_t *target,
                 char *err, size_t errlen, bool *retryable)
{
    *retryable = false;
    int rc = -1;
    PGresult *desc = NULL, *tcols = NULL, *scats = NULL;
    char *oids = NULL;
    size_t oids_len = 0;

    /*  1. Describe the query without running it. */
    PGconn *sc = pg_conn_handle (source);
    PGresult *prep;
    prep = PQprepare (sc, "ferry_describe", self->query, 0, NULL);
    int prep_ok = PQresultStatus (prep) == PGRES_COMMAND_OK;
    if (!prep_ok) {
        const char *st = PQresultErrorField (prep, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField (prep, PG_DIAG_MESSAGE_PRIMARY);
        snprintf (err, errlen, "source.query: [%s] %s", st ? st : "-----",
                  msg ? msg : PQerrorMessage (sc));
        *retryable = pg_sqlstate_is_retryable (st) || PQstatus (sc) == CONNECTION_BAD;
        PQclear (prep);
        goto cleanup;
    }
    PQclear (prep);
    desc = PQdescribePrepared (sc, "ferry_describe");
    if (PQresultStatus (desc) != PGRES_COMMAND_OK) {
        snprintf (err, errlen, "source.query: describe failed: %s", PQresultErrorMessage (desc));
        *retryable = true;      /* a statement we just prepared: the link failed */
        goto cleanup;
    }
    if (pg_exec (source, "DEALLOCATE ferry_describe") != 0) {
        s_set_err (err, errlen, retryable, source, "source");
        goto cleanup;
    }
    self->nfields = PQnfields (desc);
    if (self->nfields < 1) {
        snprintf (err, errlen, "source.query: returns no columns");
        goto cleanup;
    }

    /*  2. The key must be one of the query's columns. */
    int key_col = -1;
    for (int i = 0; i < self->nfields; i++)
        if (strcmp (PQfname (desc, i), self->key) == 0)
            key_col = i;
    if (key_col < 0) {
        char cols[512] = "";
        for (int i = 0; i < self->nfields && strlen (cols) < 400; i++)
            snprintf (cols + strlen (cols), sizeof cols - strlen (cols), "%s%s",
                      i ? ", " : "", PQfname (desc, i));
        snprintf (err, errlen, "source.key: column \"%s\" is not in the query's result (columns: %s)",
                  self->key, cols);
        goto cleanup;
    }
    {
        char oid[16], mod[16];
        snprintf (oid, sizeof oid, "%u", PQftype (desc, key_col));
        snprintf (mod, sizeof mod, "%d", PQfmod (desc, key_col));
        const char *params[2] = { oid, mod };
        if (pg_query_value (source, "SELECT format_type($1::oid, $2::int)", 2, params,
                            &self->key_type) != 0 || !self->key_type) {
            s_set_err (err, errlen, retryable, source, "source: key type");
            goto cleanup;
        }
        self->key_quoted = pg_quote_ident (self->key);
    }

    /*  3. Source type categories, for the text-mode convertibility check. */
    oids = xmalloc ((size_t) self->nfields * 12 + 4);
    oids_len = (size_t) sprintf (oids, "{");
    for (int i = 0; i < self->nfields; i++)
        oids_len += (size_t) sprintf (oids + oids_len, "%s%u", i ? "," : "", PQftype (desc, i));
    sprintf (oids + oids_len, "}");
    {
        const char *params[1] = { oids };
        if (pg_exec_params (source,
                "SELECT t.oid, t.typcategory, format_type(t.oid, NULL) "
                "FROM pg_type t WHERE t.oid = ANY ($1::oid[])", 1, params, &scats) != 0) {
            s_set_err (err, errlen, retryable, source, "source: column types");
            goto cleanup;
        }
    }

    /*  4. The copy table's columns on the target. */
    {
        const char *params[1] = { self->copy_table };
        if (pg_exec_params (target,
                "SELECT a.attname, a.atttypid, t.typcategory, format_type(a.atttypid, a.atttypmod) "
                "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
                "ORDER BY a.attnum", 1, params, &tcols) != 0) {
            s_set_err (err, errlen, retryable, target, self->copy_table);
            goto cleanup;
        }
    }

    /*  5. Match every query column by name, decide binary vs text. */
    {
        bool binary = true;
        size_t cap = 64, len = 0, tcap = 64, tlen = 0;
        char *list = xmalloc (cap), *text_cols = xmalloc (tcap);
        list[0] = text_cols[0] = 0;
        for (int i = 0; i < self->nfields; i++) {
            const char *name = PQfname (desc, i);
            Oid soid = PQftype (desc, i);
            int t = s_find_row (tcols, name);
            if (t < 0) {
                snprintf (err, errlen, "column \"%s\" of the source query does not exist in "
                          "target table %s", name, self->final_table);
                free (list);
                free (text_cols);
                goto cleanup;
            }
            Oid toid = (Oid) strtoul (PQgetvalue (tcols, t, 1), NULL, 10);
            char scat = 'U';
            const char *sname = "?";
            for (int r = 0; r < PQntuples (scats); r++)
                if ((Oid) strtoul (PQgetvalue (scats, r, 0), NULL, 10) == soid) {
                    scat = PQgetvalue (scats, r, 1)[0];
                    sname = PQgetvalue (scats, r, 2);
                }
            char tcat = PQgetvalue (tcols, t, 2)[0];
            copyjob_column_t mode = copyjob_column_mode (soid, toid, scat, tcat);
            if (mode != COPYJOB_COLUMN_BINARY) {
                if (mode == COPYJOB_COLUMN_REFUSED) {
                    snprintf (err, errlen, "column \"%s\": source type %s cannot be loaded into "
                              "target type %s (table %s)", name, sname,
                              PQgetvalue (tcols, t, 3), self->final_table);
                    free (list);
                    free (text_cols);
                    goto cleanup;
                }
                binary = false;
                util_list_add (&text_cols, &tlen, &tcap, name);
            }
            char *q = pg_quote_ident (name);
            util_list_add (&list, &len, &cap, q);
            free (q);
        }
        free (self->column_list);
        free (self->text_columns);
        self->column_list = list;
        self->text_columns = text_cols;
        self->binary = binary;
    }
    self->prepared = true;
    rc = 0;

cleanup:
    PQclear (desc);
    PQclear (tcols);
    PQclear (scats);
    free (oids);
    return rc;
}

char *
copyjob_copy_out_sql (const copyjob_t *self, pg_conn_t *conn, const char *lo, const char *hi)
{
    PGconn *c = pg_conn_handle (conn);
    char *elo = NULL, *ehi = NULL;
    if (lo && !(elo = PQescapeLiteral (c, lo, strlen (lo)))) {
        pg_set_error (conn, "22000", "cannot escape the chunk's low bound");
        return NULL;
    }
    if (hi && !(ehi = PQescapeLiteral (c, hi, strlen (hi)))) {
        PQfreemem (elo);
        pg_set_error (conn, "22000", "cannot escape the chunk's high bound");
        return NULL;
    }
    char *where;
    if (self->ctid_split) {
        /*  The coordinator checked that read_query is one table scanned
            whole and takes this WHERE (a TID Range Scan); the newline ends
            a trailing -- comment. */
        if (lo && hi)
            where = util_strdupf ("\nWHERE ctid >= %s::tid AND ctid < %s::tid", elo, ehi);
        else if (lo)
            where = util_strdupf ("\nWHERE ctid >= %s::tid", elo);
        else if (hi)
            where = util_strdupf ("\nWHERE ctid < %s::tid", ehi);
        else
            where = xstrdup ("");
    }
    else if (lo && hi)
        where = util_strdupf (" WHERE ferry_q.%s >= %s::%s AND ferry_q.%s < %s::%s",
                              self->key_quoted, elo, self->key_type,
                              self->key_quoted, ehi, self->key_type);
    else if (lo)
        where = util_strdupf (" WHERE ferry_q.%s >= %s::%s", self->key_quoted, elo, self->key_type);
    else if (hi)
        where = util_strdupf (" WHERE ferry_q.%s < %s::%s", self->key_quoted, ehi, self->key_type);
    else
        where = xstrdup ("");
    PQfreemem (elo);
    PQfreemem (ehi);
    char *sql;
    if (self->ctid_split)
        sql = util_strdupf ("COPY (%s%s\n) TO STDOUT%s", self->read_query, where,
                            self->binary ? " (FORMAT binary)" : "");
    else
        sql = util_strdupf ("COPY (SELECT * FROM (%s\n) AS ferry_q%s) TO STDOUT%s",
                            self->read_query, where, self->binary ? " (FORMAT binary)" : "");
    free (where);
    return sql;
}

void
copyjob_set_file_columns (copyjob_t *self, char *const *targets, int count)
{
    for (int i = 0; i < self->nfile_columns; i++)
        free (self->file_targets[i]);
    free (self->file_targets);
    self->file_targets = xcalloc ((size_t) count + 1, sizeof *self->file_targets);
    for (int i = 0; i < count; i++)
        self->file_targets[i] = xstrdup (targets[i]);
    self->nfile_columns = count;
}

char *
copyjob_file_columns_joined (const copyjob_t *self)
{
    size_t len = 1;
    for (int i = 0; i < self->nfile_columns; i++)
        len += (self->file_targets[i] ? strlen (self->file_targets[i]) : 0) + 1;
    char *out = xmalloc (len), *p = out;
    for (int i = 0; i < self->nfile_columns; i++) {
        if (i)
            *p++ = PROTOCOL_COLUMN_SEP;
        if (self->file_targets[i]) {
            size_t n = strlen (self->file_targets[i]);
            memcpy (p, self->file_targets[i], n);
            p += n;
        }
    }
    *p = 0;
    return out;
}

int
copyjob_prepare_csv (copyjob_t *self, pg_conn_t *target, char *err, size_t errlen,
                     bool *retryable)
{
    *retryable = false;
    PGresult *cols = NULL;
    const char *params[1] = { self->final_table };
    if (pg_exec_params (target,
            "SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull "
            "FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum", 1, params, &cols) != 0) {
        s_set_err (err, errlen, retryable, target, self->final_table);
        return -1;
    }
    free (self->validators);
    self->validators = xcalloc ((size_t) self->nfile_columns + 1, sizeof *self->validators);
    bool utf8 = !self->encoding || strcasecmp (self->encoding, "UTF8") == 0
             || strcasecmp (self->encoding, "UTF-8") == 0;
    size_t cap = 64, len = 0;
    char *list = xmalloc (cap);
    list[0] = 0;
    int mapped = 0;
    for (int i = 0; i < self->nfile_columns; i++) {
        const char *name = self->file_targets[i];
        if (!name) {
            self->validators[i].kind = VALIDATE_ANY;
            continue;
        }
        int t = s_find_row (cols, name);
        if (t < 0) {
            snprintf (err, errlen, "source.columns: column \"%s\" (file column %d) does not exist "
                      "in target table %s", name, i + 1, self->final_table);
            free (list);
            PQclear (cols);
            return -1;
        }
        validate_column_init (&self->validators[i],
                              (uint32_t) strtoul (PQgetvalue (cols, t, 1), NULL, 10),
                              (int32_t) strtol (PQgetvalue (cols, t, 2), NULL, 10),
                              PQgetvalue (cols, t, 3)[0] == 't', name);
        /*  Text checks assume UTF-8; other encodings are converted (and
            judged) by the server. */
        validate_kind_t k = self->validators[i].kind;
        if (!utf8 && (k == VALIDATE_TEXT || k == VALIDATE_VARCHAR || k == VALIDATE_BPCHAR
                      || k == VALIDATE_JSON || k == VALIDATE_JSONB))
            self->validators[i].kind = VALIDATE_ANY;
        char *q = pg_quote_ident (name);
        util_list_add (&list, &len, &cap, q);
        free (q);
        mapped++;
    }
    PQclear (cols);
    free (self->column_list);
    self->column_list = list;
    self->nfields = mapped;
    self->binary = false;
    self->prepared = true;
    return 0;
}

char *
copyjob_copy_in_sql (const copyjob_t *self)
{
    if (self->kind == SOURCE_KIND_CSV && self->encoding)
        return util_strdupf ("COPY %s (%s) FROM STDIN (ENCODING '%s')", self->copy_table,
                             self->column_list, self->encoding);
    return util_strdupf ("COPY %s (%s) FROM STDIN%s", self->copy_table, self->column_list,
                         self->binary ? " (FORMAT binary)" : "");
}
