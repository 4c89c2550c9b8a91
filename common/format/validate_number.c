/*  common/format/validate_number.c: the number kinds of the value validator
    (validate_int.h): smallint, integer, bigint (pg_strtoint*), numeric
    with its typmod (numeric_in, apply_typmod), real and double precision
    (float4in, float8in), and the decimal scanner jsonb numbers share.
    Behaviours that were not obvious from the sources were checked against
    a real PostgreSQL 15 server; tests/unit/test_validate.c lists them. */
#include "validate_int.h"

#include <string.h>

/*  An optional '+' or '-' at *pp, skipped; true for '-'. */
static inline bool
s_eat_sign (ucp_t *pp, ucp_t end)
{
    if (*pp >= end || (**pp != '+' && **pp != '-'))
        return false;
    return *(*pp)++ == '-';
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
    p = validate_skip_space (p, end);
    bool neg = s_eat_sign (&p, end);
    if (p >= end || !validate_isdigit (*p))
        return S_SYNTAX;
    while (p < end && *p == '0')
        p++;
    ucp_t d0 = p;
    uint64_t acc = 0;
    while (p < end && validate_isdigit (*p) && p - d0 < 19)
        acc = acc * 10 + (uint64_t) (*p++ - '0');
    if ((p < end && validate_isdigit (*p)) || acc > max_pos + neg)
        return S_RANGE;
    p = validate_skip_space (p, end);
    return p == end ? S_OK : S_SYNTAX;
}

int
validate_check_int (const validate_column_t *col, const char *value, size_t len,
                    char *reason, size_t reasonlen)
{
    const char *what = col->kind == VALIDATE_INT2 ? "smallint"
                     : col->kind == VALIDATE_INT4 ? "integer" : "bigint";
    uint64_t max = col->kind == VALIDATE_INT2 ? INT16_MAX
                 : col->kind == VALIDATE_INT4 ? INT32_MAX : INT64_MAX;
    int rc = s_scan_int ((ucp_t) value, (ucp_t) value + len, max);
    if (rc == S_OK)
        return 0;
    if (rc == S_RANGE)
        return validate_fail_range (col, value, len, what, reason, reasonlen);
    return validate_fail_invalid (col, value, len, what, reason, reasonlen);
}

/* ---- decimal numbers (numeric, float, jsonb numbers) --------------- */

/*  Where an explicit exponent saturates: beyond every limit below. */
#define S_EXP_SAT 4000000000LL

/*  PostgreSQL numeric limits (numeric.c, set_var_from_str and
    make_result): |exponent| < INT_MAX / 2, display scale <=
    VALIDATE_NUMERIC_DSCALE_MAX, and at most 131072 digits before the
    point. */
#define S_NUMERIC_EXP_MAX    1073741823LL
#define S_NUMERIC_DIGITS_MAX 131072

static inline int64_t
s_num_e (const validate_num_t *n)
{
    if (n->sig1 > n->sig0)
        return (int64_t) (n->sig1 - n->sig0) + n->exp;
    return n->exp - (int64_t) n->frac_lead0;
}

static inline size_t
s_num_ndigits (const validate_num_t *n)
{
    size_t ns = (size_t) (n->sig1 - n->sig0);
    size_t nf = (size_t) (n->frac1 - n->frac0);
    return ns ? ns + nf : nf - n->frac_lead0;
}

/*  The i-th (0-based) significant digit, as a character. */
static inline unsigned char
s_num_digit (const validate_num_t *n, size_t i)
{
    size_t ns = (size_t) (n->sig1 - n->sig0);
    if (ns)
        return i < ns ? n->sig0[i] : n->frac0[i - ns];
    return n->frac0[n->frac_lead0 + i];
}

/*  Compares the significant digits of n with the digit string t (the
    significant digits of a threshold with the same E). Returns <0, 0, >0. */
static int
s_num_cmp (const validate_num_t *n, const char *t)
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

