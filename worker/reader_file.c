/*  worker/reader_file.c: the reader stage for file sources.

    Reads the chunk's byte range [offset, offset + length) with pread in
    read_buffer-sized reads and cuts it into batches that end on record
    boundaries: a newline outside quotes (the coordinator planned the range
    with the same rule, common/csv.c csv_split, so the range itself starts
    and ends on record boundaries). Each batch carries the physical line
    number of its first record, so a rejected record can be named by line.
    Only the quote state is tracked here (a byte loop, no field decoding):
    parsing is the processors' work. */
#include "pipeline.h"
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

/*  Quote state carried across reads. The rule is the parser's and the
    planner's (common/csv.c): a quote opens a quoted field only as the
    first byte of a field, or right after a closing quote (a doubled
    quote); anywhere else it is data. */
typedef struct {
    bool in_quote;
    bool escaped;              /* the previous byte was an escape inside quotes */
    bool field_start;          /* the next byte starts a field */
    bool after_close;          /* the previous byte closed a quoted section */
    char quote, escape, delimiter;
} scan_t;

/*  Scans buf[from, to): updates the state, counts newlines into *lines,
    and returns the offset just past the last record-ending newline in
    [from, to), or `last` when there is none. *lines_at receives the
    newline count up to that offset. */
static size_t
s_scan (scan_t *st, const char *buf, size_t from, size_t to, size_t last,
        int64_t *lines, int64_t *lines_at)
{
    for (size_t i = from; i < to; i++) {
        char c = buf[i];
        if (c == '\n')
            (*lines)++;
        if (st->in_quote) {
            if (st->escaped)
                st->escaped = false;
            else if (st->escape != st->quote && c == st->escape)
                st->escaped = true;
            else if (c == st->quote) {
                st->in_quote = false;
                st->after_close = true;
            }
            continue;
        }
        if (st->quote && c == st->quote && (st->field_start || st->after_close)) {
            st->in_quote = true;
            st->after_close = false;
            st->field_start = false;
            continue;
        }
        st->after_close = false;
        st->field_start = c == st->delimiter || c == '\n';
        if (c == '\n') {
            last = i + 1;
            *lines_at = *lines;
        }
    }
    return last;
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
    scan_t st = { .field_start = true, .quote = a->job->csv.quote,
                  .escape = a->job->csv.escape, .delimiter = a->job->csv.delimiter };
    batch_t *batch = batch_new (block * 2);
    batch->first_line = a->spec->first_line;
    size_t scanned = 0;                 /* bytes of batch already scanned */
    size_t last = 0;                    /* end of the last whole record in batch */
    int64_t lines = 0, lines_at = 0;    /* newlines in batch; up to `last` */

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
        pos += n;
        batch->len += (size_t) n;
        a->bytes_read += n;
        last = s_scan (&st, batch->data, scanned, batch->len, last, &lines, &lines_at);
        scanned = batch->len;
        if (last == 0 || pos >= end)
            continue;                   /* no whole record yet (or the end: below) */
        /*  Ship the whole records, carry the partial one into a new batch. */
        size_t tail = batch->len - last;
        batch_t *next = batch_new (block * 2 > tail ? block * 2 : tail + block);
        memcpy (next->data, batch->data + last, tail);
        next->len = tail;
        next->first_line = batch->first_line + lines_at;
        batch->len = last;
        if (queue_push (a->raw, batch) != 0) {
            batch_free (batch);
            batch = next;
            break;                      /* aborted by another stage */
        }
        batch = next;
        scanned = tail;
        lines -= lines_at;
        lines_at = 0;
        last = 0;
    }
    /*  The range's last record (with or without a final newline). */
    if (batch->len > 0 && !a->failed) {
        if (queue_push (a->raw, batch) != 0)
            batch_free (batch);
    }
    else
        batch_free (batch);
    a->read_ms = util_now_ms () - t0;
    queue_close (a->raw);
    return NULL;
}
