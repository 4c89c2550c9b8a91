/*  coordinator/vacuum_guard.c: see vacuum_guard.h. */
#include "vacuum_guard.h"
#include "log.h"
#include "pg.h"
#include "util.h"

#include <stdlib.h>

struct vacuum_guard_t {
    pg_conn_t *conn;            /* borrowed */
    bool held;
};

vacuum_guard_t *
vacuum_guard_new (pg_conn_t *conn, const char *table)
{
    vacuum_guard_t *self = xcalloc (1, sizeof *self);
    self->conn = conn;
    char *lock = util_strdupf ("LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE", table);
    if (!pg_is_connected (conn)
    ||  pg_exec (self->conn, "BEGIN") != 0
    ||  pg_exec (self->conn, "SET LOCAL lock_timeout = '2s'") != 0
    ||  pg_exec (self->conn, "SET LOCAL idle_in_transaction_session_timeout = 0") != 0
    ||  pg_exec (self->conn, lock) != 0) {
        const pg_error_t *e = pg_conn_error (self->conn);
        log_warn ("target: cannot keep autovacuum off %s while loading (%s%s%s): autovacuum may "
                  "scan it again as chunks commit", table, e->sqlstate[0] ? e->sqlstate : "",
                  e->sqlstate[0] ? " " : "", e->message);
        if (pg_is_connected (conn))
            pg_exec (conn, "ROLLBACK");
    }
    else {
        self->held = true;
        log_debug ("target: holding SHARE UPDATE EXCLUSIVE on %s while loading (no autovacuum)",
                   table);
    }
    free (lock);
    return self;
}

bool
vacuum_guard_held (vacuum_guard_t *self)
{
    return self && self->held && pg_is_connected (self->conn);
}

void
vacuum_guard_destroy (vacuum_guard_t **self_p)
{
    FERRY_ASSERT (self_p);
    vacuum_guard_t *self = *self_p;
    if (!self)
        return;
    if (self->held && pg_is_connected (self->conn))
        pg_exec (self->conn, "COMMIT");
    free (self);
    *self_p = NULL;
}