ucp_t
validate_scan_digits (ucp_t p, ucp_t end, validate_num_t *n)
{
    ucp_t start = p;
    while (p < end && *p == '0')
        p++;
    n->sig0 = p;
    while (p < end && validate_isdigit (*p))
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
        while (p < end && validate_isdigit (*p))
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

ucp_t
validate_scan_exp_digits (ucp_t p, ucp_t end, int64_t *exp)
{
    bool neg = s_eat_sign (&p, end);
    if (p >= end || !validate_isdigit (*p))
        return NULL;
    int64_t e = 0;
    for (; p < end && validate_isdigit (*p); p++)
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
s_numeric_fits (const validate_num_t *n, int32_t precision, int32_t scale)
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

bool
validate_numeric_format_ok (const validate_num_t *n)
{
    if (n->exp >= S_NUMERIC_EXP_MAX || n->exp <= -S_NUMERIC_EXP_MAX)
        return false;
    int64_t dscale = (int64_t) (n->frac1 - n->frac0) - n->exp;
    if (dscale > VALIDATE_NUMERIC_DSCALE_MAX)
        return false;
    return n->zero || s_num_e (n) <= S_NUMERIC_DIGITS_MAX;
}

/*  column "c": value "<value>" overflows numeric(p,s). */
static int
s_fail_overflow (const validate_column_t *col, const char *value, size_t len,
                 char *reason, size_t reasonlen)
{
    char shown[200];
    validate_show (value, len, shown, sizeof shown);
    return validate_fail (col, reason, reasonlen, "value \"%s\" overflows numeric(%d,%d)",
                          shown, (int) col->precision, (int) col->scale);
}

int
validate_check_numeric (const validate_column_t *col, const char *value, size_t len,
                        char *reason, size_t reasonlen)
{
    ucp_t p = (ucp_t) value, end = p + len;
    p = validate_skip_space (p, end);
    bool special = false, inf = false;
    /*  numeric_in's order: NaN, Infinity, +Infinity, -Infinity, inf,
        +inf, -inf; no sign before NaN. Digits skip all that. */
    if (p < end && (validate_isdigit (*p) || *p == '.'))
        ;
    else if (validate_eat_word (&p, end, "nan"))
        special = true;
    else if (p < end && (*p == '+' || *p == '-' || validate_lower (*p) == 'i')) {
        ucp_t q = (*p == '+' || *p == '-') ? p + 1 : p;
        if (validate_eat_word (&q, end, "infinity") || validate_eat_word (&q, end, "inf")) {
            p = q;
            special = inf = true;
        }
    }
    validate_num_t n;
    if (!special) {
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        p = validate_scan_digits (p, end, &n);
        if (!p)
            return validate_fail_invalid (col, value, len, "numeric", reason, reasonlen);
        if (p < end && (*p == 'e' || *p == 'E')) {
            /*  The exponent is read with strtol: leading spaces pass. */
            p = validate_scan_exp_digits (validate_skip_space (p + 1, end), end, &n.exp);
            if (!p)
                return validate_fail_invalid (col, value, len, "numeric", reason, reasonlen);
        }
    }
    p = validate_skip_space (p, end);
    if (p != end)
        return validate_fail_invalid (col, value, len, "numeric", reason, reasonlen);
    if (special) {
        if (inf && col->precision >= 0)
            return s_fail_overflow (col, value, len, reason, reasonlen);
        return 0;
    }
    if (!validate_numeric_format_ok (&n))
        return validate_fail_range (col, value, len, "numeric", reason, reasonlen);
    if (col->precision >= 0 && !s_numeric_fits (&n, col->precision, col->scale))
        return s_fail_overflow (col, value, len, reason, reasonlen);
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
int
validate_check_float (const validate_column_t *col, const char *value, size_t len,
                      char *reason, size_t reasonlen)
{
    bool f4 = col->kind == VALIDATE_FLOAT4;
    const char *what = f4 ? "real" : "double precision";
    ucp_t p = (ucp_t) value, end = p + len;
    p = validate_skip_space (p, end);
    if (p < end && (*p == '+' || *p == '-'))
        p++;
    if (p < end && !validate_isdigit (*p) && *p != '.') {
        if (validate_eat_word (&p, end, "infinity") || validate_eat_word (&p, end, "inf"))
            ;
        else if (validate_eat_word (&p, end, "nan")) {
            if (p < end && *p == '(')
                return 0;
        }
        else
            return validate_fail_invalid (col, value, len, what, reason, reasonlen);
        p = validate_skip_space (p, end);
        if (p != end)
            return validate_fail_invalid (col, value, len, what, reason, reasonlen);
        return 0;
    }
    if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return 0;
    validate_num_t n;
    p = validate_scan_digits (p, end, &n);
    if (!p)
        return validate_fail_invalid (col, value, len, what, reason, reasonlen);
    if (p < end && (*p == 'e' || *p == 'E')) {
        p = validate_scan_exp_digits (p + 1, end, &n.exp);
        if (!p)
            return validate_fail_invalid (col, value, len, what, reason, reasonlen);
    }
    p = validate_skip_space (p, end);
    if (p != end)
        return validate_fail_invalid (col, value, len, what, reason, reasonlen);
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
    return bad ? validate_fail_range (col, value, len, what, reason, reasonlen) : 0;
}
