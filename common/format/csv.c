/*  common/format/csv.c: RFC 4180 CSV (and TSV) parsing, pure logic: the
    loader's side, csv_parse_record and its record object. The planner's
    side, csv_split and the incremental csv_scanner, is csv_split.c; both
    follow the grammar below, so that every boundary the planner picks is
    a record start for the loader:
      - a record ends at a '\n' outside quotes; a '\r' just before it is
        part of the terminator, any other '\r' is data;
      - a quote opens a quoted field only as the first byte of a field
        (the record start, or just after a delimiter); anywhere else it is
        a literal byte;
      - inside quotes, with escape == quote a doubled quote is one quote
        and a single one closes; with escape != quote, escape followed by
        quote or escape stands for that byte, an escape before anything
        else is literal, and a quote closes (PostgreSQL's CSV mode);
      - bytes after a closing quote, up to the delimiter or the line end,
        are appended literally to the field (quotes included).

    Where csv.h leaves room, these files decide:
      - no bytes at all (len 0), even at eof, is 0 with nothing consumed;
      - a lone '\r' as the last byte at eof is data, like any bare '\r';
      - after -1 the record holds the fields read so far, the last one
        cut at the end of input, and lines ends at the last byte;
      - escape 0 means "the same as the quote"; with quote 0 it is unused;
      - the header is the first record, whatever it holds (a blank line
        too), as PostgreSQL's HEADER skips the first line; a header that
        never ends puts the first boundary at the end of the input;
      - a record start at the very end of the input is no boundary.

    This is the hot path of file loading, so both scanners look for their
    few interesting bytes 16 (parse, here) or 64 (split) at a time with
    SSE2 compares, and handle what they find one by one; plain loops
    stand in where SSE2 is missing. Decoded fields go to one arena per
    record object, reused from parse to parse. See csv.h for the
    contract. */
#include "log.h"
#include "csv_int.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  A decoded field: its bytes are arena[off, off + len), NUL-terminated;
    off == CSV_FIELD_NULL marks SQL NULL. */
#define CSV_FIELD_NULL SIZE_MAX
typedef struct {
    size_t off;
    size_t len;
} s_field_t;

struct csv_record_t {
    char *arena;                /* decoded fields, each NUL-terminated */
    size_t arena_size;
    size_t arena_used;
    s_field_t *fields;
    size_t fields_size;
    int nfields;
    int lines;
    bool has_nul;
};

void
csv_format_default (csv_format_t *fmt)
{
    FERRY_ASSERT (fmt);
    fmt->delimiter = ',';
    fmt->quote = '"';
    fmt->escape = '"';
    fmt->header = false;
    fmt->null_marker = "";
}

void
csv_format_check (const csv_format_t *fmt)
{
    FERRY_ASSERT (fmt);
    FERRY_ASSERT (fmt->delimiter != '\n' && fmt->delimiter != '\r' && fmt->delimiter != '\0');
    FERRY_ASSERT (fmt->quote != '\n' && fmt->quote != '\r');
    FERRY_ASSERT (fmt->quote != fmt->delimiter);
}

/* ---- loading ---- */

csv_record_t *
csv_record_new (void)
{
    csv_record_t *self = xcalloc (1, sizeof *self);
    self->arena_size = 4096;
    self->arena = xmalloc (self->arena_size);
    self->fields_size = 32;
    self->fields = xmalloc (self->fields_size * sizeof *self->fields);
    self->lines = 1;
    return self;
}

void
csv_record_destroy (csv_record_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        csv_record_t *self = *self_p;
        free (self->arena);
        free (self->fields);
        free (self);
        *self_p = NULL;
    }
}

/*  Makes room for n more bytes in the arena (the slow path of s_reserve). */
static void
s_arena_grow (csv_record_t *self, size_t n)
{
    size_t size = self->arena_size * 2;
    if (size - self->arena_used < n)
        size = self->arena_used + n;
    self->arena = xrealloc (self->arena, size);
    self->arena_size = size;
}

static inline void
s_reserve (csv_record_t *self, size_t n)
{
    if (n > self->arena_size - self->arena_used)
        s_arena_grow (self, n);
}

static inline void
s_put (csv_record_t *self, char c)
{
    s_reserve (self, 1);
    self->arena [self->arena_used++] = c;
}

