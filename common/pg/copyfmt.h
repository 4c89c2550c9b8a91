/*  common/pg/copyfmt.h: PostgreSQL COPY stream framing, pure logic.

    The binary COPY format is a 19-byte header (signature, flags, extension
    length), tuples (int16 field count, then per field an int32 length, -1
    for NULL, and that many bytes), and a trailer (int16 -1). Text COPY is
    one row per newline-terminated line. These helpers walk tuples to count
    rows, check their framing, and fingerprint the content with a fast
    64-bit hash per row, summed, so the fingerprint does not depend on how
    rows were batched or in which order batches were processed. */
#ifndef FERRY_COPYFMT_H
#define FERRY_COPYFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COPYFMT_BINARY_HEADER_LEN 19

/*  The 19-byte header ferry writes (no OIDs, no extension). */
extern const char copyfmt_binary_header[COPYFMT_BINARY_HEADER_LEN];
/*  The 2-byte trailer. */
extern const char copyfmt_binary_trailer[2];

/*  Checks that buf starts with a valid binary COPY header and returns its
    total length (19 + extension length), or -1. */
long copyfmt_binary_header_len (const char *buf, size_t len);

/*  True when buf (exactly) is the binary trailer. */
bool copyfmt_is_binary_trailer (const char *buf, size_t len);

/*  Walks the binary tuples in buf[0, len), which must hold whole tuples
    only. Adds the tuple count to *rows and each tuple's hash to *checksum.
    `nfields` is the expected field count (0: don't check). Returns 0, or -1
    if the framing is broken (the offset of the bad tuple in *bad_offset). */
int copyfmt_binary_scan (const char *buf, size_t len, int nfields,
                         uint64_t *rows, uint64_t *checksum, size_t *bad_offset);

/*  Same for text COPY: every row ends with '\n'. Returns -1 if buf does not
    end with a newline. */
int copyfmt_text_scan (const char *buf, size_t len,
                       uint64_t *rows, uint64_t *checksum);

/*  The 64-bit hash used for the fingerprint. Can't fail. */
uint64_t copyfmt_hash (const void *data, size_t len);

#endif
