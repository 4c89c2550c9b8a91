/*  common/pg/pg_connect.c: connecting (pg_connect, its retries and the
    session settings ferry relies on), connecting ahead on a thread
    (pg_connect_begin) and taking over a connection opened ahead
    (pg_conn_adopt); see pg.h. */
#include "pg.h"
#include "pg_int.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_session_setup =
    "SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, YMD'; "
    "SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; "
    "SET extra_float_digits = 3; SET bytea_output = 'hex'; "
    "SET client_min_messages = 'warning'";

/*  Server notices and warnings (client_min_messages = warning) go through
    the log, so that JSON logs stay JSON (libpq would print them raw). */
static void
s_notice (void *arg, const PGresult *res)
{
    pg_conn_t *self = arg;
    const char *state = PQresultErrorField (res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY);
    const char *severity = PQresultErrorField (res, PG_DIAG_SEVERITY_NONLOCALIZED);
    log_warn_ctx (-1, state, "%s: %s: %s", self->label, severity ? severity : "NOTICE",
                  msg ? msg : "");
}

/*  One try: connect (with the application name), then the session
    settings and the statement timeout. Touches nothing but self (it may
    run on pg_connect_begin's thread). */
static int
s_connect_once (pg_conn_t *self)
{
    if (self->conn) {
        PQfinish (self->conn);
        self->conn = NULL;
    }
    /*  Ours first: a connect_timeout in the conninfo (expanded from
        "dbname") comes later and wins. libpq takes whole seconds. The
        application name comes after it and wins: sent in the startup
        packet, the session never shows in pg_stat_activity without it,
        which a connection budget counting the run's own sessions by
        name relies on (coordinator/tick.c). */
    const char *keys[4], *values[4];
    int n = 0;
    char seconds[24];
    if (self->connect_timeout > 0) {
        snprintf (seconds, sizeof seconds, "%d", (int) (self->connect_timeout + 0.999));
        keys[n] = "connect_timeout";
        values[n++] = seconds;
    }
    keys[n] = "dbname";
    values[n++] = self->conninfo;
    if (self->appname) {
        keys[n] = "application_name";
        values[n++] = self->appname;
    }
    keys[n] = NULL;
    values[n] = NULL;
    self->conn = PQconnectdbParams (keys, values, 1);
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK) {
        /*  libpq gives no SQLSTATE for a failed connect; classify by what
            it says: an unreachable or starting/stopping server is worth
            retrying, bad credentials or a missing database are not. */
        const char *msg = self->conn ? PQerrorMessage (self->conn) : "out of memory";
        char line[900];
        pg_copy_line (line, sizeof line, msg);
        const char *state = "08001";
        if (strstr (msg, "password authentication failed")
        ||  strstr (msg, "no pg_hba.conf entry")
        ||  strstr (msg, "role \"") || strstr (msg, "does not exist")
        ||  strstr (msg, "invalid connection option")
        ||  strstr (msg, "missing \"=\"") || strstr (msg, "invalid URI"))
            state = "28000";
        else if (strstr (msg, "the database system is starting up")
             ||  strstr (msg, "the database system is shutting down"))
            state = "57P03";
        pg_set_error (self, state, "cannot connect to %s: %s", self->label, line);
        if (strcmp (state, "28000") == 0)
            self->error.retryable = false;
        /*  Not pg_disconnect: it would wait for this very thread. */
        PQfinish (self->conn);
        self->conn = NULL;
        return -1;
    }
    PQsetNoticeReceiver (self->conn, s_notice, self);
    PGresult *res = PQexec (self->conn, s_session_setup);
    int rc = PQresultStatus (res) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        pg_capture_result (self, res);
    PQclear (res);
    if (rc == 0 && self->statement_timeout >= 0) {
        /*  ferry's control statements only: a session that runs data
            statements (COPY, publish, ANALYZE) lifts it with SET LOCAL. */
        char sql[80];
        snprintf (sql, sizeof sql, "SET statement_timeout = '%lldms'",
                  (long long) (self->statement_timeout * 1000.0 + 0.5));
        res = PQexec (self->conn, sql);
        if (PQresultStatus (res) != PGRES_COMMAND_OK) {
            pg_capture_result (self, res);
            rc = -1;
        }
        PQclear (res);
    }
    if (rc) {
        PQfinish (self->conn);
        self->conn = NULL;
    }
    return rc;
}

static void *
s_connect_thread (void *arg)
{
    pg_conn_t *self = arg;
    self->pending_rc = s_connect_once (self);
    return NULL;
}

void
pg_connect_begin (pg_conn_t *self)
{
    if (self->has_pending)
        return;
    pg_disconnect (self);
    /*  No thread: pg_connect connects when it is called. */
    self->has_pending = pthread_create (&self->pending, NULL, s_connect_thread, self) == 0;
}

void
pg_join_pending (pg_conn_t *self)
{
    if (!self->has_pending)
        return;
    pthread_join (self->pending, NULL);
    self->has_pending = false;
}

int
pg_connect (pg_conn_t *self, const retry_policy_t *policy, volatile int *stop)
{
    uint64_t rng = retry_seed ();
    /*  The first try may be under way already (pg_connect_begin). */
    bool begun = self->has_pending;
    pg_join_pending (self);
    for (int retry = 0;; retry++) {
        if (retry == 0 && begun ? self->pending_rc == 0 : s_connect_once (self) == 0)
            return 0;
        if (!self->error.retryable || !policy || retry >= policy->max_retries)
            return -1;
        double delay = retry_delay (policy, retry, &rng);
        log_warn ("%s: %s; retry %d/%d in %.1fs", self->label, self->error.message,
                  retry + 1, policy->max_retries, delay);
        if (retry_sleep (delay, stop) != 0)
            return -1;
    }
}

int
pg_conn_adopt (pg_conn_t *self, pg_conn_t **from_p)
{
    pg_conn_t *from = *from_p;
    int rc = -1;
    if (from && !self->conn && strcmp (from->conninfo, self->conninfo) == 0
    &&  strcmp (from->label, self->label) == 0 && pg_connect (from, NULL, NULL) == 0) {
        self->conn = from->conn;
        from->conn = NULL;
        PQsetNoticeReceiver (self->conn, s_notice, self);
        rc = 0;
        if (self->appname) {
            const char *params[1] = { self->appname };
            PGresult *res = PQexecParams (self->conn, "SELECT set_config('application_name', "
                                          "$1, false)", 1, NULL, params, NULL, NULL, 0);
            if (PQresultStatus (res) != PGRES_TUPLES_OK)
                rc = -1;
            PQclear (res);
        }
        if (rc == 0 && self->statement_timeout != from->statement_timeout) {
            char sql[80];
            if (self->statement_timeout >= 0)
                snprintf (sql, sizeof sql, "SET statement_timeout = '%lldms'",
                          (long long) (self->statement_timeout * 1000.0 + 0.5));
            else
                snprintf (sql, sizeof sql, "RESET statement_timeout");
            rc = pg_exec (self, sql);
        }
        if (rc != 0)
            pg_disconnect (self);
    }
    pg_conn_destroy (from_p);
    return rc;
}
