/*  tests/unit/test_utf8.c: utf8_sanitize keeps well-formed UTF-8 as it is
    and replaces every byte that does not start a well-formed sequence
    with U+FFFD (truncated sequences, lone continuation bytes, overlong
    forms, surrogates, code points above U+10FFFF); and json-c, which
    writes a string's bytes unchecked (shown here), writes valid JSON from
    the sanitized text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define FFFD "\xEF\xBF\xBD"

static void
s_check (const char *in, const char *want)
{
    char *out = utf8_sanitize (in);
    assert_string_equal (out, want);
    assert_true (utf8_is_valid (out, strlen (out)));
    free (out);
}

static void
test_valid_kept (void **state)
{
    (void) state;
    s_check ("", "");
    s_check ("plain ascii", "plain ascii");
    s_check ("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF",
             "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF");
    assert_null (utf8_sanitize (NULL));
}

static void
test_invalid_replaced (void **state)
{
    (void) state;
    s_check ("bad \xFF byte", "bad " FFFD " byte");              /* never in UTF-8 */
    s_check ("latin1 caf\xE9!", "latin1 caf" FFFD "!");           /* a LATIN1 é */
    s_check ("\x80\xBF", FFFD FFFD);                              /* lone continuations */
    s_check ("cut \xE2\x82", "cut " FFFD FFFD);                   /* truncated at the end */
    s_check ("\xC0\xAF", FFFD FFFD);                              /* overlong '/' */
    s_check ("\xE0\x80\xAF", FFFD FFFD FFFD);                     /* overlong, 3 bytes */
    s_check ("\xED\xA0\x80", FFFD FFFD FFFD);                     /* surrogate U+D800 */
    s_check ("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD);            /* above U+10FFFF */
    s_check ("\xF5\x80", FFFD FFFD);
    s_check ("a\xC3" "b", "a" FFFD "b");                          /* lead byte, no follower */
}

static void
test_json_c_needs_it (void **state)
{
    (void) state;
    const char *raw = "server says \xFF\xFE";
    json_object *o = json_object_new_string (raw);
    const char *text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN);
    /*  json-c passes the bytes through: the document is not UTF-8. */
    assert_false (utf8_is_valid (text, strlen (text)));
    json_object_put (o);
    char *clean = utf8_sanitize (raw);
    o = json_object_new_string (clean);
    text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN);
    assert_true (utf8_is_valid (text, strlen (text)));
    assert_string_equal (text, "\"server says " FFFD FFFD "\"");
    json_object_put (o);
    free (clean);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_valid_kept),
        cmocka_unit_test (test_invalid_replaced),
        cmocka_unit_test (test_json_c_needs_it),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
