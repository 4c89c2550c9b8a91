/*  tests/unit/test_bounds.c: common/bounds: group bounds joined and split
    back byte for byte (any byte but NUL, empty bounds, digits and colons
    inside a bound); malformed input (too few, too many, a length longer
    than the rest, leading zeros, no colon, a sign) is refused whole and
    allocates nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bounds.h"

static void
test_round_trip (void **state)
{
    (void) state;
    char *in[] = { "12345", "", "a:b", "3:x", "\x1f\xff\n", "(0,1)" };
    size_t n = sizeof in / sizeof in[0];
    char *s = bounds_join (in, n);
    assert_string_equal (s, "5:123450:3:a:b3:3:x3:\x1f\xff\n5:(0,1)");
    char *out[6] = { NULL };
    assert_int_equal (bounds_split (s, n, out), 0);
    for (size_t i = 0; i < n; i++)
        assert_string_equal (out[i], in[i]);
    bounds_free (out, n);
    assert_null (out[0]);
    free (s);
    /*  None. */
    s = bounds_join (NULL, 0);
    assert_string_equal (s, "");
    assert_int_equal (bounds_split (s, 0, out), 0);
    free (s);
}

static void
test_malformed (void **state)
{
    (void) state;
    char *out[4] = { NULL };
    const char *bad[] = {
        "5:1234",           /* shorter than it says */
        "2:ab2:cd",         /* three asked, two there (see below) */
        "2:ab2:cd1:e1:f",   /* too many */
        "02:ab",            /* leading zero */
        "2ab",              /* no colon */
        ":ab",              /* no length */
        "-1:a",             /* a sign */
        "99999999999:a",    /* absurd length */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = i == 2 ? 3 : i == 1 ? 3 : 1;
        assert_int_equal (bounds_split (bad[i], n, out), -1);
        for (size_t k = 0; k < 4; k++)
            assert_null (out[k]);
    }
    /*  Trailing bytes after the last bound. */
    assert_int_equal (bounds_split ("1:ax", 1, out), -1);
    assert_null (out[0]);
    /*  "0:" is an empty bound, "00:" is not. */
    assert_int_equal (bounds_split ("0:", 1, out), 0);
    assert_string_equal (out[0], "");
    bounds_free (out, 1);
    assert_int_equal (bounds_split ("00:", 1, out), -1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_round_trip),
        cmocka_unit_test (test_malformed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
