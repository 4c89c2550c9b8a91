/*  common/format/csv.h: RFC 4180 CSV (and TSV) parsing, pure logic.

    Two uses:
      - planning: csv_split scans a whole file once, tracking only quote
        state, and returns record boundaries about every chunk_bytes, each
        with the physical line number it starts at; correct when quoted
        fields hold newlines.
      - loading: csv_parse_record takes one record from a buffer and
        decodes its fields (quotes removed, escapes resolved) into a
        reusable csv_record_t, or says it needs more input.
    Line numbers are 1-based physical lines ("\n"-terminated), counting
    the header, so a reject points at the line an editor shows. */
#ifndef FERRY_CSV_H
#define FERRY_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char delimiter;            /* ',' (TSV: '\t') */
    char quote;                /* '"'; 0 = no quoting (plain TSV) */
    char escape;               /* '"' = a doubled quote inside quotes; or e.g. '\\' */
    bool header;               /* first record is a header */
    const char *null_marker;   /* an UNQUOTED field equal to this is NULL; default "" */
} csv_format_t;

/*  The defaults: ',', '"', '"', no header, null "". Can't fail. */
void csv_format_default (csv_format_t *fmt);

/* ---- loading ---- */

typedef struct csv_record_t csv_record_t;

csv_record_t *csv_record_new (void);
void csv_record_destroy (csv_record_t **self_p);

/*  Parses one record from buf[0, len). `eof` says no more input follows
    buf. Returns
       1  a record: *consumed = its bytes including the line terminator
          ("\n" or "\r\n"; none at EOF); fields are in rec;
       0  need more input (the record is incomplete and !eof);
      -1  malformed (only possible at eof: an unterminated quote); *consumed
          = len (the rest is one bad record) and err says why;
       2  a blank line (only "\n" or "\r\n"): *consumed is set, rec is
          empty; callers skip it.
    A quote character inside an unquoted field is taken literally (as
    PostgreSQL does not; such rows fail validation or the server).
    Fields of a quoted record keep embedded delimiters, quotes, CR and LF.
    Never reads outside buf. */
int csv_parse_record (const csv_format_t *fmt, const char *buf, size_t len, bool eof,
                      csv_record_t *rec, size_t *consumed, char *err, size_t errlen);

/*  Number of fields of the last parsed record. */
int csv_record_nfields (const csv_record_t *rec);

/*  Field i (0-based) decoded, NUL-terminated, borrowed until the next parse;
    NULL when the field is SQL NULL (unquoted and equal to null_marker).
    *len_p (may be NULL) receives its length. */
const char *csv_record_field (const csv_record_t *rec, int i, size_t *len_p);

/*  Physical lines the last record spanned (>= 1; a quoted newline adds 1). */
int csv_record_lines (const csv_record_t *rec);

/*  True when a field of the last record held a NUL byte (PostgreSQL text
    cannot store it). */
bool csv_record_has_nul (const csv_record_t *rec);

/* ---- planning ---- */

typedef struct {
    int64_t offset;            /* byte offset where a record starts */
    int64_t line;              /* its 1-based physical line number */
} csv_boundary_t;

/*  Reads up to `size` bytes at the current position into buf; returns the
    count, 0 at end of input, -1 on error. */
typedef int64_t (csv_read_fn) (void *arg, char *buf, size_t size);

/*  Scans the whole input. The first boundary is always {0 (or the first
    byte after a UTF-8 BOM and, with a header, after the header record),
    its line}; after that, each time at least chunk_bytes have passed since
    the last boundary, the start of the next record becomes a boundary.
    Also returns the input's total size and its number of physical lines.
    Returns 0 (caller frees *out), or -1 with err (read error). An
    unterminated quote at the end is not an error here (the loader rejects
    that record). */
int csv_split (csv_read_fn *read, void *arg, const csv_format_t *fmt, int64_t chunk_bytes,
               csv_boundary_t **out, size_t *count, int64_t *total_bytes, int64_t *total_lines,
               char *err, size_t errlen);

/*  An incremental record-boundary scanner with csv_split's grammar, for a
    stream that starts on a record boundary (a loader's byte range): feed
    the stream's bytes in order, in pieces of any size; it remembers where
    the last complete record seen so far ends. */
typedef struct csv_scanner_t csv_scanner_t;

csv_scanner_t *csv_scanner_new (const csv_format_t *fmt);
void csv_scanner_destroy (csv_scanner_t **self_p);

/*  Scans data[0, n), the stream's next n bytes. */
void csv_scanner_feed (csv_scanner_t *self, const char *data, size_t n);

/*  The stream offset just past the last record-ending '\n' fed so far (0
    when none), and in *line (may be NULL) the 1-based line of the stream
    at that offset (1 + the '\n' bytes before it). */
int64_t csv_scanner_record_end (const csv_scanner_t *self, int64_t *line);

/*  From now on, remember the first record end fed (for a reader that
    drops the bytes of an over-long record and must find where it ends,
    when later records may end in the same piece). Can't fail. */
void csv_scanner_mark (csv_scanner_t *self);

/*  The stream offset just past the first record-ending '\n' fed since the
    last csv_scanner_mark, and in *line (may be NULL) its line as for
    csv_scanner_record_end; -1 when none was fed yet (or no mark). */
int64_t csv_scanner_first_end (const csv_scanner_t *self, int64_t *line);

/*  '\n' bytes fed so far (inside quotes too). */
int64_t csv_scanner_lines (const csv_scanner_t *self);

/*  Length of a UTF-8 byte order mark at buf (3) or 0. */
size_t csv_bom_len (const char *buf, size_t len);

#endif
