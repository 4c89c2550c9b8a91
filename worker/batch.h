/*  worker/batch.h: rows in flight between the stages of an attempt, and
    the records a file source rejects on the way.

    Pure memory: no I/O, no locks (a batch has one owner at a time: the
    stage that popped it from a queue). */
#ifndef FERRY_WORKER_BATCH_H
#define FERRY_WORKER_BATCH_H

#include <stddef.h>
#include <stdint.h>

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

/*  An empty batch with room for cap bytes. Can't fail. */
batch_t *batch_new (size_t cap);

/*  Frees a batch, its lines and its rejects; NULL is fine. Takes void *
    so that it can be a queue's destructor (common/base/queue.h). */
void batch_free (void *batch);

/*  Makes room for `more` bytes; may move the batch (at least doubling
    its capacity when it grows). Can't fail. */
batch_t *batch_reserve (batch_t *batch, size_t more);

/*  A new reject (raw copied, NUL-terminated after rawlen). Can't fail. */
reject_t *reject_new (int64_t line, const char *raw, size_t rawlen, const char *reason);

/*  Frees a whole list and nulls the caller's pointer. */
void reject_free_list (reject_t **list_p);

#endif
