/*  common/pg/pg.c: the one careful path around libpq; see pg.h.

    Every PGresult is cleared in the function that received it. Errors are
    captured into self->error with their SQLSTATE and classified once
    (s_capture_*), never logged here: the caller knows the chunk and table
    and logs once. */
#include "pg.h"
#include "pg_int.h"
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  pg_set_default_timeouts, per label. */
#define S_DEFAULTS 4
static struct {
    char label[16];
    double connect_timeout, statement_timeout;
} s_defaults[S_DEFAULTS];

pg_conn_t *
pg_conn_new (const char *conninfo, const char *label)
{
    pg_conn_t *self = xcalloc (1, sizeof *self);
    self->conninfo = xstrdup (conninfo ? conninfo : "");
    self->label = xstrdup (label ? label : "server");
    self->connect_timeout = 0;
    self->statement_timeout = -1;
    for (int i = 0; i < S_DEFAULTS; i++)
        if (s_defaults[i].label[0] && strcmp (s_defaults[i].label, self->label) == 0) {
            self->connect_timeout = s_defaults[i].connect_timeout;
            self->statement_timeout = s_defaults[i].statement_timeout;
        }
    return self;
}

void
pg_conn_set_timeouts (pg_conn_t *self, double connect_timeout, double statement_timeout)
{
    self->connect_timeout = connect_timeout;
    self->statement_timeout = statement_timeout;
}

void
pg_set_default_timeouts (const char *label, double connect_timeout, double statement_timeout)
{
    int free_at = -1;
    for (int i = 0; i < S_DEFAULTS; i++) {
        if (strcmp (s_defaults[i].label, label) == 0) {
            free_at = i;
            break;
        }
        if (free_at < 0 && !s_defaults[i].label[0])
            free_at = i;
    }
    FERRY_ASSERT (free_at >= 0);
    snprintf (s_defaults[free_at].label, sizeof s_defaults[free_at].label, "%s", label);
    s_defaults[free_at].connect_timeout = connect_timeout;
    s_defaults[free_at].statement_timeout = statement_timeout;
}

void
pg_conn_destroy (pg_conn_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        pg_conn_t *self = *self_p;
        pg_disconnect (self);
        free (self->conninfo);
        free (self->label);
        free (self->appname);
        free (self);
        *self_p = NULL;
    }
}

void
pg_conn_set_application_name (pg_conn_t *self, const char *name)
{
    free (self->appname);
    self->appname = xstrdup (name);
}

bool
pg_sqlstate_is_retryable (const char *s)
{
    return ferr_sqlstate_is_retryable (s);
}

void
pg_error_to_ferr (const pg_error_t *pe, ferr_t *e, const char *what)
{
    ferr_set_server (e, what, pe->sqlstate, pe->message, pe->detail);
    e->retryable = pe->retryable;
}

void
pg_ferr (pg_conn_t *self, ferr_t *e, const char *what)
{
    pg_error_to_ferr (&self->error, e, what);
}

void
pg_copy_line (char *dst, size_t size, const char *text)
{
    if (!text)
        text = "";
    size_t n = strcspn (text, "\n");
    if (n >= size)
        n = size - 1;
    memcpy (dst, text, n);
    dst[n] = 0;
}

void
pg_set_error (pg_conn_t *self, const char *sqlstate, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->error.message, sizeof self->error.message, format, args);
    va_end (args);
    snprintf (self->error.sqlstate, sizeof self->error.sqlstate, "%s", sqlstate ? sqlstate : "");
    self->error.detail[0] = 0;
    self->error.retryable = pg_sqlstate_is_retryable (self->error.sqlstate);
}

/*  An error without a result: connection-level. A connection that went bad
    has no SQLSTATE from the server; it is a lost connection, 08006. */
static void
s_capture_conn (pg_conn_t *self, const char *what)
{
    const char *msg = self->conn ? PQerrorMessage (self->conn) : "no connection";
    char line[900];
    pg_copy_line (line, sizeof line, msg && *msg ? msg : "unknown error");
    const char *state = (!self->conn || PQstatus (self->conn) == CONNECTION_BAD) ? "08006" : "";
    pg_set_error (self, state, "%s: %s", what, line);
}

