/*  worker/reader_file.c: the reader stage for file sources.

    Reads the chunk's byte range [offset, offset + length) with pread in
    read_buffer-sized reads and cuts it into batches that end on record
    boundaries: a newline outside quotes (the coordinator planned the range
    with the same rule, common/format/csv_split.c csv_split, so the range itself starts
    and ends on record boundaries). Each batch carries the physical line
    number of its first record, so a rejected record can be named by line.
    Only record boundaries are found here (csv_scanner: the planner's
    scanner, SSE2, no field decoding): parsing is the processors' work.

    Memory: a batch holds whole records plus the start of the next one. A
    record that grows past max_record_bytes (source.format
    .max_record_bytes) without ending is not held whole: its first
    JOBCHECK_REJECT_PREFIX bytes go out alone in an `oversize` batch,
    which a processor turns into a reject (line, those bytes, the record's
    length), and the rest of it is read and dropped until the scanner
    sees it end. So a batch never exceeds max_record_bytes + 2 reads,
    whatever the file holds (ARCHITECTURE.md section 10). */
#include "stage.h"
#include "csv.h"
#include "jobcheck.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
s_begin (attempt_t *a)
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

/*  Closes the file, whatever happened (.end and .abort). */
static void
s_close (attempt_t *a)
{
    if (a->fd >= 0)
        close (a->fd);
    a->fd = -1;
}

static int
s_end (attempt_t *a)
{
    s_close (a);
    return 0;
}

/*  Sends the oversize record's reject batch; false when the queue was
    aborted (another stage failed). */
static bool
s_push_oversize (attempt_t *a, batch_t **over_p, int64_t bytes)
{
    batch_t *over = *over_p;
    *over_p = NULL;
    over->oversize = bytes;
    if (attempt_push_raw (a, over) != 0) {
        batch_free (over);
        return false;
    }
    return true;
}

static void *
s_thread (void *arg)
{
    attempt_t *a = arg;
    log_set_chunk (a->spec->chunk_id);
    const size_t block = (size_t) a->job->read_buffer;
    const size_t max_record = (size_t) a->job->max_record_bytes;
    int64_t pos = a->spec->offset;
    const int64_t end = a->spec->offset + a->spec->length;
    int64_t t0 = util_now_ms ();
    /*  The planner's grammar (csv_split), so batches end where it would put
        a boundary; offsets below are relative to the range's start. */
    csv_scanner_t *scan = csv_scanner_new (&a->job->csv);
    batch_t *batch = batch_new (block * 2);
    batch->first_line = a->spec->first_line;
    int64_t batch_start = 0;            /* range offset of batch->data[0] */
    batch_t *over = NULL;               /* dropping an over-long record: its reject */
    int64_t over_bytes = 0;             /* its bytes so far */

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
        if (over) {
            int64_t line = 1;
            int64_t first = csv_scanner_first_end (scan, &line);
            if (first < 0) {
                /*  Still inside it: drop what was read. */
                over_bytes += (int64_t) batch->len;
                batch_start += (int64_t) batch->len;
                batch->len = 0;
                continue;
            }
            /*  It ends here; what follows is the next records. */
            size_t cut = (size_t) (first - batch_start);
            over_bytes += (int64_t) cut;
            memmove (batch->data, batch->data + cut, batch->len - cut);
            batch->len -= cut;
            batch_start = first;
            batch->first_line = a->spec->first_line + line - 1;
            if (!s_push_oversize (a, &over, over_bytes))
                break;
        }
        int64_t line = 1;
        int64_t record_end = csv_scanner_record_end (scan, &line);
        if (record_end <= batch_start && batch->len > max_record) {
            /*  One record (the batch holds nothing else), too long to hold:
                keep its first bytes for the reject, drop the rest as it
                comes, until it ends. */
            size_t keep = batch->len < JOBCHECK_REJECT_PREFIX ? batch->len
                                                              : JOBCHECK_REJECT_PREFIX;
            over = batch_new (keep);
            memcpy (over->data, batch->data, keep);
            over->len = keep;
            over->first_line = batch->first_line;
            over_bytes = (int64_t) batch->len;
            batch_start += (int64_t) batch->len;
            batch->len = 0;
            csv_scanner_mark (scan);
            continue;
        }
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
        if (attempt_push_raw (a, batch) != 0) {
            batch_free (batch);
            batch = next;
            break;                      /* aborted by another stage */
        }
        batch = next;
        batch_start = record_end;
    }
    /*  An over-long record that runs to the end of the range. */
    if (over && !a->failed)
        s_push_oversize (a, &over, over_bytes);
    batch_free (over);
    /*  The range's last record (with or without a final newline). */
    attempt_push_last (a, &batch);
    csv_scanner_destroy (&scan);
    a->read_ms = util_now_ms () - t0 - a->read_blocked_ms;
    queue_close (a->raw);
    return NULL;
}

const stage_ops_t reader_file = {
    .begin = s_begin, .thread = s_thread, .end = s_end, .abort = s_close };
