/*  coordinator/bottleneck.c: see bottleneck.h. */
#include "bottleneck.h"

bottleneck_t
bottleneck_diagnose (int64_t raw, int64_t processed, int pipelines, int raw_max,
                     int processed_max)
{
    if (pipelines <= 0 || raw_max <= 0 || processed_max <= 0)
        return BOTTLENECK_NONE;
    /*  Over 80% full: depth * 5 > capacity * 4, in integers. */
    if (processed * 5 > (int64_t) pipelines * processed_max * 4)
        return BOTTLENECK_WRITE;
    if (raw * 5 > (int64_t) pipelines * raw_max * 4)
        return BOTTLENECK_PROCESS;
    if (raw == 0 && processed == 0)
        return BOTTLENECK_READ;
    return BOTTLENECK_NONE;
}

bottleneck_t
bottleneck_stage (double read_s, double process_s, int processors, double write_s)
{
    double process = processors > 0 ? process_s / processors : process_s;
    if (read_s <= 0 && process <= 0 && write_s <= 0)
        return BOTTLENECK_NONE;
    if (write_s >= read_s && write_s >= process)
        return BOTTLENECK_WRITE;
    if (process >= read_s)
        return BOTTLENECK_PROCESS;
    return BOTTLENECK_READ;
}

const char *
bottleneck_name (bottleneck_t b)
{
    switch (b) {
    case BOTTLENECK_READ: return "read";
    case BOTTLENECK_PROCESS: return "process";
    case BOTTLENECK_WRITE: return "write/commit";
    default: return "none";
    }
}

const char *
bottleneck_advice (bottleneck_t b)
{
    switch (b) {
    case BOTTLENECK_READ:
        return "raw and processed queues empty: the read side (the source) is the limit";
    case BOTTLENECK_PROCESS:
        return "raw queue over 80% full: the processors are too slow (raise "
               "pipeline.processors)";
    case BOTTLENECK_WRITE:
        return "processed queue over 80% full: the writers or the target database are too "
               "slow";
    default:
        return "no diagnosis";
    }
}
