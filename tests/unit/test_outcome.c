/*  tests/unit/test_outcome.c: a worker's exit status from STOP.outcome,
    --give-up-after parsing (util_parse_duration_ms) and its clock rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "exit_codes.h"
#include "outcome.h"
#include "protocol.h"
#include "util.h"

static void
test_exit_codes (void **state)
{
    (void) state;
    assert_int_equal (outcome_exit_code (NULL), EXIT_CODE_OK);
    assert_int_equal (outcome_exit_code (PROTOCOL_OUTCOME_PUBLISHED), EXIT_CODE_OK);
    assert_int_equal (outcome_exit_code (PROTOCOL_OUTCOME_FAILED), EXIT_CODE_RUN_FAILED);
    assert_int_equal (outcome_exit_code (PROTOCOL_OUTCOME_CANCELLED), EXIT_CODE_RUN_CANCELLED);
    assert_int_equal (outcome_exit_code ("later"), EXIT_CODE_RUN_FAILED);
    assert_int_equal (outcome_exit_code (""), EXIT_CODE_RUN_FAILED);
    /*  Distinct from every other status a worker can have. */
    int others[] = { EXIT_CODE_OK, EXIT_CODE_FAILED, EXIT_CODE_USAGE, EXIT_CODE_BAD_CONFIG,
                     EXIT_CODE_SOURCE, EXIT_CODE_TARGET, EXIT_CODE_ALREADY_COMMITTED,
                     EXIT_CODE_RETRIES_EXHAUSTED, EXIT_CODE_INTERRUPTED, EXIT_CODE_NO_RESOURCES,
                     EXIT_CODE_INTERNAL };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        assert_int_not_equal (others[i], EXIT_CODE_RUN_FAILED);
        assert_int_not_equal (others[i], EXIT_CODE_RUN_CANCELLED);
        assert_int_not_equal (others[i], EXIT_CODE_NO_COORDINATOR);
    }
}

static void
test_durations (void **state)
{
    (void) state;
    int64_t ms = -1;
    struct { const char *text; int64_t ms; } ok[] = {
        { "600", 600000 }, { "0", 0 }, { "90s", 90000 }, { "10m", 600000 }, { "1h", 3600000 },
        { "1.5h", 5400000 }, { "250ms", 250 }, { "0.5", 500 }, { "168h", 604800000 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal (util_parse_duration_ms (ok[i].text, OUTCOME_GIVE_UP_MAX_MS, &ms), 0);
        assert_int_equal (ms, ok[i].ms);
    }
    const char *bad[] = { "", "m", "-1", "+5", "10x", "10 m", "1e3", "0x10", "inf", "nan",
                          "169h", "10mm", "5d" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal (util_parse_duration_ms (bad[i], OUTCOME_GIVE_UP_MAX_MS, &ms), -1);
    assert_int_equal (util_parse_duration_ms (NULL, 1000, &ms), -1);
}

static void
test_give_up (void **state)
{
    (void) state;
    char msg[256] = "";
    int64_t ms = -1;
    assert_int_equal (outcome_give_up_parse (NULL, NULL, &ms, msg, sizeof msg), 0);
    assert_int_equal (ms, OUTCOME_GIVE_UP_DEFAULT_MS);
    assert_int_equal (outcome_give_up_parse (NULL, "", &ms, msg, sizeof msg), 0);
    assert_int_equal (ms, OUTCOME_GIVE_UP_DEFAULT_MS);
    assert_int_equal (outcome_give_up_parse (NULL, "30s", &ms, msg, sizeof msg), 0);
    assert_int_equal (ms, 30000);
    assert_int_equal (outcome_give_up_parse ("2m", "30s", &ms, msg, sizeof msg), 0);
    assert_int_equal (ms, 120000);
    assert_int_equal (outcome_give_up_parse ("soon", NULL, &ms, msg, sizeof msg), -1);
    assert_string_equal (msg, "--give-up-after 'soon': expected a duration such as 600, 90s, "
                         "10m or 1h (at most 168h; 0 never gives up)");
    assert_int_equal (outcome_give_up_parse (NULL, "-3", &ms, msg, sizeof msg), -1);
    assert_string_equal (msg, "FERRY_GIVE_UP_AFTER '-3': expected a duration such as 600, 90s, "
                         "10m or 1h (at most 168h; 0 never gives up)");

    assert_false (outcome_should_give_up (1000, 1999, 1000));
    assert_true (outcome_should_give_up (1000, 2000, 1000));
    assert_false (outcome_should_give_up (0, INT64_MAX / 2, 0));   /* 0: never */
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_exit_codes),
        cmocka_unit_test (test_durations),
        cmocka_unit_test (test_give_up),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
