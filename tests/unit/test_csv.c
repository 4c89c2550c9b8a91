/*  tests/unit/test_csv.c: common/csv: the record parser against a corpus
    of one case per line (column counts, CRLF, blank lines, quoted
    delimiters / quotes / newlines, NULL marker vs "", custom null,
    escape '\\', TSV without quoting, NUL bytes, unterminated quotes),
    each case also parsed incrementally at every split point from exactly
    sized buffers (so ASan sees any read past the end); need-more-input
    cases; line counting; arena reuse and growth. csv_split against the
    parser as reference: boundaries are exactly the record starts the
    chunk rule picks, never inside quotes, with the right line numbers,
    whatever the read sizes (1-byte reads too) and across its 1 MiB
    blocks; header, BOM, totals and read errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* ---- helpers ---- */

/*  A growable byte string. */
typedef struct {
    char *data;
    size_t len;
    size_t size;
} s_str_t;

static void
s_str_add (s_str_t *self, const char *p, size_t n)
{
    if (self->len + n + 1 > self->size) {
        self->size = (self->len + n + 1) * 2;
        self->data = realloc (self->data, self->size);
        assert_non_null (self->data);
    }
    memcpy (self->data + self->len, p, n);
    self->len += n;
    self->data [self->len] = '\0';
}

static void
s_str_adds (s_str_t *self, const char *s)
{
    s_str_add (self, s, strlen (s));
}

/*  Appends one parse result in the corpus notation:
      L<lines>[Z]:f1|f2   a record (Z: has a NUL), <N> for a NULL field
      B                   a blank line
      E<lines>:f1|...     an unterminated quote at eof (fields so far)
    Field bytes \n \r \0 \t \\ | are written as escapes. */
static void
s_str_add_result (s_str_t *self, int rc, const csv_record_t *rec)
{
    if (self->len)
        s_str_adds (self, " ; ");
    if (rc == 2) {
        s_str_adds (self, "B");
        return;
    }
    assert_true (rc == 1 || rc == -1);
    char head [32];
    snprintf (head, sizeof head, "%c%d%s:", rc == 1 ? 'L' : 'E', csv_record_lines (rec),
              csv_record_has_nul (rec) ? "Z" : "");
    s_str_adds (self, head);
    for (int i = 0; i < csv_record_nfields (rec); i++) {
        if (i)
            s_str_adds (self, "|");
        size_t n;
        const char *f = csv_record_field (rec, i, &n);
        if (!f) {
            s_str_adds (self, "<N>");
            continue;
        }
        assert_int_equal (f [n], '\0');
        for (size_t k = 0; k < n; k++) {
            switch (f [k]) {
                case '\n': s_str_adds (self, "\\n"); break;
                case '\r': s_str_adds (self, "\\r"); break;
                case '\0': s_str_adds (self, "\\0"); break;
                case '\t': s_str_adds (self, "\\t"); break;
                case '\\': s_str_adds (self, "\\\\"); break;
                case '|':  s_str_adds (self, "\\|"); break;
                default:   s_str_add (self, f + k, 1);
            }
        }
    }
}

/*  Parses buf[off, avail) from a copy of exactly that size (so ASan
    catches any read past it). */
static int
s_parse_exact (const csv_format_t *fmt, const char *input, size_t off, size_t avail, bool eof,
               csv_record_t *rec, size_t *consumed, char *err, size_t errlen)
{
    size_t n = avail - off;
    char *copy = malloc (n ? n : 1);
    assert_non_null (copy);
    memcpy (copy, input + off, n);
    int rc = csv_parse_record (fmt, n ? copy : NULL, n, eof, rec, consumed, err, errlen);
    free (copy);
    return rc;
}

/*  Parses the whole input at eof, record by record, from one exactly
    sized copy; returns the notation (caller frees) and optionally the
    record starts (caller frees). */
static char *
s_parse_all (const csv_format_t *fmt, const char *input, size_t len,
             size_t **starts_p, size_t *nstarts_p)
{
    csv_record_t *rec = csv_record_new ();
    s_str_t out = { 0 };
    s_str_adds (&out, "");
    out.len = 0;
    char *copy = malloc (len ? len : 1);
    assert_non_null (copy);
    memcpy (copy, input, len);
    /*  Records <= lines + 1: one allocation, however large the input. */
    size_t size = 1;
    for (size_t i = 0; starts_p && i < len; i++)
        size += input [i] == '\n';
    size_t *starts = malloc (size * sizeof *starts), nstarts = 0;
    assert_non_null (starts);
    size_t off = 0;
    while (off < len) {
        size_t consumed = 12345;
        char err [64] = "";
        int rc = csv_parse_record (fmt, copy + off, len - off, true, rec, &consumed,
                                   err, sizeof err);
        assert_int_not_equal (rc, 0);
        assert_true (consumed > 0 && consumed <= len - off);
        if (rc == -1) {
            assert_string_equal (err, "unterminated quoted field");
            assert_int_equal (consumed, len - off);
        }
        if (!starts_p || len < 4096)
            s_str_add_result (&out, rc, rec);
        if (starts_p) {
            assert_true (nstarts < size);
            starts [nstarts++] = off;
        }
        off += consumed;
    }
    free (copy);
    csv_record_destroy (&rec);
    if (starts_p) {
        *starts_p = starts;
        *nstarts_p = nstarts;
    }
    else
        free (starts);
    return out.data;
}

/*  Parses the input as a reader would: the first `first` bytes, then
    `step` more each time the parser asks for more; eof once all is in. */
