/*  tests/unit/config_test.h: what the job file parser's tests share
    (test_config.c, test_config_rules.c): a minimal valid job, and parsing
    text that must fail with an exact message or succeed. Include after
    cmocka.h. */
#ifndef FERRY_CONFIG_TEST_H
#define FERRY_CONFIG_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/*  Lines 1-2 of most test files: everything required, nothing else. */
#define BASE \
    "source: {conninfo: 'host=src', query: 'SELECT * FROM t ORDER BY id'}\n" \
    "target: {conninfo: 'host=tgt', table: t}\n"
#define BASE_SOURCE \
    "source: {conninfo: 'host=src', query: 'SELECT * FROM t ORDER BY id'}\n"

static inline config_t *
s_parse (const char *text, char *err, size_t errlen)
{
    return config_parse (text, strlen (text), "job.yaml", err, errlen);
}

/*  Parses text, which must fail with exactly `expected`. */
static inline void
s_expect_error (const char *text, const char *expected)
{
    char err [512];
    memset (err, 'x', sizeof err);
    config_t *cfg = s_parse (text, err, sizeof err);
    if (cfg || strcmp (err, expected) != 0)
        print_error ("input:\n%s\nexpected: %s\ngot:      %s\n", text, expected,
                     cfg ? "(success)" : err);
    assert_null (cfg);
    assert_string_equal (err, expected);
}

/*  Parses text, which must succeed. Caller destroys. */
static inline config_t *
s_expect_ok (const char *text)
{
    char err [512];
    config_t *cfg = s_parse (text, err, sizeof err);
    if (!cfg)
        print_error ("input:\n%s\nunexpected error: %s\n", text, err);
    assert_non_null (cfg);
    assert_string_equal (err, "");
    return cfg;
}

static inline int
s_setup (void **state)
{
    unsetenv ("FERRY_SOURCE_DSN");
    unsetenv ("FERRY_TARGET_DSN");
    return 0;
}

#endif
