/*  tests/unit/test_copyfmt.c: binary COPY header and tuple framing on
    hand-built buffers (NULLs, zero-field tuples, every kind of truncation
    and bad count), fingerprint invariance under batching and order, text
    COPY scanning, and the hash (distinctness, length, every tail length
    read in bounds under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copyfmt.h"
#include "util.h"

/*  A growable byte buffer for building COPY data by hand. */
typedef struct {
    unsigned char *data;
    size_t len;
    size_t cap;
} buf_t;

static void
s_put (buf_t *b, const void *bytes, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 16;
        b->data = xrealloc (b->data, b->cap);
    }
    memcpy (b->data + b->len, bytes, n);
    b->len += n;
}

static void
s_put16 (buf_t *b, int v)
{
    unsigned char bytes [2] = { (unsigned char) ((unsigned) v >> 8), (unsigned char) v };
    s_put (b, bytes, 2);
}

static void
s_put32 (buf_t *b, int32_t v)
{
    uint32_t u = (uint32_t) v;
    unsigned char bytes [4] = {
        (unsigned char) (u >> 24), (unsigned char) (u >> 16),
        (unsigned char) (u >> 8), (unsigned char) u
    };
    s_put (b, bytes, 4);
}

/*  Appends a field: NULL data means SQL NULL. */
static void
s_put_field (buf_t *b, const char *text)
{
    if (!text)
        s_put32 (b, -1);
    else {
        s_put32 (b, (int32_t) strlen (text));
        s_put (b, text, strlen (text));
    }
}

/*  Appends a 2-field tuple (id as text, name or NULL) and returns the
    offset where it starts. */
static size_t
s_put_tuple (buf_t *b, int id, const char *name)
{
    size_t start = b->len;
    char idtext [16];
    snprintf (idtext, sizeof idtext, "%d", id);
    s_put16 (b, 2);
    s_put_field (b, idtext);
    s_put_field (b, name);
    return start;
}

/*  Copies buf[0, len) to a fresh allocation of exactly len bytes, so that
    ASan flags any read past the end. */
static unsigned char *
s_exact_copy (const void *data, size_t len)
{
    unsigned char *copy = xmalloc (len);
    if (len)
        memcpy (copy, data, len);
    return copy;
}

/*  Scans b with nfields; returns the rc and fills rows/checksum/bad. The
    buffer is re-allocated at its exact size first. */
static int
s_scan (const buf_t *b, int nfields, uint64_t *rows, uint64_t *checksum, size_t *bad)
{
    unsigned char *copy = s_exact_copy (b->data, b->len);
    int rc = copyfmt_binary_scan ((const char *) copy, b->len, nfields, rows, checksum, bad);
    free (copy);
    return rc;
}

