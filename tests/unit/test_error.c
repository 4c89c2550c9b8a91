/*  tests/unit/test_error.c: common/error, the error type that carries a
    reason upward: the server error's format, the cut at the size limit
    (with its marker, at a character boundary), prefixing and appending,
    and the SQLSTATE classes that are retryable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "error.h"

static void
test_set (void **state)
{
    (void) state;
    ferr_t e;
    ferr_clear (&e);
    assert_false (ferr_is_set (&e));
    ferr_set (&e, NULL, false, "chunk %d: %s", 7, "bad\nrow");
    assert_true (ferr_is_set (&e));
    assert_string_equal (e.message, "chunk 7: bad row");   /* one line */
    assert_string_equal (e.sqlstate, "");
    assert_false (e.retryable);
    ferr_set (&e, "22P02", true, "x");
    assert_string_equal (e.sqlstate, "22P02");
    assert_true (e.retryable);
    ferr_clear (&e);
    assert_false (ferr_is_set (&e));
    assert_string_equal (e.sqlstate, "");
    ferr_set (NULL, NULL, false, "ignored");    /* no crash */
}

static void
test_server (void **state)
{
    (void) state;
    ferr_t e;
    ferr_set_server (&e, "publish", "23505", "duplicate key value", "Key (id)=(1) exists.");
    assert_string_equal (e.message, "publish: [23505] duplicate key value (Key (id)=(1) exists.)");
    assert_false (e.retryable);
    ferr_set_server (&e, NULL, "57P01", "terminating connection", "");
    assert_string_equal (e.message, "[57P01] terminating connection");
    assert_string_equal (e.sqlstate, "57P01");
    assert_true (e.retryable);
    ferr_set_server (&e, "target: connect", NULL, "refused", NULL);
    assert_string_equal (e.message, "target: connect: [-----] refused");
}

static void
test_truncate (void **state)
{
    (void) state;
    ferr_t e;
    char big[FERR_MESSAGE_SIZE * 2];
    memset (big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ferr_set (&e, "P0001", false, "%s", big);
    size_t len = strlen (e.message);
    assert_int_equal (len, FERR_MESSAGE_SIZE - 1);
    assert_string_equal (e.message + len - strlen (FERR_TRUNCATED), FERR_TRUNCATED);
    assert_string_equal (e.sqlstate, "P0001");

    /*  A cut never splits a UTF-8 character: fill with 'é' (2 bytes) at an
        offset that would put the cut in the middle of one. */
    char utf[FERR_MESSAGE_SIZE * 2];
    size_t n = 0;
    utf[n++] = 'x';
    while (n + 2 < sizeof utf) {
        utf[n++] = (char) 0xC3;
        utf[n++] = (char) 0xA9;
    }
    utf[n] = 0;
    for (int shift = 0; shift < 2; shift++) {
        ferr_set (&e, NULL, false, "%s", utf + shift);
        len = strlen (e.message);
        const char *end = e.message + len - strlen (FERR_TRUNCATED);
        assert_string_equal (end, FERR_TRUNCATED);
        /*  The byte before the marker ends a character: 0xA9 or 'x'. */
        assert_true ((unsigned char) end[-1] == 0xA9 || end[-1] == 'x');
    }

    /*  A message that fits exactly is not marked. */
    char fit[FERR_MESSAGE_SIZE];
    memset (fit, 'b', sizeof fit - 1);
    fit[sizeof fit - 1] = 0;
    ferr_set (&e, NULL, false, "%s", fit);
    assert_int_equal (strlen (e.message), FERR_MESSAGE_SIZE - 1);
    assert_null (strstr (e.message, FERR_TRUNCATED));
}

static void
test_prefix (void **state)
{
    (void) state;
    ferr_t e;
    ferr_clear (&e);
    ferr_prefix (&e, "ignored");      /* nothing set: stays unset */
    assert_false (ferr_is_set (&e));
    ferr_set_server (&e, NULL, "40P01", "deadlock detected", NULL);
    ferr_prefix (&e, "chunk %d", 2);
    ferr_append (&e, "; nothing was %s", "published");
    assert_string_equal (e.message, "chunk 2: [40P01] deadlock detected; nothing was published");
    assert_string_equal (e.sqlstate, "40P01");
    assert_true (e.retryable);

    /*  A prefix that pushes the message over the limit cuts the end. */
    char big[FERR_MESSAGE_SIZE];
    memset (big, 'c', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ferr_set (&e, NULL, false, "%s", big + 5);
    ferr_prefix (&e, "context");
    assert_int_equal (strncmp (e.message, "context: ccc", 12), 0);
    assert_string_equal (e.message + strlen (e.message) - strlen (FERR_TRUNCATED), FERR_TRUNCATED);

    ferr_t copy;
    ferr_copy (&copy, &e);
    assert_string_equal (copy.message, e.message);
}

static void
test_retryable (void **state)
{
    (void) state;
    const char *yes[] = { "08000", "08006", "08P01", "53300", "53100", "40001", "40P01",
                          "57P01", "57P02", "57P03" };
    const char *no[] = { "", "22P02", "23505", "42P01", "57014", "55P03", "40002", "P0001",
                         "0800", "080000" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!ferr_sqlstate_is_retryable (yes[i]))
            fail_msg ("%s should be retryable", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (ferr_sqlstate_is_retryable (no[i]))
            fail_msg ("%s should not be retryable", no[i]);
    assert_false (ferr_sqlstate_is_retryable (NULL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_set),
        cmocka_unit_test (test_server),
        cmocka_unit_test (test_truncate),
        cmocka_unit_test (test_prefix),
        cmocka_unit_test (test_retryable),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
