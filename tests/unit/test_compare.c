/*  tests/unit/test_compare.c: coordinator/compare, the row matching of
    `verify`: equal lists match whatever their order; a row missing, one
    extra, one whose text differs and one the target holds twice are each
    named once, by key, in key order; NULL keys are keys like any other;
    and the WHERE clause of a key range (the first range holds the NULL
    keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "compare.h"

static compare_row_t
s_row (const char *key, const char *hash)
{
    compare_row_t r = { .key = (char *) key };
    snprintf (r.hash, sizeof r.hash, "%s", hash);
    return r;
}

static void
test_equal_in_any_order (void **state)
{
    (void) state;
    compare_row_t src[] = { s_row ("1", "aa"), s_row ("2", "bb"), s_row ("3", "cc") };
    compare_row_t tgt[] = { s_row ("3", "cc"), s_row ("1", "aa"), s_row ("2", "bb") };
    compare_diff_t *d = (compare_diff_t *) 1;
    compare_counts_t c;
    assert_int_equal (compare_rows (src, 3, tgt, 3, &d, &c), 0);
    assert_null (d);
    assert_int_equal (c.missing + c.extra + c.differs, 0);
}

static void
test_each_kind_named_once (void **state)
{
    (void) state;
    /*  2 missing, 3 differs, 4 held twice, 5 extra. */
    compare_row_t src[] = { s_row ("4", "dd"), s_row ("1", "aa"), s_row ("2", "bb"),
                            s_row ("3", "cc") };
    compare_row_t tgt[] = { s_row ("5", "ee"), s_row ("4", "dd"), s_row ("3", "cX"),
                            s_row ("1", "aa"), s_row ("4", "dd") };
    compare_diff_t *d = NULL;
    compare_counts_t c;
    size_t n = compare_rows (src, 4, tgt, 5, &d, &c);
    assert_int_equal (n, 4);
    assert_int_equal (c.missing, 1);
    assert_int_equal (c.differs, 1);
    assert_int_equal (c.extra, 2);
    const char *keys[] = { "2", "3", "4", "5" };
    compare_kind_t kinds[] = { COMPARE_MISSING, COMPARE_DIFFERS, COMPARE_EXTRA, COMPARE_EXTRA };
    for (size_t i = 0; i < n; i++) {
        assert_string_equal (d[i].key, keys[i]);
        assert_int_equal (d[i].kind, kinds[i]);
    }
    assert_string_equal (compare_kind_name (d[0].kind), "missing");
    assert_string_equal (compare_kind_name (d[1].kind), "differs");
    assert_string_equal (compare_kind_name (d[2].kind), "extra");
    free (d);
}

static void
test_duplicate_keys_in_source (void **state)
{
    (void) state;
    /*  A source without a unique key: two rows under key 7; the target
        has one of them, and a changed copy of the other. */
    compare_row_t src[] = { s_row ("7", "b1"), s_row ("7", "a1") };
    compare_row_t tgt[] = { s_row ("7", "zz"), s_row ("7", "a1") };
    compare_diff_t *d = NULL;
    compare_counts_t c;
    assert_int_equal (compare_rows (src, 2, tgt, 2, &d, &c), 1);
    assert_int_equal (d[0].kind, COMPARE_DIFFERS);
    assert_int_equal (c.differs, 1);
    free (d);
    /*  Source rows with no target row under their key at all. */
    compare_row_t src2[] = { s_row ("7", "a1"), s_row ("7", "b1") };
    assert_int_equal (compare_rows (src2, 2, NULL, 0, &d, &c), 2);
    assert_int_equal (c.missing, 2);
    free (d);
}

static void
test_null_keys (void **state)
{
    (void) state;
    compare_row_t src[] = { s_row ("1", "aa"), s_row (NULL, "nn") };
    compare_row_t tgt[] = { s_row ("1", "aa"), s_row (NULL, "nn"), s_row (NULL, "mm") };
    compare_diff_t *d = NULL;
    compare_counts_t c;
    assert_int_equal (compare_rows (src, 2, tgt, 3, &d, &c), 1);
    assert_null (d[0].key);
    assert_int_equal (d[0].kind, COMPARE_EXTRA);
    free (d);
    compare_row_t empty_src[1], empty_tgt[1];
    assert_int_equal (compare_rows (empty_src, 0, empty_tgt, 0, &d, &c), 0);
    assert_null (d);
}

static void
test_where (void **state)
{
    (void) state;
    char *w = compare_where ("\"id\"", "bigint", "'10'", "'20'");
    assert_string_equal (w, " WHERE ferry_q.\"id\" >= '10'::bigint AND ferry_q.\"id\" < '20'::bigint");
    free (w);
    w = compare_where ("\"id\"", "bigint", NULL, "'20'");
    assert_string_equal (w, " WHERE (ferry_q.\"id\" < '20'::bigint OR ferry_q.\"id\" IS NULL)");
    free (w);
    w = compare_where ("\"id\"", "bigint", "'20'", NULL);
    assert_string_equal (w, " WHERE ferry_q.\"id\" >= '20'::bigint");
    free (w);
    w = compare_where ("\"id\"", "bigint", NULL, NULL);
    assert_string_equal (w, "");
    free (w);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_equal_in_any_order),
        cmocka_unit_test (test_each_kind_named_once),
        cmocka_unit_test (test_duplicate_keys_in_source),
        cmocka_unit_test (test_null_keys),
        cmocka_unit_test (test_where),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