void
pg_capture_result (pg_conn_t *self, const PGresult *res)
{
    if (!res) {
        s_capture_conn (self, "no result");
        return;
    }
    const char *state = PQresultErrorField (res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField (res, PG_DIAG_MESSAGE_DETAIL);
    const char *context = PQresultErrorField (res, PG_DIAG_CONTEXT);
    if (!primary)
        primary = PQresultErrorMessage (res);
    if (!primary || !*primary)
        primary = self->conn ? PQerrorMessage (self->conn) : "unknown error";
    pg_copy_line (self->error.message, sizeof self->error.message, primary);
    snprintf (self->error.sqlstate, sizeof self->error.sqlstate, "%s", state ? state : "");
    /*  Libpq reports a dropped connection as a result without SQLSTATE. */
    if (!state && self->conn && PQstatus (self->conn) == CONNECTION_BAD)
        snprintf (self->error.sqlstate, sizeof self->error.sqlstate, "08006");
    self->error.detail[0] = 0;
    if (detail || context)
        snprintf (self->error.detail, sizeof self->error.detail, "%s%s%s",
                  detail ? detail : "", detail && context ? "; " : "",
                  context ? context : "");
    for (char *p = self->error.detail; *p; p++)
        if (*p == '\n')
            *p = ' ';
    self->error.retryable = pg_sqlstate_is_retryable (self->error.sqlstate);
}

void
pg_disconnect (pg_conn_t *self)
{
    pg_join_pending (self);
    if (self->conn) {
        PQfinish (self->conn);
        self->conn = NULL;
    }
}

bool
pg_is_connected (pg_conn_t *self)
{
    pg_join_pending (self);
    return self->conn && PQstatus (self->conn) == CONNECTION_OK;
}

PGconn *
pg_conn_handle (pg_conn_t *self)
{
    return self->conn;
}

const char *
pg_conn_label (pg_conn_t *self)
{
    return self->label;
}

const pg_error_t *
pg_conn_error (pg_conn_t *self)
{
    return &self->error;
}

int
pg_exec (pg_conn_t *self, const char *sql)
{
    if (!self->conn) {
        pg_set_error (self, "08003", "%s: not connected", self->label);
        return -1;
    }
    PGresult *res = PQexec (self->conn, sql);
    ExecStatusType st = PQresultStatus (res);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;
    if (rc)
        pg_capture_result (self, res);
    PQclear (res);
    return rc;
}

void
pg_rollback (pg_conn_t *self)
{
    if (!pg_is_connected (self))
        return;
    PGresult *res = PQexec (self->conn, "ROLLBACK");
    PQclear (res);
    /*  Leave the connection idle: if a COPY was still open, drain it. */
    while ((res = PQgetResult (self->conn)) != NULL)
        PQclear (res);
}

int
pg_exec_params (pg_conn_t *self, const char *sql, int nparams,
                const char *const *values, PGresult **res_p)
{
    if (res_p)
        *res_p = NULL;
    if (!self->conn) {
        pg_set_error (self, "08003", "%s: not connected", self->label);
        return -1;
    }
    PGresult *res = PQexecParams (self->conn, sql, nparams, NULL, values, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus (res);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;
    if (rc)
        pg_capture_result (self, res);
    if (rc == 0 && res_p)
        *res_p = res;           /* ownership passes to the caller */
    else
        PQclear (res);
    return rc;
}

int
pg_query_value (pg_conn_t *self, const char *sql, int nparams,
                const char *const *values, char **value_p)
{
    *value_p = NULL;
    PGresult *res = NULL;
    if (pg_exec_params (self, sql, nparams, values, &res) != 0)
        return -1;
    int rc = 0;
    if (PQntuples (res) != 1 || PQnfields (res) < 1) {
        pg_set_error (self, NULL, "%s: expected one row, got %d", self->label, PQntuples (res));
        rc = -1;
    }
    else if (!PQgetisnull (res, 0, 0))
        *value_p = xstrdup (PQgetvalue (res, 0, 0));
    PQclear (res);
    return rc;
}

int
pg_copy_out_begin (pg_conn_t *self, const char *sql)
{
    if (!self->conn) {
        pg_set_error (self, "08003", "%s: not connected", self->label);
        return -1;
    }
    PGresult *res = PQexec (self->conn, sql);
    int rc = PQresultStatus (res) == PGRES_COPY_OUT ? 0 : -1;
    if (rc)
        pg_capture_result (self, res);
    PQclear (res);
    return rc;
}

int
pg_copy_out_row (pg_conn_t *self, char **buf_p)
{
    *buf_p = NULL;
    int n = PQgetCopyData (self->conn, buf_p, 0);
    if (n > 0)
        return n;
    if (n == -2) {
        s_capture_conn (self, "COPY OUT");
        return -2;
    }
    /*  -1: end of data; the final result says whether the COPY succeeded,
        and a next COPY of the same query string may begin. */
    int rc = -1;
    PGresult *res;
    while ((res = PQgetResult (self->conn)) != NULL) {
        ExecStatusType st = PQresultStatus (res);
        if (st == PGRES_COPY_OUT && rc == -1) {
            PQclear (res);
            return -3;
        }
        if (st != PGRES_COMMAND_OK && rc == -1) {
            pg_capture_result (self, res);
            rc = -2;
        }
        PQclear (res);
        if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN)
            break;      /* after an error: never loop on a COPY state */
    }
    return rc;
}

int
pg_copy_in_begin (pg_conn_t *self, const char *sql)
{
    if (!self->conn) {
        pg_set_error (self, "08003", "%s: not connected", self->label);
        return -1;
    }
    PGresult *res = PQexec (self->conn, sql);
    int rc = PQresultStatus (res) == PGRES_COPY_IN ? 0 : -1;
    if (rc)
        pg_capture_result (self, res);
    PQclear (res);
    return rc;
}

int
pg_copy_in_put (pg_conn_t *self, const char *buf, size_t len)
{
    /*  PQputCopyData takes an int length: feed huge buffers in pieces. */
    while (len > 0) {
        int piece = len > (1u << 30) ? (1 << 30) : (int) len;
        if (PQputCopyData (self->conn, buf, piece) != 1) {
            s_capture_conn (self, "COPY IN");
            return -1;
        }
        buf += piece;
        len -= (size_t) piece;
    }
    return 0;
}

int
pg_copy_in_end (pg_conn_t *self, const char *errmsg, int64_t *rows_p)
{
    if (rows_p)
        *rows_p = 0;
    if (PQputCopyEnd (self->conn, errmsg) != 1 && !pg_is_connected (self)) {
        s_capture_conn (self, "COPY end");
        return -1;
    }
    /*  Connected but no COPY in progress any more: the server already
        refused the data; its error is in the results below. */
    int rc = 0;
    int got = 0;
    PGresult *res;
    while ((res = PQgetResult (self->conn)) != NULL) {
        if (PQresultStatus (res) == PGRES_COMMAND_OK) {
            if (rows_p) {
                const char *n = PQcmdTuples (res);
                *rows_p = (n && *n) ? strtoll (n, NULL, 10) : 0;
            }
        }
        else if (rc == 0) {
            pg_capture_result (self, res);
            rc = -1;
        }
        got = 1;
        PQclear (res);
    }
    if (!got && rc == 0) {
        s_capture_conn (self, "COPY end");
        rc = -1;
    }
    if (errmsg)
        return 0;   /* aborted on purpose: the error result is expected */
    return rc;
}

char *
pg_conninfo_redact (const char *conninfo)
{
    if (!conninfo)
        return xstrdup ("");
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse (conninfo, &err);
    if (!opts) {
        /*  Unparseable: don't echo it, it may hold a password. */
        PQfreemem (err);
        return xstrdup ("(unparseable conninfo)");
    }
    size_t cap = strlen (conninfo) + 64, len = 0;
    char *out = xmalloc (cap);
    out[0] = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        const char *val = strcmp (o->keyword, "password") == 0 ? "********" : o->val;
        size_t need = strlen (o->keyword) + strlen (val) * 2 + 8;
        if (len + need >= cap) {
            cap = (len + need) * 2;
            out = xrealloc (out, cap);
        }
        len += (size_t) snprintf (out + len, cap - len, "%s%s='", len ? " " : "", o->keyword);
        for (const char *v = val; *v; v++) {
            if (*v == '\'' || *v == '\\')
                out[len++] = '\\';
            out[len++] = *v;
        }
        out[len++] = '\'';
        out[len] = 0;
    }
    PQconninfoFree (opts);
    return out;
}

