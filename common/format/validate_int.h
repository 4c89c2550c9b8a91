/*  common/format/validate_int.h: what the files of the value validator share.
    Not for any other module: everyone else includes validate.h.

      validate.c           the interface (validate_column_init,
                           validate_value), the reasons, UTF-8 and the
                           text kinds (text, varchar, char), bool, uuid;
      validate_number.c    integers, numeric, real and double precision,
                           and the decimal scanner jsonb numbers use too;
      validate_datetime.c  date, time, timestamp, timestamptz (ISO forms);
      validate_json.c      json and jsonb.

    Every check follows the rule of validate.h: reject only what the
    server would surely reject. Everything is allocation-free and reads
    only value[0, len): values from a CSV buffer are not NUL-terminated.
    A check returns 0, or -1 with a reason (validate_fail) naming the
    column; reason may be NULL. */
#ifndef FERRY_VALIDATE_INT_H
#define FERRY_VALIDATE_INT_H

#include "validate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef const unsigned char *ucp_t;

/* ---- character classes (the C locale, as PostgreSQL's input functions) */

static inline bool
validate_isspace (unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline bool
validate_isdigit (unsigned char c)
{
    return (unsigned) (c - '0') < 10u;
}

static inline bool
validate_isxdigit (unsigned char c)
{
    return validate_isdigit (c) || (unsigned) ((c | 0x20) - 'a') < 6u;
}

static inline unsigned char
validate_lower (unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}

/*  True when [p, end) starts with the lower-case ASCII word w, ignoring
    case; advances *pp past it. */
static inline bool
validate_eat_word (ucp_t *pp, ucp_t end, const char *w)
{
    ucp_t p = *pp;
    for (; *w; w++, p++)
        if (p >= end || validate_lower (*p) != (unsigned char) *w)
            return false;
    *pp = p;
    return true;
}

static inline ucp_t
validate_skip_space (ucp_t p, ucp_t end)
{
    while (p < end && validate_isspace (*p))
        p++;
    return p;
}

/* ---- reasons (validate.c) ----------------------------------------- */

/*  Writes a printable, bounded rendering of the value into out: at most
    about 40 bytes of it, control characters and bytes that are not UTF-8
    as \xNN, "..." when cut. Reasons are one line and may be logged. */
void validate_show (const char *value, size_t len, char *out, size_t outsize);

/*  Formats "column "<name>": <message>" into reason. Returns -1 so that
    callers can `return validate_fail (...)`. reason may be NULL. */
int validate_fail (const validate_column_t *col, char *reason, size_t reasonlen,
                   const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

/*  The common reasons: column "c": "<value>" is not a valid <what>, and
    column "c": value "<value>" out of range for <what>. Return -1. */
int validate_fail_invalid (const validate_column_t *col, const char *value, size_t len,
                           const char *what, char *reason, size_t reasonlen);
int validate_fail_range (const validate_column_t *col, const char *value, size_t len,
                         const char *what, char *reason, size_t reasonlen);

/* ---- the kinds ---------------------------------------------------- */

/*  Text input as the server reads it: valid UTF-8, no NUL byte; *nchars
    the number of characters (validate.c). */
int validate_check_text (const validate_column_t *col, const char *value, size_t len,
                         size_t *nchars, char *reason, size_t reasonlen);

/*  smallint, integer, bigint (validate_number.c). */
int validate_check_int (const validate_column_t *col, const char *value, size_t len,
                        char *reason, size_t reasonlen);

/*  numeric, with its typmod (validate_number.c). */
int validate_check_numeric (const validate_column_t *col, const char *value, size_t len,
                            char *reason, size_t reasonlen);

/*  real and double precision (validate_number.c). */
int validate_check_float (const validate_column_t *col, const char *value, size_t len,
                          char *reason, size_t reasonlen);

/*  date, time, timestamp, timestamptz (validate_datetime.c). */
int validate_check_datetime (const validate_column_t *col, const char *value, size_t len,
                             char *reason, size_t reasonlen);

/*  json and jsonb (validate_json.c). */
int validate_check_json (const validate_column_t *col, const char *value, size_t len,
                         char *reason, size_t reasonlen);

/* ---- decimal numbers (validate_number.c), for jsonb numbers too ----- */

/*  A scanned decimal number: the digits from the first significant one
    on, split around the point, and the explicit exponent (saturated).
    Value = 0.d1 d2 d3 ... * 10^E with d1 != 0. */
typedef struct {
    ucp_t sig0, sig1;          /* significant digits before the point (from the first nonzero) */
    ucp_t frac0, frac1;        /* digits after the point, all of them */
    size_t frac_lead0;         /* leading zeros of the fraction (used when sig is empty) */
    int64_t exp;               /* explicit exponent, saturated */
    bool zero;                 /* every digit is 0 */
} validate_num_t;

/*  numeric's limit on the display scale (numeric.c, make_result). */
#define VALIDATE_NUMERIC_DSCALE_MAX 16383

/*  Digits with an optional point, at least one digit: "12", "1.5",
    ".5", "5.". Fills n (exp = 0); returns the end or NULL. */
ucp_t validate_scan_digits (ucp_t p, ucp_t end, validate_num_t *n);

/*  Optional sign and digits of an exponent, saturating. Returns the end,
    or NULL when no digit follows. */
ucp_t validate_scan_exp_digits (ucp_t p, ucp_t end, int64_t *exp);

/*  The limits every numeric (and every jsonb number) obeys whatever its
    typmod. True when n is within them. */
bool validate_numeric_format_ok (const validate_num_t *n);

#endif
