/*  coordinator/claim.h: a direct run's claim on its final table.

    publish: direct copies straight into an empty final table, so two
    direct runs started together into one table would both find it empty
    and both load every row (whatever the table's indexes). The claim is a
    session-level advisory lock on the table's OID, held on a connection
    of its own from before the emptiness check until the run ends: a
    second direct run (or a resume of one) into the same table is refused
    at once, naming the run that holds it. The lock dies with the
    coordinator's connection, so a killed run leaves nothing to clean up.
*/
#ifndef FERRY_CLAIM_H
#define FERRY_CLAIM_H

#include "pg.h"
#include "retry.h"

#include <stddef.h>

typedef struct claim_t claim_t;

/*  A claim on table (as written in the job file; resolved by the server)
    for run_id, not taken yet: starts connecting to the target at once
    (pg_connect_begin), so the run's other connections open meanwhile. */
claim_t *claim_new (const char *conninfo, const char *table, const char *run_id);

/*  Connects (with policy) and takes the claim. 0, or -1 with err set: the
    other run's id and backend pid when another run holds it, else the
    connection or lookup error. */
int claim_take (claim_t *self, const retry_policy_t *policy, volatile int *stop, char *err,
                size_t errlen);

/*  0 while the claim is held; after its connection was lost, tries to take
    it again (no other direct run can have started loading meanwhile if it
    succeeds). -1 with err when it cannot. */
int claim_check (claim_t *self, char *err, size_t errlen);

/*  The claim's connection, idle between the claim's own statements: the
    autovacuum guard (vacuum_guard.h) holds its lock in a transaction on
    it, so a direct run needs no further target connection for that. */
pg_conn_t *claim_conn (claim_t *self);

/*  Releases the claim (closes its connection). Accepts NULL. */
void claim_destroy (claim_t **self_p);

#endif
