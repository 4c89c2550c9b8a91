/*  coordinator/hostcpu.h: this host's CPU time so far, for the adaptive
    concurrency (cc_host_t, coordinator/concurrency.h), read from
    /proc/stat. */
#ifndef FERRY_COORDINATOR_HOSTCPU_H
#define FERRY_COORDINATOR_HOSTCPU_H

#include "concurrency.h"

/*  Busy (user, nice, system, irq, softirq, steal) and idle (idle, iowait)
    time summed over the host's CPUs, in ms. Returns 0, or -1 where
    /proc/stat cannot be read (not Linux): the caller passes NULL on. */
int hostcpu_read (cc_host_t *out);

/*  The CPUs online (at least 1). */
int hostcpu_cores (void);

#endif
