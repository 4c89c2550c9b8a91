/*  tests/fuzz/fuzz_csv.c: libFuzzer target for common/csv.

    Input: byte 0 picks the format (delimiter , \t ; |; quote " ' none;
    escape = quote, '\\', '\n' or the delimiter; header; null "" or \N),
    byte 1 the chunk size for csv_split (1..64), the rest is the file.
    Whatever the bytes:
      - parsing every record at eof (after a BOM) returns 1, 2 or -1 (-1
        only for the last record), consumes > 0 each time and exactly the
        input in total;
      - feeding the parser growing, exactly sized prefixes (without eof
        until all is in) gives the same records, field for field;
      - the records' lines add up to the input's physical lines;
      - csv_split returns the input's size and line count, and exactly
        the boundaries the chunk rule picks among the parser's record
        starts (after the header), strictly increasing, with their line
        numbers, the same with 1-byte and with random-sized reads.
    Built as a libFuzzer binary with FERRY_FUZZ=ON, and always with
    replay_main.c as fuzz.csv_replay. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void __attribute__ ((noreturn))
s_die (const char *what, size_t at)
{
    fprintf (stderr, "fuzz_csv: %s (at %zu)\n", what, at);
    abort ();
}

/*  A growable byte string holding records in a comparable encoding. */
typedef struct {
    char *data;
    size_t len;
    size_t size;
} s_buf_t;

static void
s_buf_add (s_buf_t *self, const void *p, size_t n)
{
    if (self->len + n > self->size) {
        self->size = (self->len + n) * 2 + 64;
        self->data = realloc (self->data, self->size);
        if (!self->data)
            s_die ("out of memory", n);
    }
    if (n)
        memcpy (self->data + self->len, p, n);
    self->len += n;
}

/*  Appends rc, lines, has_nul and the fields (length or NULL, bytes). */
static void
s_buf_add_record (s_buf_t *self, int rc, const csv_record_t *rec)
{
    int head [4] = { rc, csv_record_lines (rec), csv_record_has_nul (rec),
                     csv_record_nfields (rec) };
    s_buf_add (self, head, sizeof head);
    for (int i = 0; i < head [3]; i++) {
        size_t n = 12345;
        const char *f = csv_record_field (rec, i, &n);
        size_t tag = f ? n : SIZE_MAX;
        s_buf_add (self, &tag, sizeof tag);
        if (f) {
            if (f [n] != '\0')
                s_die ("field not NUL-terminated", (size_t) i);
            if (!csv_record_has_nul (rec) && memchr (f, '\0', n))
                s_die ("NUL in a field but has_nul false", (size_t) i);
            s_buf_add (self, f, n);
        }
        else
        if (n != 0)
            s_die ("NULL field with a length", (size_t) i);
    }
}

static unsigned
s_next (unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 16;
}

typedef struct {
    const char *data;
    size_t len;
    size_t off;
    size_t max_read;            /* 0: all asked */
    unsigned seed;              /* nonzero: random sizes up to max_read */
} s_reader_t;

static int64_t
s_read (void *arg, char *buf, size_t size)
{
    s_reader_t *self = arg;
    size_t n = self->len - self->off;
    if (n > size)
        n = size;
    size_t cap = self->max_read;
    if (cap && self->seed)
        cap = 1 + s_next (&self->seed) % cap;
    if (cap && n > cap)
        n = cap;
    memcpy (buf, self->data + self->off, n);
    self->off += n;
    return (int64_t) n;
}

