/*  coordinator/catalog.h: what the coordinator reads from a server's
    catalog about a table, in one place. Borrows the connection. */
#ifndef FERRY_COORDINATOR_CATALOG_H
#define FERRY_COORDINATOR_CATALOG_H

#include "pg.h"

#include <stdbool.h>
#include <stddef.h>

/*  The names of `table`'s columns in attnum order (dropped ones left
    out); the name is resolved by the server (regclass). *names_p is a
    NULL-terminated array the caller frees with catalog_names_free.
    Returns 0, or -1 with the error in pg_conn_error (c). */
int catalog_columns (pg_conn_t *c, const char *table, char ***names_p, int *n_p);

/*  Frees catalog_columns' array (accepts NULL). */
void catalog_names_free (char **names, int n);

/*  *all_p = every one of `table`'s columns named in keys[0..n) is NOT
    NULL (false when none is found). Returns 0, or -1 with the error in
    pg_conn_error (c). */
int catalog_not_null (pg_conn_t *c, const char *table, char *const *keys, size_t n,
                      bool *all_p);

/*  *unique_p = `table` has a unique index, neither partial nor on
    expressions, whose columns are exactly keys[0..n) (in any order).
    Returns 0, or -1 with the error in pg_conn_error (c). */
int catalog_unique_index (pg_conn_t *c, const char *table, char *const *keys, size_t n,
                          bool *unique_p);

#endif
