/*  common/csv.c: RFC 4180 CSV (and TSV) parsing, pure logic.

    The grammar, shared by csv_parse_record and csv_split so that every
    boundary the planner picks is a record start for the loader:
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

    Where csv.h leaves room, this file decides:
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
    few interesting bytes 16 (parse) or 64 (split) at a time with SSE2
    compares, and handle what they find one by one; plain loops stand in
    where SSE2 is missing. Decoded fields go to one arena per record
    object, reused from parse to parse. See csv.h for the contract. */
#include "log.h"
#include "csv.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  CSV_NO_SIMD builds the plain loops alone (to test them on x86). */
#if defined (__SSE2__) && !defined (CSV_NO_SIMD)
#   include <emmintrin.h>
#   define CSV_SSE2 1
#endif

/*  csv_split reads (and scans) this much at a time; the buffer starts
    at CSV_SPLIT_SMALL, so that small files cost a small allocation. */
#define CSV_SPLIT_BLOCK (1024 * 1024)
#define CSV_SPLIT_SMALL (64 * 1024)

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

/*  The format rules config.c enforces; breaking them is a programmer
    error here. An escape of 0 means "same as the quote". */
static void
s_format_check (const csv_format_t *fmt)
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
    s_format_check (fmt);
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

/* ---- planning ---- */

/*  The splitter's state, kept by input offset so that nothing depends on
    where blocks end: no lookahead is ever needed.
      - A quote that closes a quoted field sets closed_at; with escape ==
        quote, a quote right after it (at closed_at + 1) reopens: that is
        the doubled quote, seen as close-then-open.
      - With escape != quote, an escape inside quotes sets esc_at; a quote
        or escape right after it (at esc_at + 1) is escaped.
      - Outside quotes, a quote opens only if the byte before it is a
        delimiter or '\n' (the field starts there); otherwise it is data. */
typedef struct {
    char delim, quote, esc;     /* quote == 0: no quoting */
    bool in_quotes;
    int64_t closed_at;          /* offset of the last closing quote, or -2 */
    int64_t esc_at;             /* offset of the last active escape, or -2 */
    char prev;                  /* the byte before the current block ('\n' at the start) */
    int64_t base;               /* input offset of the current block's first byte */
    int64_t lines;              /* '\n' bytes seen so far */
    int64_t chunk_bytes;
    int64_t last;               /* offset of the last boundary */
    int64_t last_line;          /* track_last: the line of the record at `last` */
    bool track_last;            /* csv_scanner: only remember the last record end */
    bool marked;                /* csv_scanner_mark: remember the first end from here */
    int64_t first;              /* marked: the first record end since, or -1 */
    int64_t first_line;
    bool header_pending;        /* the header record has not ended yet */
    csv_boundary_t *out;
    size_t count;
    size_t size;
} s_split_t;

/*  A record ends just before offset `start` (maybe the end of the input;
    csv_split drops such a boundary at the end); `line` is start's line. */
static void
s_split_record_end (s_split_t *self, int64_t start, int64_t line)
{
    if (self->header_pending) {
        self->out [0].offset = start;
        self->out [0].line = line;
        self->last = start;
        self->header_pending = false;
        return;
    }
    if (self->track_last) {
        if (self->marked && self->first < 0) {
            self->first = start;
            self->first_line = line;
        }
        self->last = start;
        self->last_line = line;
        return;
    }
    if (start - self->last < self->chunk_bytes)
        return;
    if (self->count == self->size) {
        self->size *= 2;
        self->out = xrealloc (self->out, self->size * sizeof *self->out);
    }
    self->out [self->count].offset = start;
    self->out [self->count].line = line;
    self->count++;
    self->last = start;
}

/*  Handles data[j], a quote, an escape or a '\n', by the exact rules.
    Every other byte leaves the state alone. */
static inline void
s_split_event (s_split_t *self, const char *data, size_t j)
{
    char c = data [j];
    int64_t pos = self->base + (int64_t) j;
    if (self->in_quotes) {
        if (self->esc_at == pos - 1) {
            self->esc_at = -2;
            if (c == self->quote || c == self->esc) {
                if (c == '\n')
                    self->lines++;
                return;                 /* an escaped byte */
            }
        }
        if (c == self->quote) {
            self->in_quotes = false;
            self->closed_at = pos;
            return;
        }
        if (c == '\n')
            self->lines++;
        if (c == self->esc)             /* here esc != quote */
            self->esc_at = pos;
        return;
    }
    if (c == '\n') {
        self->lines++;
        s_split_record_end (self, pos + 1, self->lines + 1);
        return;
    }
    if (c == self->quote && self->quote) {
        char before = j ? data [j - 1] : self->prev;
        if ((self->esc == self->quote && self->closed_at == pos - 1)
            || before == self->delim || before == '\n')
            self->in_quotes = true;
    }
}

/*  Events of data[from, to) one byte at a time. */
static void
s_split_bytes (s_split_t *self, const char *data, size_t from, size_t to)
{
    const char q = self->quote ? self->quote : '\n';
    const char e = self->quote ? self->esc : '\n';
    for (size_t j = from; j < to; j++) {
        char c = data [j];
        if (c == '\n' || c == q || c == e)
            s_split_event (self, data, j);
    }
}

