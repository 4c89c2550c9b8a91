/*  common/pg/copyfmt.c: PostgreSQL COPY framing and the row fingerprint.

    Binary COPY (PostgreSQL docs, "Binary Format"): an 11-byte signature, an
    int32 flags word, an int32 header-extension length and that many bytes;
    then tuples of an int16 field count followed, per field, by an int32
    length (-1 for NULL) and the bytes; then an int16 -1 trailer. All
    integers are big-endian.

    The fingerprint of a stream is the wrapping sum of one 64-bit hash per
    row, so it is the same however rows are split into buffers and in
    whatever order buffers are scanned. The hash is on the hot path (every
    row of every chunk, on both ends), so it is an xxh64-style design:
    32-byte stripes through four independent multiply-rotate lanes, which
    keeps the multipliers busy in parallel, then the tail and a final
    avalanche. See copyfmt.h. */
#include "log.h"
#include "copyfmt.h"

#include <assert.h>
#include <string.h>

const char copyfmt_binary_header[COPYFMT_BINARY_HEADER_LEN] = {
    'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0',
    0, 0, 0, 0,                 /* flags: no OIDs */
    0, 0, 0, 0                  /* header extension length */
};

const char copyfmt_binary_trailer[2] = { '\377', '\377' };

#define COPYFMT_SIGNATURE_LEN 11

/*  Flags bits 16..31 are "critical": a reader that does not know one must
    reject the file. Bit 16 means OIDs, which ferry neither writes nor
    scans, so every critical bit is refused. Bits 0..15 may be ignored. */
#define COPYFMT_FLAGS_CRITICAL 0xFFFF0000u

