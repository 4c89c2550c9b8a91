/*  common/format/validate.h: checking text values against a target column's
    type before they reach the server, pure logic.

    The worker validates every field of a file source so that bad rows are
    rejected one by one with a reason, instead of failing a whole COPY.
    The rule: reject only what the server would surely reject (an int out
    of range, a Feb 30, an over-long varchar, malformed JSON, NULL in a NOT
    NULL column, invalid UTF-8). Values in forms the validator does not
    know (other DateStyles, exotic numeric spellings) pass; if the server
    then refuses them, the writer isolates and rejects that row. So a
    validator bug can cost speed, never data. Values are checked as
    PostgreSQL's input functions read them (leading/trailing spaces
    allowed for numbers, case-insensitive booleans and 'infinity'...). */
#ifndef FERRY_VALIDATE_H
#define FERRY_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    VALIDATE_ANY = 0,          /* no check (unknown types: the server decides) */
    VALIDATE_TEXT,             /* text, name: UTF-8 only */
    VALIDATE_VARCHAR,          /* varchar(n): length in characters <= n */
    VALIDATE_BPCHAR,           /* char(n): length after trimming trailing spaces <= n */
    VALIDATE_INT2,
    VALIDATE_INT4,
    VALIDATE_INT8,
    VALIDATE_NUMERIC,          /* numeric(p, s): digits before the point <= p - s */
    VALIDATE_FLOAT4,
    VALIDATE_FLOAT8,
    VALIDATE_BOOL,
    VALIDATE_DATE,
    VALIDATE_TIMESTAMP,
    VALIDATE_TIMESTAMPTZ,
    VALIDATE_TIME,
    VALIDATE_UUID,
    VALIDATE_JSON,
    VALIDATE_JSONB             /* as JSON, plus no \u0000 */
} validate_kind_t;

typedef struct {
    validate_kind_t kind;
    int32_t max_chars;         /* varchar/bpchar: n; -1 = unlimited */
    int32_t precision;         /* numeric: -1 = unconstrained */
    int32_t scale;
    bool not_null;
    char name[64];             /* column name, for reasons */
} validate_column_t;

/*  Sets up a column from its type OID and typmod as pg_attribute holds
    them (e.g. varchar(20): oid 1043, typmod 24; numeric(14,2): oid 1700,
    typmod ((14 << 16) | 2) + 4). Unknown OIDs get VALIDATE_ANY. Can't
    fail. */
void validate_column_init (validate_column_t *col, uint32_t type_oid, int32_t typmod,
                           bool not_null, const char *name);

/*  Checks one value (value NULL = SQL NULL; len its length). Returns 0 if
    acceptable, -1 with a one-line reason naming the column, e.g.
        column "qty": value "99999999999" out of range for integer
        column "born": "2023-02-30" is not a valid date
        column "code": value too long for varchar(5) (7 characters)
        column "id": NULL in a NOT NULL column
    Never reads past value[len]. */
int validate_value (const validate_column_t *col, const char *value, size_t len,
                    char *reason, size_t reasonlen);

/*  True when buf holds valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool validate_utf8 (const char *buf, size_t len);

#endif
