/*  coordinator/bottleneck.h: which stage of a worker's pipeline bounds it,
    pure logic (the tuning guides' pipeline monitor).

        reader --raw queue--> processors --processed queue--> writer

    Live, from queue depths: a processed queue over 80% full means the
    writers or the database are too slow (checked first: a full processed
    queue also backs up the raw queue); a raw queue over 80% full means the
    processors are too slow; both empty means the read side is the limit.
    After the fact, from the stages' busy times (what each stage spent
    working, not waiting on a queue): the stage that worked longest. */
#ifndef FERRY_COORDINATOR_BOTTLENECK_H
#define FERRY_COORDINATOR_BOTTLENECK_H

#include <stdint.h>

typedef enum {
    BOTTLENECK_NONE = 0,       /* no diagnosis (nothing running, or in between) */
    BOTTLENECK_READ,
    BOTTLENECK_PROCESS,
    BOTTLENECK_WRITE           /* write and commit: the target */
} bottleneck_t;

/*  The live diagnosis from queue depths: raw and processed are the batches
    queued, summed over `pipelines` running chunk attempts whose queues hold
    at most raw_max and processed_max batches each. NONE when pipelines is
    0 or the queues are between the thresholds. Can't fail. */
bottleneck_t bottleneck_diagnose (int64_t raw, int64_t processed, int pipelines,
                                  int raw_max, int processed_max);

/*  The stage that bounded a worker, from its stages' busy seconds
    (process: summed over the processors, so divided by their number
    here; write includes commit). NONE when all are 0. Can't fail. */
bottleneck_t bottleneck_stage (double read_s, double process_s, int processors,
                               double write_s);

/*  "read", "process", "write/commit", "none". */
const char *bottleneck_name (bottleneck_t b);

/*  The diagnosis in words, for the WARN line. */
const char *bottleneck_advice (bottleneck_t b);

#endif
