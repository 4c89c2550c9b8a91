/*  worker/pipeline.h: one chunk through reader -> processors -> writer.

    pipeline_run_chunk copies the rows of one key range from the source into
    the copy table, in ONE target transaction together with the chunk's
    ledger row (ferry.chunk_commits), retrying retryable failures whole with
    exponential back-off. Inside an attempt:

        reader  --raw queue (raw_queue_max batches)-->  processors (N threads)
                --processed queue (processed_queue_max)-->  writer

    A batch holds whole rows, about read_buffer bytes. Bounded queues keep
    memory flat whatever the chunk size. Processors count rows, check the
    tuple framing and fingerprint the rows; binary tuples pass through
    untouched. The stage threads are plain pthreads, not zactors: each one
    sits in a blocking libpq call or a queue, the queues (with close/abort)
    are the only channel between them, and the first error aborts both
    queues so every stage unwinds.

    This header is the slot API that session.c and main.c use. The
    attempt's insides are attempt.h (its shared state), batch.h (rows in
    flight), stage.h (the stage interface and the choice of stages),
    fence.h (the ledger fence); the stages are reader*.c, processor*.c and
    writer*.c. */
#ifndef FERRY_WORKER_PIPELINE_H
#define FERRY_WORKER_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "copyjob.h"
#include "pg.h"

/*  Why a chunk did not commit. */
typedef enum {
    CHUNK_OK = 0,
    CHUNK_FAILED,              /* permanent: data, schema, privilege */
    CHUNK_RETRIES_EXHAUSTED,   /* retryable errors past max_retries */
    CHUNK_ALREADY_COMMITTED,   /* another attempt holds the ledger row */
    CHUNK_INTERRUPTED          /* stop requested */
} chunk_status_t;

typedef struct {
    int64_t chunk_id;
    int32_t attempt;
    const char *lo;            /* borrowed; NULL = unbounded */
    const char *hi;
    /* a group (key ranges only): count adjacent chunks chunk_id ..
       chunk_id + count - 1 through one COPY, one transaction, one ledger
       row each; member i reads [i ? bounds[i - 1] : lo, i < count - 1 ?
       bounds[i] : hi). count 1 (or 0): one chunk. */
    int32_t count;
    char *const *bounds;       /* borrowed, count - 1 of them */
    /* file sources: the byte range [offset, offset + length) of path,
       starting at physical line first_line */
    const char *path;          /* borrowed; NULL for key ranges */
    int64_t offset;
    int64_t length;
    int64_t first_line;
} chunk_spec_t;

/*  What one member of a group committed. */
typedef struct {
    int64_t rows, bytes;
    uint64_t checksum;
} member_result_t;

typedef struct {
    chunk_status_t status;
    member_result_t *members;  /* a group that committed: one per member
                                  (owned by the receiver, free ()); else NULL */
    int64_t rows;              /* rows committed */
    int64_t rejected;          /* file sources: records rejected (in ferry.rejects) */
    int64_t bytes;
    uint64_t checksum;
    int64_t read_ms, process_ms, write_ms, commit_ms;
    int retries;
    ferr_t err;                /* names the chunk, the server and the SQLSTATE;
                                  retryable: the last error was */
} chunk_result_t;

/*  One chunk slot: the two connections it reuses from chunk to chunk, and
    live counters another thread may read for PROGRESS. */
typedef struct {
    pg_conn_t *source;
    pg_conn_t *target;
    _Atomic int64_t rows_done;     /* rows through the writer, this attempt */
    _Atomic int64_t bytes_done;
} slot_t;

/*  Creates a slot with unconnected handles for the job's servers. */
slot_t *slot_new (const copyjob_t *job);
void slot_destroy (slot_t **self_p);

/*  Connects what is not connected of the slot's target and (with_source)
    source, the two at once. 0, or -1 (each connection's error says which
    failed). */
int slot_connect (slot_t *self, bool with_source, volatile int *stop);

/*  Connections a worker opens before it knows its job, from
    FERRY_SOURCE_DSN and FERRY_TARGET_DSN (the coordinator that spawns
    local workers sets them): they open while the coordinator plans, and
    slot_ahead_take hands them to the first slot, which then need not
    connect. Each is NULL when its variable is unset. */
typedef struct {
    pg_conn_t *source;
    pg_conn_t *target;
} slot_ahead_t;

/*  Starts connecting (pg_connect_begin; connect_timeout 10 s), named
    ferry/<FERRY_RUN_ID>/<worker> as the slots name theirs. */
void slot_ahead_begin (slot_ahead_t *self, const char *worker);

/*  The slot takes over each connection opened ahead to its own server
    (pg_conn_adopt; with_source false: the source one is dropped). A
    connection that failed, or to another server, is dropped: the slot
    connects as usual. */
void slot_ahead_take (slot_ahead_t *self, slot_t *slot, bool with_source);

/*  Drops what was not taken. */
void slot_ahead_drop (slot_ahead_t *self);

/*  Runs one chunk to the end (commit, permanent failure, retries
    exhausted, already committed, or *stop). The job must be prepared.
    Logs the outcome once (info on commit, error otherwise) and fills
    result. Returns 0 when committed, -1 otherwise. */
int pipeline_run_chunk (copyjob_t *job, slot_t *slot, const chunk_spec_t *spec,
                        chunk_result_t *result, volatile int *stop);

#endif
