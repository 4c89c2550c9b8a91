/*  worker/reader_file.c: the reader stage for file sources.

    Reads the chunk's byte range [offset, offset + length) with pread in
    read_buffer-sized reads and cuts it into batches that end on record
    boundaries: a newline outside quotes (the coordinator planned the range
    with the same rule, common/csv.c csv_split, so the range itself starts
    and ends on record boundaries). Each batch carries the physical line
    number of its first record, so a rejected record can be named by line.
    Only record boundaries are found here (csv_scanner: the planner's
    scanner, SSE2, no field decoding): parsing is the processors' work. */
#include "pipeline.h"
#include "csv.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
reader_file_begin (attempt_t *a)
{
    a->fd = open (a->spec->path, O_RDONLY | O_CLOEXEC);
    if (a->fd < 0) {
        /*  Maybe only this worker lacks the file (a volume not mounted
            here): retryable, so the coordinator may try elsewhere. */
        attempt_fail (a, "58P01", true, "cannot open %s: %s", a->spec->path, strerror (errno));
        return -1;
    }
    posix_fadvise (a->fd, a->spec->offset, a->spec->length, POSIX_FADV_SEQUENTIAL);
    return 0;
}

void
reader_file_end (attempt_t *a)
{
    if (a->fd >= 0)
        close (a->fd);
    a->fd = -1;
}

void *
reader_file_thread (void *arg)
{
    attempt_t *a = arg;
    log_set_chunk (a->spec->chunk_id);
    const size_t block = (size_t) a->job->read_buffer;
    int64_t pos = a->spec->offset;
    const int64_t end = a->spec->offset + a->spec->length;
    int64_t t0 = util_now_ms ();
    /*  The planner's grammar (csv_split), so batches end where it would put
        a boundary; offsets below are relative to the range's start. */
    csv_scanner_t *scan = csv_scanner_new (&a->job->csv);
    batch_t *batch = batch_new (block * 2);
    batch->first_line = a->spec->first_line;
    int64_t batch_start = 0;            /* range offset of batch->data[0] */

    while (pos < end) {
        if (*a->stop) {
            attempt_fail (a, "57014", false, "interrupted");
            break;
        }
        size_t want = (size_t) (end - pos) < block ? (size_t) (end - pos) : block;
        batch = batch_reserve (batch, want);
        ssize_t n = pread (a->fd, batch->data + batch->len, want, pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            attempt_fail (a, "58030", n < 0, "reading %s at byte %lld: %s", a->spec->path,
                          (long long) pos, n < 0 ? strerror (errno) : "file shorter than planned");
            break;
        }
        csv_scanner_feed (scan, batch->data + batch->len, (size_t) n);
        pos += n;
        batch->len += (size_t) n;
        a->bytes_read += n;
        int64_t line = 1;
        int64_t record_end = csv_scanner_record_end (scan, &line);
        if (record_end <= batch_start || pos >= end)
            continue;                   /* no whole record yet (or the end: below) */
        /*  Ship the whole records, carry the partial one into a new batch. */
        size_t last = (size_t) (record_end - batch_start);
        size_t tail = batch->len - last;
        batch_t *next = batch_new (block * 2 > tail ? block * 2 : tail + block);
        memcpy (next->data, batch->data + last, tail);
        next->len = tail;
        next->first_line = a->spec->first_line + line - 1;
        batch->len = last;
        if (queue_push (a->raw, batch) != 0) {
            batch_free (batch);
            batch = next;
            break;                      /* aborted by another stage */
        }
        batch = next;
        batch_start = record_end;
    }
    /*  The range's last record (with or without a final newline). */
    if (batch->len > 0 && !a->failed) {
        if (queue_push (a->raw, batch) != 0)
            batch_free (batch);
    }
    else
        batch_free (batch);
    csv_scanner_destroy (&scan);
    a->read_ms = util_now_ms () - t0;
    queue_close (a->raw);
    return NULL;
}