/*  Copies bytes from p to the arena up to the first byte equal to a, b, c
    or d (pass one twice for three), or to end; returns where it stopped,
    the stop byte not copied. Scanning and copying are one pass: with SSE2
    each 16 bytes are stored whole before looking for a stop in them, and
    only arena_used tells how many of them belong to the field. */
static inline __attribute__ ((always_inline)) const char *
s_copy_until (csv_record_t *self, const char *p, const char *end,
              char a, char b, char c, char d)
{
#if defined (CSV_SSE2)
    const __m128i va = _mm_set1_epi8 (a);
    const __m128i vb = _mm_set1_epi8 (b);
    const __m128i vc = _mm_set1_epi8 (c);
    const __m128i vd = _mm_set1_epi8 (d);
    while (end - p >= 16) {
        s_reserve (self, 16);
        __m128i x = _mm_loadu_si128 ((const __m128i *) (const void *) p);
        _mm_storeu_si128 ((__m128i *) (void *) (self->arena + self->arena_used), x);
        __m128i m = _mm_or_si128 (_mm_or_si128 (_mm_cmpeq_epi8 (x, va), _mm_cmpeq_epi8 (x, vb)),
                                  _mm_or_si128 (_mm_cmpeq_epi8 (x, vc), _mm_cmpeq_epi8 (x, vd)));
        unsigned bits = (unsigned) _mm_movemask_epi8 (m);
        if (bits) {
            unsigned k = (unsigned) __builtin_ctz (bits);
            self->arena_used += k;
            return p + k;
        }
        self->arena_used += 16;
        p += 16;
    }
#endif
    const char *s = p;
    while (s < end && *s != a && *s != b && *s != c && *s != d)
        s++;
    size_t n = (size_t) (s - p);
    if (n) {
        s_reserve (self, n);
        memcpy (self->arena + self->arena_used, p, n);
        self->arena_used += n;
    }
    return s;
}

/*  Opens field number nfields at the arena's end; returns it. */
static inline s_field_t *
s_field_open (csv_record_t *self)
{
    if ((size_t) self->nfields == self->fields_size) {
        /*  nfields is an int: 2^31 fields would take 32 GiB of offsets,
            so reaching the limit is as fatal as running out of memory. */
        if (self->fields_size > (size_t) INT_MAX / 2) {
            fprintf (stderr, "%s:%d: csv: record with too many fields\n", __FILE__, __LINE__);
            abort ();
        }
        self->fields_size *= 2;
        self->fields = xrealloc (self->fields, self->fields_size * sizeof *self->fields);
    }
    s_field_t *field = &self->fields [self->nfields++];
    field->off = self->arena_used;
    return field;
}

/*  Ends the field's bytes (all appended since s_field_open) with a NUL. */
static inline void
s_field_close (csv_record_t *self, s_field_t *field)
{
    field->len = self->arena_used - field->off;
    s_put (self, '\0');
}

static void
s_set_error (char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf (err, errlen, "%s", what);
}

/*  Each field is either unquoted (copied up to the next delimiter, '\n'
    or end of buffer) or quoted (runs between quote, escape, '\n' and NUL
    bytes copied whole; only those bytes are handled one by one), then
    whatever follows a closing quote up to the delimiter or line end.
    NUL bytes stop the scans only to set has_nul on the way.
    When the buffer ends before the record does and more input may
    follow, the answer is 0 and nothing is kept: the caller retries with
    more bytes from the same start. A quote or escape as the last byte
    inside quotes is undecided until the next byte arrives; a '\r' can
    only be undecided as the last byte, where the record is incomplete
    anyway. At eof the end of the buffer ends the record. */