static char *
s_parse_fed (const csv_format_t *fmt, const char *input, size_t len, size_t first, size_t step)
{
    csv_record_t *rec = csv_record_new ();
    s_str_t out = { 0 };
    s_str_adds (&out, "");
    out.len = 0;
    size_t off = 0;
    size_t avail = first < len ? first : len;
    while (off < len) {
        bool eof = avail == len;
        size_t consumed = 12345;
        int rc = s_parse_exact (fmt, input, off, avail, eof, rec, &consumed, NULL, 0);
        if (rc == 0) {
            assert_false (eof);
            assert_int_equal (consumed, 0);
            avail = avail + step < len ? avail + step : len;
            continue;
        }
        assert_true (consumed > 0 && consumed <= avail - off);
        s_str_add_result (&out, rc, rec);
        off += consumed;
    }
    csv_record_destroy (&rec);
    return out.data;
}

typedef enum {
    F_CSV,                      /* defaults: ',' '"' '"' null "" */
    F_NULLN,                    /* null "\N" */
    F_ESC,                      /* escape '\\' */
    F_TSV,                      /* '\t', no quoting, null "\N" */
    F_SEMI                      /* ';', quote '\'', null "NULL" */
} s_fmt_id_t;

static csv_format_t
s_fmt (s_fmt_id_t id)
{
    csv_format_t fmt;
    csv_format_default (&fmt);
    switch (id) {
        case F_CSV:
            break;
        case F_NULLN:
            fmt.null_marker = "\\N";
            break;
        case F_ESC:
            fmt.escape = '\\';
            break;
        case F_TSV:
            fmt.delimiter = '\t';
            fmt.quote = 0;
            fmt.escape = 0;
            fmt.null_marker = "\\N";
            break;
        case F_SEMI:
            fmt.delimiter = ';';
            fmt.quote = '\'';
            fmt.escape = '\'';
            fmt.null_marker = "NULL";
            break;
    }
    return fmt;
}

/* ---- the corpus: one case per line ---- */

#define S(lit) lit, sizeof (lit) - 1

typedef struct {
    s_fmt_id_t fmt;
    const char *input;
    size_t len;
    const char *expect;
} s_case_t;

static const s_case_t s_corpus [] = {
    { F_CSV,   S("a,b,c\n1,2,3\n"),                "L1:a|b|c ; L1:1|2|3" },
    { F_CSV,   S("a,b\nc,d"),                      "L1:a|b ; L1:c|d" },
    { F_CSV,   S("a,b\nc\nd,e,f\n,\n"),            "L1:a|b ; L1:c ; L1:d|e|f ; L1:<N>|<N>" },
    { F_CSV,   S("a,b\r\nc,d\r\n"),                "L1:a|b ; L1:c|d" },
    { F_CSV,   S("a,b\r\nc,d\ne\r\n"),             "L1:a|b ; L1:c|d ; L1:e" },
    { F_CSV,   S("\n\r\na\n\n\r\nb\r\n\n"),        "B ; B ; L1:a ; B ; B ; L1:b ; B" },
    { F_CSV,   S("\n"),                            "B" },
    { F_CSV,   S("a\rb,c\r\n"),                    "L1:a\\rb|c" },
    { F_CSV,   S("a,b\r"),                         "L1:a|b\\r" },
    { F_CSV,   S("\r"),                            "L1:\\r" },
    { F_CSV,   S("\rx\n"),                         "L1:\\rx" },
    { F_CSV,   S("\"a,b\",c\n"),                   "L1:a,b|c" },
    { F_CSV,   S("\"say \"\"hi\"\"\",x\n"),        "L1:say \"hi\"|x" },
    { F_CSV,   S("\"\"\"\"\n"),                    "L1:\"" },
    { F_CSV,   S("\"x\ny\",z\nw\n"),               "L2:x\\ny|z ; L1:w" },
    { F_CSV,   S("\"x\r\ny\r\n\",z\r\n"),          "L3:x\\r\\ny\\r\\n|z" },
    { F_CSV,   S("\"a\n\n\nb\"\n"),                "L4:a\\n\\n\\nb" },
    { F_CSV,   S("\"a\n\""),                       "L2:a\\n" },
    { F_CSV,   S("a,,\"\",b,\n"),                  "L1:a|<N>||b|<N>" },
    { F_CSV,   S("\"\"\n"),                        "L1:" },
    { F_CSV,   S(",\n"),                           "L1:<N>|<N>" },
    { F_CSV,   S(" a , b \n"),                     "L1: a | b " },
    { F_CSV,   S("ab\"cd\"\n"),                    "L1:ab\"cd\"" },
    { F_CSV,   S("a\"b,\"c\nd\"\n"),               "L2:a\"b|c\\nd" },
    { F_CSV,   S("x\"y\nz\"\n"),                   "L1:x\"y ; L1:z\"" },
    { F_CSV,   S("\"ab\"cd,e\n"),                  "L1:abcd|e" },
    { F_CSV,   S("\"ab\"c\"d\n"),                  "L1:abc\"d" },
    { F_CSV,   S("\"ab\"\r\n"),                    "L1:ab" },
    { F_CSV,   S("\"ab\"\rx\n"),                   "L1:ab\\rx" },
    { F_CSV,   S("\"a\",\"b\"\n\"c\"\n"),          "L1:a|b ; L1:c" },
    { F_CSV,   S("a,\"bc\nd"),                     "E2:a|bc\\nd" },
    { F_CSV,   S("a\n\"b\nc\n"),                   "L1:a ; E2:b\\nc\\n" },
    { F_CSV,   S("\"a\"\"\n"),                     "E1:a\"\\n" },
    { F_CSV,   S("\""),                            "E1:" },
    { F_CSV,   S("a\\b,\\N\n"),                    "L1:a\\\\b|\\\\N" },
    { F_CSV,   S("a\0b,c\nd\n"),                   "L1Z:a\\0b|c ; L1:d" },
    { F_CSV,   S("\"\0\",\"x\n\"\n"),              "L2Z:\\0|x\\n" },
    { F_NULLN, S("\\N,,\"\\N\",\"\",N\n"),         "L1:<N>||\\\\N||N" },
    { F_NULLN, S("\\N\r\n\\Nx,x\\N\n"),            "L1:<N> ; L1:\\\\Nx|x\\\\N" },
    { F_ESC,   S("\"a\\\"b\",\"c\\\\d\"\n"),       "L1:a\"b|c\\\\d" },
    { F_ESC,   S("\"e\\nf\",x\\y,\\\"\n"),         "L1:e\\\\nf|x\\\\y|\\\\\"" },
    { F_ESC,   S("\"a\"\"b\"\n"),                  "L1:a\"b\"" },
    { F_ESC,   S("\"a\\\n\",b\n"),                 "L2:a\\\\\\n|b" },
    { F_ESC,   S("\"a\\\\\",\"\\\"\"\n"),          "L1:a\\\\|\"" },
    { F_ESC,   S("\"a\\\",\nb\"\nc\n"),            "L2:a\",\\nb ; L1:c" },
    { F_ESC,   S("\"\\\\\\\"\n\"\nx\n"),           "L2:\\\\\"\\n ; L1:x" },
    { F_ESC,   S("\"a\\\""),                       "E1:a\"" },
    { F_ESC,   S("\"a\\"),                         "E1:a\\\\" },
    { F_TSV,   S("a\t\"b\"\t\n"),                  "L1:a|\"b\"|" },
    { F_TSV,   S("\\N\tx\r\n\n\"a\nb\"\n"),        "L1:<N>|x ; B ; L1:\"a ; L1:b\"" },
    { F_TSV,   S("a,b\tc\n"),                      "L1:a,b|c" },
    { F_SEMI,  S("'a;b';NULL;'NULL';''''\n"),      "L1:a;b|<N>|NULL|'" },
    { F_SEMI,  S("\"x\";;y\n"),                    "L1:\"x\"||y" },
};