static void
test_header (void **state)
{
    assert_int_equal (copyfmt_binary_header_len (copyfmt_binary_header,
                                                 COPYFMT_BINARY_HEADER_LEN), 19);
    assert_memory_equal (copyfmt_binary_header, "PGCOPY\n\377\r\n\0", 11);

    /*  With tuple data after it, only the header is measured. */
    buf_t b = { 0 };
    s_put (&b, copyfmt_binary_header, COPYFMT_BINARY_HEADER_LEN);
    s_put_tuple (&b, 1, "x");
    assert_int_equal (copyfmt_binary_header_len ((char *) b.data, b.len), 19);
    free (b.data);

    /*  A 5-byte header extension. */
    memset (&b, 0, sizeof b);
    s_put (&b, "PGCOPY\n\377\r\n\0", 11);
    s_put32 (&b, 0);
    s_put32 (&b, 5);
    s_put (&b, "abcde", 5);
    assert_int_equal (copyfmt_binary_header_len ((char *) b.data, b.len), 24);
    /*  ... cut short: the extension is not all there. */
    assert_int_equal (copyfmt_binary_header_len ((char *) b.data, b.len - 1), -1);
    free (b.data);

    /*  Non-critical flag bits are ignored; critical ones (OIDs) are not. */
    memset (&b, 0, sizeof b);
    s_put (&b, "PGCOPY\n\377\r\n\0", 11);
    s_put32 (&b, 0x00000001);
    s_put32 (&b, 0);
    assert_int_equal (copyfmt_binary_header_len ((char *) b.data, b.len), 19);
    b.len = 11;
    s_put32 (&b, 0x00010000);
    s_put32 (&b, 0);
    assert_int_equal (copyfmt_binary_header_len ((char *) b.data, b.len), -1);
    /*  A negative extension length. */
    b.len = 11;
    s_put32 (&b, 0);
    s_put32 (&b, -1);
    assert_int_equal (copyfmt_binary_header_len ((char *) b.data, b.len), -1);
    free (b.data);

    /*  Bad signature, short buffer, text data. */
    char bad [COPYFMT_BINARY_HEADER_LEN];
    memcpy (bad, copyfmt_binary_header, sizeof bad);
    bad [7] = '\n';         /* the \377 a text-mode transfer would mangle */
    assert_int_equal (copyfmt_binary_header_len (bad, sizeof bad), -1);
    memcpy (bad, copyfmt_binary_header, sizeof bad);
    bad [0] = 'p';
    assert_int_equal (copyfmt_binary_header_len (bad, sizeof bad), -1);
    assert_int_equal (copyfmt_binary_header_len (copyfmt_binary_header, 18), -1);
    assert_int_equal (copyfmt_binary_header_len (copyfmt_binary_header, 0), -1);
    assert_int_equal (copyfmt_binary_header_len ("1\tfoo\n2\tbar\n3\tbaz\n", 18), -1);
}

static void
test_trailer (void **state)
{
    assert_true (copyfmt_is_binary_trailer (copyfmt_binary_trailer, 2));
    assert_true (copyfmt_is_binary_trailer ("\377\377", 2));
    assert_false (copyfmt_is_binary_trailer ("\377\377", 1));
    assert_false (copyfmt_is_binary_trailer ("\377\377\377", 3));
    assert_false (copyfmt_is_binary_trailer ("\377\376", 2));
    assert_false (copyfmt_is_binary_trailer ("", 0));
}

static void
test_scan_tuples (void **state)
{
    buf_t b = { 0 };
    size_t t0 = s_put_tuple (&b, 1, "alice");
    size_t t1 = s_put_tuple (&b, 2, NULL);
    size_t t2 = s_put_tuple (&b, 3, "");        /* empty, not NULL */
    size_t end = b.len;
    uint64_t expected = copyfmt_hash (b.data + t0, t1 - t0)
                      + copyfmt_hash (b.data + t1, t2 - t1)
                      + copyfmt_hash (b.data + t2, end - t2);

    uint64_t rows = 0, checksum = 0;
    size_t bad = 999;
    assert_int_equal (s_scan (&b, 2, &rows, &checksum, &bad), 0);
    assert_int_equal (rows, 3);
    assert_true (checksum == expected);
    assert_int_equal (bad, 999);            /* untouched on success */

    /*  nfields 0: no check; totals accumulate across calls. */
    assert_int_equal (s_scan (&b, 0, &rows, &checksum, NULL), 0);
    assert_int_equal (rows, 6);
    assert_true (checksum == 2 * expected);

    /*  NULL and empty differ in the fingerprint. */
    assert_true (copyfmt_hash (b.data + t1, t2 - t1) != copyfmt_hash (b.data + t2, end - t2));

    /*  An empty buffer is zero rows. */
    rows = checksum = 0;
    assert_int_equal (copyfmt_binary_scan (NULL, 0, 2, &rows, &checksum, NULL), 0);
    assert_int_equal (rows, 0);
    assert_true (checksum == 0);
    free (b.data);
}

