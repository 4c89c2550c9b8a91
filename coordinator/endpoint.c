/*  coordinator/endpoint.c: see endpoint.h. */
#include "endpoint.h"
#include "util.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
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

int
endpoint_policy (const char *bind, bool curve, bool insecure, bool *send_conninfo,
                 char *err, size_t errlen)
{
    *send_conninfo = false;
    if (curve || endpoint_is_local (bind)) {
        *send_conninfo = true;
        return 0;
    }
    if (insecure)
        return 0;
    snprintf (err, errlen, "cluster.bind: %s accepts peers from other hosts, and without "
              "CURVE the control link is neither encrypted nor authenticated at the "
              "handshake (anyone on the path reads the query and the snapshot id). Set "
              "cluster.curve.secret_key and cluster.curve.authorized_keys (make the keys "
              "with 'ferry-coordinator keygen DIR' and 'ferry-worker keygen DIR'), or, on a "
              "network you trust, cluster.insecure: true", bind);
    return -1;
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

/*  One entry of a host or hostaddr list. */
static bool
s_pg_host_local (const char *h, size_t n)
{
    if (n == 0 || h[0] == '/' || h[0] == '@')
        return true;
    if ((n == 9 && strncmp (h, "localhost", 9) == 0) || (n == 3 && strncmp (h, "::1", 3) == 0))
        return true;
    if (n < 4 || strncmp (h, "127.", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++)
        if (!isdigit ((unsigned char) h[i]) && h[i] != '.')
            return false;
    return true;
}

/*  Every entry of a comma-separated list. */
static bool
s_pg_list_local (const char *list)
{
    for (;;) {
        const char *comma = strchr (list, ',');
        size_t n = comma ? (size_t) (comma - list) : strlen (list);
        if (!s_pg_host_local (list, n))
            return false;
        if (!comma)
            return true;
        list = comma + 1;
    }
}

bool
endpoint_pg_is_local (const char *conninfo)
{
    PQconninfoOption *opts = PQconninfoParse (conninfo ? conninfo : "", NULL);
    if (!opts)
        return false;
    const char *host = NULL, *hostaddr = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp (o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp (o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
    }
    /*  Without host in the conninfo, libpq falls back on PGHOST. */
    if (!host && !hostaddr)
        host = getenv ("PGHOST");
    bool local = s_pg_list_local (hostaddr && *hostaddr ? hostaddr : host ? host : "");
    PQconninfoFree (opts);
    return local;
}
