/*  common/format/validate.c: checking text values against a target column's
    type before they reach the server, pure logic; see validate.h.

    Each kind is checked by a small hand-written scanner that follows the
    PostgreSQL 15 input function it stands in for (pg_strtoint*, numeric_in
    with apply_typmod, float8in/float4in, boolin, DecodeDateTime for the
    ISO forms only, string_to_uuid, the json lexer, varchar_input and
    bpchar_input). The rule of validate.h governs every choice: a value is
    rejected only when the server would surely reject it; a form the
    scanner does not know passes and the server decides. Behaviours that
    were not obvious from the sources were checked against a real
    PostgreSQL 15 server; tests/unit/test_validate.c lists them.

    This file holds the interface, the reasons, and the kinds that need
    little scanning: UTF-8 and the text kinds (the commonest kind, kept
    beside the dispatch on the hot path), bool and uuid. The number, date
    and time, and json kinds have a file each (validate_int.h).

    Everything is allocation-free and reads only value[0, len): values
    from a CSV buffer are not NUL-terminated. The reject path formats a
    reason with snprintf; the accept path never does. */
#include "validate_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- reasons ------------------------------------------------------ */

void
validate_show (const char *value, size_t len, char *out, size_t outsize)
{
    enum { SHOW_MAX = 40 };
    ucp_t s = (ucp_t) value;
    size_t o = 0, i = 0;
    while (i < len && i < SHOW_MAX && o + 8 < outsize) {
        unsigned char c = s[i];
        size_t n = 1;
        if (c >= 0x80) {
            n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if (i + n > len || !validate_utf8 (value + i, n))
                n = 0;
        }
        if (n == 0 || c < 0x20 || c == 0x7f) {
            o += (size_t) snprintf (out + o, outsize - o, "\\x%02x", c);
            i++;
        }
        else {
            memcpy (out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    if (i < len && o + 4 <= outsize) {
        memcpy (out + o, "...", 3);
        o += 3;
    }
    out[o < outsize ? o : outsize - 1] = '\0';
}

int
validate_fail (const validate_column_t *col, char *reason, size_t reasonlen,
               const char *fmt, ...)
{
    if (!reason || reasonlen == 0)
        return -1;
    int n = snprintf (reason, reasonlen, "column \"%s\": ", col->name);
    if (n >= 0 && (size_t) n < reasonlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (reason + n, reasonlen - (size_t) n, fmt, ap);
        va_end (ap);
    }
    return -1;
}

/*  Quotes the value in one of the two common reasons. */
static int
s_fail_quoting (const validate_column_t *col, const char *value, size_t len, bool range,
                const char *what, char *reason, size_t reasonlen)
{
    char shown[200];
    validate_show (value, len, shown, sizeof shown);
    if (range)
        return validate_fail (col, reason, reasonlen, "value \"%s\" out of range for %s",
                              shown, what);
    return validate_fail (col, reason, reasonlen, "\"%s\" is not a valid %s", shown, what);
}

int
validate_fail_invalid (const validate_column_t *col, const char *value, size_t len,
                       const char *what, char *reason, size_t reasonlen)
{
    return s_fail_quoting (col, value, len, false, what, reason, reasonlen);
}

int
validate_fail_range (const validate_column_t *col, const char *value, size_t len,
                     const char *what, char *reason, size_t reasonlen)
{
    return s_fail_quoting (col, value, len, true, what, reason, reasonlen);
}

/* ---- UTF-8 -------------------------------------------------------- */

#define S_HIGH8 0x8080808080808080ull
#define S_ONES8 0x0101010101010101ull

/*  Strict UTF-8 check (Unicode table 3-7: no overlongs, no surrogates,
    nothing above U+10FFFF, no truncated sequence). With nul_bad a 0x00
    byte is an error too, as it is for PostgreSQL's text input. Returns
    true when valid, with *nchars the number of characters; otherwise
    false with *bad_at the offset of the offending sequence. ASCII goes 8
    bytes at a time. */
static inline bool
s_utf8_scan (ucp_t s, size_t len, bool nul_bad, size_t *nchars, size_t *bad_at)
{
    size_t i = 0, cont = 0;
    for (;;) {
        while (i + 8 <= len) {
            uint64_t v;
            memcpy (&v, s + i, 8);
            if (v & S_HIGH8)
                break;
            if (nul_bad && ((v - S_ONES8) & ~v & S_HIGH8))
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0 && nul_bad) {
                *bad_at = i;
                return false;
            }
            i++;
            continue;
        }
        /*  Allowed range of the second byte, and the sequence length. */
        unsigned char lo = 0x80, hi = 0xbf;
        size_t n;
        if (c >= 0xc2 && c <= 0xdf)
            n = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            if (c == 0xe0)
                lo = 0xa0;                  /* overlong */
            else if (c == 0xed)
                hi = 0x9f;                  /* surrogates D800-DFFF */
        }
        else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            if (c == 0xf0)
                lo = 0x90;                  /* overlong */
            else if (c == 0xf4)
                hi = 0x8f;                  /* above U+10FFFF */
        }
        else {
            *bad_at = i;
            return false;
        }
        if (i + n > len || s[i + 1] < lo || s[i + 1] > hi
            || (n > 2 && (s[i + 2] & 0xc0) != 0x80)
            || (n > 3 && (s[i + 3] & 0xc0) != 0x80)) {
            *bad_at = i;
            return false;
        }
        i += n;
        cont += n - 1;
    }
    *nchars = len - cont;
    return true;
}

