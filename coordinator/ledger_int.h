/*  coordinator/ledger_int.h: what ledger.c (the run's row) and
    ledger_chunks.c (its plan and chunks) share. Not for other modules. */
#ifndef FERRY_COORDINATOR_LEDGER_INT_H
#define FERRY_COORDINATOR_LEDGER_INT_H

#include "ledger.h"

struct ledger_t {
    pg_conn_t *conn;
    retry_policy_t policy;
    volatile int *stop;
    char started[64];          /* pg_postmaster_start_time() at the last connect */
    bool connected_once;
    int64_t reconnected_ms;    /* util_now_ms() of the last reconnect; 0: never */
};

/*  Runs a parameterised statement, retrying once on a fresh connection
    when the old one turned out to be dead (the target restarted
    meanwhile). On failure logs "target: WHAT: [SQLSTATE] msg (detail)"
    (what NULL: not logged). If res_p is non-NULL and the statement
    succeeds, the caller owns *res_p. Returns 0/-1. */
int ledger_exec (ledger_t *self, const char *what, const char *sql, int n,
                 const char *const *params, PGresult **res_p);

#endif
