/*  tests/unit/test_publish_plan.c: coordinator/publish_plan, the publish
    strategy as a table: for every combination of (unique index on the
    merge key, empty final table, on_match, columns to set), the statement
    and the checks it needs before it runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "publish_plan.h"

typedef struct {
    bool unique, empty;
    on_match_t on_match;
    int nset;
    const char *name;
    bool dups, existing, counts_all;
} row_t;

#define U ON_MATCH_UPDATE
#define I ON_MATCH_IGNORE
#define E ON_MATCH_ERROR

static const row_t s_table[] = {
    /* unique empty on_match nset   statement        dups   exist  counts */
    { true,  true,  U, 3, "insert",        false, false, true },
    { true,  true,  I, 3, "insert",        false, false, true },
    { true,  true,  E, 3, "insert",        false, false, true },
    { true,  true,  U, 0, "insert",        false, false, true },
    { true,  false, U, 3, "upsert",        false, false, true },
    { true,  false, U, 0, "insert-ignore", true,  false, false },  /* every column a key */
    { true,  false, I, 3, "insert-ignore", true,  false, false },
    { true,  false, E, 3, "merge",         false, true,  false },
    { false, true,  U, 3, "insert",        true,  false, true },
    { false, true,  I, 3, "insert",        true,  false, true },
    { false, true,  E, 3, "insert",        true,  false, true },
    { false, false, U, 3, "merge",         true,  false, false },
    { false, false, I, 3, "merge",         true,  false, false },
    { false, false, E, 3, "insert",        true,  true,  true },   /* the check proved no match */
    { false, false, U, 0, "merge",         true,  false, false },
};

static void
test_table (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        const row_t *r = &s_table[i];
        publish_plan_t p = publish_plan (r->unique, r->empty, r->on_match, r->nset);
        char what[96];
        snprintf (what, sizeof what, "row %zu: unique %d empty %d on_match %d nset %d", i,
                  r->unique, r->empty, r->on_match, r->nset);
        if (strcmp (p.name, r->name) != 0 || p.check_duplicates != r->dups
        ||  p.check_existing != r->existing || p.counts_all != r->counts_all)
            fail_msg ("%s: got %s dups %d existing %d counts %d", what, p.name,
                      p.check_duplicates, p.check_existing, p.counts_all);
    }
}

static void
test_statement_matches_name (void **state)
{
    (void) state;
    assert_int_equal (publish_plan (true, true, U, 1).statement, PUBLISH_SQL_INSERT);
    assert_int_equal (publish_plan (true, false, U, 1).statement, PUBLISH_SQL_UPSERT);
    assert_int_equal (publish_plan (true, false, I, 1).statement, PUBLISH_SQL_INSERT_IGNORE);
    assert_int_equal (publish_plan (false, false, U, 1).statement, PUBLISH_SQL_MERGE);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_table),
        cmocka_unit_test (test_statement_matches_name),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
