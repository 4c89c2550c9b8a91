/*  worker/wstats.c: see wstats.h. */
#include "wstats.h"
#include "util.h"

#include <sys/resource.h>

static _Atomic uint64_t s_batches[PROTOCOL_BATCH_BOUNDS + 1];
static _Atomic int64_t s_batch_us;
static _Atomic int64_t s_raw;
static _Atomic int64_t s_processed;
static _Atomic int s_pipelines;

int64_t
wstats_now_us (void)
{
    return util_now_us ();
}

void
wstats_batch_since (int64_t t0_us)
{
    int64_t us = wstats_now_us () - t0_us;
    if (us < 0)
        us = 0;
    double ms = (double) us / 1000.0;
    int i = 0;
    while (i < PROTOCOL_BATCH_BOUNDS && ms > protocol_batch_bounds_ms[i])
        i++;
    atomic_fetch_add (&s_batches[i], 1);
    atomic_fetch_add (&s_batch_us, us);
}

_Atomic int64_t *
wstats_raw_gauge (void)
{
    return &s_raw;
}

_Atomic int64_t *
wstats_processed_gauge (void)
{
    return &s_processed;
}

void
wstats_pipeline (int delta)
{
    atomic_fetch_add (&s_pipelines, delta);
}

void
wstats_fill (protocol_msg_t *msg)
{
    struct rusage ru;
    if (getrusage (RUSAGE_SELF, &ru) == 0)
        msg->cpu_ms = ((int64_t) ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000
                    + ((int64_t) ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    int pipelines = atomic_load (&s_pipelines);
    int64_t raw = atomic_load (&s_raw), processed = atomic_load (&s_processed);
    msg->pipelines = pipelines > 0 ? pipelines : 0;
    msg->raw_queued = raw > 0 ? raw : 0;
    msg->processed_queued = processed > 0 ? processed : 0;
    uint64_t counts[PROTOCOL_BATCH_BOUNDS + 1];
    for (int i = 0; i <= PROTOCOL_BATCH_BOUNDS; i++)
        counts[i] = atomic_load (&s_batches[i]);
    msg->batch_hist = protocol_batch_hist_format (counts);
    msg->batch_us = atomic_load (&s_batch_us);
}
