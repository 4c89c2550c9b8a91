/*  tests/unit/test_sqltext.c: the SQL text scanner (common/job/sqltext.c).

    Table-driven: the token stream of each kind of text the lexer must
    tell from code (comments, quoted identifiers, string literals, dollar
    quotes, parameters, unterminated text), the key derived from a query's
    last top-level ORDER BY, and the query read without its ORDER BY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqltext.h"

#define COUNT(a) (sizeof (a) / sizeof ((a)[0]))

/*  The tokens of query as "K:text|K:text|...", K one of W (word), I
    (quoted identifier), S (string), N (number), P (punctuation). */
static void
s_tokens (const char *query, char *out, size_t size)
{
    static const char kinds[] = { 'E', 'W', 'I', 'S', 'N', 'P' };
    size_t pos = 0, n = 0;
    out[0] = '\0';
    sqltext_token_t tok;
    for (sqltext_next (query, &pos, &tok); tok.kind != SQLTEXT_END;
         sqltext_next (query, &pos, &tok)) {
        int w = snprintf (out + n, size - n, "%s%c:%.*s", n ? "|" : "", kinds[tok.kind],
                          (int) tok.len, tok.start);
        assert_true (w > 0 && (size_t) w < size - n);
        n += (size_t) w;
    }
    assert_int_equal (tok.len, 0);
    assert_true (tok.start == query + strlen (query));
}

static void
test_tokens (void **state)
{
    (void) state;
    struct { const char *query; const char *tokens; } cases[] = {
        { "", "" },
        { "   \n\t ", "" },
        { "SELECT a, b FROM t", "W:SELECT|W:a|P:,|W:b|W:FROM|W:t" },
        { "x::text", "W:x|P::|P::|W:text" },
        /*  comments: to the line's end; block comments nest */
        { "a -- ORDER BY x\nb", "W:a|W:b" },
        { "a -- to the end", "W:a" },
        { "a /* ORDER /* BY */ x */ b", "W:a|W:b" },
        { "a /* never closed", "W:a" },
        { "a/**/b", "W:a|W:b" },
        { "a - - b", "W:a|P:-|P:-|W:b" },
        /*  quoted identifiers: "" is a quote inside */
        { "\"ORDER BY\"", "I:\"ORDER BY\"" },
        { "\"say \"\"hi\"\"\".x", "I:\"say \"\"hi\"\"\"|P:.|W:x" },
        { "\"open", "I:\"open" },
        /*  strings: '' is a quote inside; E'' also takes \' */
        { "'it''s ORDER BY'", "S:'it''s ORDER BY'" },
        { "E'it\\'s' x", "S:E'it\\'s'|W:x" },
        { "e'a\\\\' b", "S:e'a\\\\'|W:b" },
        { "'a\\' b", "S:'a\\'|W:b" },
        { "E 'x'", "W:E|S:'x'" },
        { "'open", "S:'open" },
        /*  dollar quotes, with and without a tag; a parameter is not one */
        { "$$ ORDER BY ) $$ x", "S:$$ ORDER BY ) $$|W:x" },
        { "$q$ a $$ b $q$", "S:$q$ a $$ b $q$" },
        { "$a$ x $b$ y", "S:$a$ x $b$ y" },
        { "$1 + $2", "P:$|N:1|P:+|P:$|N:2" },
        { "$ x", "P:$|W:x" },
        { "$a b", "P:$|W:a|W:b" },
        /*  words take digits and $ after the first character */
        { "col$1 _x9 été", "W:col$1|W:_x9|W:été" },
        /*  numbers, with their exponent and the letters stuck to them */
        { "1 2.5 .5 1e3 3x", "N:1|N:2.5|N:.5|N:1e3|N:3x" },
        { "a.5", "W:a|N:.5" },
        { "(a[1]);", "P:(|W:a|P:[|N:1|P:]|P:)|P:;" },
    };
    for (size_t i = 0; i < COUNT (cases); i++) {
        char got [512];
        s_tokens (cases[i].query, got, sizeof got);
        if (strcmp (got, cases[i].tokens) != 0)
            print_error ("query: %s\nexpected: %s\ngot:      %s\n", cases[i].query,
                         cases[i].tokens, got);
        assert_string_equal (got, cases[i].tokens);
    }
}

