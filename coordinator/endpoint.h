/*  coordinator/endpoint.h: what a cluster.bind address means. Pure.

    endpoint_is_local decides whether conninfos (which may hold passwords)
    may travel in JOB: only when the bound address never accepts a peer
    from another host. The BIND address is judged, not the one local
    workers connect to: a wildcard bind (tcp://0.0.0.0:P, or a * host)
    accepts remote peers although local workers reach it on 127.0.0.1. */
#ifndef FERRY_COORDINATOR_ENDPOINT_H
#define FERRY_COORDINATOR_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

/*  True for ipc://, inproc://, tcp://127.x.y.z:P (a literal IPv4 loopback
    address), tcp://localhost:P and tcp://[::1]:P. */
bool endpoint_is_local (const char *bind);

/*  The security policy of a bind (docs/PROTOCOL.md, "Security"): with
    CURVE (`curve`) any bind is allowed and conninfos may travel in JOB
    (the link is encrypted, the peers authenticated at the handshake); a
    loopback bind (endpoint_is_local) likewise; any other bind only with
    `insecure` (cluster.insecure: true), and then conninfos never travel.
    Returns 0 with *send_conninfo set, or -1 with the reason in err. */
int endpoint_policy (const char *bind, bool curve, bool insecure, bool *send_conninfo,
                     char *err, size_t errlen);

/*  True when every server a PostgreSQL conninfo names is on this host:
    no host (the default Unix socket), a socket directory (/...),
    localhost, 127.x.y.z or ::1 (hostaddr wins over host where given).
    False for anything else, and for a conninfo libpq cannot parse. Pure
    (PQconninfoParse does no I/O). */
bool endpoint_pg_is_local (const char *conninfo);

/*  The endpoint workers on this host connect to, for `bind` bound on
    `port` (the port the bind chose when it said '*'): a wildcard host
    becomes 127.0.0.1. Caller frees. Can't fail. */
char *endpoint_for_local_workers (const char *bind, int port);

#endif
