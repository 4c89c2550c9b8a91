/*  coordinator/hostcpu.c: see hostcpu.h. */
#include "hostcpu.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

int
hostcpu_read (cc_host_t *out)
{
    FILE *f = fopen ("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[8] = { 0 };
    int n = fscanf (f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                    &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose (f);
    long hz = sysconf (_SC_CLK_TCK);
    if (n < 5 || hz <= 0)
        return -1;
    /*  user nice system idle iowait irq softirq steal */
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    unsigned long long idle = v[3] + v[4];
    out->busy_ms = (int64_t) (busy * 1000ULL / (unsigned long long) hz);
    out->idle_ms = (int64_t) (idle * 1000ULL / (unsigned long long) hz);
    return 0;
}

int
hostcpu_cores (void)
{
    long n = sysconf (_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int) n;
}
