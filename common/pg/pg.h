/*  common/pg/pg.h: the one careful path around libpq.

    A pg_conn_t owns one PGconn plus the last error (SQLSTATE and message).
    Every statement goes through pg_exec* so results are cleared on every
    branch and errors are captured in one place, then classified:
    retryable are class 08 (connection), 40001, 40P01, class 53
    (resources), 57P01-57P03 (shutdown); a lost connection without a
    SQLSTATE counts as 08006. Everything else is permanent.

    Logging: these functions do not log errors; they keep them in
    pg_conn_error() for the caller, who has the richer context (chunk id,
    table), turns it into an ferr_t (pg_ferr, common/base/error.h) and logs
    once. Conninfo strings are never logged as given: use
    pg_conninfo_redact.
*/
#ifndef FERRY_PG_H
#define FERRY_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "error.h"
#include "retry.h"

typedef struct pg_conn_t pg_conn_t;

typedef struct {
    char sqlstate[6];           /* "" if none */
    char message[1024];         /* primary message, one line, no trailing \n */
    char detail[512];           /* DETAIL/CONTEXT when the server sent one */
    bool retryable;
} pg_error_t;

/*  Creates an unconnected handle. `label` ("source", "target") names the
    server in messages. Both strings are copied. Can't fail. */
pg_conn_t *pg_conn_new (const char *conninfo, const char *label);

/*  The application_name the session sets on every (re)connect, so that
    pg_stat_activity names the ferry process behind a backend (copied;
    NULL: none). Can't fail. */
void pg_conn_set_application_name (pg_conn_t *self, const char *name);

/*  Timeouts in seconds: connect_timeout is passed to libpq (a
    connect_timeout in the conninfo wins; <= 0 leaves libpq's default:
    wait for ever or PGCONNECT_TIMEOUT), statement_timeout is SET for the
    session on every (re)connect (< 0 leaves the server's setting, 0 turns
    it off). Can't fail. */
void pg_conn_set_timeouts (pg_conn_t *self, double connect_timeout, double statement_timeout);

/*  The timeouts every later pg_conn_new with this label ("source",
    "target") starts with (pg_conn_set_timeouts), for a process whose
    connections of that label are all control connections (the
    coordinator's). Call from main before other threads start. */
void pg_set_default_timeouts (const char *label, double connect_timeout,
                              double statement_timeout);

/*  Finishes the connection (PQfinish) and nulls the pointer. Accepts NULL. */
void pg_conn_destroy (pg_conn_t **self_p);

/*  Connects, retrying retryable failures per `policy` (NULL: one try) and
    logging each retry at warn. After connecting, sets the session settings
    ferry relies on (client_encoding UTF8, DateStyle ISO, TimeZone UTC,
    IntervalStyle postgres, extra_float_digits 3, bytea_output hex).
    Returns 0, or -1 with pg_conn_error set. `stop` (may be NULL) aborts
    the back-off when it becomes non-zero. */
int pg_connect (pg_conn_t *self, const retry_policy_t *policy, volatile int *stop);

/*  Starts pg_connect's first try on a thread of its own and returns at
    once: a process that needs several connections opens them together
    (each is a round trip or more and a backend start). The next call on
    self must be pg_connect (it waits for the try, then retries per its
    policy as usual), pg_conn_adopt's from, pg_is_connected,
    pg_disconnect or pg_conn_destroy (each waits for the try). Nothing
    else may touch self meanwhile. */
void pg_connect_begin (pg_conn_t *self);

/*  Takes over the session of *from_p (opened ahead, e.g. by
    pg_connect_begin, before self's settings were known) when it connected
    to the same conninfo under the same label: self gets the live
    connection, with its own application_name and statement_timeout set on
    it. *from_p is destroyed either way. 0 when self is now connected, -1
    when it is not (then pg_connect it as usual). */
int pg_conn_adopt (pg_conn_t *self, pg_conn_t **from_p);

/*  Drops the connection (if any) so the next pg_connect starts afresh. */
void pg_disconnect (pg_conn_t *self);

/*  True while connected and the connection is not CONNECTION_BAD. */
bool pg_is_connected (pg_conn_t *self);

/*  The underlying PGconn, borrowed (NULL when not connected). */
PGconn *pg_conn_handle (pg_conn_t *self);

/*  The label and the last error (borrowed, valid until the next call). */
const char *pg_conn_label (pg_conn_t *self);
const pg_error_t *pg_conn_error (pg_conn_t *self);

/*  Records an error of ferry's own (not from the server) in the
    connection's error slot, e.g. a check that failed. sqlstate may be NULL.
    Can't fail. */