static void
test_scan_zero_fields (void **state)
{
    buf_t b = { 0 };
    s_put16 (&b, 0);
    s_put16 (&b, 0);
    s_put16 (&b, 0);
    uint64_t rows = 0, checksum = 0;
    size_t bad = 0;
    assert_int_equal (s_scan (&b, 0, &rows, &checksum, &bad), 0);
    assert_int_equal (rows, 3);
    assert_true (checksum == 3 * copyfmt_hash ("\0\0", 2));

    /*  A zero-field tuple where two fields are expected is wrong. */
    buf_t c = { 0 };
    s_put_tuple (&c, 1, "a");
    size_t zero_at = c.len;
    s_put16 (&c, 0);
    rows = checksum = 0;
    assert_int_equal (s_scan (&c, 2, &rows, &checksum, &bad), -1);
    assert_int_equal (bad, zero_at);
    assert_int_equal (rows, 0);
    assert_true (checksum == 0);
    free (b.data);
    free (c.data);
}

/*  Expects a scan of b to fail at `at`, leaving the totals untouched. */
static void
s_expect_broken (const buf_t *b, int nfields, size_t at)
{
    uint64_t rows = 7, checksum = 11;
    size_t bad = (size_t) -1;
    assert_int_equal (s_scan (b, nfields, &rows, &checksum, &bad), -1);
    assert_int_equal (bad, at);
    assert_int_equal (rows, 7);
    assert_true (checksum == 11);
}

static void
test_scan_broken (void **state)
{
    buf_t good = { 0 };
    s_put_tuple (&good, 1, "alice");
    size_t second = s_put_tuple (&good, 2, "bob");
    size_t whole = good.len;

    /*  Truncated field bytes: every cut inside the second tuple. */
    for (size_t cut = second + 1; cut < whole; cut++) {
        buf_t b = good;
        b.len = cut;
        s_expect_broken (&b, 2, second);
    }

    /*  Truncated length word (2 of its 4 bytes). */
    buf_t b = { 0 };
    s_put_tuple (&b, 1, "alice");
    size_t at = b.len;
    s_put16 (&b, 2);
    s_put32 (&b, 1);
    s_put (&b, "7", 1);
    s_put16 (&b, 0);
    s_expect_broken (&b, 2, at);
    s_expect_broken (&b, 0, at);
    free (b.data);

    /*  Truncated field count (one byte). */
    memset (&b, 0, sizeof b);
    s_put_tuple (&b, 1, "alice");
    at = b.len;
    s_put (&b, "\0", 1);
    s_expect_broken (&b, 0, at);
    free (b.data);

    /*  Negative field count. */
    memset (&b, 0, sizeof b);
    s_put_tuple (&b, 1, "alice");
    at = b.len;
    s_put16 (&b, -2);
    s_put_field (&b, "x");
    s_expect_broken (&b, 0, at);
    free (b.data);

    /*  The trailer inside the buffer. */
    memset (&b, 0, sizeof b);
    s_put_tuple (&b, 1, "alice");
    at = b.len;
    s_put (&b, copyfmt_binary_trailer, 2);
    s_expect_broken (&b, 0, at);
    s_put_tuple (&b, 2, "bob");             /* trailer mid-buffer */
    s_expect_broken (&b, 0, at);
    free (b.data);

    /*  A field length below -1. */
    memset (&b, 0, sizeof b);
    s_put_tuple (&b, 1, "alice");
    at = b.len;
    s_put16 (&b, 2);
    s_put_field (&b, "2");
    s_put32 (&b, -2);
    s_expect_broken (&b, 2, at);
    free (b.data);

    /*  A huge length running past the buffer. */
    memset (&b, 0, sizeof b);
    at = 0;
    s_put16 (&b, 1);
    s_put32 (&b, INT32_MAX);
    s_put (&b, "abc", 3);
    s_expect_broken (&b, 0, at);
    free (b.data);

    /*  Wrong field count. */
    memset (&b, 0, sizeof b);
    s_put_tuple (&b, 1, "alice");
    s_put_tuple (&b, 2, "bob");
    s_expect_broken (&b, 3, 0);
    s_expect_broken (&b, 1, 0);
    free (b.data);

    free (good.data);
}

