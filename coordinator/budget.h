/*  coordinator/budget.h: the connection check before dispatch.

    Before any worker starts, the coordinator counts the connections the
    run will still open on each server at concurrency 1 (one chunk: one
    source and one target connection; a direct run's claim and autovacuum
    guard share a connection already open) and compares them with what each server
    has free: max_connections - superuser_reserved_connections - client
    backends now (the coordinator's own connections are among those). When
    even one chunk cannot fit, the run is refused with the numbers, before
    anything is dispatched: ferry never half-starts. Above concurrency 1,
    the budget while loading is coordinator/tick.c's. */
#ifndef FERRY_COORDINATOR_BUDGET_H
#define FERRY_COORDINATOR_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#include "pg.h"

/*  target: a connected control connection (required); source: the
    coordinator's source connection if one is open, else NULL and
    source_conninfo (NULL for a file source: nothing is asked) is used for
    a short connection of its own. Returns 0 (fits, or a server could not be
    asked: logged at warn; a source that refuses the check's connection
    with "too many clients" is refused), or -1 with message (logged by
    the caller). */
int budget_check (pg_conn_t *target, pg_conn_t *source, const char *source_conninfo,
                  char *message, size_t size);

#endif