/*  Set bits in x; no libgcc call where the target lacks POPCNT. */
static inline int
s_popcount64 (uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int) ((x * 0x0101010101010101ULL) >> 56);
}

#if defined (CSV_SSE2)
/*  Bit k set when p[k] == c, for k < 64. */
static inline uint64_t
s_mask64 (const __m128i x [4], __m128i v)
{
    uint64_t m0 = (uint64_t) (unsigned) _mm_movemask_epi8 (_mm_cmpeq_epi8 (x [0], v));
    uint64_t m1 = (uint64_t) (unsigned) _mm_movemask_epi8 (_mm_cmpeq_epi8 (x [1], v));
    uint64_t m2 = (uint64_t) (unsigned) _mm_movemask_epi8 (_mm_cmpeq_epi8 (x [2], v));
    uint64_t m3 = (uint64_t) (unsigned) _mm_movemask_epi8 (_mm_cmpeq_epi8 (x [3], v));
    return m0 | m1 << 16 | m2 << 32 | m3 << 48;
}

/*  The fast path for 64 bytes at data[at] when escape == quote (or there
    is no quoting), simdjson style: the quote state after each byte is the
    prefix XOR of the quote bits, a doubled quote being close-then-open.
    That agrees with the exact rules as long as every quote that opens
    follows a delimiter, a '\n' or a closing quote; returns false, having
    changed nothing, when some quote breaks that (a quote inside an
    unquoted field), and the caller replays the bytes by the exact rules. */
static inline bool
s_split_fast64 (s_split_t *self, const char *data, size_t at,
                uint64_t quotes, uint64_t newlines, uint64_t delims)
{
    uint64_t x = quotes;
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    uint64_t inside = x ^ (self->in_quotes ? ~(uint64_t) 0 : 0);    /* after each byte */
    uint64_t inside_before = inside << 1 | (uint64_t) self->in_quotes;
    uint64_t closing = quotes & inside_before;
    uint64_t opening = quotes & ~inside_before;
    if (opening) {
        int64_t pos = self->base + (int64_t) at;
        char before = at ? data [at - 1] : self->prev;
        uint64_t carry = before == self->delim || before == '\n' || self->closed_at == pos - 1;
        uint64_t starts = (delims | newlines | closing) << 1 | carry;
        if (opening & ~starts)
            return false;
    }
    uint64_t ends = newlines & ~inside;
    if (ends && (self->header_pending
                 || self->base + (int64_t) at + 64 - self->last >= self->chunk_bytes)) {
        while (ends) {
            uint64_t bit = ends & (0 - ends);
            ends ^= bit;
            int64_t nl = s_popcount64 (newlines & (bit | (bit - 1)));
            s_split_record_end (self, self->base + (int64_t) at + __builtin_ctzll (bit) + 1,
                                self->lines + nl + 1);
        }
    }
    self->lines += s_popcount64 (newlines);
    self->in_quotes = inside >> 63;
    if (closing >> 63)
        self->closed_at = self->base + (int64_t) at + 63;
    return true;
}
#endif

/*  Scans one block of n >= 1 bytes at input offset self->base. */
static void
s_split_block (s_split_t *self, const char *data, size_t n)
{
    size_t at = 0;
#if defined (CSV_SSE2)
    const bool fast = self->esc == self->quote;
    const __m128i vq = _mm_set1_epi8 (self->quote);
    const __m128i ve = _mm_set1_epi8 (self->esc);
    const __m128i vd = _mm_set1_epi8 (self->delim);
    const __m128i vn = _mm_set1_epi8 ('\n');
    for (; n - at >= 64; at += 64) {
        __m128i x [4];
        for (int k = 0; k < 4; k++)
            x [k] = _mm_loadu_si128 ((const __m128i *) (const void *) (data + at + 16 * k));
        uint64_t quotes = self->quote ? s_mask64 (x, vq) : 0;
        uint64_t newlines = s_mask64 (x, vn);
        if (fast && s_split_fast64 (self, data, at, quotes, newlines, s_mask64 (x, vd)))
            continue;
        uint64_t events = quotes | newlines;
        if (!fast)
            events |= s_mask64 (x, ve);
        while (events) {
            s_split_event (self, data, at + (size_t) __builtin_ctzll (events));
            events &= events - 1;
        }
    }
#endif
    s_split_bytes (self, data, at, n);
    self->prev = data [n - 1];
}

/*  Reads into buf[have, size) until it is full or the input ends, so
    that blocks do not depend on how the callback slices its reads.
    Returns the byte count in buf, or -1 on a read error. */
static int64_t
s_split_fill (csv_read_fn *read, void *arg, char *buf, size_t have, size_t size)
{
    while (have < size) {
        int64_t got = read (arg, buf + have, size - have);
        if (got < 0 || (uint64_t) got > size - have)
            return -1;
        if (got == 0)
            break;
        have += (size_t) got;
    }
    return (int64_t) have;
}