static void
test_checksum_batching (void **state)
{
    /*  Forty tuples, scanned whole, then in uneven batches in reverse
        order, then tuple by tuple in a shuffled order. */
    enum { N = 40 };
    buf_t all = { 0 };
    size_t starts [N + 1];
    for (int i = 0; i < N; i++) {
        char name [64];
        snprintf (name, sizeof name, "name-%d-%s", i, i % 3 ? "xyzxyzxyzxyzxyzxyzxyzxyzxyzxyz" : "");
        starts [i] = s_put_tuple (&all, i, i % 7 == 3 ? NULL : name);
    }
    starts [N] = all.len;

    uint64_t rows_all = 0, sum_all = 0;
    assert_int_equal (s_scan (&all, 2, &rows_all, &sum_all, NULL), 0);
    assert_int_equal (rows_all, N);

    const int cuts [] = { 0, 1, 5, 6, 17, 30, 39, N };
    const int ncuts = (int) (sizeof cuts / sizeof cuts [0]);
    uint64_t rows = 0, sum = 0;
    for (int c = ncuts - 2; c >= 0; c--) {
        buf_t batch = { all.data + starts [cuts [c]], starts [cuts [c + 1]] - starts [cuts [c]], 0 };
        assert_int_equal (s_scan (&batch, 2, &rows, &sum, NULL), 0);
    }
    assert_int_equal (rows, rows_all);
    assert_true (sum == sum_all);

    rows = sum = 0;
    for (int k = 0; k < N; k++) {
        int i = (k * 17 + 5) % N;           /* 17 is coprime with 40 */
        buf_t one = { all.data + starts [i], starts [i + 1] - starts [i], 0 };
        assert_int_equal (s_scan (&one, 2, &rows, &sum, NULL), 0);
    }
    assert_int_equal (rows, rows_all);
    assert_true (sum == sum_all);

    /*  A changed data byte (inside the name of row 11: 2 + 4 + "11" + 4 = 12) changes
        the checksum. */
    all.data [starts [11] + 13] ^= 1;
    rows = sum = 0;
    assert_int_equal (s_scan (&all, 2, &rows, &sum, NULL), 0);
    assert_true (sum != sum_all);
    free (all.data);
}

static void
test_text_scan (void **state)
{
    const char *text = "1\talice\n2\t\\N\n\n3\tbob\n";
    uint64_t rows = 0, checksum = 0;
    unsigned char *copy = s_exact_copy (text, strlen (text));
    assert_int_equal (copyfmt_text_scan ((char *) copy, strlen (text), &rows, &checksum), 0);
    free (copy);
    assert_int_equal (rows, 4);
    uint64_t expected = copyfmt_hash ("1\talice", 7) + copyfmt_hash ("2\t\\N", 4)
                      + copyfmt_hash ("", 0) + copyfmt_hash ("3\tbob", 5);
    assert_true (checksum == expected);

    /*  Split into batches and reordered: same totals. */
    uint64_t rows2 = 0, checksum2 = 0;
    assert_int_equal (copyfmt_text_scan (text + 13, strlen (text) - 13, &rows2, &checksum2), 0);
    assert_int_equal (copyfmt_text_scan (text, 13, &rows2, &checksum2), 0);
    assert_int_equal (rows2, rows);
    assert_true (checksum2 == checksum);

    /*  Missing final newline: rejected, totals untouched. */
    copy = s_exact_copy ("1\talice\n2\tbob", 13);
    assert_int_equal (copyfmt_text_scan ((char *) copy, 13, &rows, &checksum), -1);
    free (copy);
    assert_int_equal (rows, 4);
    assert_true (checksum == expected);
    assert_int_equal (copyfmt_text_scan ("x", 1, &rows, &checksum), -1);

    /*  Empty buffer: nothing to count. A lone newline: one empty row. */
    rows = checksum = 0;
    assert_int_equal (copyfmt_text_scan (NULL, 0, &rows, &checksum), 0);
    assert_int_equal (rows, 0);
    assert_int_equal (copyfmt_text_scan ("\n", 1, &rows, &checksum), 0);
    assert_int_equal (rows, 1);
    assert_true (checksum == copyfmt_hash ("", 0));
}