void pg_set_error (pg_conn_t *self, const char *sqlstate, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Runs a statement that returns no rows (or whose rows are ignored).
    Returns 0 or -1 (error kept). */
int pg_exec (pg_conn_t *self, const char *sql);

/*  ROLLBACK, best effort: keeps the error that caused it in
    pg_conn_error. Can't fail (a dead connection is simply dropped). */
void pg_rollback (pg_conn_t *self);

/*  Runs a parameterised statement (text parameters, NULL = SQL NULL).
    If res_p is non-NULL and the statement succeeds, *res_p receives the
    result and the caller owns it (PQclear). Returns 0 or -1; on -1 *res_p
    is NULL. */
int pg_exec_params (pg_conn_t *self, const char *sql, int nparams,
                    const char *const *values, PGresult **res_p);

/*  Runs a query expected to return exactly one row and one column into a
    malloc'd string (*value_p, caller frees; NULL for SQL NULL). Returns 0,
    or -1 on error or when the row count is not 1 (message set). */
int pg_query_value (pg_conn_t *self, const char *sql, int nparams,
                    const char *const *values, char **value_p);

/*  Starts COPY ... TO STDOUT. `sql` may hold several COPY ... TO STDOUT
    statements separated by semicolons: the server runs them back to back
    (no round trip between them) and pg_copy_out_row says where each one
    ends. Returns 0 or -1. */
int pg_copy_out_begin (pg_conn_t *self, const char *sql);

/*  Receives one row of a COPY OUT: returns its length and sets *buf_p (free
    with PQfreemem), 0 never, -1 at the end of data (final result checked:
    returns -2 if the COPY ended with an error), -2 on error, -3 when this
    COPY ended well and the next COPY of the same query string began (its
    rows follow). */
int pg_copy_out_row (pg_conn_t *self, char **buf_p);

/*  Starts COPY ... FROM STDIN. Returns 0 or -1. */
int pg_copy_in_begin (pg_conn_t *self, const char *sql);

/*  Sends bytes of a COPY IN. Returns 0 or -1. */
int pg_copy_in_put (pg_conn_t *self, const char *buf, size_t len);

/*  Ends a COPY IN. With errmsg NULL the COPY completes and *rows_p (may be
    NULL) receives the server's row count; with errmsg the COPY is aborted
    (the transaction is then in error and needs ROLLBACK). Returns 0 or -1. */
int pg_copy_in_end (pg_conn_t *self, const char *errmsg, int64_t *rows_p);

/*  How many more client connections the server would take now
    (max_connections - superuser_reserved_connections - client backends),
    and how many of the present ones have an application_name starting
    with app_prefix (NULL: none counted) and not LIKE app_exclude (NULL:
    none excluded). Clears the session's statistics snapshot first, so it
    is fresh inside a long transaction. Returns 0 or -1 (error kept). */
int pg_connection_room (pg_conn_t *self, const char *app_prefix, const char *app_exclude,
                        int *free_p, int *mine_p);

/*  The server's connection figures: max_connections,
    superuser_reserved_connections and the client backends connected now
    (pg_stat_activity, fresh snapshot). Returns 0 or -1 (error kept). */
int pg_connection_counts (pg_conn_t *self, int *max_p, int *reserved_p, int *in_use_p);

/*  Retryable SQLSTATE per the classification above (common/base/error.h's
    ferr_sqlstate_is_retryable). NULL or "" is not. */
bool pg_sqlstate_is_retryable (const char *sqlstate);

/*  The connection's last error as an ferr_t: "WHAT: [SQLSTATE] message
    (detail)" (what NULL: without "WHAT: "), with its SQLSTATE and
    retryable. Can't fail. */
void pg_ferr (pg_conn_t *self, ferr_t *e, const char *what);

/*  The same from a pg_error_t kept earlier (borrowed). */
void pg_error_to_ferr (const pg_error_t *pe, ferr_t *e, const char *what);

/*  Copy of conninfo (key=value or URI form) with any password replaced by
    "********". Caller frees. Never returns the password. Can't fail. */
char *pg_conninfo_redact (const char *conninfo);

/*  Quotes an identifier that may be schema-qualified ("public.accounts"
    -> "public"."accounts"; already quoted parts are kept). Caller frees.
    Returns NULL on a malformed name. */
char *pg_quote_qualified (const char *name);

/*  Quotes a single identifier ("a b" -> "\"a b\""). Caller frees. */
char *pg_quote_ident (const char *name);

#endif
