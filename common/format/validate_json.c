/*  common/format/validate_json.c: the json and jsonb kinds of the value
    validator (validate_int.h), as PostgreSQL's json lexer reads them:
    an iterative scanner (no recursion, a bit stack of containers). For
    jsonb, \u escapes are decoded as jsonb_in does (surrogates must pair,
    \u0000 is refused) and numbers must fit numeric. */
#include "validate_int.h"

#include <string.h>

/*  Deepest nesting we track; a deeper document passes unchecked (the
    server's own limit is max_stack_depth: about 10-50 thousand levels at
    the default 2MB). The container stack is one bit per level. */
#define S_JSON_MAX_DEPTH 65536

typedef struct {
    const char *why;           /* set on error */
    size_t at;                 /* byte offset of the error */
} s_json_err_t;

/*  JSON_ALPHANUMERIC_CHAR of PostgreSQL's lexer: what may not follow a
    number or a keyword. */
static inline bool
s_json_alnum (unsigned char c)
{
    return validate_isdigit (c) || (unsigned) ((c | 0x20) - 'a') < 26u || c == '_' || c >= 0x80;
}

static inline bool
s_json_space (unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline int
s_hex4 (ucp_t p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        int d;
        if (validate_isdigit (c))
            d = c - '0';
        else if ((unsigned) ((c | 0x20) - 'a') < 6u)
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/*  Bytes that stand for themselves inside a JSON string: not '"', not
    '\\', not a control character. */
static const unsigned char s_json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/*  A string from its opening quote; returns the byte after the closing
    one, or NULL with err set. For jsonb, \u escapes are decoded as
    jsonb_in does: surrogates must pair, and \u0000 is refused. */
static ucp_t
s_json_string (ucp_t start, ucp_t p, ucp_t end, bool jsonb, s_json_err_t *err)
{
    p++;
    int hi_surrogate = -1;
    for (;;) {
        /*  After a high surrogate only a \u low surrogate may come. */
        if (hi_surrogate >= 0 && p < end && *p != '\\')
            goto lone_high;
        /*  Plain run: the common case. */
        while (p < end && s_json_plain[*p])
            p++;
        if (p >= end) {
            err->why = "unterminated string";
            err->at = (size_t) (end - start);
            return NULL;
        }
        if (*p == '"')
            return p + 1;
        if (*p < 0x20) {
            err->why = "control character in string must be escaped";
            err->at = (size_t) (p - start);
            return NULL;
        }
        /*  Backslash. */
        ucp_t esc = p;
        if (end - p < 2) {
            err->why = "unterminated string";
            err->at = (size_t) (end - start);
            return NULL;
        }
        unsigned char c = p[1];
        if (c == 'u') {
            int ch = end - p >= 6 ? s_hex4 (p + 2) : -1;
            if (ch < 0) {
                err->why = "\\u must be followed by four hexadecimal digits";
                err->at = (size_t) (esc - start);
                return NULL;
            }
            p += 6;
            if (!jsonb)
                continue;
            if (ch >= 0xd800 && ch <= 0xdbff) {
                if (hi_surrogate >= 0) {
                    err->why = "Unicode high surrogate must not follow a high surrogate";
                    err->at = (size_t) (esc - start);
                    return NULL;
                }
                hi_surrogate = ch;
                continue;
            }
            if (ch >= 0xdc00 && ch <= 0xdfff) {
                if (hi_surrogate < 0) {
                    err->why = "Unicode low surrogate must follow a high surrogate";
                    err->at = (size_t) (esc - start);
                    return NULL;
                }
                hi_surrogate = -1;
                continue;
            }
            if (hi_surrogate >= 0)
                goto lone_high;
            if (ch == 0) {
                err->why = "unsupported Unicode escape sequence \\u0000";
                err->at = (size_t) (esc - start);
                return NULL;
            }
            continue;
        }
        if (!strchr ("\"\\/bfnrt", c) || c == '\0') {
            err->why = "invalid escape sequence";
            err->at = (size_t) (esc - start);
            return NULL;
        }
        if (hi_surrogate >= 0)
            goto lone_high;
        p += 2;
    }
lone_high:
    err->why = "Unicode low surrogate must follow a high surrogate";
    err->at = (size_t) (p - start);
    return NULL;
}

/*  A number as the json lexer reads it: -?(0|[1-9][0-9]*)(.[0-9]+)?
    ([eE][+-]?[0-9]+)?, not followed by a letter or digit. For jsonb the
    value must also fit numeric. */
static ucp_t
s_json_number (ucp_t start, ucp_t p, ucp_t end, bool jsonb, s_json_err_t *err)
{
    ucp_t tok = p;
    validate_num_t n;
    if (*p == '-')
        p++;
    if (p >= end || !validate_isdigit (*p))
        goto bad;
    ucp_t d0 = p;
    if (*p == '0')
        p++;
    else
        while (p < end && validate_isdigit (*p))
            p++;
    if (p < end && *p == '.') {
        if (p + 1 >= end || !validate_isdigit (p[1]))
            goto bad;
        p++;
        while (p < end && validate_isdigit (*p))
            p++;
    }
    ucp_t mant_end = p;
    int64_t exp = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p = validate_scan_exp_digits (p + 1, end, &exp);
        if (!p)
            goto bad;
    }
    if (p < end && s_json_alnum (*p))
        goto bad;
    /*  Only an exponent or some 16 thousand digits can leave numeric's
        range. */
    if (jsonb && (exp != 0 || mant_end - d0 > VALIDATE_NUMERIC_DSCALE_MAX)) {
        if (!validate_scan_digits (d0, mant_end, &n))
            goto bad;
        n.exp = exp;
        if (!validate_numeric_format_ok (&n)) {
            err->why = "number out of range for numeric";
            err->at = (size_t) (tok - start);
            return NULL;
        }
    }
    return p;
bad:
    err->why = "invalid number";
    err->at = (size_t) (tok - start);
    return NULL;
}

/*  Validates a whole JSON text iteratively: no recursion, a bit stack of
    containers. Returns 1 valid, 0 invalid (err set), 2 nested deeper
    than we track (unchecked). */
static int
s_json_validate (ucp_t start, ucp_t end, bool jsonb, s_json_err_t *err)
{
    uint64_t stack[S_JSON_MAX_DEPTH / 64];     /* bit set: object */
    size_t depth = 0;
    ucp_t p = start;

value:
    while (p < end && s_json_space (*p))
        p++;
    if (p >= end) {
        err->why = "unexpected end of input";
        err->at = (size_t) (p - start);
        return 0;
    }
    switch (*p) {
    case '{':
    case '[': {
        bool obj = *p == '{';
        if (depth == S_JSON_MAX_DEPTH)
            return 2;
        uint64_t bit = 1ull << (depth % 64);
        if (obj)
            stack[depth / 64] |= bit;
        else
            stack[depth / 64] &= ~bit;
        depth++;
        p++;
        while (p < end && s_json_space (*p))
            p++;
        if (p < end && *p == (obj ? '}' : ']')) {
            depth--;
            p++;
            goto after;
        }
        if (obj)
            goto key;
        goto value;
    }
    case '"':
        p = s_json_string (start, p, end, jsonb, err);
        if (!p)
            return 0;
        goto after;
    case 't':
    case 'f':
    case 'n': {
        const char *word = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
        size_t wl = strlen (word);
        if ((size_t) (end - p) < wl || memcmp (p, word, wl) != 0
            || (end - p > (ptrdiff_t) wl && s_json_alnum (p[wl]))) {
            err->why = "invalid token";
            err->at = (size_t) (p - start);
            return 0;
        }
        p += wl;
        goto after;
    }
    default:
        if (*p == '-' || validate_isdigit (*p)) {
            p = s_json_number (start, p, end, jsonb, err);
            if (!p)
                return 0;
            goto after;
        }
        err->why = "unexpected character";
        err->at = (size_t) (p - start);
        return 0;
    }

key:
    /*  At a key: p is past '{' or ',' and its spaces. */
    if (p >= end || *p != '"') {
        err->why = "expected a string key";
        err->at = (size_t) (p - start);
        return 0;
    }
    p = s_json_string (start, p, end, jsonb, err);
    if (!p)
        return 0;
    while (p < end && s_json_space (*p))
        p++;
    if (p >= end || *p != ':') {
        err->why = "expected ':'";
        err->at = (size_t) (p - start);
        return 0;
    }
    p++;
    goto value;

after:
    while (p < end && s_json_space (*p))
        p++;
    if (depth == 0) {
        if (p == end)
            return 1;
        err->why = "unexpected characters after the value";
        err->at = (size_t) (p - start);
        return 0;
    }
    {
        bool obj = (stack[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1;
        if (p < end && *p == ',') {
            p++;
            if (obj) {
                while (p < end && s_json_space (*p))
                    p++;
                goto key;
            }
            goto value;
        }
        if (p < end && *p == (obj ? '}' : ']')) {
            p++;
            depth--;
            goto after;
        }
        err->why = obj ? "expected ',' or '}'" : "expected ',' or ']'";
        err->at = (size_t) (p - start);
        return 0;
    }
}

int
validate_check_json (const validate_column_t *col, const char *value, size_t len,
                     char *reason, size_t reasonlen)
{
    size_t nchars;
    if (validate_check_text (col, value, len, &nchars, reason, reasonlen))
        return -1;
    s_json_err_t err = { NULL, 0 };
    bool jsonb = col->kind == VALIDATE_JSONB;
    if (s_json_validate ((ucp_t) value, (ucp_t) value + len, jsonb, &err) != 0)
        return 0;
    char shown[200];
    validate_show (value, len, shown, sizeof shown);
    return validate_fail (col, reason, reasonlen, "\"%s\" is not valid %s: %s at byte %zu",
                   shown, jsonb ? "jsonb" : "json", err.why, err.at);
}