static void
test_corpus_whole (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_corpus / sizeof s_corpus [0]; i++) {
        const s_case_t *c = &s_corpus [i];
        csv_format_t fmt = s_fmt (c->fmt);
        char *got = s_parse_all (&fmt, c->input, c->len, NULL, NULL);
        if (strcmp (got, c->expect) != 0)
            fail_msg ("corpus case %zu: expected [%s] got [%s]", i, c->expect, got);
        free (got);
    }
}

/*  Need-more-input at every split point: the first k bytes without eof,
    then the rest, must parse exactly like the whole; so must growing the
    buffer one byte at a time. */
static void
test_corpus_incremental (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_corpus / sizeof s_corpus [0]; i++) {
        const s_case_t *c = &s_corpus [i];
        csv_format_t fmt = s_fmt (c->fmt);
        for (size_t k = 0; k <= c->len; k++) {
            char *got = s_parse_fed (&fmt, c->input, c->len, k, c->len);
            if (strcmp (got, c->expect) != 0)
                fail_msg ("corpus case %zu split at %zu: expected [%s] got [%s]",
                          i, k, c->expect, got);
            free (got);
        }
        char *got = s_parse_fed (&fmt, c->input, c->len, 0, 1);
        if (strcmp (got, c->expect) != 0)
            fail_msg ("corpus case %zu byte by byte: expected [%s] got [%s]", i, c->expect, got);
        free (got);
    }
}

/* ---- parser specifics ---- */

static void
test_format_default (void **state)
{
    (void) state;
    csv_format_t fmt;
    memset (&fmt, 0x55, sizeof fmt);
    csv_format_default (&fmt);
    assert_int_equal (fmt.delimiter, ',');
    assert_int_equal (fmt.quote, '"');
    assert_int_equal (fmt.escape, '"');
    assert_false (fmt.header);
    assert_string_equal (fmt.null_marker, "");
}

static int
s_parse (const csv_format_t *fmt, const char *s, bool eof, csv_record_t *rec, size_t *consumed)
{
    return s_parse_exact (fmt, s, 0, strlen (s), eof, rec, consumed, NULL, 0);
}

static void
test_need_more (void **state)
{
    (void) state;
    csv_format_t fmt = s_fmt (F_CSV);
    csv_format_t esc = s_fmt (F_ESC);
    csv_record_t *rec = csv_record_new ();
    size_t consumed = 99;
    /*  Incomplete records without eof: no newline yet, a trailing CR, an
        open quote, a quote or escape that may pair with the next byte. */
    const char *partial [] = { "a,b", "a,b\r", "a,", "\"a\n", "\"a\"", "\"a\"\"", "\r", "\"a\"x" };
    for (size_t i = 0; i < sizeof partial / sizeof partial [0]; i++) {
        assert_int_equal (s_parse (&fmt, partial [i], false, rec, &consumed), 0);
        assert_int_equal (consumed, 0);
        assert_int_equal (csv_record_nfields (rec), 0);
    }
    assert_int_equal (s_parse (&esc, "\"a\\", false, rec, &consumed), 0);
    assert_int_equal (s_parse (&esc, "\"a\\\"", false, rec, &consumed), 0);

    /*  The same at eof are records. */
    assert_int_equal (s_parse (&fmt, "a,b", true, rec, &consumed), 1);
    assert_int_equal (consumed, 3);
    assert_int_equal (csv_record_nfields (rec), 2);
    assert_int_equal (s_parse (&fmt, "\"a\"", true, rec, &consumed), 1);
    assert_int_equal (consumed, 3);
    assert_string_equal (csv_record_field (rec, 0, NULL), "a");
    assert_int_equal (s_parse (&fmt, "a,", true, rec, &consumed), 1);
    assert_int_equal (csv_record_nfields (rec), 2);
    assert_null (csv_record_field (rec, 1, NULL));

    /*  A complete first record is returned though the next is partial. */
    assert_int_equal (s_parse (&fmt, "a,b\nc,\"d", false, rec, &consumed), 1);
    assert_int_equal (consumed, 4);
    assert_int_equal (s_parse (&fmt, "a,b\r\nc", false, rec, &consumed), 1);
    assert_int_equal (consumed, 5);
    assert_int_equal (s_parse (&fmt, "\r\nx", false, rec, &consumed), 2);
    assert_int_equal (consumed, 2);

    /*  Nothing at all: 0 and nothing consumed, with or without eof. */
    assert_int_equal (csv_parse_record (&fmt, NULL, 0, false, rec, &consumed, NULL, 0), 0);
    assert_int_equal (csv_parse_record (&fmt, "", 0, true, rec, &consumed, NULL, 0), 0);
    assert_int_equal (consumed, 0);
    csv_record_destroy (&rec);
    assert_null (rec);
    csv_record_destroy (&rec);
}