bool
validate_utf8 (const char *buf, size_t len)
{
    size_t nchars, bad_at;
    return s_utf8_scan ((ucp_t) buf, len, false, &nchars, &bad_at);
}

int
validate_check_text (const validate_column_t *col, const char *value, size_t len,
                     size_t *nchars, char *reason, size_t reasonlen)
{
    size_t bad_at;
    if (s_utf8_scan ((ucp_t) value, len, true, nchars, &bad_at))
        return 0;
    if (value[bad_at] == '\0')
        return validate_fail (col, reason, reasonlen, "value contains a NUL byte (at byte %zu)", bad_at);
    return validate_fail (col, reason, reasonlen, "value is not valid UTF-8 (at byte %zu)", bad_at);
}

/*  varchar(n) and char(n): more than n characters is an error unless
    every character past the n-th is a space (varchar_input and
    bpchar_input clip those silently; a tab is not a space there). */
static int
s_check_length (const validate_column_t *col, const char *value, size_t len,
                char *reason, size_t reasonlen)
{
    size_t nchars;
    if (validate_check_text (col, value, len, &nchars, reason, reasonlen))
        return -1;
    int32_t max = col->max_chars;
    if (max < 0 || nchars <= (size_t) max)
        return 0;
    /*  Byte offset of character number max (0-based): count lead bytes. */
    ucp_t s = (ucp_t) value;
    size_t i = 0, seen = 0;
    for (; i < len; i++)
        if ((s[i] & 0xc0) != 0x80 && seen++ == (size_t) max)
            break;
    for (; i < len; i++)
        if (s[i] != ' ')
            return validate_fail (col, reason, reasonlen, "value too long for %s(%d) (%zu characters)",
                           col->kind == VALIDATE_VARCHAR ? "varchar" : "char", (int) max, nchars);
    return 0;
}

/* ---- bool --------------------------------------------------------- */

/*  parse_bool_with_len: any prefix of true/false/yes/no, "on", "of[f]"
    (one "o" is ambiguous), "1", "0"; any case; spaces around. */
static bool
s_bool_ok (ucp_t p, ucp_t end)
{
    p = validate_skip_space (p, end);
    while (end > p && validate_isspace (end[-1]))
        end--;
    size_t n = (size_t) (end - p);
    if (n == 0)
        return false;
    const char *word;
    switch (validate_lower (*p)) {
    case 't': word = "true"; break;
    case 'f': word = "false"; break;
    case 'y': word = "yes"; break;
    case 'n': word = "no"; break;
    case 'o':
        if (n < 2)
            return false;
        word = validate_lower (p[1]) == 'n' ? "on" : "off";
        break;
    case '1':
    case '0':
        return n == 1;
    default:
        return false;
    }
    if (n > strlen (word))
        return false;
    for (size_t i = 0; i < n; i++)
        if (validate_lower (p[i]) != (unsigned char) word[i])
            return false;
    return true;
}

/* ---- uuid --------------------------------------------------------- */

/*  string_to_uuid: optional braces, 32 hex digits, a '-' allowed after
    every group of four; no spaces. */
static bool
s_uuid_ok (ucp_t p, ucp_t end)
{
    bool braces = p < end && *p == '{';
    if (braces)
        p++;
    for (int i = 0; i < 16; i++) {
        if (end - p < 2 || !validate_isxdigit (p[0]) || !validate_isxdigit (p[1]))
            return false;
        p += 2;
        if (p < end && *p == '-' && (i % 2) == 1 && i < 15)
            p++;
    }
    if (braces) {
        if (p >= end || *p != '}')
            return false;
        p++;
    }
    return p == end;
}

