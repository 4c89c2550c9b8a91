/*  tests/unit/test_batch.c: the worker's rows in flight (worker/batch.c):
    a new batch, growth by batch_reserve, rejects and their lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "batch.h"

#include <stdlib.h>
#include <string.h>

static void
test_new_is_empty (void **state)
{
    (void) state;
    batch_t *b = batch_new (64);
    assert_int_equal (b->len, 0);
    assert_int_equal (b->cap, 64);
    assert_int_equal (b->rows, 0);
    assert_int_equal (b->first_line, 0);
    assert_int_equal (b->member, 0);
    assert_null (b->lines);
    assert_null (b->rejects);
    assert_int_equal (b->nrejects, 0);
    assert_int_equal (b->oversize, 0);
    batch_free (b);
    batch_free (NULL);                  /* a queue's destructor may get NULL */
}

static void
test_reserve_fits (void **state)
{
    (void) state;
    batch_t *b = batch_new (16);
    memcpy (b->data, "0123456789", 10);
    b->len = 10;
    /*  Room enough: the same batch, the same capacity. */
    batch_t *same = batch_reserve (b, 6);
    assert_ptr_equal (same, b);
    assert_int_equal (same->cap, 16);
    batch_free (same);
}

static void
test_reserve_doubles (void **state)
{
    (void) state;
    batch_t *b = batch_new (16);
    memcpy (b->data, "0123456789", 10);
    b->len = 10;
    b->rows = 3;
    b->first_line = 42;
    b = batch_reserve (b, 7);           /* 17 > 16: doubles */
    assert_int_equal (b->cap, 32);
    assert_int_equal (b->len, 10);
    assert_int_equal (b->rows, 3);
    assert_int_equal (b->first_line, 42);
    assert_memory_equal (b->data, "0123456789", 10);
    /*  More than double: exactly what is needed. */
    b = batch_reserve (b, 100);
    assert_int_equal (b->cap, 110);
    assert_memory_equal (b->data, "0123456789", 10);
    memset (b->data + b->len, 'x', 100);    /* ASan: the room is really there */
    b->len += 100;
    batch_free (b);
}

static void
test_reserve_from_zero (void **state)
{
    (void) state;
    batch_t *b = batch_new (0);
    b = batch_reserve (b, 5);
    assert_true (b->cap >= 5);
    memcpy (b->data, "abcde", 5);
    batch_free (b);
}

static void
test_reject_new (void **state)
{
    (void) state;
    const char raw[] = "a,b\0c";        /* raw bytes may hold a NUL */
    reject_t *r = reject_new (7, raw, 5, "expected 3 fields, got 2");
    assert_null (r->next);
    assert_int_equal (r->line, 7);
    assert_int_equal (r->rawlen, 5);
    assert_memory_equal (r->raw, raw, 5);
    assert_int_equal (r->raw[5], 0);    /* NUL-terminated after rawlen */
    assert_string_equal (r->reason, "expected 3 fields, got 2");
    reject_free_list (&r);
    assert_null (r);
}

static void
test_reject_empty_raw (void **state)
{
    (void) state;
    reject_t *r = reject_new (1, "", 0, "");
    assert_int_equal (r->rawlen, 0);
    assert_string_equal (r->raw, "");
    assert_string_equal (r->reason, "");
    reject_free_list (&r);
    reject_t *none = NULL;
    reject_free_list (&none);
    assert_null (none);
}

/*  A processed batch owns its rejects and its lines: batch_free frees
    them (ASan would report a leak otherwise). */
static void
test_batch_owns_rejects (void **state)
{
    (void) state;
    batch_t *b = batch_new (8);
    for (int i = 0; i < 3; i++) {
        reject_t *r = reject_new (i + 1, "x", 1, "bad");
        r->next = b->rejects;
        b->rejects = r;
        b->nrejects++;
    }
    assert_int_equal (b->rejects->line, 3);     /* newest first */
    assert_int_equal (b->rejects->next->next->line, 1);
    b->lines = calloc (4, sizeof *b->lines);
    batch_free (b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_new_is_empty),
        cmocka_unit_test (test_reserve_fits),
        cmocka_unit_test (test_reserve_doubles),
        cmocka_unit_test (test_reserve_from_zero),
        cmocka_unit_test (test_reject_new),
        cmocka_unit_test (test_reject_empty_raw),
        cmocka_unit_test (test_batch_owns_rejects),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
