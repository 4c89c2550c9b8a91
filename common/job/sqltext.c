/*  common/job/sqltext.c: a small SQL lexer, and the ORDER BY questions asked
    of a source query (see sqltext.h).

    The lexer is not a parser: it only has to tell code from text, so that
    "ORDER BY" inside a string, a comment, a quoted identifier or a
    subquery is never taken for the query's own. Everything it does not
    recognise is one punctuation character.
*/
#include "sqltext.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static bool
s_ident_start (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool
s_ident_char (unsigned char c)
{
    return s_ident_start (c) || (c >= '0' && c <= '9') || c == '$';
}

/*  Skips whitespace, -- comments and (nested) block comments. */
static size_t
s_skip_space (const char *q, size_t i)
{
    for (;;) {
        if (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r'
        ||  q[i] == '\f' || q[i] == '\v')
            i++;
        else
        if (q[i] == '-' && q[i + 1] == '-') {
            while (q[i] && q[i] != '\n')
                i++;
        }
        else
        if (q[i] == '/' && q[i + 1] == '*') {
            int depth = 1;
            i += 2;
            while (q[i] && depth > 0) {
                if (q[i] == '/' && q[i + 1] == '*') {
                    depth++;
                    i += 2;
                }
                else
                if (q[i] == '*' && q[i + 1] == '/') {
                    depth--;
                    i += 2;
                }
                else
                    i++;
            }
        }
        else
            return i;
    }
}

/*  Index just past a literal closed by `quote` starting at q[i] (the
    opening quote); a doubled quote is an escaped one, and with
    `backslash` (E'...') so is \x. Unterminated: the end of q. */
static size_t
s_skip_quoted (const char *q, size_t i, char quote, bool backslash)
{
    i++;
    while (q[i]) {
        if (backslash && q[i] == '\\' && q[i + 1])
            i += 2;
        else
        if (q[i] == quote && q[i + 1] == quote)
            i += 2;
        else
        if (q[i] == quote)
            return i + 1;
        else
            i++;
    }
    return i;
}

/*  At q[i] == '$': the index just past a $tag$ ... $tag$ string, or 0
    when q[i] does not open one (a parameter such as $1, or a lone $).
    Unterminated: the end of q. */
static size_t
s_skip_dollar (const char *q, size_t i)
{
    if (q[i + 1] != '$' && !s_ident_start ((unsigned char) q[i + 1]))
        return 0;
    size_t t = i + 1;
    while (q[t] && q[t] != '$' && s_ident_char ((unsigned char) q[t]))
        t++;
    if (q[t] != '$')
        return 0;
    size_t taglen = t - i + 1;
    size_t j = t + 1;
    while (q[j] && strncmp (q + j, q + i, taglen) != 0)
        j++;
    return q[j] ? j + taglen : j;
}

/*  See sqltext.h. */
void
sqltext_next (const char *q, size_t *pos, sqltext_token_t *tok)
{
    size_t i = s_skip_space (q, *pos);
    size_t j = i + 1;
    unsigned char c = (unsigned char) q[i];
    tok->kind = SQLTEXT_PUNCT;
    if (!c) {
        tok->kind = SQLTEXT_END;
        j = i;
    }
    else
    if (s_ident_start (c)) {
        while (s_ident_char ((unsigned char) q[j]))
            j++;
        tok->kind = SQLTEXT_WORD;
        if (j - i == 1 && (c == 'e' || c == 'E') && q[j] == '\'') {
            j = s_skip_quoted (q, j, '\'', true);
            tok->kind = SQLTEXT_STRING;
        }
    }
    else
    if (c == '"') {
        j = s_skip_quoted (q, i, '"', false);
        tok->kind = SQLTEXT_QIDENT;
    }
    else
    if (c == '\'') {
        j = s_skip_quoted (q, i, '\'', false);
        tok->kind = SQLTEXT_STRING;
    }
    else
    if (c == '$') {
        size_t end = s_skip_dollar (q, i);
        if (end) {
            j = end;
            tok->kind = SQLTEXT_STRING;
        }
    }
    else
    if ((c >= '0' && c <= '9') || (c == '.' && q[i + 1] >= '0' && q[i + 1] <= '9')) {
        while ((q[j] >= '0' && q[j] <= '9') || q[j] == '.'
        ||     s_ident_start ((unsigned char) q[j]))
            j++;
        tok->kind = SQLTEXT_NUMBER;
    }
    tok->start = q + i;
    tok->len = j - i;
    *pos = j;
}

/*  See sqltext.h. */
bool
sqltext_is_word (const sqltext_token_t *tok, const char *word)
{
    if (tok->kind != SQLTEXT_WORD || tok->len != strlen (word))
        return false;
    for (size_t i = 0; i < tok->len; i++) {
        char c = tok->start[i];
        if (c >= 'A' && c <= 'Z')
            c = (char) (c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

static bool
s_is_punct (const sqltext_token_t *tok, char c)
{
    return tok->kind == SQLTEXT_PUNCT && tok->start[0] == c;
}

/*  +1 for an opening parenthesis or bracket, -1 for a closing one, else 0. */
static int
s_nesting (const sqltext_token_t *tok)
{
    if (s_is_punct (tok, '(') || s_is_punct (tok, '['))
        return 1;
    if (s_is_punct (tok, ')') || s_is_punct (tok, ']'))
        return -1;
    return 0;
}

/*  The column name a WORD or QIDENT token stands for: unquoted names fold
    to lower case (as PostgreSQL does), quoted ones lose their quotes.
    Caller frees; NULL for an empty quoted name. */
static char *
s_token_name (const sqltext_token_t *tok)
{
    char *name = xmalloc (tok->len + 1);
    size_t n = 0;
    if (tok->kind == SQLTEXT_WORD) {
        for (size_t i = 0; i < tok->len; i++) {
            char c = tok->start[i];
            name[n++] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
        }
    }
    else {
        for (size_t i = 1; i < tok->len; i++) {
            if (tok->start[i] == '"') {
                if (i + 1 < tok->len && tok->start[i + 1] == '"')
                    i++;
                else
                    break;
            }
            name[n++] = tok->start[i];
        }
    }
    name[n] = '\0';
    if (n == 0) {
        free (name);
        return NULL;
    }
    return name;
}

/*  Scans the whole query for its last ORDER BY at depth 0 (outside every
    parenthesis and bracket). Returns true with the index of ORDER in
    *order_at and the index just past BY in *items_at; false when there
    is none. *distinct_on tells whether a top-level DISTINCT ON was seen
    anywhere. */
static bool
s_last_order_by (const char *query, size_t *order_at, size_t *items_at, bool *distinct_on)
{
    size_t pos = 0;
    int depth = 0;
    bool found = false;
    *distinct_on = false;
    sqltext_token_t tok;
    for (sqltext_next (query, &pos, &tok); tok.kind != SQLTEXT_END;
         sqltext_next (query, &pos, &tok)) {
        int step = s_nesting (&tok);
        if (step) {
            if (step > 0 || depth > 0)
                depth += step;
            continue;
        }
        if (depth > 0)
            continue;
        size_t next = pos;
        sqltext_token_t after;
        if (sqltext_is_word (&tok, "distinct")) {
            sqltext_next (query, &next, &after);
            if (sqltext_is_word (&after, "on"))
                *distinct_on = true;
        }
        else
        if (sqltext_is_word (&tok, "order")) {
            sqltext_next (query, &next, &after);
            if (sqltext_is_word (&after, "by")) {
                found = true;
                *order_at = (size_t) (tok.start - query);
                *items_at = next;
                pos = next;
            }
        }
    }
    return found;
}

/*  See sqltext.h. The first item must be name ( '.' name )* followed by
    the end of the item. */
int
sqltext_order_key (const char *query, char **key_p)
{
    size_t order_at, pos;
    bool distinct_on;
    if (!s_last_order_by (query, &order_at, &pos, &distinct_on))
        return 1;
    sqltext_token_t tok;
    sqltext_next (query, &pos, &tok);
    sqltext_token_t name = tok;
    if (name.kind != SQLTEXT_WORD && name.kind != SQLTEXT_QIDENT)
        return 2;
    for (;;) {
        sqltext_next (query, &pos, &tok);
        if (!s_is_punct (&tok, '.'))
            break;
        sqltext_next (query, &pos, &tok);
        if (tok.kind != SQLTEXT_WORD && tok.kind != SQLTEXT_QIDENT)
            return 2;
        name = tok;
    }
    static const char *const followers[] =
        { "asc", "desc", "nulls", "using", "collate", "limit", "offset",
          "fetch", "for", NULL };
    bool item_ends = tok.kind == SQLTEXT_END || s_is_punct (&tok, ',')
                  || s_is_punct (&tok, ';');
    for (size_t i = 0; !item_ends && followers[i]; i++)
        item_ends = sqltext_is_word (&tok, followers[i]);
    if (!item_ends)
        return 2;
    *key_p = s_token_name (&name);
    return *key_p ? 0 : 2;
}

/*  See sqltext.h. Keeps the query when anything but sort items follows
    the last top-level ORDER BY (LIMIT, OFFSET, FETCH, FOR UPDATE...: there
    the order changes which rows come out). */
char *
sqltext_unordered (const char *query)
{
    if (!query)
        return NULL;
    size_t order_at, pos;
    bool distinct_on;
    if (!s_last_order_by (query, &order_at, &pos, &distinct_on) || distinct_on)
        return NULL;
    static const char *const stoppers[] =
        { "limit", "offset", "fetch", "for", "union", "intersect", "except", "window", NULL };
    int depth = 0;
    sqltext_token_t tok;
    for (sqltext_next (query, &pos, &tok); tok.kind != SQLTEXT_END;
         sqltext_next (query, &pos, &tok)) {
        depth += s_nesting (&tok);
        if (depth < 0)
            return NULL;
        if (depth == 0 && s_is_punct (&tok, ';'))
            break;
        for (size_t i = 0; depth == 0 && stoppers[i]; i++)
            if (sqltext_is_word (&tok, stoppers[i]))
                return NULL;
    }
    size_t len = order_at;
    while (len > 0 && (query[len - 1] == ' ' || query[len - 1] == '\t'
                       || query[len - 1] == '\n' || query[len - 1] == '\r'))
        len--;
    if (len == 0)
        return NULL;
    char *out = xmalloc (len + 1);
    memcpy (out, query, len);
    out[len] = 0;
    return out;
}