static void
test_unterminated (void **state)
{
    (void) state;
    csv_format_t fmt = s_fmt (F_CSV);
    csv_record_t *rec = csv_record_new ();
    const char *input = "a,\"bc\nd,e\n";
    size_t consumed = 0;
    char err [64] = "";
    int rc = csv_parse_record (&fmt, input, strlen (input), true, rec, &consumed, err, sizeof err);
    assert_int_equal (rc, -1);
    assert_int_equal (consumed, strlen (input));
    assert_string_equal (err, "unterminated quoted field");
    /*  Two physical lines: the final newline ends the second. */
    assert_int_equal (csv_record_lines (rec), 2);
    /*  A tiny error buffer is fine, and so is none. */
    char small [4];
    rc = csv_parse_record (&fmt, input, strlen (input), true, rec, &consumed, small, sizeof small);
    assert_int_equal (rc, -1);
    assert_string_equal (small, "unt");
    rc = csv_parse_record (&fmt, input, strlen (input), true, rec, &consumed, NULL, 0);
    assert_int_equal (rc, -1);
    csv_record_destroy (&rec);
}

static void
test_fields_and_lengths (void **state)
{
    (void) state;
    csv_format_t fmt = s_fmt (F_CSV);
    csv_record_t *rec = csv_record_new ();
    size_t consumed, len = 99;
    const char input [] = "\"x\0y\",,\"\",abc\n";
    int rc = csv_parse_record (&fmt, input, sizeof input - 1, false, rec, &consumed, NULL, 0);
    assert_int_equal (rc, 1);
    assert_int_equal (consumed, sizeof input - 1);
    assert_int_equal (csv_record_nfields (rec), 4);
    assert_true (csv_record_has_nul (rec));
    const char *f = csv_record_field (rec, 0, &len);
    assert_int_equal (len, 3);
    assert_memory_equal (f, "x\0y", 4);
    assert_null (csv_record_field (rec, 1, &len));
    assert_int_equal (len, 0);
    f = csv_record_field (rec, 2, &len);
    assert_non_null (f);
    assert_int_equal (len, 0);
    assert_string_equal (csv_record_field (rec, 3, NULL), "abc");
    /*  The flags are per record. */
    rc = csv_parse_record (&fmt, "q\n", 2, false, rec, &consumed, NULL, 0);
    assert_int_equal (rc, 1);
    assert_false (csv_record_has_nul (rec));
    assert_int_equal (csv_record_lines (rec), 1);
    /*  A blank line leaves an empty record. */
    rc = csv_parse_record (&fmt, "\n", 1, false, rec, &consumed, NULL, 0);
    assert_int_equal (rc, 2);
    assert_int_equal (csv_record_nfields (rec), 0);
    csv_record_destroy (&rec);
}

/*  The record object is reused: big fields and many fields grow it, and
    later small records parse the same. */
static void
test_arena_growth (void **state)
{
    (void) state;
    csv_format_t fmt = s_fmt (F_CSV);
    csv_record_t *rec = csv_record_new ();
    size_t big = 300 * 1000;
    s_str_t in = { 0 };
    s_str_adds (&in, "\"");
    for (size_t i = 0; i < big / 10; i++)
        s_str_adds (&in, "ab\"\"cd\nef,");
    s_str_adds (&in, "\",");
    for (int i = 0; i < 5000; i++)
        s_str_adds (&in, i % 2 ? "x," : "\"y\",");
    s_str_adds (&in, "z\nsmall,row\n");
    size_t consumed;
    int rc = csv_parse_record (&fmt, in.data, in.len, false, rec, &consumed, NULL, 0);
    assert_int_equal (rc, 1);
    assert_int_equal (csv_record_nfields (rec), 5002);
    assert_int_equal (csv_record_lines (rec), (int) (big / 10) + 1);
    size_t len;
    const char *f = csv_record_field (rec, 0, &len);
    assert_int_equal (len, big / 10 * 9);
    assert_memory_equal (f, "ab\"cd\nef,ab\"cd", 14);
    assert_string_equal (csv_record_field (rec, 1, NULL), "y");
    assert_string_equal (csv_record_field (rec, 2, NULL), "x");
    assert_string_equal (csv_record_field (rec, 5001, NULL), "z");
    rc = csv_parse_record (&fmt, in.data + consumed, in.len - consumed, false, rec, &consumed,
                           NULL, 0);
    assert_int_equal (rc, 1);
    assert_int_equal (csv_record_nfields (rec), 2);
    assert_string_equal (csv_record_field (rec, 1, NULL), "row");
    free (in.data);
    csv_record_destroy (&rec);
}

