/*  coordinator/catalog.c: see catalog.h. */
#include "catalog.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

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

/*  A text[] literal of the names: {"a","b"} (quotes and backslashes
    escaped). Caller frees. */
static char *
s_name_array (char *const *names, size_t n)
{
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += strlen (names[i]) * 2 + 3;
    char *buf = xmalloc (cap), *p = buf;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *s = names[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = 0;
    return buf;
}

/*  Runs a query of one boolean about `table` and the names: *value_p. */
static int
s_bool (pg_conn_t *c, const char *sql, const char *table, char *const *names, size_t n,
        bool *value_p)
{
    char *arr = s_name_array (names, n);
    const char *params[2] = { table, arr };
    char *value = NULL;
    int rc = pg_query_value (c, sql, 2, params, &value);
    free (arr);
    *value_p = rc == 0 && value && value[0] == 't';
    free (value);
    return rc;
}

int
catalog_not_null (pg_conn_t *c, const char *table, char *const *keys, size_t n, bool *all_p)
{
    return s_bool (c, "SELECT coalesce(bool_and(attnotnull), false) FROM pg_attribute "
                   "WHERE attrelid = $1::regclass AND attname = ANY ($2::text[])",
                   table, keys, n, all_p);
}

int
catalog_unique_index (pg_conn_t *c, const char *table, char *const *keys, size_t n,
                      bool *unique_p)
{
    return s_bool (c, "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass "
                   "AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL "
                   "AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a "
                   "     WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) "
                   "  = (SELECT array_agg(k ORDER BY k) FROM unnest($2::text[]) k))",
                   table, keys, n, unique_p);
}