static void
test_is_word (void **state)
{
    (void) state;
    size_t pos = 0;
    sqltext_token_t tok;
    sqltext_next ("OrDeR \"order\" orders", &pos, &tok);
    assert_true (sqltext_is_word (&tok, "order"));
    assert_false (sqltext_is_word (&tok, "orde"));
    sqltext_next ("OrDeR \"order\" orders", &pos, &tok);
    assert_false (sqltext_is_word (&tok, "order"));     /* quoted: a name */
    sqltext_next ("OrDeR \"order\" orders", &pos, &tok);
    assert_false (sqltext_is_word (&tok, "order"));
}

static void
test_order_key (void **state)
{
    (void) state;
    /*  rc 0: the key; 1: no top-level ORDER BY; 2: not a plain column */
    struct { const char *query; int rc; const char *key; } cases[] = {
        { "SELECT * FROM t ORDER BY acct_id", 0, "acct_id" },
        { "SELECT * FROM accounts a ORDER BY a.acct_id, x", 0, "acct_id" },
        { "SELECT * FROM t ORDER BY \"Acct Id\" DESC", 0, "Acct Id" },
        { "SELECT * FROM t ORDER BY s.t.\"Say \"\"Hi\"\"\"", 0, "Say \"Hi\"" },
        { "SELECT * FROM t ORDER BY Acct_ID", 0, "acct_id" },
        { "select * from t order\n  by id asc nulls last", 0, "id" },
        { "SELECT * FROM t ORDER /* c */ BY -- c\n id", 0, "id" },
        /*  the last top-level one, not one in a subquery or a window */
        { "SELECT * FROM (SELECT * FROM t ORDER BY inner_col) s ORDER BY outer_col", 0,
          "outer_col" },
        { "SELECT id, row_number() OVER (ORDER BY x) FROM t ORDER BY id", 0, "id" },
        { "SELECT * FROM t ORDER BY a LIMIT 10 UNION ALL SELECT * FROM u ORDER BY b", 0, "b" },
        { "SELECT ((a)) FROM t WHERE x IN (SELECT (y) FROM u ORDER BY y) ORDER BY k", 0, "k" },
        /*  ORDER BY as text is not ORDER BY */
        { "SELECT 'ORDER BY nope', id FROM t ORDER BY id;", 0, "id" },
        { "SELECT id FROM t ORDER BY id -- ORDER BY nope\n", 0, "id" },
        { "SELECT id FROM t /* ORDER BY /* nested */ nope */ ORDER BY /* c */ k", 0, "k" },
        { "SELECT $$ ORDER BY nope $$, $x$ ) $x$ FROM t ORDER BY id", 0, "id" },
        { "SELECT E'it\\'s ORDER BY nope', id FROM t ORDER BY t.id", 0, "id" },
        { "SELECT \"ORDER BY nope\" FROM t ORDER BY id COLLATE \"C\"", 0, "id" },
        /*  what may follow the first item */
        { "SELECT * FROM reorder ORDER BY id FOR UPDATE", 0, "id" },
        { "SELECT * FROM t WHERE x = $1 ORDER BY id OFFSET 5", 0, "id" },
        { "SELECT * FROM t ORDER BY id USING <", 0, "id" },
        { "SELECT * FROM t ORDER BY id;  ", 0, "id" },
        { "SELECT * FROM t", 1, NULL },
        { "", 1, NULL },
        { "SELECT * FROM (SELECT * FROM t ORDER BY id) s", 1, NULL },
        { "SELECT 'ORDER BY id' FROM t", 1, NULL },
        { "SELECT \"order\" FROM t -- ORDER BY id", 1, NULL },
        { "SELECT $$ ORDER BY id $$ FROM t", 1, NULL },
        { "SELECT id, row_number() OVER (ORDER BY x) FROM t", 1, NULL },
        { "SELECT * FROM t ORDER id", 1, NULL },
        { "SELECT * FROM t ORDER BY lower(name)", 2, NULL },
        { "SELECT * FROM t ORDER BY 1", 2, NULL },
        { "SELECT * FROM t ORDER BY a + b", 2, NULL },
        { "SELECT * FROM t ORDER BY t.*", 2, NULL },
        { "SELECT * FROM t ORDER BY x::text", 2, NULL },
        { "SELECT * FROM t ORDER BY \"\"", 2, NULL },
        { "SELECT * FROM t ORDER BY", 2, NULL },
        { "SELECT * FROM t ORDER BY 'a'", 2, NULL },
    };
    for (size_t i = 0; i < COUNT (cases); i++) {
        char *key = NULL;
        int rc = sqltext_order_key (cases[i].query, &key);
        if (rc != cases[i].rc || (cases[i].key && (!key || strcmp (key, cases[i].key) != 0)))
            print_error ("query: %s\nexpected: %d %s\ngot:      %d %s\n", cases[i].query,
                         cases[i].rc, cases[i].key ? cases[i].key : "-", rc, key ? key : "-");
        assert_int_equal (rc, cases[i].rc);
        if (cases[i].key)
            assert_string_equal (key, cases[i].key);
        else
            assert_null (key);
        free (key);
    }
}

