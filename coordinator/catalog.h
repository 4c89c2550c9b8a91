/*  coordinator/catalog.h: what the coordinator reads from a server's
    catalog about a table, in one place. Borrows the connection. */
#ifndef FERRY_COORDINATOR_CATALOG_H
#define FERRY_COORDINATOR_CATALOG_H

#include "pg.h"

/*  The names of `table`'s columns in attnum order (dropped ones left
    out); the name is resolved by the server (regclass). *names_p is a
    NULL-terminated array the caller frees with catalog_names_free.
    Returns 0, or -1 with the error in pg_conn_error (c). */
int catalog_columns (pg_conn_t *c, const char *table, char ***names_p, int *n_p);

/*  Frees catalog_columns' array (accepts NULL). */
void catalog_names_free (char **names, int n);

#endif
