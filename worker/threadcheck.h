/*  worker/threadcheck.h: can this process start the threads it needs?

    libzmq starts its I/O and reaper threads inside the first zsock_new and
    aborts (SIGABRT, nothing logged) when pthread_create fails; czmq's
    zactor_new ignores a failed pthread_create and waits for ever for the
    actor's handshake. Neither can be caught afterwards, so the worker
    asks first: threadcheck_run starts the threads, all at once, and ends
    them. A process short of address space (ulimit -v) or of tasks
    (ulimit -u) then fails here with a message and an exit code instead.
    Freed thread stacks stay in glibc's cache, so the threads started
    right after reuse them.

    Test hook (docs/OPERATIONS.md): with FERRY_FAULT=threads in the
    environment the check fails as if pthread_create had returned EAGAIN,
    with FERRY_FAULT=memory as if the headroom could not be allocated;
    with FERRY_FAULT=socket, threadcheck_fault ("socket") is true and the
    session treats its first zsock_new as failed (socket-reconnect: the
    one of its first reconnection). Sanitized builds cannot
    be run under ulimit -v (ASan reserves terabytes of address space), so
    the tests use these. */
#ifndef FERRY_WORKER_THREADCHECK_H
#define FERRY_WORKER_THREADCHECK_H

#include <stdbool.h>
#include <stddef.h>

/*  Address space the check also wants free beside the threads. */
#define THREADCHECK_HEADROOM (8 << 20)

/*  Starts `count` threads that wait together, allocates
    THREADCHECK_HEADROOM meanwhile, then ends them and frees it. Returns
    0, or -1 with err ("pthread_create: Resource temporarily unavailable
    (thread 3 of 4)", "cannot allocate 8 MiB beside 4 threads"). Logs
    nothing. */
int threadcheck_run (int count, char *err, size_t errlen);

/*  True when FERRY_FAULT names `what` (test hook; see above). */
bool threadcheck_fault (const char *what);

#endif
