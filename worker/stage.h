/*  worker/stage.h: the one interface every stage of an attempt
    implements, and the choice of stages per kind of source.

    Each stage file exports one stage_ops_t: reader.c `reader_pg`,
    processor.c `processor_pg`, writer.c `writer_pg` (PostgreSQL sources)
    and reader_file.c `reader_file`, processor_file.c `processor_file`,
    writer_file.c `writer_file` (file sources). pipeline.c takes the set of
    a job's source kind once per attempt (stage_choose) and drives every
    stage through the same calls:

        writer->connect, reader->connect        (before the queues)
        writer->begin, reader->begin            (the target first: the fence
                                                 look-up, before any row is read)
        reader->thread, processor->thread x N, writer->thread
        reader->end, writer->end                (nothing failed: the writer's
                                                 end is the commit)
        or reader->abort, writer->abort         (after a failure)

    A NULL entry means the stage has nothing to do at that step. */
#ifndef FERRY_WORKER_STAGE_H
#define FERRY_WORKER_STAGE_H

#include <stdint.h>

#include "attempt.h"

typedef struct {
    /*  Makes sure the stage's connection is up. 0, or -1 (attempt failed). */
    int (*connect) (attempt_t *a);
    /*  Opens the stage's side for the chunk. 0, or -1 with the attempt
        failed and the stage's own side closed again. */
    int (*begin) (attempt_t *a);
    /*  The stage's thread: raw source -> raw queue -> processed queue ->
        target. Takes the attempt_t *. */
    void *(*thread) (void *a);
    /*  After every thread joined and nothing failed: finishes the stage's
        side (the writer's: end of COPY, checks, fence, COMMIT). 0, or -1
        with the attempt failed. */
    int (*end) (attempt_t *a);
    /*  After a failure: closes the stage's side, throwing its work away. */
    void (*abort) (attempt_t *a);
} stage_ops_t;

/*  The stages of one kind of source. */
typedef struct {
    const stage_ops_t *reader;
    const stage_ops_t *processor;
    const stage_ops_t *writer;
} stage_set_t;

extern const stage_ops_t reader_pg, processor_pg, writer_pg;
extern const stage_ops_t reader_file, processor_file, writer_file;

/*  The stages for job's kind of source. Borrowed, static. */
const stage_set_t *stage_choose (const copyjob_t *job);

/*  TEST-ONLY (docs/OPERATIONS.md): FERRY_TEST_SLOW_PROCESS_MS=N makes each
    processor spend N more ms on every batch (0 when unset or invalid), so
    that a test can make the process stage the bottleneck. */
int64_t stage_test_slow_process_ms (void);

#endif