static void
test_bom_len (void **state)
{
    (void) state;
    assert_int_equal (csv_bom_len ("\xEF\xBB\xBF" "a,b\n", 7), 3);
    assert_int_equal (csv_bom_len ("\xEF\xBB\xBF", 3), 3);
    assert_int_equal (csv_bom_len ("\xEF\xBB", 2), 0);
    assert_int_equal (csv_bom_len ("\xEF\xBB\xBE", 3), 0);
    assert_int_equal (csv_bom_len ("a,b", 3), 0);
    assert_int_equal (csv_bom_len (NULL, 0), 0);
    /*  Callers skip it, then parse. */
    csv_format_t fmt = s_fmt (F_CSV);
    const char *input = "\xEF\xBB\xBF" "a,b\n";
    size_t bom = csv_bom_len (input, strlen (input));
    char *got = s_parse_all (&fmt, input + bom, strlen (input) - bom, NULL, NULL);
    assert_string_equal (got, "L1:a|b");
    free (got);
}

/* ---- csv_split ---- */

typedef struct {
    const char *data;
    size_t len;
    size_t off;
    size_t max_read;            /* 0: as much as asked */
    unsigned seed;              /* nonzero: random read sizes up to max_read */
    int64_t fail_at;            /* fail the read that starts at or past this, -1 never */
} s_reader_t;

static int64_t
s_read (void *arg, char *buf, size_t size)
{
    s_reader_t *self = arg;
    if (self->fail_at >= 0 && (int64_t) self->off >= self->fail_at)
        return -1;
    size_t n = self->len - self->off;
    if (n > size)
        n = size;
    size_t cap = self->max_read;
    if (cap && self->seed) {
        self->seed = self->seed * 1103515245u + 12345u;
        cap = 1 + (self->seed >> 16) % cap;
    }
    if (cap && n > cap)
        n = cap;
    memcpy (buf, self->data + self->off, n);
    self->off += n;
    return (int64_t) n;
}

/*  The line of offset `to`, counting from a cursor at `*at` on line
    `*line` (to >= *at); moves the cursor to `to`. */
static int64_t
s_line_at (const char *input, size_t *at, int64_t *line, size_t to)
{
    for (; *at < to; (*at)++)
        *line += input [*at] == '\n';
    return *line;
}

/*  Runs csv_split with the given read pattern and checks it against the
    parser: the first boundary (after the BOM, after the header), then
    exactly the record starts the chunk rule picks, with their lines, and
    the totals. */
static void
s_check_split (const csv_format_t *fmt, const char *input, size_t len, int64_t chunk,
               size_t max_read, unsigned seed)
{
    size_t bom = csv_bom_len (input, len);
    size_t *starts, nstarts;
    char *parsed = s_parse_all (fmt, input + bom, len - bom, &starts, &nstarts);
    free (parsed);

    csv_boundary_t *expect = malloc ((nstarts + 1) * sizeof *expect);
    assert_non_null (expect);
    size_t nexpect = 0;
    size_t first = bom;
    size_t from = 0;
    if (fmt->header) {
        first = nstarts >= 2 ? bom + starts [1] : len;
        from = 2;
    }
    size_t cursor = bom;
    int64_t cursor_line = 1;
    expect [nexpect].offset = (int64_t) first;
    expect [nexpect++].line = s_line_at (input, &cursor, &cursor_line, first);
    int64_t last = (int64_t) first;
    for (size_t i = from; i < nstarts; i++) {
        int64_t s = (int64_t) (bom + starts [i]);
        if (s <= (int64_t) first || s - last < chunk)
            continue;
        expect [nexpect].offset = s;
        expect [nexpect++].line = s_line_at (input, &cursor, &cursor_line, (size_t) s);
        last = s;
    }
    free (starts);
    int64_t expect_lines = s_line_at (input, &cursor, &cursor_line, len) - 1
                         + (len > bom && input [len - 1] != '\n');

    s_reader_t reader = { input, len, 0, max_read, seed, -1 };
    csv_boundary_t *out = NULL;
    size_t count = 0;
    int64_t total_bytes = -1, total_lines = -1;
    char err [128] = "";
    int rc = csv_split (s_read, &reader, fmt, chunk, &out, &count, &total_bytes, &total_lines,
                        err, sizeof err);
    assert_int_equal (rc, 0);
    assert_int_equal (total_bytes, (int64_t) len);
    if (total_lines != expect_lines)
        fail_msg ("split lines: expected %lld got %lld", (long long) expect_lines,
                  (long long) total_lines);
    bool same = count == nexpect;
    for (size_t i = 0; same && i < count; i++)
        same = out [i].offset == expect [i].offset && out [i].line == expect [i].line;
    if (!same) {
        fprintf (stderr, "split of %zu bytes, chunk %lld, header %d, reads %zu/%u:\n", len,
                 (long long) chunk, fmt->header, max_read, seed);
        for (size_t i = 0; i < count || i < nexpect; i++)
            fprintf (stderr, "  [%zu] got %lld:%lld expected %lld:%lld\n", i,
                     i < count ? (long long) out [i].offset : -1LL,
                     i < count ? (long long) out [i].line : -1LL,
                     i < nexpect ? (long long) expect [i].offset : -1LL,
                     i < nexpect ? (long long) expect [i].line : -1LL);
        fail_msg ("split boundaries differ");
    }
    free (out);
    free (expect);
}