static uint32_t
s_get_be32 (const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
         | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

static int32_t
s_get_be32_signed (const unsigned char *p)
{
    /*  Two's complement by arithmetic, avoiding the implementation-defined
        unsigned-to-signed conversion. */
    uint32_t u = s_get_be32 (p);
    return u < 0x80000000u ? (int32_t) u : -(int32_t) (0xFFFFFFFFu - u) - 1;
}

static int
s_get_be16_signed (const unsigned char *p)
{
    unsigned u = (unsigned) p[0] << 8 | p[1];
    return u < 0x8000u ? (int) u : (int) u - 0x10000;
}

long
copyfmt_binary_header_len (const char *buf, size_t len)
{
    if (!buf || len < COPYFMT_BINARY_HEADER_LEN)
        return -1;
    const unsigned char *p = (const unsigned char *) buf;
    if (memcmp (p, copyfmt_binary_header, COPYFMT_SIGNATURE_LEN) != 0)
        return -1;
    uint32_t flags = s_get_be32 (p + COPYFMT_SIGNATURE_LEN);
    if (flags & COPYFMT_FLAGS_CRITICAL)
        return -1;
    int32_t ext = s_get_be32_signed (p + COPYFMT_SIGNATURE_LEN + 4);
    if (ext < 0)
        return -1;
    /*  The extension must be in the buffer too, or the caller would start
        scanning tuples in the middle of it. */
    if ((size_t) ext > len - COPYFMT_BINARY_HEADER_LEN)
        return -1;
    return (long) COPYFMT_BINARY_HEADER_LEN + (long) ext;
}

bool
copyfmt_is_binary_trailer (const char *buf, size_t len)
{
    return buf && len == 2 && memcmp (buf, copyfmt_binary_trailer, 2) == 0;
}

int
copyfmt_binary_scan (const char *buf, size_t len, int nfields,
                     uint64_t *rows, uint64_t *checksum, size_t *bad_offset)
{
    FERRY_ASSERT (rows);
    FERRY_ASSERT (checksum);
    FERRY_ASSERT (buf || len == 0);
    const unsigned char *p = (const unsigned char *) buf;
    /*  Totals are kept locally and published only on success, so a broken
        buffer adds nothing: the caller's counts stay those of whole,
        checked buffers. */
    uint64_t n = 0;
    uint64_t sum = 0;
    size_t off = 0;
    while (off < len) {
        size_t start = off;
        if (len - off < 2)
            goto broken;
        int count = s_get_be16_signed (p + off);
        off += 2;
        /*  -1 is the trailer: it ends the stream and never belongs in a
            buffer of tuples. Any other negative count is garbage. */
        if (count < 0)
            goto broken;
        if (nfields > 0 && count != nfields)
            goto broken;
        for (int f = 0; f < count; f++) {
            if (len - off < 4)
                goto broken;
            int32_t flen = s_get_be32_signed (p + off);
            off += 4;
            if (flen < -1)
                goto broken;
            if (flen > 0) {
                if ((size_t) flen > len - off)
                    goto broken;
                off += (size_t) flen;
            }
        }
        sum += copyfmt_hash (p + start, off - start);
        n++;
        continue;
broken:
        if (bad_offset)
            *bad_offset = start;
        return -1;
    }
    *rows += n;
    *checksum += sum;
    return 0;
}

int
copyfmt_text_scan (const char *buf, size_t len,
                   uint64_t *rows, uint64_t *checksum)
{
    FERRY_ASSERT (rows);
    FERRY_ASSERT (checksum);
    FERRY_ASSERT (buf || len == 0);
    if (len == 0)
        return 0;
    if (buf [len - 1] != '\n')
        return -1;
    uint64_t n = 0;
    uint64_t sum = 0;
    const char *line = buf;
    const char *end = buf + len;
    while (line < end) {
        /*  Cannot be NULL: the buffer ends with '\n'. */
        const char *nl = memchr (line, '\n', (size_t) (end - line));
        sum += copyfmt_hash (line, (size_t) (nl - line));
        n++;
        line = nl + 1;
    }
    *rows += n;
    *checksum += sum;
    return 0;
}

/*  The hash: the xxh64 construction (Collet), seed 0. Primes and rotation
    counts are xxh64's, which are well studied for avalanche. */

#define H_P1 0x9E3779B185EBCA87ULL
#define H_P2 0xC2B2AE3D27D4EB4FULL
#define H_P3 0x165667B19E3779F9ULL
#define H_P4 0x85EBCA77C2B2AE63ULL
#define H_P5 0x27D4EB2F165667C5ULL

static inline uint64_t
s_rotl64 (uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/*  Unaligned little-endian load of n (8 or 4) bytes: with n constant the
    memcpy compiles to one mov on x86 and arm64; the swap keeps the hash
    identical on big-endian hosts so that fingerprints compare across
    machines (4 bytes land in the high half there, which the 64-bit swap
    brings down). */
static inline uint64_t
s_read_le (const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    memcpy (&v, p, n);
#if defined (__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64 (v);
#endif
    return v;
}

static inline uint64_t
s_round (uint64_t acc, uint64_t input)
{
    acc += input * H_P2;
    acc = s_rotl64 (acc, 31);
    return acc * H_P1;
}

static inline uint64_t
s_merge_round (uint64_t acc, uint64_t lane)
{
    acc ^= s_round (0, lane);
    return acc * H_P1 + H_P4;
}

uint64_t
copyfmt_hash (const void *data, size_t len)
{
    FERRY_ASSERT (data || len == 0);
    /*  NULL + 0 is undefined behaviour in C: give an empty input a real
        address. */
    const unsigned char *p = len ? data : (const unsigned char *) "";
    const unsigned char *end = p + len;
    uint64_t h;

    if (len >= 32) {
        /*  Four lanes with no data dependency on each other: the CPU runs
            their multiplies in parallel. */
        uint64_t v1 = H_P1 + H_P2;
        uint64_t v2 = H_P2;
        uint64_t v3 = 0;
        uint64_t v4 = 0 - H_P1;
        const unsigned char *limit = end - 32;
        do {
            v1 = s_round (v1, s_read_le (p, 8));
            v2 = s_round (v2, s_read_le (p + 8, 8));
            v3 = s_round (v3, s_read_le (p + 16, 8));
            v4 = s_round (v4, s_read_le (p + 24, 8));
            p += 32;
        } while (p <= limit);
        h = s_rotl64 (v1, 1) + s_rotl64 (v2, 7) + s_rotl64 (v3, 12) + s_rotl64 (v4, 18);
        h = s_merge_round (h, v1);
        h = s_merge_round (h, v2);
        h = s_merge_round (h, v3);
        h = s_merge_round (h, v4);
    }
    else
        h = H_P5;

    /*  The length goes in, so inputs that differ only by trailing zero
        bytes (or are empty) hash differently. */
    h += (uint64_t) len;

    while (end - p >= 8) {
        h ^= s_round (0, s_read_le (p, 8));
        h = s_rotl64 (h, 27) * H_P1 + H_P4;
        p += 8;
    }
    if (end - p >= 4) {
        h ^= s_read_le (p, 4) * H_P1;
        h = s_rotl64 (h, 23) * H_P2 + H_P3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t) *p * H_P5;
        h = s_rotl64 (h, 11) * H_P1;
        p++;
    }

    /*  Final avalanche: every input bit affects every output bit. */
    h ^= h >> 33;
    h *= H_P2;
    h ^= h >> 29;
    h *= H_P3;
    h ^= h >> 32;
    return h;
}
