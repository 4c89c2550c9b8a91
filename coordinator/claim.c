/*  coordinator/claim.c: see claim.h. */
#include "claim.h"
#include "log.h"
#include "pg.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  'FERY': the first key of ferry's two-key advisory locks on tables; the
    second is the table's OID, shifted into int4's range. */
#define CLAIM_CLASS "1178948185"
#define CLAIM_OBJ "(($1::regclass::oid::bigint) - 2147483648)::int"

struct claim_t {
    pg_conn_t *conn;
    char *table;
    char *run_id;
};

/*  Who holds the claim on the table: "run R (backend pid P)". */
static void
s_holder (pg_conn_t *c, const char *table, char *who, size_t size)
{
    const char *params[1] = { table };
    PGresult *res = NULL;
    snprintf (who, size, "another session");
    if (pg_exec_params (c, "SELECT a.pid, coalesce(a.application_name, '') FROM pg_locks l "
                        "JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                        "AND l.database = (SELECT oid FROM pg_database "
                        "                  WHERE datname = current_database()) "
                        "AND l.classid = " CLAIM_CLASS "::oid "
                        /*  pg_locks shows the int4 key's bits as an oid. */
                        "AND l.objid::bigint = ($1::regclass::oid::bigint + 2147483648) "
                        "                      % 4294967296 "
                        "LIMIT 1", 1, params, &res) != 0)
        return;
    if (PQntuples (res) == 1) {
        const char *app = PQgetvalue (res, 0, 1);
        /*  ferry/<run>/coordinator-claim */
        if (strncmp (app, "ferry/", 6) == 0 && strchr (app + 6, '/'))
            snprintf (who, size, "run %.*s (target backend pid %s)",
                      (int) (strchr (app + 6, '/') - (app + 6)), app + 6, PQgetvalue (res, 0, 0));
        else
            snprintf (who, size, "target backend pid %s (application_name '%s')",
                      PQgetvalue (res, 0, 0), app);
    }
    PQclear (res);
}

/*  1 taken, 0 held by someone else (err names them), -1 error (err). */
static int
s_try (claim_t *self, char *err, size_t errlen)
{
    const char *params[1] = { self->table };
    char *got = NULL;
    if (pg_query_value (self->conn, "SELECT pg_try_advisory_lock(" CLAIM_CLASS ", " CLAIM_OBJ ")",
                        1, params, &got) != 0) {
        const pg_error_t *e = pg_conn_error (self->conn);
        snprintf (err, errlen, "target: cannot claim %s for a direct load: [%s] %s", self->table,
                  e->sqlstate[0] ? e->sqlstate : "-----", e->message);
        return -1;
    }
    bool taken = got && got[0] == 't';
    free (got);
    if (taken)
        return 1;
    char who[256];
    s_holder (self->conn, self->table, who, sizeof who);
    snprintf (err, errlen, "target.table %s is being loaded by another direct run: %s. Two direct "
              "loads into one table would load every row twice, so this run is refused and "
              "changed nothing. Wait for that run to end (or stop it), or load with publish: "
              "merge", self->table, who);
    return 0;
}

claim_t *
claim_new (const char *conninfo, const char *table, const char *run_id)
{
    claim_t *self = xcalloc (1, sizeof *self);
    self->conn = pg_conn_new (conninfo, "target");
    self->table = xstrdup (table);
    self->run_id = xstrdup (run_id);
    char *app = util_strdupf ("ferry/%s/coordinator-claim", run_id);
    pg_conn_set_application_name (self->conn, app);
    free (app);
    pg_connect_begin (self->conn);
    return self;
}

int
claim_take (claim_t *self, const retry_policy_t *policy, volatile int *stop, char *err,
            size_t errlen)
{
    if (pg_connect (self->conn, policy, stop) != 0) {
        snprintf (err, errlen, "target: cannot connect to claim %s for a direct load: %s",
                  self->table, pg_conn_error (self->conn)->message);
        return -1;
    }
    if (s_try (self, err, errlen) != 1)
        return -1;
    log_debug ("target: holding the direct-load claim on %s", self->table);
    return 0;
}

int
claim_check (claim_t *self, char *err, size_t errlen)
{
    if (pg_is_connected (self->conn) && pg_exec (self->conn, "SELECT 1") == 0)
        return 0;
    log_warn ("target: the connection holding the direct-load claim on %s was lost; taking the "
              "claim again", self->table);
    pg_disconnect (self->conn);
    if (pg_connect (self->conn, NULL, NULL) != 0) {
        snprintf (err, errlen, "target: lost the direct-load claim on %s and cannot reconnect: %s",
                  self->table, pg_conn_error (self->conn)->message);
        return -1;
    }
    return s_try (self, err, errlen) == 1 ? 0 : -1;
}

pg_conn_t *
claim_conn (claim_t *self)
{
    return self->conn;
}

void
claim_destroy (claim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    claim_t *self = *self_p;
    pg_conn_destroy (&self->conn);
    free (self->table);
    free (self->run_id);
    free (self);
    *self_p = NULL;
}