/*  Every corpus case plain, with a header, and with a BOM and a header;
    tiny and large chunks with whole reads, and 1-byte and random reads.
    (Each csv_split takes a 1 MiB block, which ASan maps and unmaps: the
    combinations are few enough to keep this test quick.) */
static void
test_split_corpus (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_corpus / sizeof s_corpus [0]; i++) {
        const s_case_t *c = &s_corpus [i];
        for (int variant = 0; variant < 3; variant++) {
            csv_format_t fmt = s_fmt (c->fmt);
            fmt.header = variant > 0;
            s_str_t in = { 0 };
            s_str_adds (&in, variant == 2 ? "\xEF\xBB\xBF" : "");
            s_str_add (&in, c->input, c->len);
            s_check_split (&fmt, in.data, in.len, 1, 0, 0);
            s_check_split (&fmt, in.data, in.len, 3, 0, 0);
            s_check_split (&fmt, in.data, in.len, 1 << 20, 0, 0);
            s_check_split (&fmt, in.data, in.len, 1, 1, 0);
            s_check_split (&fmt, in.data, in.len, 2, 3, 7);
            free (in.data);
        }
    }
}

static void
test_split_basic (void **state)
{
    (void) state;
    csv_format_t fmt = s_fmt (F_CSV);
    /*  Lines 1, 2-3 (a quoted newline), 4, 5. */
    const char *input = "id,v\n1,\"a\nb\"\n2,c\n3,d\n";
    s_reader_t reader = { input, strlen (input), 0, 0, 0, -1 };
    csv_boundary_t *out;
    size_t count;
    int64_t bytes, lines;
    char err [64];
    assert_int_equal (csv_split (s_read, &reader, &fmt, 1, &out, &count, &bytes, &lines,
                                 err, sizeof err), 0);
    assert_int_equal (count, 4);
    assert_int_equal (bytes, strlen (input));
    assert_int_equal (lines, 5);
    int64_t offsets [] = { 0, 5, 13, 17 }, at [] = { 1, 2, 4, 5 };
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (out [i].offset, offsets [i]);
        assert_int_equal (out [i].line, at [i]);
    }
    free (out);

    /*  Header: the first boundary is after it; chunks of at least 9
        bytes from there. */
    fmt.header = true;
    reader.off = 0;
    assert_int_equal (csv_split (s_read, &reader, &fmt, 9, &out, &count, &bytes, &lines,
                                 err, sizeof err), 0);
    assert_int_equal (count, 2);
    assert_int_equal (out [0].offset, 5);
    assert_int_equal (out [0].line, 2);
    assert_int_equal (out [1].offset, 17);
    assert_int_equal (out [1].line, 5);
    free (out);

    /*  A header with a quoted newline; a header alone; nothing at all. */
    const char *quoted_header = "\"i\nd\",v\n1,2\n";
    reader = (s_reader_t) { quoted_header, strlen (quoted_header), 0, 0, 0, -1 };
    assert_int_equal (csv_split (s_read, &reader, &fmt, 1 << 20, &out, &count, &bytes, &lines,
                                 err, sizeof err), 0);
    assert_int_equal (count, 1);
    assert_int_equal (out [0].offset, 8);
    assert_int_equal (out [0].line, 3);
    assert_int_equal (lines, 3);
    free (out);
    reader = (s_reader_t) { "id,v", 4, 0, 0, 0, -1 };
    assert_int_equal (csv_split (s_read, &reader, &fmt, 1, &out, &count, &bytes, &lines,
                                 err, sizeof err), 0);
    assert_int_equal (count, 1);
    assert_int_equal (out [0].offset, 4);
    assert_int_equal (lines, 1);
    free (out);
    fmt.header = false;
    reader = (s_reader_t) { "", 0, 0, 0, 0, -1 };
    assert_int_equal (csv_split (s_read, &reader, &fmt, 1, &out, &count, &bytes, &lines,
                                 err, sizeof err), 0);
    assert_int_equal (count, 1);
    assert_int_equal (out [0].offset, 0);
    assert_int_equal (out [0].line, 1);
    assert_int_equal (bytes, 0);
    assert_int_equal (lines, 0);
    free (out);

    /*  BOM: skipped, counted in the size. */
    const char *bommed = "\xEF\xBB\xBF" "a\nb";
    reader = (s_reader_t) { bommed, strlen (bommed), 0, 1, 0, -1 };
    assert_int_equal (csv_split (s_read, &reader, &fmt, 1, &out, &count, &bytes, &lines,
                                 err, sizeof err), 0);
    assert_int_equal (count, 2);
    assert_int_equal (out [0].offset, 3);
    assert_int_equal (out [0].line, 1);
    assert_int_equal (out [1].offset, 5);
    assert_int_equal (out [1].line, 2);
    assert_int_equal (bytes, 6);
    assert_int_equal (lines, 2);
    free (out);
}

static void s_add_at (s_str_t *in, size_t at, const char *pattern);

/*  Header and boundaries on inputs long enough for the 64-byte path. */
static void
test_split_header_long (void **state)
{
    (void) state;
    s_str_t in = { 0 };
    s_str_adds (&in, "id,name,\"a long header, with \"\"quotes\"\" and a\nnewline\"\n");
    s_add_at (&in, 5000, "1,\"x\ny\",\"\"\"z\"\"\"\n");
    s_add_at (&in, 9000, "2,\"\",\n");
    const int64_t chunks [] = { 1, 100, 1000, 1 << 20 };
    for (int esc = 0; esc < 2; esc++) {
        csv_format_t fmt = s_fmt (esc ? F_ESC : F_CSV);
        fmt.header = true;
        for (size_t k = 0; k < sizeof chunks / sizeof chunks [0]; k++)
            s_check_split (&fmt, in.data, in.len, chunks [k], 0, 0);
        fmt.header = false;
        s_check_split (&fmt, in.data, in.len, 1000, 0, 0);
    }
    free (in.data);
}

