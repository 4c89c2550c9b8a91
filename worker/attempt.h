/*  worker/attempt.h: the state of one attempt at a chunk, shared by its
    stage threads, and the helpers every stage uses on it.

    pipeline.c makes one attempt_t per attempt (attempt_init), hands it to
    the stages (stage.h) and reads the outcome from it afterwards. The
    stages share it under one rule: the first error wins (attempt_fail),
    and it aborts both queues so every stage unwinds. Counters are written
    by the one stage that owns them (reader, writer) or summed under
    error_lock (processors). */
#ifndef FERRY_WORKER_ATTEMPT_H
#define FERRY_WORKER_ATTEMPT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "error.h"
#include "copyjob.h"
#include "pg.h"
#include "pipeline.h"
#include "queue.h"

/*  The state of one attempt, shared by its stage threads. */
typedef struct {
    copyjob_t *job;
    slot_t *slot;
    const chunk_spec_t *spec;
    volatile int *stop;
    queue_t *raw;
    queue_t *processed;
    _Atomic int failed;
    pthread_mutex_t error_lock;
    ferr_t err;                /* the first failure (attempt_fail) */
    bool already_committed;
    /* a group: per member, rows and bytes read (reader) and the
       fingerprint (processors, under the error lock); count entries */
    int32_t count;
    member_result_t *members;
    /* reader */
    int64_t rows_read, bytes_read, read_ms;
    int64_t read_blocked_ms;   /* waiting for room in a full raw queue (not read time) */
    /* processors, summed under the error lock */
    int64_t rows_checked;
    uint64_t checksum;
    int64_t process_ms;
    /* writer */
    int64_t rows_written, bytes_written, write_ms;
    int64_t commit_ms;
    int64_t rows_committed;    /* the rows the ledger row(s) record (fence_take) */
    const char *token;         /* this pipeline_run_chunk's ledger token */
    /* file sources */
    int fd;                    /* the source file, -1 when closed */
    int64_t records_read;      /* reader: records (excluding blank lines) */
    int64_t rejected;          /* writer: records rejected (processors + server) */
    bool careful;              /* writer: COPY in groups under savepoints, bisecting
                                  what the server refuses (else one COPY per chunk) */
    bool refused;              /* writer, fast mode: the server refused a row; the
                                  attempt is rerun careful at once */
} attempt_t;

/*  Sets up a fresh attempt of spec (all borrowed, and `token` too: they
    outlive the attempt). A group gets one zeroed member_result_t per
    member. Release it with attempt_release. Can't fail. */
void attempt_init (attempt_t *a, copyjob_t *job, slot_t *slot, const chunk_spec_t *spec,
                   volatile int *stop, const char *token, bool careful);

/*  Frees what the attempt still owns (members, unless the caller took
    them and nulled the field). The queues are already gone. */
void attempt_release (attempt_t *a);

/*  The key range of member i of spec (0 for a single chunk): member i
    reads [i ? bounds[i - 1] : lo, i < count - 1 ? bounds[i] : hi).
    Borrowed from spec. */
void spec_member_range (const chunk_spec_t *spec, int32_t i, const char **lo, const char **hi);

/*  Records the first error of the attempt and aborts both queues so every
    stage unwinds. Later errors are ignored (they are consequences). */
void attempt_fail (attempt_t *a, const char *sqlstate, bool retryable,
                   const char *format, ...) __attribute__ ((format (printf, 4, 5)));

/*  Same, taking the error kept in a connection; `what` says where. */
void attempt_fail_pg (attempt_t *a, pg_conn_t *conn, const char *what);

/*  Marks the attempt as stopped by a ledger row that is already there
    (the caller then fails it with attempt_fail*). Thread-safe. */
void attempt_set_already_committed (attempt_t *a);

/*  queue_push onto the raw queue, timing the wait for room (the reader's
    stage time excludes it: a full raw queue is the processors' time). */
int attempt_push_raw (attempt_t *a, batch_t *batch);

/*  The reader's last batch: pushed (attempt_push_raw) when it holds
    something and nothing failed, else freed. Takes the batch (NULL is
    fine) and nulls the caller's pointer. */
void attempt_push_last (attempt_t *a, batch_t **batch_p);

/*  Makes sure conn (one of the slot's) is connected and idle: a
    connection left mid-transaction is dropped and made anew. Returns 0,
    or -1 with the attempt failed (the connection's error). */
int attempt_connect (attempt_t *a, pg_conn_t *conn);

/*  Rolls back the target transaction, ending an open COPY IN with an
    error first. Nothing to do when the target is not connected. */
void attempt_abort_target (attempt_t *a);

#endif
