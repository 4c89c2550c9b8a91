/*  tests/unit/test_validate.c: the value validator, kind by kind: what
    passes, what is refused and why, the boundaries, and that no check
    reads past value[len] (every value is copied into a heap block of
    exactly its length, so ASan catches an over-read).

    Checked against a real PostgreSQL 15.18 server (scratch cluster,
    values inserted as untyped literals into a column of the type, which
    runs the input function with the column's typmod as COPY does), and
    relied on below:
      - int2/int4/int8: spaces (also \t \n \v \f \r) around and a sign are
        fine; "1_000", "0x10", "1.0", "1e2", "- 1", "+-1", "" and " " are
        refused; exact limits; "000...0001" (25 digits) is 1.
      - numeric: ".5", "5.", "-.5e3", "1e 5" (strtol skips the space),
        "NaN" in any case, "Infinity"/"inf" with a sign all pass; "-nan",
        "+NaN", ".", "1e", "1e+", "infinit", "1,5" are refused. Limits:
        9e131071 ok, 1e131072 "value overflows numeric format";
        1e-16383 ok, 1e-16384 and 0.5e-16383 refused (display scale
        > 16383), also for numeric(5,2); 0e1073741822 ok, 0e1073741823
        refused. numeric(5,2): 999.99, -999.99, 999.994999, 9.995 ->
        10.00, 0.001 -> 0.00 ok; 999.995, -999.995, 1e3 and Infinity
        "numeric field overflow"; NaN ok. numeric(3,5): 0.00999 ok,
        0.0123 and 0.009995 refused. numeric(2,-3) (typmod 133121):
        99499 ok, 99500 refused.
      - float8: 1.7976931348623158e308 ok, ...159e308 and 1e309 "out of
        range"; 1e-310 and 4.9e-324 ok (denormals), 2.4e-324 and 1e-400
        out of range, 0e-999 ok; inf, -INF, +inf, -nan, nan(123), 0x1p3
        ok; "1e 5", "+.e1", "infinit" refused. float4: 3.40282356e38 ok,
        3.4028236e38 out of range, 7.1e-46 ok, 7e-46 out of range.
      - bool: t tr tru true TRUE ye y n no nO on of off, 1, 0, spaces
        around; "o", "truex", "offf", "01", "10", "" and "yes!" refused.
      - date: 2000-02-29 and 2024-02-29 ok; 1900-02-29, 2023-02-29,
        2023-02-30, 2023-04-31, 2023-13-01, 2023-00-10, 2023-01-00 and
        0000-01-01 refused; 0001-02-29 BC and 0005-02-29 BC ok but
        0004-02-29 BC refused (1 BC is the leap year 0); 2023-1-5 ok;
        "2023-02-28BC" ok; 4714-11-24 BC ok, 4714-11-23 BC and
        5874898-01-01 out of range; a trailing time is allowed and an
        impossible date with one is still refused; YYYY-MM-DD reads the
        same under DateStyle ISO/SQL/German/Postgres with DMY or MDY.
      - timestamp(tz): 'T' or 't' or spaces between date and time, 1-digit
        fields, Z/z, +2, +02, +0230, +02:30, +02:30:15, BC/AD after the
        zone; 24:00:00 ok, 24:00:01 refused; 23:59:60 ok (next minute),
        12:34:60.5 ok but 23:59:60.5 and 23:59:60.000001 refused (past
        24:00:00); 12:60 and 25:00 refused; "2023-01-05 12" refused.
      - time: 24:00 ok, 24:00:00.5, 24:01 and 12:59:61 refused,
        12:59:60.5 ok, 23:59:60.5 refused.
      - uuid: with or without hyphens after any group of four digits,
        upper case, braces; leading/trailing space, 31 or 33 digits,
        a non-hex digit, "--", a misplaced or trailing hyphen, one brace
        refused.
      - json: lone surrogates and \u0000 accepted; jsonb refuses
        \u0000 ("unsupported Unicode escape sequence", also in a key) and
        unpaired surrogates; \v and \f are not JSON whitespace; "01",
        "1.", ".5", "+1", "-", "1a", "True", "NULL", trailing commas
        refused; jsonb refuses 1e1000000 (numeric overflow), json does
        not. Nesting: 10000 levels accepted, 50000 refused at the default
        max_stack_depth (2MB) -- a server setting, so deep input passes.
      - varchar(3): 'abc   ' ok (spaces clipped), 'abcd', 'ab\t' (for
        varchar(2)) and '日本語x' refused, 'äöü ' ok; char(3): 'abcd  '
        refused, '日本語  ' ok; name silently truncates at 63 bytes.
      - COPY refuses \000 and invalid UTF-8 (surrogate ED A0 80, overlong
        C0 AF, F4 90 80 80) but takes U+FFFF and U+10FFFF.
    Besides these, a throwaway differential run fed about half a million
    generated values (boundaries, random digit strings, mutated UUIDs and
    JSON documents, calendar and clock fields around their limits) to
    both the validator and the server: no value the server accepts was
    refused, and for every kind but the date/time ones the two agreed
    exactly; the date/time differences are all forms passed on unchecked
    (zone names, malformed zones, a day either side of the timestamp
    range). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

/* ---- helpers ------------------------------------------------------ */

static validate_column_t
s_col (uint32_t oid, int32_t typmod)
{
    validate_column_t col;
    validate_column_init (&col, oid, typmod, false, "c");
    return col;
}

