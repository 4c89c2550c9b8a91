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
    queues so every stage unwinds. */
#ifndef FERRY_WORKER_PIPELINE_H
#define FERRY_WORKER_PIPELINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "copyjob.h"
#include "queue.h"
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
    char sqlstate[6];
    char message[2048];        /* names the chunk, the server and the SQLSTATE */
    bool retryable;            /* the last error was retryable */
} chunk_result_t;

/*  One chunk slot: the two connections it reuses from chunk to chunk, and
    live counters another thread may read for PROGRESS. */
typedef struct {
    pg_conn_t *source;
    pg_conn_t *target;
    _Atomic int64_t rows_done;     /* rows through the writer, this attempt */
    _Atomic int64_t bytes_done;
} slot_t;

/*  The key range of member i of spec (0 for a single chunk). */
void spec_member_range (const chunk_spec_t *spec, int32_t i, const char **lo, const char **hi);

/*  Creates a slot with unconnected handles for the job's servers. */
slot_t *slot_new (const copyjob_t *job);
void slot_destroy (slot_t **self_p);

/*  Runs one chunk to the end (commit, permanent failure, retries
    exhausted, already committed, or *stop). The job must be prepared.
    Logs the outcome once (info on commit, error otherwise) and fills
    result. Returns 0 when committed, -1 otherwise. */
int pipeline_run_chunk (copyjob_t *job, slot_t *slot, const chunk_spec_t *spec,
                        chunk_result_t *result, volatile int *stop);

/* ---- shared between the stage files (reader.c, processor.c, writer.c) ---- */

/*  A rejected input record (file sources), on its way to ferry.rejects. */
typedef struct reject_t {
    struct reject_t *next;
    int64_t line;
    size_t rawlen;
    char *raw;
    char reason[];
} reject_t;

/*  Rows in flight. PostgreSQL sources: whole binary or text COPY tuples.
    File sources: the reader's batches hold whole records of the file
    (first_line is the line of the first); the processors' batches hold
    COPY text rows, the file line of each row, and the records they
    rejected. */
typedef struct {
    size_t len;
    size_t cap;
    uint32_t rows;
    int64_t first_line;
    int32_t member;            /* PostgreSQL sources: the group member it belongs to */
    int64_t *lines;            /* processed file batches: line of each row */
    reject_t *rejects;         /* processed file batches */
    uint32_t nrejects;
    int64_t oversize;          /* raw file batches: 0, or this batch holds only the
                                  first bytes of ONE record of `oversize` bytes,
                                  longer than max_record_bytes: a reject */
    char data[];
} batch_t;

batch_t *batch_new (size_t cap);
void batch_free (void *batch);

/*  Makes room for `more` bytes; may move the batch. Can't fail. */
batch_t *batch_reserve (batch_t *batch, size_t more);

/*  A new reject (raw copied). Can't fail. */
reject_t *reject_new (int64_t line, const char *raw, size_t rawlen, const char *reason);
void reject_free_list (reject_t **list_p);

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
    char sqlstate[6];
    char message[1536];
    bool retryable;
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

/*  Records the first error of the attempt and aborts both queues so every
    stage unwinds. Later errors are ignored (they are consequences). */
void attempt_fail (attempt_t *a, const char *sqlstate, bool retryable,
                   const char *format, ...) __attribute__ ((format (printf, 4, 5)));

/*  Same, taking the error kept in a connection; `what` says where. */
void attempt_fail_pg (attempt_t *a, pg_conn_t *conn, const char *what);

/*  queue_push onto the raw queue, timing the wait for room (the reader's
    stage time excludes it: a full raw queue is the processors' time). */
int attempt_push_raw (attempt_t *a, batch_t *batch);

/* reader.c */
int reader_begin (attempt_t *a);         /* BEGIN, snapshot, COPY OUT */
void *reader_thread (void *a);
void reader_end (attempt_t *a);          /* COMMIT the read-only transaction */

/*  TEST-ONLY (docs/OPERATIONS.md): FERRY_TEST_SLOW_PROCESS_MS=N makes each
    processor spend N more ms on every batch (0 when unset or invalid), so
    that a test can make the process stage the bottleneck. */
int64_t pipeline_test_slow_process_ms (void);

/* processor.c */
void *processor_thread (void *a);

/* reader_file.c, processor_file.c, writer_file.c: file sources */
int reader_file_begin (attempt_t *a);
void *reader_file_thread (void *a);
void reader_file_end (attempt_t *a);
void *processor_file_thread (void *a);
void *writer_file_thread (void *a);
int writer_file_commit (attempt_t *a);

/*  The stages of one kind of source, as one table: pipeline.c picks the
    table once per attempt (PostgreSQL source or file source) instead of
    choosing each stage apart. */
typedef struct {
    int (*reader_begin) (attempt_t *a);     /* open the source for the chunk */
    void *(*reader) (void *a);              /* thread: source -> raw queue */
    void (*reader_end) (attempt_t *a);      /* close the source's side */
    void *(*processor) (void *a);           /* thread: raw -> processed queue */
    void *(*writer) (void *a);              /* thread: processed queue -> target */
    int (*commit) (attempt_t *a);           /* end COPY, checks, ledger row, COMMIT */
} stages_t;

extern const stages_t stages_postgres;     /* reader.c, processor.c, writer.c */
extern const stages_t stages_file;         /* reader_file.c, processor_file.c, writer_file.c */

/* writer.c */
int writer_begin (attempt_t *a, const char *token);   /* BEGIN, ledger look-up, COPY IN */
/*  The fence: inserts the chunk's ledger row with its totals; on a
    conflict sets already_committed. Returns 0 or -1 (failed, rolled back). */
int writer_ledger_insert (attempt_t *a, int64_t rows, int64_t rejected);
/*  The same for one chunk of a group, with its own figures. */
int writer_ledger_insert_one (attempt_t *a, int64_t chunk_id, int64_t rows, int64_t bytes,
                              uint64_t checksum, int64_t rejected);
void *writer_thread (void *a);
int writer_commit (attempt_t *a);        /* COPY end, checks, ledger update, COMMIT */
void writer_abort (attempt_t *a);        /* abort COPY, ROLLBACK */

#endif