static void
test_split_read_error (void **state)
{
    (void) state;
    csv_format_t fmt = s_fmt (F_CSV);
    const char *input = "a\nb\nc\n";
    s_reader_t reader = { input, strlen (input), 0, 2, 0, 3 };
    csv_boundary_t *out = (csv_boundary_t *) &reader;
    size_t count = 7;
    int64_t bytes, lines;
    char err [128] = "";
    assert_int_equal (csv_split (s_read, &reader, &fmt, 1, &out, &count, &bytes, &lines,
                                 err, sizeof err), -1);
    assert_null (out);
    assert_int_equal (count, 0);
    assert_non_null (strstr (err, "read failed"));
}

/*  Appends filler records of 100 bytes (and one shorter) up to offset
    `at`, then `pattern`. */
static void
s_add_at (s_str_t *in, size_t at, const char *pattern)
{
    static const char filler [] =
        "1234567,Customer 1234567,user1234567@example.com,12345.67,2024-03-15 12:34:56+00,A,42,,some notes..\n";
    _Static_assert (sizeof filler - 1 == 100, "filler is 100 bytes");
    while (in->len + 100 <= at)
        s_str_add (in, filler, 100);
    while (in->len + 1 < at)
        s_str_adds (in, "x");
    if (in->len < at)
        s_str_adds (in, "\n");
    s_str_adds (in, pattern);
}

/*  Quotes, doubled quotes, escapes, quoted newlines and stray quotes at
    every offset of a 64-byte group (the fast path and its fallback), and
    around the splitter's 1 MiB block boundaries (the only state carried
    between blocks: in quotes, last closing quote, last escape, previous
    byte): at the k-th boundary the pattern starts k - 14 bytes after it,
    so one input slides it across 17 positions. Whole and sliced reads. */
static void
test_split_block_edges (void **state)
{
    (void) state;
    /*  Patterns for escape == quote, then for escape '\\'; the first
        ones also slide across block boundaries. */
    const char *patterns [2][4] = {
        { "\"a\"\"b\",\"c\nd\"\n", "ab\"c,\"d\ne\"\n", "\"x\"\"\"\"\n", "\"\n\n\",\"\"\n" },
        { "\"e\\\"f\\\\\",\"g\\\nh\"\n", "\"q\"r\"s\"\n", NULL, NULL }
    };
    const size_t sliding [2] = { 2, 1 };
    const size_t mib = 1 << 20;
    s_str_t in = { 0 };
    for (int esc = 0; esc < 2; esc++) {
        csv_format_t fmt = s_fmt (esc ? F_ESC : F_CSV);
        for (size_t p = 0; p < 4 && patterns [esc][p]; p++) {
            in.len = 0;
            for (size_t shift = 0; shift < 64; shift++) {
                s_add_at (&in, (in.len / 64 + 2) * 64 + shift, patterns [esc][p]);
                s_str_adds (&in, "p,\"q\"\"r\n\"\ns,t\n");
            }
            s_check_split (&fmt, in.data, in.len, 1, 0, 0);
            if (p >= sliding [esc])
                continue;
            in.len = 0;
            for (size_t k = 0; k <= 16; k++)
                s_add_at (&in, (k + 1) * mib + k - 14, patterns [esc][p]);
            s_str_adds (&in, "s,t\n");
            s_check_split (&fmt, in.data, in.len, 1, 0, 0);
            s_check_split (&fmt, in.data, in.len, 4096, 4093, 0);
            s_check_split (&fmt, in.data, in.len, mib / 2, 100000, 12345);
        }
    }
    free (in.data);
}

/*  Random bytes from a CSV-ish alphabet, a few MiB: the fast 64-byte
    path, its fallback on stray quotes, and the block boundaries, against
    the parser, in every quoting mode. */
static void
test_split_random (void **state)
{
    (void) state;
    const char alphabet [] = "aaaaaaaabbbbcc,,,,\"\"\"\n\n\r\\ ";
    unsigned seed = 42;
    s_str_t in = { 0 };
    for (int round = 0; round < 4; round++) {
        in.len = 0;
        size_t len = round < 3 ? (size_t) 2500000 : 50000;
        s_str_add (&in, "", 0);
        while (in.len < len) {
            seed = seed * 1103515245u + 12345u;
            s_str_add (&in, &alphabet [(seed >> 16) % (sizeof alphabet - 1)], 1);
        }
        s_fmt_id_t ids [] = { F_CSV, F_ESC, F_TSV };
        csv_format_t fmt = s_fmt (ids [round % 3]);
        fmt.header = round == 1;
        s_check_split (&fmt, in.data, in.len, 50000, 0, 0);
        s_check_split (&fmt, in.data, in.len, 77777, 65536, 99);
        if (round == 3)
            s_check_split (&fmt, in.data, in.len, 3, 1, 0);
    }
    free (in.data);
}

/*  csv_scanner against the parser: fed the input in pieces (whole, one
    byte, random sizes), after each piece it reports the end of the last
    record the parser ends with a '\n' within the bytes fed so far, and the
    line there. */