static void
test_unordered (void **state)
{
    (void) state;
    /*  expected NULL: no ORDER BY to drop, or dropping it could change rows */
    struct { const char *query; const char *expected; } cases[] = {
        { "SELECT * FROM accounts ORDER BY acct_id", "SELECT * FROM accounts" },
        { "SELECT a, b FROM t ORDER BY a DESC NULLS LAST, b;", "SELECT a, b FROM t" },
        { "SELECT a FROM t ORDER BY a;\n", "SELECT a FROM t" },
        { "select * from t\n  order by 1\n", "select * from t" },
        { "SELECT * FROM t\r\n\tORDER BY a", "SELECT * FROM t" },
        { "SELECT * FROM t ORDER BY a -- trailing comment", "SELECT * FROM t" },
        { "SELECT * FROM t ORDER BY lower(a), (b + (c))", "SELECT * FROM t" },
        { "SELECT * FROM t ORDER BY a[1]", "SELECT * FROM t" },
        { "SELECT * FROM t ORDER BY a COLLATE \"C\" USING <", "SELECT * FROM t" },
        /*  ORDER BY inside a subquery or a window is not the query's */
        { "SELECT * FROM (SELECT * FROM t ORDER BY a) s", NULL },
        { "SELECT a, row_number() OVER (ORDER BY b) FROM t ORDER BY a",
          "SELECT a, row_number() OVER (ORDER BY b) FROM t" },
        { "SELECT * FROM (SELECT * FROM t ORDER BY a LIMIT 5) s ORDER BY b",
          "SELECT * FROM (SELECT * FROM t ORDER BY a LIMIT 5) s" },
        /*  in strings, quoted names, dollar quotes and comments it is text */
        { "SELECT 'x ORDER BY y' AS c FROM t -- ORDER BY c", NULL },
        { "SELECT \"order\" FROM t ORDER BY \"order\"", "SELECT \"order\" FROM t" },
        { "SELECT $f$ ORDER BY x LIMIT 1 $f$ FROM t ORDER BY a",
          "SELECT $f$ ORDER BY x LIMIT 1 $f$ FROM t" },
        { "SELECT * FROM t ORDER BY a, 'LIMIT 1'", "SELECT * FROM t" },
        { "SELECT * FROM t ORDER BY a /* LIMIT 1 */", "SELECT * FROM t" },
        /*  what follows the items after a semicolon is not looked at */
        { "SELECT * FROM t ORDER BY a; LIMIT", "SELECT * FROM t" },
        /*  where the order decides which rows come out, keep it */
        { "SELECT * FROM t ORDER BY a LIMIT 10", NULL },
        { "SELECT * FROM t ORDER BY a OFFSET 5", NULL },
        { "SELECT * FROM t ORDER BY a FETCH FIRST 3 ROWS ONLY", NULL },
        { "SELECT * FROM t ORDER BY a FOR UPDATE", NULL },
        { "SELECT * FROM t ORDER BY a UNION SELECT 1", NULL },
        { "SELECT * FROM t ORDER BY a WINDOW w AS ()", NULL },
        { "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b DESC", NULL },
        /*  a closing parenthesis after the items: not a whole query */
        { "SELECT * FROM t ORDER BY a)", NULL },
        { "SELECT * FROM t", NULL },
        { "ORDER BY a", NULL },
        { "  ORDER BY a", NULL },
        { "", NULL },
        { NULL, NULL },
    };
    for (size_t i = 0; i < COUNT (cases); i++) {
        char *got = sqltext_unordered (cases[i].query);
        if (!cases[i].expected != !got
        ||  (got && strcmp (got, cases[i].expected) != 0))
            print_error ("query: %s\nexpected: %s\ngot:      %s\n",
                         cases[i].query ? cases[i].query : "NULL",
                         cases[i].expected ? cases[i].expected : "NULL", got ? got : "NULL");
        if (cases[i].expected)
            assert_string_equal (got, cases[i].expected);
        else
            assert_null (got);
        free (got);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_tokens),
        cmocka_unit_test (test_is_word),
        cmocka_unit_test (test_order_key),
        cmocka_unit_test (test_unordered),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