char *
pg_quote_ident (const char *name)
{
    size_t n = strlen (name);
    char *out = xmalloc (n * 2 + 3), *p = out;
    *p++ = '"';
    for (const char *s = name; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    *p = 0;
    return out;
}

char *
pg_quote_qualified (const char *name)
{
    /*  Splits on dots outside double quotes; unquoted parts are folded to
        lower case as the server would, quoted parts kept as written. */
    size_t n = strlen (name);
    char *out = xmalloc (n * 2 + 8), *o = out;
    const char *s = name;
    int parts = 0;
    while (1) {
        char part[512];
        size_t pl = 0;
        if (*s == '"') {
            s++;
            while (*s) {
                if (*s == '"' && s[1] == '"') { if (pl < sizeof part - 1) part[pl++] = '"'; s += 2; }
                else if (*s == '"') break;
                else { if (pl < sizeof part - 1) part[pl++] = *s; s++; }
            }
            if (*s != '"') { free (out); return NULL; }
            s++;
        }
        else {
            while (*s && *s != '.') {
                char c = *s++;
                if (c == '"' || c == ' ') { free (out); return NULL; }
                if (c >= 'A' && c <= 'Z') c = (char) (c - 'A' + 'a');
                if (pl < sizeof part - 1) part[pl++] = c;
            }
        }
        part[pl] = 0;
        if (pl == 0 || ++parts > 3) { free (out); return NULL; }
        char *q = pg_quote_ident (part);
        o += sprintf (o, "%s%s", parts > 1 ? "." : "", q);
        free (q);
        if (*s == 0)
            break;
        if (*s != '.') { free (out); return NULL; }
        s++;
    }
    return out;
}
