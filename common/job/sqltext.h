/*  common/job/sqltext.h: reading a source query's text without a server.

    A small SQL lexer that knows enough of PostgreSQL's syntax to skip what
    is not code: -- and (nested) block comments, 'string' and E'string'
    literals, $tag$ dollar-quoted strings, "quoted identifiers", and to
    track parentheses and brackets. On it, the two questions ferry asks of
    a query: which column its last top-level ORDER BY starts with (the
    default source.key, common/job/config.c), and whether that ORDER BY can be
    dropped when chunks read by key range (common/pg/copyjob.c). Pure logic,
    no I/O.
*/
#ifndef FERRY_SQLTEXT_H
#define FERRY_SQLTEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    SQLTEXT_END = 0,        /* no more tokens */
    SQLTEXT_WORD,           /* a keyword or unquoted name (letters, digits, _, $) */
    SQLTEXT_QIDENT,         /* "quoted identifier", quotes included */
    SQLTEXT_STRING,         /* 'text', E'text' or $tag$text$tag$, quotes included */
    SQLTEXT_NUMBER,         /* 42, 1.5, .5, 1e3 */
    SQLTEXT_PUNCT           /* any other single character */
} sqltext_kind_t;

typedef struct {
    sqltext_kind_t kind;
    const char *start;      /* into the query (borrowed) */
    size_t len;
} sqltext_token_t;

/*  The next token of query from *pos, skipping white space and comments;
    advances *pos past it. An unterminated literal or comment runs to the
    end of the text. Can't fail. */
void sqltext_next (const char *query, size_t *pos, sqltext_token_t *tok);

/*  True if tok is the keyword `word` (lower case), in any case. */
bool sqltext_is_word (const sqltext_token_t *tok, const char *word);

/*  The column the first item of the query's last top-level ORDER BY
    names, without its table qualifier: unquoted names fold to lower case
    (as PostgreSQL does), quoted ones lose their quotes. Returns 0 with a
    new string in *key_p (caller frees), 1 when there is no top-level
    ORDER BY, 2 when its first item is not a plain column (an expression,
    a position, ...). */
int sqltext_order_key (const char *query, char **key_p);

/*  The query without its trailing top-level ORDER BY clause, or NULL when
    there is none or when removing it could change the rows (something
    other than sort items follows it: LIMIT, OFFSET, FETCH, FOR ...; or a
    top-level DISTINCT ON, which keeps the first row of each group in that
    order). ferry reads each chunk by key range, so the order of rows
    inside a chunk does not matter, and an unordered read lets the server
    scan instead of walking an index or sorting. Caller frees; NULL in,
    NULL out. */
char *sqltext_unordered (const char *query);

#endif