static int32_t
s_numeric_typmod (int precision, int scale)
{
    return ((precision << 16) | (scale & 0x7ff)) + 4;
}

/*  Runs one value from an exact-size heap copy; fails the test with the
    value and the reason when the outcome is not `want`. */
static void
s_expect (const validate_column_t *col, const char *v, size_t len, int want,
          char *reason_out, const char *file, int line)
{
    char *buf = malloc (len ? len : 1);
    assert_non_null (buf);
    memcpy (buf, v, len);
    char reason[256] = "";
    int rc = validate_value (col, buf, len, reason, sizeof reason);
    free (buf);
    if (reason_out)
        strcpy (reason_out, reason);
    if (rc != want) {
        print_error ("%s:%d: kind %d value \"%.*s\" (%zu bytes): got %d, want %d (%s)\n",
                     file, line, (int) col->kind, (int) len, v, len, rc, want, reason);
        _fail (file, line);
    }
    if (rc == 0 && reason[0]) {
        print_error ("%s:%d: accepted with a reason: %s\n", file, line, reason);
        _fail (file, line);
    }
    if (rc != 0 && strncmp (reason, "column \"", 8) != 0) {
        print_error ("%s:%d: reason does not name the column: %s\n", file, line, reason);
        _fail (file, line);
    }
}

#define OK(col, s)      s_expect (&(col), (s), strlen (s), 0, NULL, __FILE__, __LINE__)
#define BAD(col, s)     s_expect (&(col), (s), strlen (s), -1, NULL, __FILE__, __LINE__)
#define OKN(col, s, n)  s_expect (&(col), (s), (n), 0, NULL, __FILE__, __LINE__)
#define BADN(col, s, n) s_expect (&(col), (s), (n), -1, NULL, __FILE__, __LINE__)

/*  Every value of good is accepted and every value of bad refused, by
    each of the ncols columns at cols. */
static void
s_expect_lists (const validate_column_t *cols, size_t ncols,
                const char *const *good, size_t ngood, const char *const *bad, size_t nbad,
                const char *file, int line)
{
    for (size_t c = 0; c < ncols; c++) {
        for (size_t i = 0; i < ngood; i++)
            s_expect (&cols[c], good[i], strlen (good[i]), 0, NULL, file, line);
        for (size_t i = 0; i < nbad; i++)
            s_expect (&cols[c], bad[i], strlen (bad[i]), -1, NULL, file, line);
    }
}

#define LISTS(cols, ncols, good, bad) \
    s_expect_lists ((cols), (ncols), (good), sizeof (good) / sizeof (good)[0], \
                    (bad), sizeof (bad) / sizeof (bad)[0], __FILE__, __LINE__)

/*  Expects a refusal with exactly this reason. */
#define REASON(col, s, want) do {                                               \
        char r_[256];                                                           \
        s_expect (&(col), (s), strlen (s), -1, r_, __FILE__, __LINE__);         \
        assert_string_equal (r_, (want));                                       \
    } while (0)

/* ---- column set-up ------------------------------------------------ */

