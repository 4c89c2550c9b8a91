/*  coordinator/endpoint.c: see endpoint.h. */
#include "endpoint.h"
#include "util.h"

#include <ctype.h>
#include <string.h>

/*  "127.0.0.1:5570" and the like: digits and dots up to the port's colon
    (so tcp://127.example.com:P, a host name, is not taken for loopback). */
static bool
s_ipv4_loopback (const char *host)
{
    if (strncmp (host, "127.", 4) != 0)
        return false;
    const char *p = host + 4;
    while (isdigit ((unsigned char) *p) || *p == '.')
        p++;
    return *p == ':';
}

bool
endpoint_is_local (const char *bind)
{
    if (strncmp (bind, "ipc://", 6) == 0 || strncmp (bind, "inproc://", 9) == 0)
        return true;
    if (strncmp (bind, "tcp://", 6) != 0)
        return false;
    const char *host = bind + 6;
    return s_ipv4_loopback (host) || strncmp (host, "localhost:", 10) == 0
        || strncmp (host, "[::1]:", 6) == 0;
}

char *
endpoint_for_local_workers (const char *bind, int port)
{
    if (strncmp (bind, "tcp://", 6) != 0)
        return xstrdup (bind);
    const char *host = bind + 6;
    const char *colon = strrchr (host, ':');
    size_t hl = colon ? (size_t) (colon - host) : strlen (host);
    if ((hl == 1 && host[0] == '*') || (hl == 7 && strncmp (host, "0.0.0.0", 7) == 0))
        return util_strdupf ("tcp://127.0.0.1:%d", port);
    return util_strdupf ("tcp://%.*s:%d", (int) hl, host, port);
}
