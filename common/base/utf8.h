/*  common/base/utf8.h: valid UTF-8 out of any bytes (pure).

    Server messages, file names and row data can hold bytes that are not
    UTF-8 (a SQL_ASCII database passes its bytes through unchanged), and
    json-c writes the bytes of a string as they are: a JSON document with
    them is invalid. utf8_sanitize replaces each byte that does not start a
    well-formed sequence (RFC 3629: no overlong forms, no surrogates,
    nothing above U+10FFFF) with U+FFFD, as the Unicode standard's
    "maximal subpart" practice does byte by byte. */
#ifndef FERRY_UTF8_H
#define FERRY_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*  Length of the well-formed sequence at s (at most len bytes), 0 when
    the first byte does not start one. */
size_t utf8_sequence_len (const unsigned char *s, size_t len);

/*  True when the len bytes at s are all well-formed UTF-8 (NUL allowed). */
bool utf8_is_valid (const char *s, size_t len);

/*  A NUL-terminated copy of s with every invalid byte replaced by U+FFFD
    (EF BF BD). Caller frees. NULL in, NULL out. Can't fail otherwise
    (aborts on out of memory). */
char *utf8_sanitize (const char *s);

#endif
