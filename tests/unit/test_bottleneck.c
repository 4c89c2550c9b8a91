/*  tests/unit/test_bottleneck.c: coordinator/bottleneck, the guides'
    three diagnoses from queue depths (80% thresholds, processed first)
    and the bounding stage from busy times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bottleneck.h"

static void
test_diagnose (void **state)
{
    (void) state;
    /*  One pipeline, raw queue 10, processed 10. */
    assert_int_equal (bottleneck_diagnose (9, 0, 1, 10, 10), BOTTLENECK_PROCESS);
    assert_int_equal (bottleneck_diagnose (8, 0, 1, 10, 10), BOTTLENECK_NONE);   /* 80%: not over */
    assert_int_equal (bottleneck_diagnose (0, 9, 1, 10, 10), BOTTLENECK_WRITE);
    assert_int_equal (bottleneck_diagnose (10, 10, 1, 10, 10), BOTTLENECK_WRITE); /* both full: downstream */
    assert_int_equal (bottleneck_diagnose (0, 0, 1, 10, 10), BOTTLENECK_READ);
    assert_int_equal (bottleneck_diagnose (1, 0, 1, 10, 10), BOTTLENECK_NONE);
    /*  Capacity scales with the pipelines: 9 of 2 x 10 is 45%. */
    assert_int_equal (bottleneck_diagnose (9, 0, 2, 10, 10), BOTTLENECK_NONE);
    assert_int_equal (bottleneck_diagnose (17, 0, 2, 10, 10), BOTTLENECK_PROCESS);
    /*  No pipeline running (or an older worker): no diagnosis. */
    assert_int_equal (bottleneck_diagnose (0, 0, 0, 10, 10), BOTTLENECK_NONE);
    assert_int_equal (bottleneck_diagnose (5, 5, 1, 0, 10), BOTTLENECK_NONE);
}

static void
test_stage (void **state)
{
    (void) state;
    assert_int_equal (bottleneck_stage (0, 0, 1, 0), BOTTLENECK_NONE);
    assert_int_equal (bottleneck_stage (5, 1, 1, 1), BOTTLENECK_READ);
    assert_int_equal (bottleneck_stage (1, 5, 1, 1), BOTTLENECK_PROCESS);
    /*  Process time is summed over processors: 8 s over 4 is 2 s. */
    assert_int_equal (bottleneck_stage (3, 8, 4, 1), BOTTLENECK_READ);
    assert_int_equal (bottleneck_stage (1, 1, 1, 5), BOTTLENECK_WRITE);
    assert_int_equal (bottleneck_stage (2, 2, 1, 2), BOTTLENECK_WRITE);          /* ties: downstream */
    assert_string_equal (bottleneck_name (BOTTLENECK_WRITE), "write/commit");
    assert_string_equal (bottleneck_name (BOTTLENECK_PROCESS), "process");
    assert_string_equal (bottleneck_name (BOTTLENECK_READ), "read");
    assert_non_null (strstr (bottleneck_advice (BOTTLENECK_PROCESS), "processors are too slow"));
    assert_non_null (strstr (bottleneck_advice (BOTTLENECK_WRITE), "database are too slow"));
    assert_non_null (strstr (bottleneck_advice (BOTTLENECK_READ), "read side"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_diagnose),
        cmocka_unit_test (test_stage),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