static void
test_hash_distinct (void **state)
{
    /*  Known answers: the hash is the xxh64 construction with seed 0, and
        fingerprints must stay stable across builds and hosts. */
    assert_true (copyfmt_hash ("", 0) == 0xEF46DB3751D8E999ULL);
    assert_true (copyfmt_hash ("abc", 3) == 0x44BC2CF5AD770999ULL);

    assert_true (copyfmt_hash ("alice", 5) != copyfmt_hash ("alicf", 5));
    assert_true (copyfmt_hash ("ab", 2) != copyfmt_hash ("ba", 2));
    /*  Length matters, even for zero bytes. */
    assert_true (copyfmt_hash ("", 0) != copyfmt_hash ("\0", 1));
    assert_true (copyfmt_hash ("\0", 1) != copyfmt_hash ("\0\0", 2));
    assert_true (copyfmt_hash ("a", 1) != copyfmt_hash ("a\0", 2));
    unsigned char zeros [64] = { 0 };
    for (size_t n = 1; n <= 64; n++)
        assert_true (copyfmt_hash (zeros, n) != copyfmt_hash (zeros, n - 1));

    /*  Every single-bit flip of a 100-byte row changes the hash, and on
        average flips about half the output bits (avalanche). */
    unsigned char row [100];
    for (int i = 0; i < 100; i++)
        row [i] = (unsigned char) (i * 31 + 7);
    uint64_t base = copyfmt_hash (row, sizeof row);
    uint64_t flipped_bits = 0;
    for (int bit = 0; bit < 800; bit++) {
        row [bit / 8] ^= (unsigned char) (1u << (bit % 8));
        uint64_t h = copyfmt_hash (row, sizeof row);
        row [bit / 8] ^= (unsigned char) (1u << (bit % 8));
        assert_true (h != base);
        flipped_bits += (uint64_t) __builtin_popcountll (h ^ base);
    }
    double mean = (double) flipped_bits / 800.0;
    assert_true (mean > 30.0 && mean < 34.0);

    /*  The value does not depend on alignment. */
    unsigned char shifted [108];
    for (int off = 0; off < 8; off++) {
        memcpy (shifted + off, row, sizeof row);
        assert_true (copyfmt_hash (shifted + off, sizeof row) == base);
    }
}

static void
test_hash_tails (void **state)
{
    /*  Lengths 0..64 cover the stripe loop, the 8-, 4- and 1-byte tails.
        Each input sits in an exact-size allocation so ASan catches any
        read past the end; all 65 prefixes must hash differently. */
    unsigned char source [64];
    for (int i = 0; i < 64; i++)
        source [i] = (unsigned char) (0xA5 ^ (i * 13));
    uint64_t hashes [65];
    for (size_t n = 0; n <= 64; n++) {
        unsigned char *exact = s_exact_copy (source, n);
        hashes [n] = copyfmt_hash (n ? exact : NULL, n);
        free (exact);
    }
    for (size_t i = 0; i <= 64; i++)
        for (size_t j = i + 1; j <= 64; j++)
            assert_true (hashes [i] != hashes [j]);
    /*  NULL with length 0 is the empty input. */
    assert_true (copyfmt_hash (NULL, 0) == copyfmt_hash ("", 0));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_header),
        cmocka_unit_test (test_trailer),
        cmocka_unit_test (test_scan_tuples),
        cmocka_unit_test (test_scan_zero_fields),
        cmocka_unit_test (test_scan_broken),
        cmocka_unit_test (test_checksum_batching),
        cmocka_unit_test (test_text_scan),
        cmocka_unit_test (test_hash_distinct),
        cmocka_unit_test (test_hash_tails),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
