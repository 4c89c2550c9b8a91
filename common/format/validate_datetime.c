/*  common/format/validate_datetime.c: the date and time kinds of the value
    validator (validate_int.h): date, time, timestamp and timestamptz,
    checked in the ISO forms only, as DecodeDateTime and DecodeTimeOnly
    read them (an ISO date is year-month-day whatever the DateStyle).
    Any other form passes and the server decides. Behaviours that were
    not obvious from the sources were checked against a real PostgreSQL 15
    server; tests/unit/test_validate.c lists them. */
#include "validate_int.h"

#include <string.h>

/*  Reads 1..maxd digits; returns the end or NULL. */
static ucp_t
s_scan_uint (ucp_t p, ucp_t end, int mind, int maxd, int *out)
{
    int v = 0, n = 0;
    while (p < end && validate_isdigit (*p) && n < maxd) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n < mind || (p < end && validate_isdigit (*p)))
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
            for (int i = 0; p < end && validate_isdigit (*p); p++, i++)
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
        if (p >= end || !validate_isdigit (*p))
            return NULL;
        while (p < end && validate_isdigit (*p))
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
    p = validate_skip_space (p, end);
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
            q = validate_skip_space (q, end);
        if (q > p && q < end && validate_isdigit (*q)) {
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
        ucp_t q = s_scan_zone (validate_skip_space (p, end), end);
        if (q)
            p = q;
    }
    if (want_date) {
        ucp_t q = validate_skip_space (p, end);
        if (validate_eat_word (&q, end, "bc")) {
            dt->bc = true;
            p = q;
        }
        else if (validate_eat_word (&q, end, "ad"))
            p = q;
    }
    p = validate_skip_space (p, end);
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

int
validate_check_datetime (const validate_column_t *col, const char *value, size_t len,
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
        if (validate_skip_space ((ucp_t) value, (ucp_t) value + len) == (ucp_t) value + len)
            return validate_fail_invalid (col, value, len, what, reason, reasonlen);
        size_t nchars;
        return validate_check_text (col, value, len, &nchars, reason, reasonlen);
    }
    if ((dt.has_date && !s_date_ok (&dt)) || (dt.has_time && !s_time_ok (&dt)))
        return validate_fail_invalid (col, value, len, what, reason, reasonlen);
    if (dt.has_date && !s_date_in_range (&dt, col->kind != VALIDATE_DATE))
        return validate_fail_range (col, value, len, what, reason, reasonlen);
    return 0;
}
