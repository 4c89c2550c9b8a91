/*  coordinator/vacuum_guard.h: keeps autovacuum off a table while a
    direct load fills it.

    Every chunk commits, so autovacuum's insert threshold (1000 rows + 20%
    of the table) trips again and again while the table grows, and each
    VACUUM scans everything loaded so far: a cost that grows with the
    table, for nothing (the coordinator ANALYZEs at the end). The guard
    holds SHARE UPDATE EXCLUSIVE on the table in an open transaction on the
    connection of the run's claim (claim.h; both exist only for publish:
    direct, so the guard costs no connection of its own): autovacuum skips a table it cannot lock (and a running
    one is cancelled by the lock request), while the chunks' COPY (ROW
    EXCLUSIVE) does not conflict. The lock ends with the transaction: at
    vacuum_guard_destroy, before the final ANALYZE, or when the coordinator
    dies. Best effort: a guard that cannot lock (no privilege to, a lock
    held elsewhere for over 2 s) logs a warning and the load goes on. */
#ifndef FERRY_COORDINATOR_VACUUM_GUARD_H
#define FERRY_COORDINATOR_VACUUM_GUARD_H

#include "pg.h"

#include <stdbool.h>

typedef struct vacuum_guard_t vacuum_guard_t;

/*  Locks `table` (quoted, qualified) in a transaction it opens on `conn`
    (borrowed, idle, kept open by its owner until vacuum_guard_destroy).
    Never NULL. */
vacuum_guard_t *vacuum_guard_new (pg_conn_t *conn, const char *table);

/*  Whether the lock is held. */
bool vacuum_guard_held (vacuum_guard_t *self);

/*  Releases the lock (ends the transaction); the connection stays. */
void vacuum_guard_destroy (vacuum_guard_t **self_p);

#endif