static void
s_split (const csv_format_t *fmt, const char *text, size_t len, int64_t chunk,
         size_t max_read, unsigned seed, csv_boundary_t **out, size_t *count,
         int64_t *bytes, int64_t *lines)
{
    s_reader_t reader = { text, len, 0, max_read, seed };
    char err [128];
    if (csv_split (s_read, &reader, fmt, chunk, out, count, bytes, lines, err, sizeof err) != 0)
        s_die ("csv_split failed on a memory reader", 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    csv_format_t fmt;
    csv_format_default (&fmt);
    uint8_t opt = data [0];
    fmt.delimiter = ",\t;|" [opt & 3];
    fmt.quote = "\"'\0\"" [(opt >> 2) & 3];
    switch ((opt >> 4) & 3) {
        case 0: fmt.escape = fmt.quote; break;
        case 1: fmt.escape = '\\'; break;
        case 2: fmt.escape = '\n'; break;
        default: fmt.escape = fmt.delimiter; break;
    }
    if (!fmt.quote)
        fmt.escape = 0;
    fmt.header = (opt >> 6) & 1;
    fmt.null_marker = (opt >> 7) ? "\\N" : "";
    int64_t chunk = 1 + data [1] % 64;
    const char *text = (const char *) data + 2;
    size_t len = size - 2;

    /*  1. The whole input at eof. */
    size_t bom = csv_bom_len (text, len);
    csv_record_t *rec = csv_record_new ();
    s_buf_t whole = { 0 };
    size_t *starts = malloc ((len + 1) * sizeof *starts);
    if (!starts)
        s_die ("out of memory", len);
    size_t nstarts = 0;
    int64_t sum_lines = 0;
    size_t off = bom;
    while (off < len) {
        size_t consumed = 0;
        char err [64] = "";
        int rc = csv_parse_record (&fmt, text + off, len - off, true, rec, &consumed,
                                   err, sizeof err);
        if (rc != 1 && rc != 2 && rc != -1)
            s_die ("bad return at eof", off);
        if (consumed == 0 || consumed > len - off)
            s_die ("bad consumed", off);
        if (rc == -1 && (consumed != len - off || strcmp (err, "unterminated quoted field")))
            s_die ("-1 not for the rest of the input", off);
        if (rc == 2 && csv_record_nfields (rec) != 0)
            s_die ("blank line with fields", off);
        if (csv_record_lines (rec) < 1)
            s_die ("record of no lines", off);
        sum_lines += rc == 2 ? 1 : csv_record_lines (rec);
        s_buf_add_record (&whole, rc, rec);
        starts [nstarts++] = off;
        off += consumed;
    }
    if (off != len)
        s_die ("consumed does not add up to the input", off);
    int64_t newlines = 0;
    for (size_t i = bom; i < len; i++)
        newlines += text [i] == '\n';
    int64_t physical = newlines + (len > bom && text [len - 1] != '\n');
    if (sum_lines != physical)
        s_die ("record lines do not add up to the physical lines", (size_t) sum_lines);

    /*  2. Fed in growing prefixes, each from an exactly sized copy. */
    unsigned seed = (unsigned) size * 2654435761u + opt;
    s_buf_t fed = { 0 };
    off = bom;
    size_t avail = bom + (len > bom ? s_next (&seed) % (len - bom + 1) : 0);
    while (off < len) {
        bool eof = avail == len;
        size_t n = avail - off;
        char *copy = malloc (n ? n : 1);
        if (!copy)
            s_die ("out of memory", n);
        memcpy (copy, text + off, n);
        size_t consumed = 0;
        int rc = csv_parse_record (&fmt, copy, n, eof, rec, &consumed, NULL, 0);
        free (copy);
        if (rc == 0) {
            if (eof || consumed != 0)
                s_die ("need more input at eof", off);
            size_t step = 1 + s_next (&seed) % 8;
            avail = len - avail > step ? avail + step : len;
            continue;
        }
        if (consumed == 0 || consumed > n)
            s_die ("bad consumed when fed", off);
        s_buf_add_record (&fed, rc, rec);
        off += consumed;
    }
    if (fed.len != whole.len || (whole.len && memcmp (fed.data, whole.data, whole.len)))
        s_die ("fed parse differs from the whole parse", 0);
    csv_record_destroy (&rec);

    /*  3. csv_split against the record starts. */
    csv_boundary_t *out;
    size_t count;
    int64_t bytes, lines;
    s_split (&fmt, text, len, chunk, 0, 0, &out, &count, &bytes, &lines);
    if (bytes != (int64_t) len || lines != physical)
        s_die ("split totals", (size_t) lines);
    /*  Expected: the first boundary, then each record start at least
        chunk bytes after the previous boundary (record starts are all
        before the end; the header's and the first's are <= first). */
    size_t first = bom;
    if (fmt.header)
        first = nstarts >= 2 ? starts [1] : len;
    size_t k = 0;
    size_t at = bom;
    int64_t line = 1;
    int64_t last = -1;
    for (size_t i = 0; i <= nstarts; i++) {
        size_t s = i == 0 ? first : starts [i - 1];
        if (i > 0 && (s <= first || (int64_t) s - last < chunk))
            continue;
        last = (int64_t) s;
        for (; at < s; at++)
            line += text [at] == '\n';
        if (k >= count || out [k].offset != (int64_t) s || out [k].line != line)
            s_die ("split boundary differs from the parser's record start", s);
        if (k && out [k].offset <= out [k - 1].offset)
            s_die ("boundaries not increasing", k);
        k++;
    }
    if (k != count)
        s_die ("split has extra boundaries", count);

    csv_boundary_t *again;
    size_t again_count;
    s_split (&fmt, text, len, chunk, 1, 0, &again, &again_count, &bytes, &lines);
    if (again_count != count || memcmp (again, out, count * sizeof *out) || lines != physical)
        s_die ("split differs with 1-byte reads", again_count);
    free (again);
    s_split (&fmt, text, len, chunk, 17, seed | 1, &again, &again_count, &bytes, &lines);
    if (again_count != count || memcmp (again, out, count * sizeof *out) || lines != physical)
        s_die ("split differs with random reads", again_count);
    free (again);

    free (out);
    free (starts);
    free (whole.data);
    free (fed.data);
    return 0;
}
