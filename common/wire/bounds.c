/*  common/wire/bounds.c: see bounds.h. */
#include "bounds.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
bounds_join (char *const *bounds, size_t n)
{
    size_t size = 1;
    for (size_t i = 0; i < n; i++)
        size += strlen (bounds[i]) + 21;
    char *out = xmalloc (size);
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen (bounds[i]);
        at += (size_t) snprintf (out + at, size - at, "%zu:", len);
        memcpy (out + at, bounds[i], len);
        at += len;
        out[at] = '\0';
    }
    return out;
}

int
bounds_split (const char *s, size_t n, char **out)
{
    const char *p = s;
    size_t got = 0;
    for (; got < n; got++) {
        size_t len = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 10) {
            len = len * 10 + (size_t) (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || *p != ':' || (digits > 1 && p[-(long) digits] == '0'))
            break;
        p++;
        if (strnlen (p, len) < len)
            break;              /* shorter than it says */
        out[got] = xmalloc (len + 1);
        memcpy (out[got], p, len);
        out[got][len] = '\0';
        p += len;
    }
    if (got < n || *p != '\0') {
        bounds_free (out, got);
        return -1;
    }
    return 0;
}

void
bounds_free (char **out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free (out[i]);
        out[i] = NULL;
    }
}
