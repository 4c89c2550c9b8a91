/*  worker/attempt.c: the state of one attempt and the helpers its stages
    share; see attempt.h. */
#include "attempt.h"
#include "error.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
attempt_init (attempt_t *a, copyjob_t *job, slot_t *slot, const chunk_spec_t *spec,
              volatile int *stop, const char *token, bool careful)
{
    memset (a, 0, sizeof *a);
    a->job = job;
    a->slot = slot;
    a->spec = spec;
    a->stop = stop;
    a->token = token;
    a->fd = -1;
    a->careful = careful;
    a->count = spec->count > 1 ? spec->count : 1;
    if (a->count > 1)
        a->members = xcalloc ((size_t) a->count, sizeof *a->members);
    pthread_mutex_init (&a->error_lock, NULL);
}

void
attempt_release (attempt_t *a)
{
    pthread_mutex_destroy (&a->error_lock);
    free (a->members);
    a->members = NULL;
}

void
spec_member_range (const chunk_spec_t *spec, int32_t i, const char **lo, const char **hi)
{
    int32_t n = spec->count > 1 ? spec->count : 1;
    *lo = i == 0 ? spec->lo : spec->bounds[i - 1];
    *hi = i == n - 1 ? spec->hi : spec->bounds[i];
}

void
attempt_fail (attempt_t *a, const char *sqlstate, bool retryable, const char *format, ...)
{
    pthread_mutex_lock (&a->error_lock);
    if (!a->failed) {
        va_list args;
        va_start (args, format);
        ferr_setv (&a->err, sqlstate, retryable, format, args);
        va_end (args);
        a->failed = 1;
    }
    pthread_mutex_unlock (&a->error_lock);
    /*  Before the queues exist (connecting) there is nothing to unwind. */
    if (a->raw)
        queue_abort (a->raw);
    if (a->processed)
        queue_abort (a->processed);
}

void
attempt_fail_pg (attempt_t *a, pg_conn_t *conn, const char *what)
{
    ferr_t e;
    pg_ferr (conn, &e, what);
    attempt_fail (a, e.sqlstate, e.retryable, "%s", e.message);
}

void
attempt_set_already_committed (attempt_t *a)
{
    pthread_mutex_lock (&a->error_lock);
    a->already_committed = true;
    pthread_mutex_unlock (&a->error_lock);
}

int
attempt_push_raw (attempt_t *a, batch_t *batch)
{
    int64_t t0 = util_now_ms ();
    int rc = queue_push (a->raw, batch);
    a->read_blocked_ms += util_now_ms () - t0;
    return rc;
}

void
attempt_push_last (attempt_t *a, batch_t **batch_p)
{
    batch_t *batch = *batch_p;
    *batch_p = NULL;
    if (!batch)
        return;
    if (batch->len > 0 && !a->failed) {
        if (attempt_push_raw (a, batch) != 0)
            batch_free (batch);
    }
    else
        batch_free (batch);
}

int
attempt_connect (attempt_t *a, pg_conn_t *conn)
{
    if (pg_is_connected (conn)) {
        PGconn *c = pg_conn_handle (conn);
        if (PQtransactionStatus (c) == PQTRANS_IDLE)
            return 0;
        pg_disconnect (conn);           /* left mid-transaction: start clean */
    }
    if (pg_connect (conn, NULL, a->stop) == 0)
        return 0;
    const pg_error_t *e = pg_conn_error (conn);
    attempt_fail (a, e->sqlstate, e->retryable, "%s", e->message);
    return -1;
}

void
attempt_abort_target (attempt_t *a)
{
    pg_conn_t *tgt = a->slot->target;
    if (!pg_is_connected (tgt))
        return;
    PGconn *c = pg_conn_handle (tgt);
    if (PQtransactionStatus (c) == PQTRANS_ACTIVE) {
        /*  Still inside COPY IN: end it with an error so the server aborts. */
        int64_t ignored;
        pg_copy_in_end (tgt, "ferry: chunk aborted", &ignored);
    }
    pg_rollback (tgt);
}