static void
s_check_scanner (const csv_format_t *fmt, const char *input, size_t len, unsigned seed,
                 size_t max_piece)
{
    /*  ends[k]: ends of the records the parser closes with a '\n'. */
    size_t *ends = malloc ((len + 1) * sizeof *ends), nends = 0;
    assert_non_null (ends);
    char *copy = malloc (len ? len : 1);
    assert_non_null (copy);
    memcpy (copy, input, len);
    csv_record_t *rec = csv_record_new ();
    for (size_t off = 0; off < len;) {
        size_t consumed = 0;
        char err [64];
        int rc = csv_parse_record (fmt, copy + off, len - off, true, rec, &consumed, err, sizeof err);
        assert_true (consumed > 0);
        off += consumed;
        if (rc != -1 && input [off - 1] == '\n')
            ends [nends++] = off;
    }
    csv_record_destroy (&rec);
    free (copy);

    csv_scanner_t *scan = csv_scanner_new (fmt);
    size_t fed = 0, k = 0;
    int64_t lines = 0;
    while (fed < len) {
        size_t piece = len - fed;
        if (max_piece) {
            seed = seed * 1103515245u + 12345u;
            size_t cap = seed ? 1 + (seed >> 16) % max_piece : max_piece;
            if (piece > cap)
                piece = cap;
        }
        csv_scanner_feed (scan, input + fed, piece);
        for (size_t i = fed; i < fed + piece; i++)
            lines += input [i] == '\n';
        fed += piece;
        while (k < nends && ends [k] <= fed)
            k++;
        int64_t want = k ? (int64_t) ends [k - 1] : 0, want_line = 1;
        for (int64_t i = 0; i < want; i++)
            want_line += input [i] == '\n';
        int64_t line = -1;
        int64_t got = csv_scanner_record_end (scan, &line);
        if (got != want || line != want_line)
            fail_msg ("scanner after %zu of %zu bytes: record end %lld line %lld, expected %lld "
                      "line %lld", fed, len, (long long) got, (long long) line, (long long) want,
                      (long long) want_line);
        assert_int_equal (csv_scanner_lines (scan), lines);
    }
    csv_scanner_destroy (&scan);
    free (ends);
}

static void
test_scanner (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_corpus / sizeof s_corpus [0]; i++) {
        const s_case_t *c = &s_corpus [i];
        csv_format_t fmt = s_fmt (c->fmt);
        s_check_scanner (&fmt, c->input, c->len, 0, 0);
        s_check_scanner (&fmt, c->input, c->len, 0, 1);
        s_check_scanner (&fmt, c->input, c->len, 7, 5);
    }
    /*  Random bytes of the grammar's alphabet, every format, pieces from
        one byte to past the 64-byte SIMD blocks. */
    const char alphabet [] = "aaaaaaaabbbbcc,,,,\"\"\"\n\n\r\\ \t;'";
    unsigned seed = 4242;
    s_str_t in = { 0 };
    s_fmt_id_t ids [] = { F_CSV, F_ESC, F_TSV, F_SEMI };
    for (int round = 0; round < 12; round++) {
        in.len = 0;
        s_str_add (&in, "", 0);
        while (in.len < 20000) {
            seed = seed * 1103515245u + 12345u;
            s_str_add (&in, &alphabet [(seed >> 16) % (sizeof alphabet - 1)], 1);
        }
        csv_format_t fmt = s_fmt (ids [round % 4]);
        s_check_scanner (&fmt, in.data, in.len, 0, 0);
        s_check_scanner (&fmt, in.data, in.len, seed | 1, 200);
        if (round < 4)
            s_check_scanner (&fmt, in.data, in.len, 0, 1);
    }
    free (in.data);
}

/*  csv_scanner_mark / csv_scanner_first_end: the first record end after the
    mark, even when later records end in the same piece (the file reader
    dropping an over-long record needs it); quotes are followed across the
    mark. */
static void
test_scanner_mark (void **state)
{
    (void) state;
    csv_format_t fmt;
    csv_format_default (&fmt);
    csv_scanner_t *scan = csv_scanner_new (&fmt);
    assert_int_equal (csv_scanner_first_end (scan, NULL), -1);     /* no mark */
    const char *a = "1,x\n2,\"long";                     /* record 2 opens a quote */
    csv_scanner_feed (scan, a, strlen (a));
    csv_scanner_mark (scan);
    assert_int_equal (csv_scanner_first_end (scan, NULL), -1);
    const char *b = "\nstill inside\nend\"\n3,y\n4,z\n";  /* quoted newlines, then ends */
    csv_scanner_feed (scan, b, strlen (b));
    int64_t line = 0;
    int64_t first = csv_scanner_first_end (scan, &line);
    assert_int_equal (first, (int64_t) (strlen (a) + strlen ("\nstill inside\nend\"\n")));
    assert_int_equal (line, 5);                 /* record 3 starts on line 5 */
    int64_t last = csv_scanner_record_end (scan, &line);
    assert_int_equal (last, (int64_t) (strlen (a) + strlen (b)));
    assert_int_equal (line, 7);
    csv_scanner_mark (scan);                    /* a new mark forgets the old end */
    assert_int_equal (csv_scanner_first_end (scan, NULL), -1);
    csv_scanner_destroy (&scan);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_format_default),
        cmocka_unit_test (test_corpus_whole),
        cmocka_unit_test (test_corpus_incremental),
        cmocka_unit_test (test_need_more),
        cmocka_unit_test (test_unterminated),
        cmocka_unit_test (test_fields_and_lengths),
        cmocka_unit_test (test_arena_growth),
        cmocka_unit_test (test_bom_len),
        cmocka_unit_test (test_split_basic),
        cmocka_unit_test (test_split_header_long),
        cmocka_unit_test (test_split_read_error),
        cmocka_unit_test (test_split_corpus),
        cmocka_unit_test (test_split_block_edges),
        cmocka_unit_test (test_split_random),
        cmocka_unit_test (test_scanner),
        cmocka_unit_test (test_scanner_mark),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
