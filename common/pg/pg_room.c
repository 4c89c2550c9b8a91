/*  common/pg/pg_room.c: a server's connection figures (pg.h:
    pg_connection_counts, pg_connection_room), apart from the libpq path
    in pg.c. */
#include "pg.h"

#include <stdlib.h>

int
pg_connection_counts (pg_conn_t *self, int *max_p, int *reserved_p, int *in_use_p)
{
    PGresult *res = NULL;
    if (pg_exec (self, "SELECT pg_stat_clear_snapshot()") != 0
    ||  pg_exec_params (self,
            "SELECT current_setting('max_connections')::int, "
            "       current_setting('superuser_reserved_connections')::int, "
            "       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
            0, NULL, &res) != 0)
        return -1;
    *max_p = atoi (PQgetvalue (res, 0, 0));
    *reserved_p = atoi (PQgetvalue (res, 0, 1));
    *in_use_p = atoi (PQgetvalue (res, 0, 2));
    PQclear (res);
    return 0;
}

int
pg_connection_room (pg_conn_t *self, const char *app_prefix, const char *app_exclude,
                    int *free_p, int *mine_p)
{
    const char *params[2] = { app_prefix ? app_prefix : "", app_exclude ? app_exclude : "" };
    PGresult *res = NULL;
    if (pg_exec (self, "SELECT pg_stat_clear_snapshot()") != 0
    ||  pg_exec_params (self,
            "SELECT current_setting('max_connections')::int "
            "     - current_setting('superuser_reserved_connections')::int "
            "     - count(*) FILTER (WHERE backend_type = 'client backend'), "
            "       count(*) FILTER (WHERE $1 <> '' AND starts_with(application_name, $1) "
            "                        AND ($2 = '' OR application_name NOT LIKE $2)) "
            "FROM pg_stat_activity", 2, params, &res) != 0)
        return -1;
    *free_p = atoi (PQgetvalue (res, 0, 0));
    if (mine_p)
        *mine_p = atoi (PQgetvalue (res, 0, 1));
    PQclear (res);
    return 0;
}
