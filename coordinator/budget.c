/*  coordinator/budget.c: see budget.h. */
#include "budget.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

/*  Checks one server. Returns 0 fits (or cannot be asked), -1 refused
    with message. */
static int
s_check (pg_conn_t *c, const char *what, int need, int own, const char *need_what,
         char *message, size_t size)
{
    int max = 0, reserved = 0, in_use = 0;
    if (pg_connection_counts (c, &max, &reserved, &in_use) != 0) {
        log_warn_ctx (-1, pg_conn_error (c)->sqlstate, "%s: cannot read the connection "
                      "figures (%s); starting without the connection check", what,
                      pg_conn_error (c)->message);
        return 0;
    }
    int room = max - reserved - in_use + own;   /* our check connection closes */
    log_debug ("%s: max_connections %d, superuser_reserved_connections %d, in use %d: room "
               "for %d, one chunk needs %d", what, max, reserved, in_use, room, need);
    if (room >= need)
        return 0;
    snprintf (message, size, "%s: not enough free connections to load even one chunk at a "
              "time: max_connections %d - superuser_reserved_connections %d - in use %d "
              "(this coordinator's among them%s) = %d free, and the run needs %d more (%s). "
              "Nothing was dispatched. Raise max_connections, end idle sessions "
              "(pg_stat_activity), or run when the server is less busy", what, max, reserved,
              in_use - own, own ? "; not counting this check's own connection" : "",
              room < 0 ? 0 : room, need, need_what);
    return -1;
}

int
budget_check (pg_conn_t *target, pg_conn_t *source, const char *source_conninfo,
              char *message, size_t size)
{
    if (target && s_check (target, "target", 1, 0, "one worker connection", message, size) != 0)
        return -1;
    if (!source_conninfo)
        return 0;
    pg_conn_t *own = NULL;
    if (!source || !pg_is_connected (source)) {
        own = pg_conn_new (source_conninfo, "source");
        if (pg_connect (own, NULL, NULL) != 0) {
            /*  Full already: that says it all. Any other failure (a
                restart) is for the workers' retries, as before. */
            const pg_error_t *e = pg_conn_error (own);
            int rc = 0;
            if (strcmp (e->sqlstate, "53300") == 0 || strstr (e->message, "too many clients")) {
                snprintf (message, size, "source: no free connection for even one chunk: %s; "
                          "nothing was dispatched. Raise max_connections or end idle sessions "
                          "on the source", e->message);
                rc = -1;
            }
            else
                log_warn_ctx (-1, e->sqlstate, "source: cannot connect to check its free "
                              "connections (%s); dispatching anyway", e->message);
            pg_conn_destroy (&own);
            return rc;
        }
        source = own;
    }
    /*  Our own check connection goes away before the workers come. */
    int rc = s_check (source, "source", 1, own ? 1 : 0, "one worker connection", message, size);
    pg_conn_destroy (&own);
    return rc;
}
