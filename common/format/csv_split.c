/*  common/format/csv_split.c: the planner's side of the CSV parser: csv_split,
    which scans a whole file once and returns record boundaries about
    every chunk_bytes, and csv_scanner, the same scan fed piece by piece
    by a loader that must find where records end in its byte range. Both
    track only the quote state, by the grammar at the top of csv.c, 64
    bytes at a time with SSE2 where the quotes allow. See csv.h for the
    contract. */
#include "log.h"
#include "csv_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  csv_split reads (and scans) this much at a time; the buffer starts
    at CSV_SPLIT_SMALL, so that small files cost a small allocation. */
#define CSV_SPLIT_BLOCK (1024 * 1024)
#define CSV_SPLIT_SMALL (64 * 1024)

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

/*  The state at the start of the input, for fmt; the rest zero. */
static void
s_split_init (s_split_t *self, const csv_format_t *fmt)
{
    *self = (s_split_t) {
        .delim = fmt->delimiter,
        .quote = fmt->quote,
        .esc = fmt->quote ? (fmt->escape ? fmt->escape : fmt->quote) : 0,
        .closed_at = -2,
        .esc_at = -2,
        .prev = '\n',
    };
}

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
    csv_format_check (fmt);
    FERRY_ASSERT (out && count && total_bytes && total_lines);
    s_split_t self;
    s_split_init (&self, fmt);
    self.chunk_bytes = chunk_bytes;
    self.header_pending = fmt->header;
    self.size = 16;
    self.count = 1;
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
    csv_format_check (fmt);
    csv_scanner_t *self = xcalloc (1, sizeof *self);
    s_split_init (&self->split, fmt);
    self->split.chunk_bytes = 1;
    self->split.last_line = 1;
    self->split.track_last = true;
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
