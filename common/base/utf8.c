/*  common/base/utf8.c: see utf8.h. */
#include "utf8.h"
#include "util.h"

#include <string.h>

size_t
utf8_sequence_len (const unsigned char *s, size_t len)
{
    if (len == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;     /* the second byte's range */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;                      /* overlong */
        else if (c == 0xED)
            hi = 0x9F;                      /* surrogates */
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;                      /* overlong */
        else if (c == 0xF4)
            hi = 0x8F;                      /* above U+10FFFF */
    }
    else
        return 0;                           /* 80..C1, F5..FF */
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

bool
utf8_is_valid (const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_sequence_len (p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

char *
utf8_sanitize (const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen (s);
    char *out = xmalloc (len * 3 + 1);      /* each byte at worst becomes 3 */
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = utf8_sequence_len (p + i, len - i);
        if (n == 0) {
            memcpy (out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
        else {
            memcpy (out + o, p + i, n);
            o += n;
            i += n;
        }
    }
    out[o] = 0;
    return out;
}