int
csv_parse_record (const csv_format_t *fmt, const char *buf, size_t len, bool eof,
                  csv_record_t *rec, size_t *consumed, char *err, size_t errlen)
{
    csv_format_check (fmt);
    FERRY_ASSERT (rec);
    FERRY_ASSERT (consumed);
    FERRY_ASSERT (buf || len == 0);
    rec->nfields = 0;
    rec->arena_used = 0;
    rec->lines = 1;
    rec->has_nul = false;
    *consumed = 0;
    /*  No bytes at all, even at eof, is no record: 0 with nothing
        consumed (callers loop while bytes remain). */
    if (len == 0)
        return 0;
    if (buf [0] == '\n') {
        *consumed = 1;
        return 2;
    }
    if (buf [0] == '\r') {
        if (len == 1 && !eof)
            return 0;
        if (len >= 2 && buf [1] == '\n') {
            *consumed = 2;
            return 2;
        }
    }
    const char delim = fmt->delimiter;
    const char quote = fmt->quote;
    const char esc = fmt->escape ? fmt->escape : quote;
    const char *null_marker = fmt->null_marker ? fmt->null_marker : "";
    const size_t null_len = strlen (null_marker);
    const char *end = buf + len;
    const char *p = buf;
    int lines = 1;
    bool has_nul = false;

    for (;;) {
        s_field_t *field = s_field_open (rec);
        const char *q = p;              /* start of the unquoted run */
        bool quoted = quote && p < end && *p == quote;
        if (quoted) {
            q = p + 1;
            for (;;) {
                const char *s = s_copy_until (rec, q, end, quote, esc, '\n', '\0');
                if (s == end)
                    goto unterminated;
                char c = *s;
                if (c == quote) {
                    /*  A quote as the last byte closes for now; without
                        eof the empty rest then asks for more input, and
                        the retry sees whether it was doubled. */
                    if (esc == quote && s + 1 < end && s [1] == quote) {
                        s_put (rec, quote);
                        q = s + 2;
                        continue;
                    }
                    q = s + 1;
                    break;              /* closed */
                }
                if (c == esc) {
                    if (c == '\n')
                        lines++;
                    if (s + 1 == end) {
                        if (!eof)
                            goto need_more;
                        s_put (rec, c);
                        q = s + 1;
                        continue;       /* and then unterminated */
                    }
                    char d = s [1];
                    if (d == quote || d == esc) {
                        if (d == '\n')
                            lines++;
                        s_put (rec, d);
                        q = s + 2;
                    }
                    else {
                        s_put (rec, c);
                        q = s + 1;
                    }
                    continue;
                }
                if (c == '\n')
                    lines++;
                else
                    has_nul = true;
                s_put (rec, c);
                q = s + 1;
            }
        }
        /*  The unquoted field, or what follows the closing quote. */
        const char *s = q;
        for (;;) {
            s = s_copy_until (rec, s, end, delim, '\n', '\0', '\0');
            if (s == end || *s != '\0')
                break;
            has_nul = true;
            s_put (rec, '\0');
            s++;
        }
        if (s == end && !eof)
            goto need_more;
        if (s < end && *s == '\n' && s > q && s [-1] == '\r')
            rec->arena_used--;          /* the CR of a CRLF */
        size_t off = field->off;
        size_t n = rec->arena_used - off;
        if (!quoted && n == null_len
            && (n == 0 || memcmp (rec->arena + off, null_marker, n) == 0)) {
            field->off = CSV_FIELD_NULL;
            field->len = 0;
            rec->arena_used = off;
        }
        else
            s_field_close (rec, field);
        if (s < end && *s == delim) {
            p = s + 1;
            continue;
        }
        *consumed = s < end ? (size_t) (s + 1 - buf) : len;
        rec->lines = lines;
        rec->has_nul = has_nul;
        return 1;
    }

unterminated:
    if (!eof)
        goto need_more;
    /*  The rest of the input is the bad record. A newline as its very
        last byte ends its last line rather than starting another. */
    if (end [-1] == '\n' && lines > 1)
        lines--;
    s_field_close (rec, &rec->fields [rec->nfields - 1]);
    rec->lines = lines;
    rec->has_nul = has_nul;
    *consumed = len;
    s_set_error (err, errlen, "unterminated quoted field");
    return -1;

need_more:
    rec->nfields = 0;
    rec->arena_used = 0;
    return 0;
}

int
csv_record_nfields (const csv_record_t *rec)
{
    FERRY_ASSERT (rec);
    return rec->nfields;
}

const char *
csv_record_field (const csv_record_t *rec, int i, size_t *len_p)
{
    FERRY_ASSERT (rec);
    FERRY_ASSERT (i >= 0 && i < rec->nfields);
    const s_field_t *field = &rec->fields [i];
    if (field->off == CSV_FIELD_NULL) {
        if (len_p)
            *len_p = 0;
        return NULL;
    }
    if (len_p)
        *len_p = field->len;
    return rec->arena + field->off;
}

int
csv_record_lines (const csv_record_t *rec)
{
    FERRY_ASSERT (rec);
    return rec->lines;
}

bool
csv_record_has_nul (const csv_record_t *rec)
{
    FERRY_ASSERT (rec);
    return rec->has_nul;
}