static void
test_column_init (void **state)
{
    validate_column_t col;
    validate_column_init (&col, 1043, 24, true, "code");
    assert_int_equal (col.kind, VALIDATE_VARCHAR);
    assert_int_equal (col.max_chars, 20);
    assert_true (col.not_null);
    assert_string_equal (col.name, "code");

    validate_column_init (&col, 1043, -1, false, "v");
    assert_int_equal (col.max_chars, -1);
    validate_column_init (&col, 1042, 5, false, "c");        /* char = char(1) */
    assert_int_equal (col.kind, VALIDATE_BPCHAR);
    assert_int_equal (col.max_chars, 1);
    validate_column_init (&col, 1042, -1, false, "c");       /* bare bpchar */
    assert_int_equal (col.max_chars, -1);

    validate_column_init (&col, 1700, ((14 << 16) | 2) + 4, false, "amount");
    assert_int_equal (col.kind, VALIDATE_NUMERIC);
    assert_int_equal (col.precision, 14);
    assert_int_equal (col.scale, 2);
    validate_column_init (&col, 1700, -1, false, "n");
    assert_int_equal (col.precision, -1);
    /*  PostgreSQL 15 allows a negative scale and a scale above the
        precision; pg_attribute holds these typmods (checked). */
    validate_column_init (&col, 1700, 133121, false, "n");   /* numeric(2,-3) */
    assert_int_equal (col.precision, 2);
    assert_int_equal (col.scale, -3);
    validate_column_init (&col, 1700, 196617, false, "n");   /* numeric(3,5) */
    assert_int_equal (col.precision, 3);
    assert_int_equal (col.scale, 5);
    validate_column_init (&col, 1700, 65537004, false, "n"); /* numeric(1000,1000) */
    assert_int_equal (col.precision, 1000);
    assert_int_equal (col.scale, 1000);

    static const struct { uint32_t oid; validate_kind_t kind; } map[] = {
        { 25, VALIDATE_TEXT }, { 19, VALIDATE_TEXT }, { 21, VALIDATE_INT2 },
        { 23, VALIDATE_INT4 }, { 20, VALIDATE_INT8 }, { 700, VALIDATE_FLOAT4 },
        { 701, VALIDATE_FLOAT8 }, { 16, VALIDATE_BOOL }, { 1082, VALIDATE_DATE },
        { 1114, VALIDATE_TIMESTAMP }, { 1184, VALIDATE_TIMESTAMPTZ },
        { 1083, VALIDATE_TIME }, { 2950, VALIDATE_UUID }, { 114, VALIDATE_JSON },
        { 3802, VALIDATE_JSONB }, { 17, VALIDATE_ANY } /* bytea */,
        { 1266, VALIDATE_ANY } /* timetz */, { 0, VALIDATE_ANY }
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        validate_column_init (&col, map[i].oid, -1, false, "x");
        assert_int_equal (col.kind, map[i].kind);
    }

    /*  A long name is cut to fit, NUL-terminated. */
    char longname[200];
    memset (longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    validate_column_init (&col, 23, -1, false, longname);
    assert_int_equal (strlen (col.name), sizeof col.name - 1);
}

static void
test_null (void **state)
{
    validate_column_t col;
    char reason[128];
    validate_column_init (&col, 23, -1, true, "id");
    assert_int_equal (validate_value (&col, NULL, 0, reason, sizeof reason), -1);
    assert_string_equal (reason, "column \"id\": NULL in a NOT NULL column");

    validate_column_init (&col, 23, -1, false, "id");
    assert_int_equal (validate_value (&col, NULL, 0, reason, sizeof reason), 0);

    /*  Unknown types are not checked, but NOT NULL still holds. */
    validate_column_init (&col, 17, -1, true, "blob");
    assert_int_equal (validate_value (&col, NULL, 0, reason, sizeof reason), -1);
    assert_int_equal (validate_value (&col, "\xff\x00", 2, reason, sizeof reason), 0);

    /*  An empty string is not NULL. */
    validate_column_init (&col, 25, -1, true, "t");
    assert_int_equal (validate_value (&col, "", 0, reason, sizeof reason), 0);
}

/* ---- integers ----------------------------------------------------- */

static void
test_int (void **state)
{
    validate_column_t i2 = s_col (21, -1), i4 = s_col (23, -1), i8 = s_col (20, -1);

    OK (i2, "-32768");  OK (i2, "32767");  BAD (i2, "-32769");  BAD (i2, "32768");
    OK (i4, "-2147483648");  OK (i4, "2147483647");
    BAD (i4, "-2147483649");  BAD (i4, "2147483648");
    OK (i8, "-9223372036854775808");  OK (i8, "9223372036854775807");
    BAD (i8, "-9223372036854775809");  BAD (i8, "9223372036854775808");
    BAD (i8, "18446744073709551616");        /* 2^64: no wrap-around */
    BAD (i8, "99999999999999999999999999");

    OK (i4, "0");  OK (i4, "-0");  OK (i4, "+12");  OK (i4, " 12 ");
    OK (i4, "\t12\n");  OK (i4, "\v12\f");  OK (i4, "\r12");
    OK (i8, "0000000000000000000000001");    /* leading zeros don't count */
    OK (i2, "-00000000000000000000032768");

    BAD (i4, "");  BAD (i4, " ");  BAD (i4, "+");  BAD (i4, "-");
    BAD (i4, "+-1");  BAD (i4, "- 1");  BAD (i4, "12 3");  BAD (i4, "1_000");
    BAD (i4, "0x10");  BAD (i4, "1.0");  BAD (i4, "1e2");  BAD (i4, "12a");
    BADN (i4, "12\0", 3);

    validate_column_t qty;
    validate_column_init (&qty, 23, -1, false, "qty");
    REASON (qty, "99999999999", "column \"qty\": value \"99999999999\" out of range for integer");
    REASON (qty, "12x", "column \"qty\": \"12x\" is not a valid integer");
    REASON (i2, "40000", "column \"c\": value \"40000\" out of range for smallint");
    REASON (i8, "-9223372036854775809",
            "column \"c\": value \"-9223372036854775809\" out of range for bigint");
    /*  As on the server, overflow is reported before trailing junk. */
    REASON (i2, "99999x", "column \"c\": value \"99999x\" out of range for smallint");
}

/* ---- numeric ------------------------------------------------------ */

static void
test_numeric (void **state)
{
    validate_column_t n = s_col (1700, -1);
    OK (n, "0");  OK (n, " 1.5 ");  OK (n, ".5");  OK (n, "5.");  OK (n, "-.5e3");
    OK (n, "+5");  OK (n, "1E-5");  OK (n, "1e 5");  OK (n, "1e+5");
    OK (n, "NaN");  OK (n, "nan");  OK (n, " nAn ");
    OK (n, "Infinity");  OK (n, "-infinity");  OK (n, "+Infinity");
    OK (n, "inf");  OK (n, "-inf");  OK (n, " Inf ");
    BAD (n, "");  BAD (n, ".");  BAD (n, "1e");  BAD (n, "1e+");  BAD (n, "--5");
    BAD (n, "-nan");  BAD (n, "+NaN");  BAD (n, "NaNx");  BAD (n, "infinit");
    BAD (n, "infinityx");  BAD (n, "1,5");  BAD (n, "1_000");  BAD (n, "0x1F");
    BAD (n, "1e5.5");  BAD (n, "abc");

    /*  The storage format's limits. */
    OK (n, "9e131071");  BAD (n, "1e131072");
    OK (n, "1e-16383");  BAD (n, "1e-16384");  BAD (n, "0.5e-16383");  BAD (n, "0e-16384");
    OK (n, "0e1073741822");  BAD (n, "0e1073741823");
    BAD (n, "1e99999999999999999999");  BAD (n, "1e-99999999999");
    REASON (n, "1e200000", "column \"c\": value \"1e200000\" out of range for numeric");

    validate_column_t n52 = s_col (1700, s_numeric_typmod (5, 2));
    OK (n52, "999.99");  OK (n52, "-999.99");  OK (n52, "999.994999");
    OK (n52, "9.995");                       /* rounds to 10.00 */
    OK (n52, "0.001");  OK (n52, "-0.004");  OK (n52, "0000999.99");  OK (n52, "99999e-2");
    OK (n52, "0.0");  OK (n52, "NaN");  OK (n52, "00000000000000000000.0000000000001");
    BAD (n52, "999.995");  BAD (n52, "-999.995");  BAD (n52, "1000");  BAD (n52, "1e3");
    BAD (n52, "Infinity");  BAD (n52, "-inf");
    BAD (n52, "1.5e-16383");                 /* the format limit comes first */
    REASON (n52, "999.995", "column \"c\": value \"999.995\" overflows numeric(5,2)");

    validate_column_t n32 = s_col (1700, s_numeric_typmod (3, 2));
    OK (n32, "9.994");  BAD (n32, "9.995");  /* 9.995 -> 10.00 needs 2 integer digits */

    validate_column_t n35 = s_col (1700, s_numeric_typmod (3, 5));
    OK (n35, "0.00999");  OK (n35, "0.001");  BAD (n35, "0.0123");  BAD (n35, "0.009995");

    validate_column_t nneg = s_col (1700, s_numeric_typmod (2, -3));
    OK (nneg, "12345");  OK (nneg, "99499");  OK (nneg, "-99499");
    BAD (nneg, "99500");  BAD (nneg, "123456789");

    validate_column_t n10 = s_col (1700, s_numeric_typmod (1, 0));
    OK (n10, "9");  OK (n10, "9.4");  BAD (n10, "9.5");  OK (n10, "-0.5e0");  BAD (n10, "10");
}

/* ---- floats ------------------------------------------------------- */

static void
test_float (void **state)
{
    validate_column_t f8 = s_col (701, -1), f4 = s_col (700, -1);
    OK (f8, " 1.5 ");  OK (f8, ".5");  OK (f8, "5.");  OK (f8, "1e+5");  OK (f8, "-1.25E-3");
    OK (f8, "Infinity");  OK (f8, "-Infinity");  OK (f8, "inf");  OK (f8, "-INF");
    OK (f8, "+inf");  OK (f8, "NaN");  OK (f8, "nan");  OK (f8, "-nan");
    OK (f8, "nan(123)");  OK (f8, "0x1p3");
    BAD (f8, "");  BAD (f8, "  ");  BAD (f8, ".");  BAD (f8, "1e");  BAD (f8, "1e 5");
    BAD (f8, "1,5");  BAD (f8, "+.e1");  BAD (f8, "- 1");  BAD (f8, "infinit");
    BAD (f8, "infinityx");  BAD (f8, "abc");

    /*  Overflow: exactly at the halfway point to 2^1024 it rounds to
        infinity; the largest finite value and a hair below pass. */
    OK (f8, "1e308");  OK (f8, "1.7976931348623157e308");  OK (f8, "1.7976931348623158e308");
    BAD (f8, "1.7976931348623159e308");  BAD (f8, "1e309");  BAD (f8, "-1e309");
    BAD (f8, "1e99999999999999999999");
    /*  Underflow to zero is refused; denormals pass. */
    OK (f8, "1e-310");  OK (f8, "4.9e-324");  OK (f8, "2.5e-324");
    BAD (f8, "2.4e-324");  BAD (f8, "1e-400");
    OK (f8, "0e-999");  OK (f8, "0.0");
    REASON (f8, "1e309", "column \"c\": value \"1e309\" out of range for double precision");

    OK (f4, "3.4028235e38");  OK (f4, "3.40282356e38");
    BAD (f4, "3.4028236e38");  BAD (f4, "1e39");
    OK (f4, "1e-45");  OK (f4, "7.1e-46");  BAD (f4, "7e-46");  BAD (f4, "1e-50");
    OK (f4, "300");  BAD (f4, "1e300");
    REASON (f4, "x", "column \"c\": \"x\" is not a valid real");
}

/* ---- bool --------------------------------------------------------- */

static void
test_bool (void **state)
{
    validate_column_t b = s_col (16, -1);
    static const char *good[] = {
        "t", "T", "tr", "tru", "true", "TRUE", "f", "fa", "fals", "false",
        "y", "ye", "yes", " yes ", "n", "no", "nO", "on", "ON ", "of", "off",
        "1", "0", "\ttrue\n"
    };
    static const char *bad[] = {
        "", " ", "o", "truex", "offf", "onn", "01", "10", "yes!", "maybe", "2", "t rue"
    };
    LISTS (&b, 1, good, bad);
    REASON (b, "maybe", "column \"c\": \"maybe\" is not a valid boolean");
}

/* ---- dates and times ---------------------------------------------- */

static void
test_date (void **state)
{
    validate_column_t d = s_col (1082, -1);
    OK (d, "2023-01-05");  OK (d, " 2023-01-05 ");  OK (d, "2023-1-5");  OK (d, "2023-12-31");
    /*  Leap years. */
    OK (d, "2000-02-29");  OK (d, "2024-02-29");  OK (d, "2400-02-29");
    BAD (d, "1900-02-29");  BAD (d, "2023-02-29");  BAD (d, "2100-02-29");
    /*  Impossible dates. */
    BAD (d, "2023-02-30");  BAD (d, "2023-04-31");  BAD (d, "2023-13-01");
    BAD (d, "2023-00-10");  BAD (d, "2023-01-00");  BAD (d, "2023-01-32");
    BAD (d, "0000-01-01");  BAD (d, "0000-01-01 BC");
    /*  BC: 1 BC is year 0, a leap year, so are 5 BC, 9 BC... */
    OK (d, "0001-02-29 BC");  OK (d, "0005-02-29 BC");  BAD (d, "0004-02-29 BC");
    OK (d, "2023-02-28BC");  OK (d, "2023-02-28 AD");  OK (d, "2023-02-28 bc");
    BAD (d, "2023-02-30 BC");
    /*  Range. */
    OK (d, "4714-11-24 BC");  BAD (d, "4714-11-23 BC");
    OK (d, "10000-01-01");  OK (d, "5874897-12-31");  BAD (d, "5874898-01-01");
    /*  A time part is allowed and does not save an impossible date. */
    OK (d, "2023-02-28 12:00");  BAD (d, "2023-02-30 12:00");  BAD (d, "2023-02-30T12:00");
    /*  Forms the validator does not model pass: the server decides. */
    OK (d, "infinity");  OK (d, "-infinity");  OK (d, "epoch");  OK (d, "today");
    OK (d, "January 8, 1999");  OK (d, "1/8/1999");  OK (d, "20230105");
    OK (d, "2023/02/30");  OK (d, "99-02-29");  OK (d, "2023-02-28 junk");
    /*  ...but not empty values nor bytes that are not text. */
    BAD (d, "");  BAD (d, "   ");  BADN (d, "2023\0", 5);  BAD (d, "\xff");

    validate_column_t born;
    validate_column_init (&born, 1082, -1, false, "born");
    REASON (born, "2023-02-30", "column \"born\": \"2023-02-30\" is not a valid date");
    REASON (born, "5874898-01-01", "column \"born\": value \"5874898-01-01\" out of range for date");
}

static void
test_timestamp (void **state)
{
    validate_column_t ts = s_col (1114, -1), tz = s_col (1184, -1);
    static const char *good[] = {
        "2023-01-05 12:34:56", "2023-01-05T12:34:56.123456Z", "2023-01-05t12:34:56",
        "2023-01-05 12:34:56+02", "2023-01-05 12:34:56+02:30", "2023-01-05 12:34:56 +0230",
        "2023-01-05 12:34:56-08:00", "2023-01-05 12:34:56+02:00:30", "2023-01-05 12:34:56z",
        "2023-01-05 12:34:56 +2", "2023-01-05 12:34:56+2:3", "2023-01-05  12:34:56",
        "2023-01-05 12:34", "2023-01-05 1:2:3", "2023-01-05 12:34:56.",
        "2023-01-05 12:34:56.1234567", "2023-01-05", "2023-01-05 ", " 2023-01-05 12:34:56 ",
        "2023-01-05 24:00:00", "2023-01-05 24:00", "2023-01-05 24:00:00.0000001",
        "2023-01-05 23:59:60", "2023-12-31 23:59:60", "2023-01-05 12:34:60.5",
        "2023-01-05 12:34:56 BC", "2023-01-05 12:34:56Z BC", "2023-01-05 12:00:00AD",
        "2024-02-29 10:00", "2000-02-29T00:00:00Z",
        "4714-11-24 00:00:00 BC", "294276-12-31 23:59:59",
        /*  Not modelled, so passed on: */
        "2023-01-05 12:34:56 UTC", "2023-01-05 12:34:56 America/New_York", "now",
        "infinity", "-infinity", "epoch", "Jan 5 2023 12:00", "2023-02-30 12:00 UTC",
    };
    static const char *bad[] = {
        "2023-01-05 24:00:01", "2023-01-05 24:00:00.5", "2023-01-05 24:01",
        "2023-01-05 25:00:00", "2023-01-05 12:60:00", "2023-01-05 12:00:61",
        "2023-01-05 23:59:60.5", "2023-01-05 23:59:60.000001",
        "2023-02-29 10:00", "1900-02-29T10:00:00Z", "2023-13-01 00:00", "2023-02-30",
        "2023-04-31 12:00:00+02", "2023-02-30 12:00:00 BC", "0000-01-01 00:00",
        "4714-11-01 00:00 BC", "300000-01-01 00:00", "", " ",
    };
    const validate_column_t both[] = { ts, tz };
    LISTS (both, 2, good, bad);
    REASON (tz, "2023-01-05 25:00:00+00",
            "column \"c\": \"2023-01-05 25:00:00+00\" is not a valid timestamp with time zone");
    REASON (ts, "2023-02-29 10:00", "column \"c\": \"2023-02-29 10:00\" is not a valid timestamp");
}

static void
test_time (void **state)
{
    validate_column_t t = s_col (1083, -1);
    static const char *good[] = {
        "12:34", "12:34:56", "12:34:56.789", " 1:2 ", "24:00", "24:00:00", "00:00:00",
        "12:59:60", "12:59:60.5", "23:59:60", "12:34:56Z", "12:34:56+02", "12:34:56.",
        "23:59:59.9999999",
        /*  Not modelled: */
        "1234", "12:34 PM", "2023-01-05 12:34", "allballs", "12:34:56 Europe/Paris",
    };
    static const char *bad[] = {
        "24:00:00.5", "24:00:01", "24:01", "25:00", "12:60", "12:59:61", "23:59:60.5",
        "", "  ",
    };
    LISTS (&t, 1, good, bad);
    REASON (t, "25:00", "column \"c\": \"25:00\" is not a valid time");
}

/* ---- uuid --------------------------------------------------------- */

static void
test_uuid (void **state)
{
    validate_column_t u = s_col (2950, -1);
    OK (u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    OK (u, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
    OK (u, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}");
    OK (u, "a0eebc999c0b4ef8bb6d6bb9bd380a11");
    OK (u, "{a0eebc999c0b4ef8bb6d6bb9bd380a11}");
    OK (u, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11");
    BAD (u, " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    BAD (u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ");
    BAD (u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1");      /* 31 digits */
    BAD (u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111");    /* 33 digits */
    BAD (u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g");
    BAD (u, "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11");
    BAD (u, "a0-eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    BAD (u, "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11");
    BAD (u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-");
    BAD (u, "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    BAD (u, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    BAD (u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}");
    BAD (u, "");  BAD (u, "{}");
    REASON (u, "xyz", "column \"c\": \"xyz\" is not a valid uuid");
}

/* ---- json --------------------------------------------------------- */

static void
test_json (void **state)
{
    validate_column_t j = s_col (114, -1), jb = s_col (3802, -1);
    static const char *good[] = {
        "{\"a\":1}", " [1, 2.5e-3, -0, true, null] ", "1", "-0.0e-0", "1E+2", "\"a\"",
        "\"\"", "[]", "{}", "[[],{}]", "{\"a\":{\"b\":[{}]}}", "1\r\n", "\t\"x\"\n",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\"", "\"\\uD83D\\uDE00\"", "\"é日本\"",
        "123456789012345678901234567890", "1e400", "{\"a\":1,\"a\":2}", "\"\x7f\"",
    };
    static const char *bad[] = {
        "", "   ", "01", "-", "1.", ".5", "+1", "1e", "1e+", "1a", "1_0", "tru", "True",
        "NULL", "nulll", "truex", "[1,]", "{\"a\":1,}", "{\"a\"}", "{1:2}", "{a:1}",
        "[1 2]", "1 2", "[] x", "\"abc", "[", "]", "[1,2", "{\"a\":1 \"b\":2}", "'a'",
        "\v1", "\f1", "\"a\tb\"", "\"a\nb\"", "\"\\x\"", "\"\\u12\"", "\"\\uZZZZ\"",
        "\"\\u00\"", "\"a\\", "[1]]", "{}}", "[}", "{]", "\"\\", "\"\\u",
    };
    const validate_column_t both[] = { j, jb };
    LISTS (both, 2, good, bad);

    /*  json keeps escapes as text: lone surrogates and \u0000 pass; jsonb
        decodes them. */
    static const char *json_only[] = {
        "\"\\u0000\"", "{\"\\u0000\":1}", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800x\"",
        "\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"", "\"\\ud800\\n\"", "1e1000000",
        "-1e-1000000",
    };
    for (size_t i = 0; i < sizeof json_only / sizeof json_only[0]; i++) {
        OK (j, json_only[i]);
        BAD (jb, json_only[i]);
    }
    OK (jb, "\"\\ud800\\udc00\"");
    OK (jb, "1e131071");  BAD (jb, "1e131072");
    OK (jb, "0e-16383");  BAD (jb, "0.5e-16383");

    validate_column_t doc;
    validate_column_init (&doc, 3802, -1, false, "doc");
    REASON (doc, "\"\\u0000\"",
            "column \"doc\": \"\"\\u0000\"\" is not valid jsonb: "
            "unsupported Unicode escape sequence \\u0000 at byte 1");
    REASON (doc, "[1,]", "column \"doc\": \"[1,]\" is not valid jsonb: unexpected character at byte 3");
    REASON (doc, "{} x",
            "column \"doc\": \"{} x\" is not valid jsonb: unexpected characters after the value at byte 3");
    /*  Invalid UTF-8 inside a string is caught before parsing. */
    BAD (j, "\"\xc0\xaf\"");
}

static void
test_json_deep (void **state)
{
    validate_column_t j = s_col (114, -1), jb = s_col (3802, -1);
    enum { DEEP = 10000, HUGE = 1000000 };
    char *buf = malloc (2 * HUGE + 2);
    assert_non_null (buf);

    /*  10000 levels: the server accepts them (checked). */
    memset (buf, '[', DEEP);
    memset (buf + DEEP, ']', DEEP);
    OKN (j, buf, 2 * DEEP);
    OKN (jb, buf, 2 * DEEP);
    BADN (j, buf, 2 * DEEP - 1);             /* one bracket short */
    buf[2 * DEEP] = ']';
    BADN (j, buf, 2 * DEEP + 1);             /* one too many */

    /*  Objects and arrays interleaved, deep. */
    size_t n = 0;
    for (int i = 0; i < DEEP; i++) {
        memcpy (buf + n, i % 2 ? "[" : "{\"k\":", i % 2 ? 1 : 5);
        n += i % 2 ? 1 : 5;
    }
    for (int i = DEEP - 1; i >= 0; i--)
        buf[n++] = i % 2 ? ']' : '}';
    OKN (jb, buf, n);
    buf[n - 1] = ']';                        /* mismatched closer at the outermost level */
    BADN (jb, buf, n);

    /*  A million levels: no recursion, no blow-up. Past the tracked depth
        the value is left to the server (which refuses it at its default
        max_stack_depth, a setting). */
    memset (buf, '[', HUGE);
    memset (buf + HUGE, ']', HUGE);
    OKN (j, buf, 2 * HUGE);
    /*  Unclosed but shallow enough to track: refused. */
    BADN (j, buf, 1000);
    free (buf);
}

/* ---- text, varchar, char ------------------------------------------ */

static void
test_text_lengths (void **state)
{
    validate_column_t v3 = s_col (1043, 3 + 4), c3 = s_col (1042, 3 + 4);
    validate_column_t v2 = s_col (1043, 2 + 4), c1 = s_col (1042, 1 + 4);
    validate_column_t vany = s_col (1043, -1), t = s_col (25, -1);

    OK (v3, "");  OK (v3, "abc");  OK (v3, "abc   ");  OK (v3, "ab ");  OK (v3, "  b");
    BAD (v3, "abcd");  BAD (v3, "abc  d");  BAD (v3, "abc\t");  BAD (v2, "ab\t");
    BAD (v3, " abcd");
    /*  Characters, not bytes. */
    OK (v3, "äöü");  OK (v3, "äöü ");  OK (v3, "日本語");  OK (v3, "日本語  ");
    OK (v3, "😀😀😀");  BAD (v3, "äöüx");  BAD (v3, "日本語x");  BAD (v3, "😀😀😀😀");
    OK (c3, "ab ");  OK (c3, "abc   ");  OK (c3, "日本語  ");  BAD (c3, "abcd  ");
    OK (c1, "a");  OK (c1, "a  ");  BAD (c1, "abc");
    OK (vany, "any length at all, any length at all, any length at all");

    validate_column_t code;
    validate_column_init (&code, 1043, 5 + 4, false, "code");
    REASON (code, "ABCDEFG", "column \"code\": value too long for varchar(5) (7 characters)");
    REASON (code, "日本語日本語日", "column \"code\": value too long for varchar(5) (7 characters)");
    REASON (c3, "abcd", "column \"c\": value too long for char(3) (4 characters)");

    /*  NUL bytes and invalid UTF-8 in any text. */
    BADN (t, "a\0b", 3);  BADN (v3, "a\0", 2);  BADN (c3, "\0", 1);
    BAD (t, "a\xed\xa0\x80" "b");  BAD (t, "\xc0\xaf");  BAD (t, "\xf4\x90\x80\x80");
    OK (t, "\xef\xbf\xbf");  OK (t, "\xf4\x8f\xbf\xbf");   /* U+FFFF, U+10FFFF: COPY takes them */
    char r[256];
    s_expect (&t, "abcdefghij\0k", 12, -1, r, __FILE__, __LINE__);
    assert_string_equal (r, "column \"c\": value contains a NUL byte (at byte 10)");
    s_expect (&t, "abc\xff", 4, -1, r, __FILE__, __LINE__);
    assert_string_equal (r, "column \"c\": value is not valid UTF-8 (at byte 3)");
}

/* ---- UTF-8 -------------------------------------------------------- */

static void
test_utf8 (void **state)
{
    static const struct { const char *s; size_t n; bool ok; } cases[] = {
        { "", 0, true },
        { "plain ascii", 11, true },
        { "\x00", 1, true },                    /* U+0000 is UTF-8 (text refuses it) */
        { "\x7f", 1, true },
        { "\xc2\x80", 2, true },                /* U+0080 */
        { "\xdf\xbf", 2, true },                /* U+07FF */
        { "\xe0\xa0\x80", 3, true },            /* U+0800 */
        { "\xed\x9f\xbf", 3, true },            /* U+D7FF */
        { "\xee\x80\x80", 3, true },            /* U+E000 */
        { "\xef\xbf\xbf", 3, true },            /* U+FFFF */
        { "\xf0\x90\x80\x80", 4, true },        /* U+10000 */
        { "\xf4\x8f\xbf\xbf", 4, true },        /* U+10FFFF */
        { "\x80", 1, false },                   /* lone continuation */
        { "\xbf", 1, false },
        { "\xc0\x80", 2, false },               /* overlong NUL */
        { "\xc1\xbf", 2, false },               /* overlong */
        { "\xe0\x80\x80", 3, false },           /* overlong */
        { "\xe0\x9f\xbf", 3, false },           /* overlong U+07FF */
        { "\xf0\x80\x80\x80", 4, false },       /* overlong */
        { "\xf0\x8f\xbf\xbf", 4, false },       /* overlong U+FFFF */
        { "\xed\xa0\x80", 3, false },           /* U+D800 */
        { "\xed\xbf\xbf", 3, false },           /* U+DFFF */
        { "\xed\xa0\xbd\xed\xb8\x80", 6, false }, /* CESU-8 surrogate pair */
        { "\xf4\x90\x80\x80", 4, false },       /* U+110000 */
        { "\xf5\x80\x80\x80", 4, false },
        { "\xf8\x88\x80\x80\x80", 5, false },
        { "\xfe", 1, false },
        { "\xff", 1, false },
        { "\xc2", 1, false },                   /* truncated */
        { "\xe0\xa0", 2, false },
        { "\xf0\x90\x80", 3, false },
        { "\xc2\x41", 2, false },               /* bad continuation */
        { "\xe2\x82\x41", 3, false },
        { "\xf0\x90\x41\x80", 4, false },
        { "\xf0\x90\x80\x41", 4, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *buf = malloc (cases[i].n ? cases[i].n : 1);
        assert_non_null (buf);
        memcpy (buf, cases[i].s, cases[i].n);
        if (validate_utf8 (buf, cases[i].n) != cases[i].ok) {
            print_error ("utf8 case %zu: want %d\n", i, (int) cases[i].ok);
            fail ();
        }
        free (buf);
    }

    /*  The 8-byte ASCII path: a bad byte at every position of a long
        string, and a good multibyte character there, are seen. */
    enum { LEN = 67 };
    char buf[LEN + 4];
    for (size_t pos = 0; pos < LEN; pos++) {
        memset (buf, 'a', sizeof buf);
        assert_true (validate_utf8 (buf, LEN));
        buf[pos] = (char) 0x80;
        assert_false (validate_utf8 (buf, LEN));
        buf[pos] = (char) 0xc3;              /* truncated at the end, or followed by 'a' */
        assert_false (validate_utf8 (buf, LEN));
        memcpy (buf + pos, "\xc3\xa9", 2);   /* é, possibly straddling the end */
        assert_true (validate_utf8 (buf, LEN) == (pos + 2 <= LEN));
        /*  NUL: valid UTF-8, but text refuses it wherever it is. */
        memset (buf, 'a', sizeof buf);
        buf[pos] = '\0';
        assert_true (validate_utf8 (buf, LEN));
        validate_column_t t = s_col (25, -1);
        BADN (t, buf, LEN);
    }
}

/* ---- reasons and bounds ------------------------------------------- */

static void
test_reason_handling (void **state)
{
    validate_column_t i4 = s_col (23, -1);
    /*  No buffer, or a tiny one: still -1, never an overflow. */
    assert_int_equal (validate_value (&i4, "x", 1, NULL, 0), -1);
    char tiny[8];
    assert_int_equal (validate_value (&i4, "x", 1, tiny, sizeof tiny), -1);
    assert_string_equal (tiny, "column ");
    assert_int_equal (validate_value (&i4, "x", 1, tiny, 0), -1);
    /*  A reason buffer is cleared on success. */
    char r[256] = "stale";
    assert_int_equal (validate_value (&i4, "1", 1, r, sizeof r), 0);
    assert_string_equal (r, "");

    /*  Long values are cut, control characters and bad bytes escaped,
        so the reason stays one line. */
    char longv[300];
    memset (longv, '7', sizeof longv);
    assert_int_equal (validate_value (&i4, longv, sizeof longv, r, sizeof r), -1);
    assert_string_equal (r, "column \"c\": value \"7777777777777777777777777777777777777777...\""
                            " out of range for integer");
    assert_int_equal (validate_value (&i4, "1\n2\xff", 4, r, sizeof r), -1);
    assert_string_equal (r, "column \"c\": \"1\\x0a2\\xff\" is not a valid integer");
    assert_int_equal (validate_value (&i4, "é!", 3, r, sizeof r), -1);
    assert_string_equal (r, "column \"c\": \"é!\" is not a valid integer");
}

/*  Every prefix of a set of values, for every kind, from exact-size
    buffers: nothing may read past the end (ASan), and nothing crashes. */
static void
test_prefixes_no_overread (void **state)
{
    static const char *samples[] = {
        "-9223372036854775808", " 999.995e-2 ", "1.7976931348623159e308", "Infinity",
        "nan(12)", "2023-02-28T23:59:60.123456+02:30 BC", "12:34:56.5Z",
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        "{\"k\":[1,-2.5e+3,\"\\ud83d\\ude00\\u0041\",true,false,null,{}]}",
        "日本語   ", "falsE", "0x1p3",
    };
    static const uint32_t oids[] = {
        25, 1043, 1042, 21, 23, 20, 1700, 700, 701, 16, 1082, 1114, 1184, 1083, 2950, 114, 3802, 17
    };
    char reason[64];
    for (size_t o = 0; o < sizeof oids / sizeof oids[0]; o++) {
        int32_t typmod = oids[o] == 1700 ? s_numeric_typmod (5, 2) : oids[o] >= 1042 && oids[o] <= 1043 ? 7 : -1;
        validate_column_t col = s_col (oids[o], typmod);
        for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
            size_t len = strlen (samples[s]);
            for (size_t n = 0; n <= len; n++) {
                char *buf = malloc (n ? n : 1);
                assert_non_null (buf);
                memcpy (buf, samples[s], n);
                int rc = validate_value (&col, buf, n, reason, sizeof reason);
                assert_true (rc == 0 || rc == -1);
                free (buf);
            }
        }
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_column_init),
        cmocka_unit_test (test_null),
        cmocka_unit_test (test_int),
        cmocka_unit_test (test_numeric),
        cmocka_unit_test (test_float),
        cmocka_unit_test (test_bool),
        cmocka_unit_test (test_date),
        cmocka_unit_test (test_timestamp),
        cmocka_unit_test (test_time),
        cmocka_unit_test (test_uuid),
        cmocka_unit_test (test_json),
        cmocka_unit_test (test_json_deep),
        cmocka_unit_test (test_text_lengths),
        cmocka_unit_test (test_utf8),
        cmocka_unit_test (test_reason_handling),
        cmocka_unit_test (test_prefixes_no_overread),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