/* ---- the interface ------------------------------------------------ */

void
validate_column_init (validate_column_t *col, uint32_t type_oid, int32_t typmod,
                      bool not_null, const char *name)
{
    memset (col, 0, sizeof *col);
    col->max_chars = -1;
    col->precision = -1;
    col->scale = 0;
    col->not_null = not_null;
    if (name) {
        size_t n = strlen (name);
        if (n >= sizeof col->name)
            n = sizeof col->name - 1;
        memcpy (col->name, name, n);
        col->name[n] = '\0';
    }
    switch (type_oid) {
    case 25:   /* text */
    case 19:   /* name: over-long names are truncated by namein, not refused */
        col->kind = VALIDATE_TEXT;
        break;
    case 1043: /* varchar */
    case 1042: /* bpchar */
        col->kind = type_oid == 1043 ? VALIDATE_VARCHAR : VALIDATE_BPCHAR;
        if (typmod >= 4)
            col->max_chars = typmod - 4;
        break;
    case 21: col->kind = VALIDATE_INT2; break;
    case 23: col->kind = VALIDATE_INT4; break;
    case 20: col->kind = VALIDATE_INT8; break;
    case 1700:
        col->kind = VALIDATE_NUMERIC;
        if (typmod >= 4) {
            /*  PostgreSQL 15 keeps the scale in 11 bits, signed
                (numeric_typmod_scale): numeric(2,-3) is legal there. */
            col->precision = ((typmod - 4) >> 16) & 0xffff;
            col->scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
        }
        break;
    case 700: col->kind = VALIDATE_FLOAT4; break;
    case 701: col->kind = VALIDATE_FLOAT8; break;
    case 16: col->kind = VALIDATE_BOOL; break;
    case 1082: col->kind = VALIDATE_DATE; break;
    case 1114: col->kind = VALIDATE_TIMESTAMP; break;
    case 1184: col->kind = VALIDATE_TIMESTAMPTZ; break;
    case 1083: col->kind = VALIDATE_TIME; break;
    case 2950: col->kind = VALIDATE_UUID; break;
    case 114: col->kind = VALIDATE_JSON; break;
    case 3802: col->kind = VALIDATE_JSONB; break;
    default: col->kind = VALIDATE_ANY; break;
    }
}

int
validate_value (const validate_column_t *col, const char *value, size_t len,
                char *reason, size_t reasonlen)
{
    if (reason && reasonlen)
        reason[0] = '\0';
    if (!value) {
        if (col->not_null)
            return validate_fail (col, reason, reasonlen, "NULL in a NOT NULL column");
        return 0;
    }
    ucp_t p = (ucp_t) value, end = p + len;
    size_t nchars;
    switch (col->kind) {
    case VALIDATE_ANY:
        return 0;
    case VALIDATE_TEXT:
        return validate_check_text (col, value, len, &nchars, reason, reasonlen);
    case VALIDATE_VARCHAR:
    case VALIDATE_BPCHAR:
        return s_check_length (col, value, len, reason, reasonlen);
    case VALIDATE_INT2:
    case VALIDATE_INT4:
    case VALIDATE_INT8:
        return validate_check_int (col, value, len, reason, reasonlen);
    case VALIDATE_NUMERIC:
        return validate_check_numeric (col, value, len, reason, reasonlen);
    case VALIDATE_FLOAT4:
    case VALIDATE_FLOAT8:
        return validate_check_float (col, value, len, reason, reasonlen);
    case VALIDATE_BOOL:
        return s_bool_ok (p, end) ? 0
             : validate_fail_invalid (col, value, len, "boolean", reason, reasonlen);
    case VALIDATE_DATE:
    case VALIDATE_TIMESTAMP:
    case VALIDATE_TIMESTAMPTZ:
    case VALIDATE_TIME:
        return validate_check_datetime (col, value, len, reason, reasonlen);
    case VALIDATE_UUID:
        return s_uuid_ok (p, end) ? 0
             : validate_fail_invalid (col, value, len, "uuid", reason, reasonlen);
    case VALIDATE_JSON:
    case VALIDATE_JSONB:
        return validate_check_json (col, value, len, reason, reasonlen);
    }
    return 0;
}