int
csv_split (csv_read_fn *read, void *arg, const csv_format_t *fmt, int64_t chunk_bytes,
           csv_boundary_t **out, size_t *count, int64_t *total_bytes, int64_t *total_lines,
           char *err, size_t errlen)
{
    FERRY_ASSERT (read);
    s_format_check (fmt);
    FERRY_ASSERT (out && count && total_bytes && total_lines);
    s_split_t self = {
        .delim = fmt->delimiter,
        .quote = fmt->quote,
        .esc = fmt->quote ? (fmt->escape ? fmt->escape : fmt->quote) : 0,
        .closed_at = -2,
        .esc_at = -2,
        .prev = '\n',
        .chunk_bytes = chunk_bytes,
        .header_pending = fmt->header,
        .size = 16,
        .count = 1
    };
    self.out = xmalloc (self.size * sizeof *self.out);
    char *block = xmalloc (CSV_SPLIT_SMALL);
    int64_t bom = 0;
    bool first = true;
    int rc = 0;
    for (;;) {
        int64_t got;
        if (first) {
            /*  The first block is a whole CSV_SPLIT_BLOCK too, unless the
                input ends within CSV_SPLIT_SMALL. */
            got = s_split_fill (read, arg, block, 0, CSV_SPLIT_SMALL);
            if (got == CSV_SPLIT_SMALL) {
                block = xrealloc (block, CSV_SPLIT_BLOCK);
                got = s_split_fill (read, arg, block, CSV_SPLIT_SMALL, CSV_SPLIT_BLOCK);
            }
        }
        else
            got = s_split_fill (read, arg, block, 0, CSV_SPLIT_BLOCK);
        if (got < 0) {
            if (err && errlen)
                snprintf (err, errlen, "csv: read failed at offset %lld",
                          (long long) self.base);
            rc = -1;
            break;
        }
        const char *data = block;
        size_t n = (size_t) got;
        if (first) {
            /*  The first block holds the whole BOM if the input has one:
                fills come up short only at the end of the input. */
            first = false;
            bom = (int64_t) csv_bom_len (block, n);
            data += bom;
            n -= (size_t) bom;
            self.base = bom;
            self.out [0].offset = bom;
            self.out [0].line = 1;
            self.last = bom;
        }
        if (n > 0) {
            s_split_block (&self, data, n);
            self.base += (int64_t) n;
        }
        if (got < CSV_SPLIT_BLOCK)
            break;
    }
    free (block);
    if (rc) {
        free (self.out);
        *out = NULL;
        *count = 0;
        return -1;
    }
    int64_t total = self.base;
    if (self.header_pending) {
        /*  The header never ended: the data starts (and ends) at the end. */
        self.out [0].offset = total;
        self.out [0].line = self.lines + 1;
    }
    /*  A record start at the very end starts nothing. */
    if (self.count > 1 && self.out [self.count - 1].offset == total)
        self.count--;
    *out = self.out;
    *count = self.count;
    *total_bytes = total;
    *total_lines = self.lines + (total > bom && self.prev != '\n');
    return 0;
}

size_t
csv_bom_len (const char *buf, size_t len)
{
    if (buf && len >= 3 && (unsigned char) buf [0] == 0xEF
        && (unsigned char) buf [1] == 0xBB && (unsigned char) buf [2] == 0xBF)
        return 3;
    return 0;
}

struct csv_scanner_t {
    s_split_t split;
};

csv_scanner_t *
csv_scanner_new (const csv_format_t *fmt)
{
    s_format_check (fmt);
    csv_scanner_t *self = xcalloc (1, sizeof *self);
    self->split = (s_split_t) {
        .delim = fmt->delimiter,
        .quote = fmt->quote,
        .esc = fmt->quote ? (fmt->escape ? fmt->escape : fmt->quote) : 0,
        .closed_at = -2,
        .esc_at = -2,
        .prev = '\n',
        .chunk_bytes = 1,
        .last_line = 1,
        .track_last = true,
    };
    return self;
}

void
csv_scanner_destroy (csv_scanner_t **self_p)
{
    FERRY_ASSERT (self_p);
    free (*self_p);
    *self_p = NULL;
}

void
csv_scanner_feed (csv_scanner_t *self, const char *data, size_t n)
{
    FERRY_ASSERT (self && (data || n == 0));
    if (n == 0)
        return;
    s_split_block (&self->split, data, n);
    self->split.base += (int64_t) n;
}

int64_t
csv_scanner_record_end (const csv_scanner_t *self, int64_t *line)
{
    FERRY_ASSERT (self);
    if (line)
        *line = self->split.last_line;
    return self->split.last;
}

void
csv_scanner_mark (csv_scanner_t *self)
{
    FERRY_ASSERT (self);
    self->split.marked = true;
    self->split.first = -1;
    self->split.first_line = 0;
}

int64_t
csv_scanner_first_end (const csv_scanner_t *self, int64_t *line)
{
    FERRY_ASSERT (self);
    if (!self->split.marked || self->split.first < 0)
        return -1;
    if (line)
        *line = self->split.first_line;
    return self->split.first;
}

int64_t
csv_scanner_lines (const csv_scanner_t *self)
{
    FERRY_ASSERT (self);
    return self->split.lines;
}
