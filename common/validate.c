/*  common/validate.c: checking text values against a target column's
    type before they reach the server, pure logic.

    Each kind is checked by a small hand-written scanner that follows the
    PostgreSQL 15 input function it stands in for (pg_strtoint*, numeric_in
    with apply_typmod, float8in/float4in, boolin, DecodeDateTime for the
    ISO forms only, string_to_uuid, the json lexer, varchar_input and
    bpchar_input). The rule of validate.h governs every choice here: a
    value is rejected only when the server would surely reject it; a form
    the scanner does not know passes and the server decides. Behaviours
    that were not obvious from the sources were checked against a real
    PostgreSQL 15 server; tests/unit/test_validate.c lists them.

    Everything is allocation-free and reads only value[0, len): values
    from a CSV buffer are not NUL-terminated. The reject path formats a
    reason with snprintf; the accept path never does. */
#include "validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------ */

typedef const unsigned char *ucp_t;

/*  isspace() in the C locale, as PostgreSQL's input functions use it. */
static inline bool
s_isspace (unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline bool
s_isdigit (unsigned char c)
{
    return (unsigned) (c - '0') < 10u;
}

static inline bool
s_isxdigit (unsigned char c)
{
    return s_isdigit (c) || (unsigned) ((c | 0x20) - 'a') < 6u;
}

static inline unsigned char
s_lower (unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}

/*  True when [p, end) starts with the lower-case ASCII word w, ignoring
    case; advances *pp past it. */
static bool
s_eat_word (ucp_t *pp, ucp_t end, const char *w)
{
    ucp_t p = *pp;
    for (; *w; w++, p++)
        if (p >= end || s_lower (*p) != (unsigned char) *w)
            return false;
    *pp = p;
    return true;
}

static ucp_t
s_skip_space (ucp_t p, ucp_t end)
{
    while (p < end && s_isspace (*p))
        p++;
    return p;
}

/* ---- reasons ------------------------------------------------------ */

/*  Writes a printable, bounded rendering of the value into out: at most
    about 40 bytes of it, control characters and bytes that are not UTF-8
    as \xNN, "..." when cut. Reasons are one line and may be logged. */
static void
s_show (const char *value, size_t len, char *out, size_t outsize)
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

/*  Formats "column "<name>": <message>" into reason. Returns -1 so that
    callers can `return s_fail (...)`. reason may be NULL. */
__attribute__ ((format (printf, 4, 5)))
static int
s_fail (const validate_column_t *col, char *reason, size_t reasonlen, const char *fmt, ...)
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

/*  The common reason: column "c": "<value>" is not a valid <what>. */
static int
s_fail_invalid (const validate_column_t *col, const char *value, size_t len,
                const char *what, char *reason, size_t reasonlen)
{
    char shown[200];
    s_show (value, len, shown, sizeof shown);
    return s_fail (col, reason, reasonlen, "\"%s\" is not a valid %s", shown, what);
}

static int
s_fail_range (const validate_column_t *col, const char *value, size_t len,
              const char *what, char *reason, size_t reasonlen)
{
    char shown[200];
    s_show (value, len, shown, sizeof shown);
    return s_fail (col, reason, reasonlen, "value \"%s\" out of range for %s", shown, what);
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

/*  Text input as the server reads it: valid UTF-8, no NUL byte. */
static int
s_check_text (const validate_column_t *col, const char *value, size_t len, size_t *nchars,
              char *reason, size_t reasonlen)
{
    size_t bad_at;
    if (s_utf8_scan ((ucp_t) value, len, true, nchars, &bad_at))
        return 0;
    if (value[bad_at] == '\0')
        return s_fail (col, reason, reasonlen, "value contains a NUL byte (at byte %zu)", bad_at);
    return s_fail (col, reason, reasonlen, "value is not valid UTF-8 (at byte %zu)", bad_at);
}

/*  varchar(n) and char(n): more than n characters is an error unless
    every character past the n-th is a space (varchar_input and
    bpchar_input clip those silently; a tab is not a space there). */
static int
s_check_length (const validate_column_t *col, const char *value, size_t len,
                char *reason, size_t reasonlen)
{
    size_t nchars;
    if (s_check_text (col, value, len, &nchars, reason, reasonlen))
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
            return s_fail (col, reason, reasonlen, "value too long for %s(%d) (%zu characters)",
                           col->kind == VALIDATE_VARCHAR ? "varchar" : "char", (int) max, nchars);
    return 0;
}

/* ---- integers ----------------------------------------------------- */

enum { S_OK = 0, S_SYNTAX = 1, S_RANGE = 2 };

/*  pg_strtoint16/32/64: optional spaces, optional sign, digits, optional
    spaces. Up to 19 significant digits fit an unsigned 64-bit
    accumulator, so the range test comes once after the digits (before
    the trailing characters, so "99999x" is out of range, as on the
    server); no UB, no division. */
static int
s_scan_int (ucp_t p, ucp_t end, uint64_t max_pos)
{
    p = s_skip_space (p, end);
    bool neg = false;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p >= end || !s_isdigit (*p))
        return S_SYNTAX;
    while (p < end && *p == '0')
        p++;
    ucp_t d0 = p;
    uint64_t acc = 0;
    while (p < end && s_isdigit (*p) && p - d0 < 19)
        acc = acc * 10 + (uint64_t) (*p++ - '0');
    if ((p < end && s_isdigit (*p)) || acc > max_pos + neg)
        return S_RANGE;
    p = s_skip_space (p, end);
    return p == end ? S_OK : S_SYNTAX;
}

/* ---- decimal numbers (numeric, float, jsonb numbers) --------------- */

/*  A scanned decimal number: the digits from the first significant one
    on, split around the point, and the explicit exponent (saturated).
    Value = 0.d1 d2 d3 ... * 10^E with d1 != 0, E from s_num_e. */
typedef struct {
    ucp_t sig0, sig1;          /* significant digits before the point (from the first nonzero) */
    ucp_t frac0, frac1;        /* digits after the point, all of them */
    size_t frac_lead0;         /* leading zeros of the fraction (used when sig is empty) */
    int64_t exp;               /* explicit exponent, saturated at +-S_EXP_SAT */
    bool zero;                 /* every digit is 0 */
} s_num_t;

#define S_EXP_SAT 4000000000LL

/*  PostgreSQL numeric limits (numeric.c, set_var_from_str and
    make_result): |exponent| < INT_MAX / 2, display scale <= 16383, and
    at most 131072 digits before the point. */
#define S_NUMERIC_EXP_MAX    1073741823LL
#define S_NUMERIC_DSCALE_MAX 16383
#define S_NUMERIC_DIGITS_MAX 131072

static inline int64_t
s_num_e (const s_num_t *n)
{
    if (n->sig1 > n->sig0)
        return (int64_t) (n->sig1 - n->sig0) + n->exp;
    return n->exp - (int64_t) n->frac_lead0;
}

static inline size_t
s_num_ndigits (const s_num_t *n)
{
    size_t ns = (size_t) (n->sig1 - n->sig0);
    size_t nf = (size_t) (n->frac1 - n->frac0);
    return ns ? ns + nf : nf - n->frac_lead0;
}

/*  The i-th (0-based) significant digit, as a character. */
static inline unsigned char
s_num_digit (const s_num_t *n, size_t i)
{
    size_t ns = (size_t) (n->sig1 - n->sig0);
    if (ns)
        return i < ns ? n->sig0[i] : n->frac0[i - ns];
    return n->frac0[n->frac_lead0 + i];
}

/*  Compares the significant digits of n with the digit string t (the
    significant digits of a threshold with the same E). Returns <0, 0, >0. */
static int
s_num_cmp (const s_num_t *n, const char *t)
{
    size_t nd = s_num_ndigits (n), tl = strlen (t);
    size_t m = nd < tl ? nd : tl;
    for (size_t i = 0; i < m; i++) {
        int d = (int) s_num_digit (n, i) - (int) (unsigned char) t[i];
        if (d)
            return d;
    }
    for (size_t i = m; i < nd; i++)            /* n longer: greater unless zeros */
        if (s_num_digit (n, i) != '0')
            return 1;
    for (size_t i = m; i < tl; i++)            /* t longer: smaller unless zeros */
        if (t[i] != '0')
            return -1;
    return 0;
}

/*  Digits with an optional point, at least one digit: "12", "1.5",
    ".5", "5.". Fills n (exp = 0); returns the end or NULL. */
static ucp_t
s_scan_digits (ucp_t p, ucp_t end, s_num_t *n)
{
    ucp_t start = p;
    while (p < end && *p == '0')
        p++;
    n->sig0 = p;
    while (p < end && s_isdigit (*p))
        p++;
    n->sig1 = p;
    bool any = p > start;
    n->frac0 = n->frac1 = p;
    n->frac_lead0 = 0;
    if (p < end && *p == '.') {
        p++;
        n->frac0 = p;
        while (p < end && *p == '0')
            p++;
        n->frac_lead0 = (size_t) (p - n->frac0);
        while (p < end && s_isdigit (*p))
            p++;
        n->frac1 = p;
        any = any || p > n->frac0;
    }
    if (!any)
        return NULL;
    n->zero = n->sig1 == n->sig0 && n->frac_lead0 == (size_t) (n->frac1 - n->frac0);
    n->exp = 0;
    return p;
}

/*  Optional sign and digits of an exponent, saturating. Returns the end,
    or NULL when no digit follows. */
static ucp_t
s_scan_exp_digits (ucp_t p, ucp_t end, int64_t *exp)
{
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    if (p >= end || !s_isdigit (*p))
        return NULL;
    int64_t e = 0;
    for (; p < end && s_isdigit (*p); p++)
        if (e < S_EXP_SAT)
            e = e * 10 + (*p - '0');
    if (e > S_EXP_SAT)
        e = S_EXP_SAT;
    *exp = neg ? -e : e;
    return p;
}

/*  numeric(p, s) after rounding to s digits (apply_typmod): the value
    must round to an absolute value below 10^(p - s). Rounding is half
    away from zero, so 999.995 at scale 2 becomes 1000.00. */
static bool
s_numeric_fits (const s_num_t *n, int32_t precision, int32_t scale)
{
    if (n->zero)
        return true;
    int64_t e = s_num_e (n), maxdigits = (int64_t) precision - scale;
    if (e < maxdigits)
        return true;
    if (e > maxdigits)
        return false;
    /*  Exactly maxdigits digits before the point: overflow only if the
        kept digits (k = e + scale = precision of them) are all 9 and the
        first dropped one rounds up. */
    size_t k = (size_t) precision, nd = s_num_ndigits (n);
    if (nd <= k || s_num_digit (n, k) < '5')
        return true;
    for (size_t i = 0; i < k; i++)
        if (s_num_digit (n, i) != '9')
            return true;
    return false;
}

/*  The limits every numeric (and every jsonb number) obeys whatever its
    typmod. True when n is within them. */
static bool
s_numeric_format_ok (const s_num_t *n)
{
    if (n->exp >= S_NUMERIC_EXP_MAX || n->exp <= -S_NUMERIC_EXP_MAX)
        return false;
    int64_t dscale = (int64_t) (n->frac1 - n->frac0) - n->exp;
    if (dscale > S_NUMERIC_DSCALE_MAX)
        return false;
    return n->zero || s_num_e (n) <= S_NUMERIC_DIGITS_MAX;
}

static int
s_check_numeric (const validate_column_t *col, const char *value, size_t len,
                 char *reason, size_t reasonlen)
{
    ucp_t p = (ucp_t) value, end = p + len;
    p = s_skip_space (p, end);
    bool special = false, inf = false;
    /*  numeric_in's order: NaN, Infinity, +Infinity, -Infinity, inf,
        +inf, -inf; no sign before NaN. Digits skip all that. */
    if (p < end && (s_isdigit (*p) || *p == '.'))
        ;
    else if (s_eat_word (&p, end, "nan"))
        special = true;
    else if (p < end && (*p == '+' || *p == '-' || s_lower (*p) == 'i')) {
        ucp_t q = (*p == '+' || *p == '-') ? p + 1 : p;
        if (s_eat_word (&q, end, "infinity") || s_eat_word (&q, end, "inf")) {
            p = q;
            special = inf = true;
        }
    }
    s_num_t n;
    if (!special) {
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        p = s_scan_digits (p, end, &n);
        if (!p)
            return s_fail_invalid (col, value, len, "numeric", reason, reasonlen);
        if (p < end && (*p == 'e' || *p == 'E')) {
            /*  The exponent is read with strtol: leading spaces pass. */
            p = s_scan_exp_digits (s_skip_space (p + 1, end), end, &n.exp);
            if (!p)
                return s_fail_invalid (col, value, len, "numeric", reason, reasonlen);
        }
    }
    p = s_skip_space (p, end);
    if (p != end)
        return s_fail_invalid (col, value, len, "numeric", reason, reasonlen);
    if (special) {
        if (inf && col->precision >= 0) {
            char shown[200];
            s_show (value, len, shown, sizeof shown);
            return s_fail (col, reason, reasonlen, "value \"%s\" overflows numeric(%d,%d)",
                           shown, (int) col->precision, (int) col->scale);
        }
        return 0;
    }
    if (!s_numeric_format_ok (&n))
        return s_fail_range (col, value, len, "numeric", reason, reasonlen);
    if (col->precision >= 0 && !s_numeric_fits (&n, col->precision, col->scale)) {
        char shown[200];
        s_show (value, len, shown, sizeof shown);
        return s_fail (col, reason, reasonlen, "value \"%s\" overflows numeric(%d,%d)",
                       shown, (int) col->precision, (int) col->scale);
    }
    return 0;
}

/* ---- floats ------------------------------------------------------- */

/*  Significant digits of the exact thresholds, each with its E (value =
    0.digits * 10^E): the halfway points between the largest finite value
    and 2^max_exp, which round to infinity, and half the smallest
    denormal, at or below which strtod returns 0 with ERANGE. */
static const char s_f8_over[] =     /* 2^1024 - 2^970, E 309 */
    "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";
static const char s_f8_under[] =    /* 2^-1075, E -323 */
    "24703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125";
static const char s_f4_over[] =     /* 2^128 - 2^103, E 39 */
    "340282356779733661637539395458142568448";
static const char s_f4_under[] =    /* 2^-150, E -45 */
    "700649232162408535461864791644958065640130970938257885878534141944895541342930300743319094181060791015625";

/*  float8in / float4in: strtod's decimal forms, then the special words
    of float8in_internal and glibc (inf, infinity, nan, with a sign).
    Overflow to infinity and underflow to zero are range errors; a
    denormal result is accepted, as PostgreSQL does. Hex floats and
    nan(...) are strtod forms we do not model: they pass. */
static int
s_check_float (const validate_column_t *col, const char *value, size_t len,
               char *reason, size_t reasonlen)
{
    bool f4 = col->kind == VALIDATE_FLOAT4;
    const char *what = f4 ? "real" : "double precision";
    ucp_t p = (ucp_t) value, end = p + len;
    p = s_skip_space (p, end);
    if (p < end && (*p == '+' || *p == '-'))
        p++;
    if (p < end && !s_isdigit (*p) && *p != '.') {
        if (s_eat_word (&p, end, "infinity") || s_eat_word (&p, end, "inf"))
            ;
        else if (s_eat_word (&p, end, "nan")) {
            if (p < end && *p == '(')
                return 0;
        }
        else
            return s_fail_invalid (col, value, len, what, reason, reasonlen);
        p = s_skip_space (p, end);
        if (p != end)
            return s_fail_invalid (col, value, len, what, reason, reasonlen);
        return 0;
    }
    if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return 0;
    s_num_t n;
    p = s_scan_digits (p, end, &n);
    if (!p)
        return s_fail_invalid (col, value, len, what, reason, reasonlen);
    if (p < end && (*p == 'e' || *p == 'E')) {
        p = s_scan_exp_digits (p + 1, end, &n.exp);
        if (!p)
            return s_fail_invalid (col, value, len, what, reason, reasonlen);
    }
    p = s_skip_space (p, end);
    if (p != end)
        return s_fail_invalid (col, value, len, what, reason, reasonlen);
    if (n.zero)
        return 0;
    int64_t e = s_num_e (&n);
    int64_t e_over = f4 ? 39 : 309, e_under = f4 ? -45 : -323;
    if (e < e_over && e > e_under)
        return 0;
    bool bad;
    if (e >= e_over)
        bad = e > e_over || s_num_cmp (&n, f4 ? s_f4_over : s_f8_over) >= 0;
    else
        bad = e < e_under || s_num_cmp (&n, f4 ? s_f4_under : s_f8_under) <= 0;
    return bad ? s_fail_range (col, value, len, what, reason, reasonlen) : 0;
}

/* ---- bool --------------------------------------------------------- */

/*  parse_bool_with_len: any prefix of true/false/yes/no, "on", "of[f]"
    (one "o" is ambiguous), "1", "0"; any case; spaces around. */
static bool
s_bool_ok (ucp_t p, ucp_t end)
{
    p = s_skip_space (p, end);
    while (end > p && s_isspace (end[-1]))
        end--;
    size_t n = (size_t) (end - p);
    if (n == 0)
        return false;
    const char *word;
    switch (s_lower (*p)) {
    case 't': word = "true"; break;
    case 'f': word = "false"; break;
    case 'y': word = "yes"; break;
    case 'n': word = "no"; break;
    case 'o':
        if (n < 2)
            return false;
        word = s_lower (p[1]) == 'n' ? "on" : "off";
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
        if (s_lower (p[i]) != (unsigned char) word[i])
            return false;
    return true;
}

/* ---- dates and times ---------------------------------------------- */

/*  Reads 1..maxd digits; returns the end or NULL. */
static ucp_t
s_scan_uint (ucp_t p, ucp_t end, int mind, int maxd, int *out)
{
    int v = 0, n = 0;
    while (p < end && s_isdigit (*p) && n < maxd) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n < mind || (p < end && s_isdigit (*p)))
        return NULL;
    *out = v;
    return p;
}

typedef struct {
    int year, month, day;      /* has_date only */
    int hour, min, sec;        /* has_time only; sec 0 when absent */
    bool has_date, has_time;
    bool frac_nonzero;         /* a nonzero digit in the first 6 fraction digits */
    bool bc;
} s_dt_t;

/*  HH:MM[:SS[.frac]] with 1-2 digit fields. */
static ucp_t
s_scan_time (ucp_t p, ucp_t end, s_dt_t *dt)
{
    p = s_scan_uint (p, end, 1, 2, &dt->hour);
    if (!p || p >= end || *p != ':')
        return NULL;
    p = s_scan_uint (p + 1, end, 1, 2, &dt->min);
    if (!p)
        return NULL;
    dt->sec = 0;
    dt->frac_nonzero = false;
    if (p < end && *p == ':') {
        p = s_scan_uint (p + 1, end, 1, 2, &dt->sec);
        if (!p)
            return NULL;
        if (p < end && *p == '.') {
            p++;
            for (int i = 0; p < end && s_isdigit (*p); p++, i++)
                if (i < 6 && *p != '0')
                    dt->frac_nonzero = true;
        }
    }
    dt->has_time = true;
    return p;
}

/*  A numeric zone: Z, or a sign and digits with up to two ':' groups
    (+2, +02, +0230, +02:30, +02:30:15). The displacement is not
    range-checked: a zone we accept here only lets the other fields be
    checked. */
static ucp_t
s_scan_zone (ucp_t p, ucp_t end)
{
    if (p < end && (*p == 'Z' || *p == 'z'))
        return p + 1;
    if (p >= end || (*p != '+' && *p != '-'))
        return NULL;
    p++;
    for (int group = 0; group < 3; group++) {
        if (group > 0) {
            if (p >= end || *p != ':')
                break;
            p++;
        }
        if (p >= end || !s_isdigit (*p))
            return NULL;
        while (p < end && s_isdigit (*p))
            p++;
    }
    return p;
}

/*  The ISO forms only, whole value:
        [date] YYYY-MM-DD [(T|spaces) time [spaces] [zone]] [spaces] [BC|AD]
        [time] time [spaces] [zone]
    with spaces around. Returns false for anything else (the caller then
    lets the server decide). An ISO date is read year-month-day whatever
    the DateStyle. */
static bool
s_scan_datetime (ucp_t p, ucp_t end, bool want_date, s_dt_t *dt)
{
    memset (dt, 0, sizeof *dt);
    p = s_skip_space (p, end);
    if (want_date) {
        p = s_scan_uint (p, end, 4, 7, &dt->year);
        if (!p || p >= end || *p != '-')
            return false;
        p = s_scan_uint (p + 1, end, 1, 2, &dt->month);
        if (!p || p >= end || *p != '-')
            return false;
        p = s_scan_uint (p + 1, end, 1, 2, &dt->day);
        if (!p)
            return false;
        dt->has_date = true;
        ucp_t q = p;
        if (q < end && (*q == 'T' || *q == 't'))
            q++;
        else
            q = s_skip_space (q, end);
        if (q > p && q < end && s_isdigit (*q)) {
            p = s_scan_time (q, end, dt);
            if (!p)
                return false;
        }
    }
    else {
        p = s_scan_time (p, end, dt);
        if (!p)
            return false;
    }
    if (dt->has_time) {
        ucp_t q = s_scan_zone (s_skip_space (p, end), end);
        if (q)
            p = q;
    }
    if (want_date) {
        ucp_t q = s_skip_space (p, end);
        if (s_eat_word (&q, end, "bc")) {
            dt->bc = true;
            p = q;
        }
        else if (s_eat_word (&q, end, "ad"))
            p = q;
    }
    p = s_skip_space (p, end);
    return p == end;
}

static bool
s_date_ok (const s_dt_t *dt)
{
    static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (dt->year == 0 || dt->month < 1 || dt->month > 12 || dt->day < 1)
        return false;
    if (dt->day <= (dt->month == 2 ? 28 : mdays[dt->month - 1]))
        return true;
    if (dt->month != 2 || dt->day != 29)
        return false;
    /*  Proleptic Gregorian; 1 BC is year 0, a leap year. */
    long y = dt->bc ? 1L - dt->year : dt->year;
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*  The supported range: dates 4714-11-24 BC to 5874897-12-31,
    timestamps 4714-11-24 00:00 BC to 294276-12-31 24:00. For timestamps
    the bounds get a day of slack, since a zone (given or the session's)
    moves the instant across the boundary. */
static bool
s_date_in_range (const s_dt_t *dt, bool is_timestamp)
{
    long long key = (dt->bc ? 1LL - dt->year : (long long) dt->year) * 10000LL
                  + dt->month * 100 + dt->day;
    if (is_timestamp)
        return key >= -47130000LL + 1123 && key <= 294277LL * 10000 + 101;
    return key >= -47130000LL + 1124 && key <= 5874897LL * 10000 + 1231;
}

/*  The time-of-day checks of DecodeDateTime and DecodeTimeOnly: hour
    0-24, minutes 0-59, seconds 0-60 (a leap second rolls over into the
    next minute), and the whole no later than 24:00:00 exactly. So
    12:34:60.5 passes but 23:59:60.5 and 24:00:00.5 do not (checked on
    a server). The fraction counts only to microseconds, where the server
    rounds it. */
static bool
s_time_ok (const s_dt_t *dt)
{
    if (dt->min > 59 || dt->sec > 60 || dt->hour > 24)
        return false;
    long secs = dt->hour * 3600L + dt->min * 60L + dt->sec;
    return secs < 86400L || (secs == 86400L && !dt->frac_nonzero);
}

static int
s_check_datetime (const validate_column_t *col, const char *value, size_t len,
                  char *reason, size_t reasonlen)
{
    const char *what;
    switch (col->kind) {
    case VALIDATE_DATE: what = "date"; break;
    case VALIDATE_TIMESTAMP: what = "timestamp"; break;
    case VALIDATE_TIMESTAMPTZ: what = "timestamp with time zone"; break;
    default: what = "time"; break;
    }
    s_dt_t dt;
    if (!s_scan_datetime ((ucp_t) value, (ucp_t) value + len, col->kind != VALIDATE_TIME, &dt)) {
        /*  Not a form we know: the server decides, but not on bytes it
            can never take, nor on an empty value. */
        if (s_skip_space ((ucp_t) value, (ucp_t) value + len) == (ucp_t) value + len)
            return s_fail_invalid (col, value, len, what, reason, reasonlen);
        size_t nchars;
        return s_check_text (col, value, len, &nchars, reason, reasonlen);
    }
    if ((dt.has_date && !s_date_ok (&dt)) || (dt.has_time && !s_time_ok (&dt)))
        return s_fail_invalid (col, value, len, what, reason, reasonlen);
    if (dt.has_date && !s_date_in_range (&dt, col->kind != VALIDATE_DATE))
        return s_fail_range (col, value, len, what, reason, reasonlen);
    return 0;
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
        if (end - p < 2 || !s_isxdigit (p[0]) || !s_isxdigit (p[1]))
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

/* ---- json --------------------------------------------------------- */

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
    return s_isdigit (c) || (unsigned) ((c | 0x20) - 'a') < 26u || c == '_' || c >= 0x80;
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
        if (s_isdigit (c))
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
    s_num_t n;
    if (*p == '-')
        p++;
    if (p >= end || !s_isdigit (*p))
        goto bad;
    ucp_t d0 = p;
    if (*p == '0')
        p++;
    else
        while (p < end && s_isdigit (*p))
            p++;
    if (p < end && *p == '.') {
        if (p + 1 >= end || !s_isdigit (p[1]))
            goto bad;
        p++;
        while (p < end && s_isdigit (*p))
            p++;
    }
    ucp_t mant_end = p;
    int64_t exp = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p = s_scan_exp_digits (p + 1, end, &exp);
        if (!p)
            goto bad;
    }
    if (p < end && s_json_alnum (*p))
        goto bad;
    /*  Only an exponent or some 16 thousand digits can leave numeric's
        range. */
    if (jsonb && (exp != 0 || mant_end - d0 > S_NUMERIC_DSCALE_MAX)) {
        if (!s_scan_digits (d0, mant_end, &n))
            goto bad;
        n.exp = exp;
        if (!s_numeric_format_ok (&n)) {
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
        if (*p == '-' || s_isdigit (*p)) {
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

static int
s_check_json (const validate_column_t *col, const char *value, size_t len,
              char *reason, size_t reasonlen)
{
    size_t nchars;
    if (s_check_text (col, value, len, &nchars, reason, reasonlen))
        return -1;
    s_json_err_t err = { NULL, 0 };
    bool jsonb = col->kind == VALIDATE_JSONB;
    if (s_json_validate ((ucp_t) value, (ucp_t) value + len, jsonb, &err) != 0)
        return 0;
    char shown[200];
    s_show (value, len, shown, sizeof shown);
    return s_fail (col, reason, reasonlen, "\"%s\" is not valid %s: %s at byte %zu",
                   shown, jsonb ? "jsonb" : "json", err.why, err.at);
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
            return s_fail (col, reason, reasonlen, "NULL in a NOT NULL column");
        return 0;
    }
    ucp_t p = (ucp_t) value, end = p + len;
    size_t nchars;
    int rc;
    switch (col->kind) {
    case VALIDATE_ANY:
        return 0;
    case VALIDATE_TEXT:
        return s_check_text (col, value, len, &nchars, reason, reasonlen);
    case VALIDATE_VARCHAR:
    case VALIDATE_BPCHAR:
        return s_check_length (col, value, len, reason, reasonlen);
    case VALIDATE_INT2:
    case VALIDATE_INT4:
    case VALIDATE_INT8: {
        const char *what = col->kind == VALIDATE_INT2 ? "smallint"
                         : col->kind == VALIDATE_INT4 ? "integer" : "bigint";
        uint64_t max = col->kind == VALIDATE_INT2 ? INT16_MAX
                     : col->kind == VALIDATE_INT4 ? INT32_MAX : INT64_MAX;
        rc = s_scan_int (p, end, max);
        if (rc == S_OK)
            return 0;
        if (rc == S_RANGE)
            return s_fail_range (col, value, len, what, reason, reasonlen);
        return s_fail_invalid (col, value, len, what, reason, reasonlen);
    }
    case VALIDATE_NUMERIC:
        return s_check_numeric (col, value, len, reason, reasonlen);
    case VALIDATE_FLOAT4:
    case VALIDATE_FLOAT8:
        return s_check_float (col, value, len, reason, reasonlen);
    case VALIDATE_BOOL:
        return s_bool_ok (p, end) ? 0 : s_fail_invalid (col, value, len, "boolean", reason, reasonlen);
    case VALIDATE_DATE:
    case VALIDATE_TIMESTAMP:
    case VALIDATE_TIMESTAMPTZ:
    case VALIDATE_TIME:
        return s_check_datetime (col, value, len, reason, reasonlen);
    case VALIDATE_UUID:
        return s_uuid_ok (p, end) ? 0 : s_fail_invalid (col, value, len, "uuid", reason, reasonlen);
    case VALIDATE_JSON:
    case VALIDATE_JSONB:
        return s_check_json (col, value, len, reason, reasonlen);
    }
    return 0;
}
