/*  tests/unit/test_publish_sql.c: coordinator/publish_sql, the text of a
    merge publish's statements as a table: for each strategy (and the
    on_match variants that change it), the exact statement; then the
    checks' statements, and the quoting of odd column names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "publish_sql.h"

static char *s_keys[] = { "id" };
static char *s_cols[] = { "id", "name", "balance" };
static char *s_keys2[] = { "a", "b" };
static char *s_cols2[] = { "a", "b" };

typedef struct {
    char **keys;
    size_t nkeys;
    char **cols;
    size_t ncols;
    on_match_t on_match;
    publish_statement_t statement;
    const char *sql;
} row_t;

#define F "public.\"t\""
#define S "ferry.\"stage_r\""

static const row_t s_table[] = {
    { s_keys, 1, s_cols, 3, ON_MATCH_UPDATE, PUBLISH_SQL_INSERT,
      "INSERT INTO " F " (\"id\", \"name\", \"balance\") SELECT s.\"id\", s.\"name\", "
      "s.\"balance\" FROM " S " s" },
    { s_keys, 1, s_cols, 3, ON_MATCH_UPDATE, PUBLISH_SQL_UPSERT,
      "INSERT INTO " F " (\"id\", \"name\", \"balance\") SELECT s.\"id\", s.\"name\", "
      "s.\"balance\" FROM " S " s ON CONFLICT (\"id\") DO UPDATE SET \"name\" = "
      "EXCLUDED.\"name\", \"balance\" = EXCLUDED.\"balance\"" },
    { s_keys, 1, s_cols, 3, ON_MATCH_IGNORE, PUBLISH_SQL_INSERT_IGNORE,
      "INSERT INTO " F " (\"id\", \"name\", \"balance\") SELECT s.\"id\", s.\"name\", "
      "s.\"balance\" FROM " S " s ON CONFLICT (\"id\") DO NOTHING" },
    { s_keys, 1, s_cols, 3, ON_MATCH_UPDATE, PUBLISH_SQL_MERGE,
      "MERGE INTO " F " f USING " S " s ON (f.\"id\" = s.\"id\") WHEN MATCHED THEN UPDATE SET "
      "\"name\" = s.\"name\", \"balance\" = s.\"balance\" WHEN NOT MATCHED THEN INSERT "
      "(\"id\", \"name\", \"balance\") VALUES (s.\"id\", s.\"name\", s.\"balance\")" },
    { s_keys, 1, s_cols, 3, ON_MATCH_IGNORE, PUBLISH_SQL_MERGE,
      "MERGE INTO " F " f USING " S " s ON (f.\"id\" = s.\"id\") WHEN MATCHED THEN DO NOTHING "
      "WHEN NOT MATCHED THEN INSERT (\"id\", \"name\", \"balance\") VALUES (s.\"id\", "
      "s.\"name\", s.\"balance\")" },
    { s_keys, 1, s_cols, 3, ON_MATCH_ERROR, PUBLISH_SQL_MERGE,
      "MERGE INTO " F " f USING " S " s ON (f.\"id\" = s.\"id\") WHEN MATCHED THEN DO NOTHING "
      "WHEN NOT MATCHED THEN INSERT (\"id\", \"name\", \"balance\") VALUES (s.\"id\", "
      "s.\"name\", s.\"balance\")" },
    /*  Every column a key: nothing to set, MERGE does nothing on a match. */
    { s_keys2, 2, s_cols2, 2, ON_MATCH_UPDATE, PUBLISH_SQL_MERGE,
      "MERGE INTO " F " f USING " S " s ON (f.\"a\" = s.\"a\" AND f.\"b\" = s.\"b\") WHEN "
      "MATCHED THEN DO NOTHING WHEN NOT MATCHED THEN INSERT (\"a\", \"b\") VALUES (s.\"a\", "
      "s.\"b\")" },
    { s_keys2, 2, s_cols2, 2, ON_MATCH_IGNORE, PUBLISH_SQL_INSERT_IGNORE,
      "INSERT INTO " F " (\"a\", \"b\") SELECT s.\"a\", s.\"b\" FROM " S " s ON CONFLICT "
      "(\"a\", \"b\") DO NOTHING" },
};

static publish_sql_t *
s_new (char **keys, size_t nkeys, char **cols, size_t ncols, on_match_t on_match)
{
    publish_sql_in_t in = { .final = F, .staging = S, .keys = keys, .nkeys = nkeys,
                            .cols = cols, .ncols = ncols, .on_match = on_match };
    return publish_sql_new (&in);
}

static void
test_statements (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        const row_t *r = &s_table[i];
        publish_sql_t *q = s_new (r->keys, r->nkeys, r->cols, r->ncols, r->on_match);
        publish_plan_t plan = { .statement = r->statement };
        char *sql = publish_sql_statement (q, &plan);
        if (strcmp (sql, r->sql) != 0)
            fail_msg ("row %zu:\n got: %s\nwant: %s", i, sql, r->sql);
        free (sql);
        publish_sql_destroy (&q);
        assert_null (q);
    }
}

static void
test_checks (void **state)
{
    (void) state;
    publish_sql_t *q = s_new (s_keys2, 2, s_cols2, 2, ON_MATCH_ERROR);
    assert_int_equal (q->nset, 0);
    char *sql = publish_sql_duplicates (q);
    assert_string_equal (sql, "SELECT (\"a\", \"b\")::text, count(*) FROM " S " s GROUP BY "
                         "\"a\", \"b\" HAVING count(*) > 1 LIMIT 3");
    free (sql);
    sql = publish_sql_existing (q);
    assert_string_equal (sql, "SELECT count(*) FROM " S " s WHERE EXISTS (SELECT 1 FROM " F
                         " f WHERE f.\"a\" = s.\"a\" AND f.\"b\" = s.\"b\")");
    free (sql);
    sql = publish_sql_null_keys (q);
    assert_string_equal (sql, "SELECT count(*) FROM " S " s WHERE s.\"a\" IS NULL OR "
                         "s.\"b\" IS NULL");
    free (sql);
    sql = publish_sql_count (q);
    assert_string_equal (sql, "SELECT count(*) FROM " S);
    free (sql);
    publish_sql_destroy (&q);
}

static void
test_quoting (void **state)
{
    (void) state;
    char *keys[] = { "Order Id" };
    char *cols[] = { "Order Id", "say \"hi\"" };
    publish_sql_t *q = s_new (keys, 1, cols, 2, ON_MATCH_UPDATE);
    assert_int_equal (q->nset, 1);
    publish_plan_t plan = { .statement = PUBLISH_SQL_UPSERT };
    char *sql = publish_sql_statement (q, &plan);
    assert_string_equal (sql, "INSERT INTO " F " (\"Order Id\", \"say \"\"hi\"\"\") SELECT "
                         "s.\"Order Id\", s.\"say \"\"hi\"\"\" FROM " S " s ON CONFLICT "
                         "(\"Order Id\") DO UPDATE SET \"say \"\"hi\"\"\" = "
                         "EXCLUDED.\"say \"\"hi\"\"\"");
    free (sql);
    publish_sql_destroy (&q);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_statements),
        cmocka_unit_test (test_checks),
        cmocka_unit_test (test_quoting),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
