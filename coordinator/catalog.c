/*  coordinator/catalog.c: see catalog.h. */
#include "catalog.h"
#include "util.h"

#include <stdlib.h>

int
catalog_columns (pg_conn_t *c, const char *table, char ***names_p, int *n_p)
{
    const char *params[1] = { table };
    PGresult *res = NULL;
    if (pg_exec_params (c, "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
                        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                        1, params, &res) != 0)
        return -1;
    int n = PQntuples (res);
    char **names = xcalloc ((size_t) n + 1, sizeof *names);
    for (int i = 0; i < n; i++)
        names[i] = xstrdup (PQgetvalue (res, i, 0));
    PQclear (res);
    *names_p = names;
    *n_p = n;
    return 0;
}

void
catalog_names_free (char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free (names[i]);
    free (names);
}
