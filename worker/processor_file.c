/*  worker/processor_file.c: the processor stage for file sources.

    Parses the records of a raw batch (common/format/csv.c), checks the field
    count and every mapped field against its target column
    (common/format/validate.c), and encodes each good record as one row of COPY
    text format (tab-separated, \N for NULL, backslash escapes), keeping
    the file line of each row. A bad record becomes a reject (line, raw
    bytes, reason) carried with the batch to the writer, which stores it
    in ferry.rejects in the chunk's transaction. Nothing is dropped:
    every record read is either a row or a reject. */
#include "stage.h"
#include "csv.h"
#include "jobcheck.h"
#include "log.h"
#include "util.h"
#include "validate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  Appends value as a COPY text field. v is NUL-terminated at len (the
    record's arena) and holds no other NUL (such records are rejected), so
    strcspn finds the first byte to escape, usually none, quickly. */
static batch_t *
s_put_field (batch_t *out, const char *v, size_t len)
{
    size_t plain = strcspn (v, "\\\n\r\t");
    if (plain >= len) {
        out = batch_reserve (out, len);
        memcpy (out->data + out->len, v, len);
        out->len += len;
        return out;
    }
    out = batch_reserve (out, len * 2 + 2);
    char *d = out->data + out->len;
    const char *run = v, *endp = v + len;
    for (const char *p = v; p < endp; p++) {
        unsigned char c = (unsigned char) *p;
        if (c != '\\' && c != '\n' && c != '\r' && c != '\t')
            continue;
        size_t n = (size_t) (p - run);
        memcpy (d, run, n);
        d += n;
        *d++ = '\\';
        *d++ = c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        run = p + 1;
    }
    size_t n = (size_t) (endp - run);
    memcpy (d, run, n);
    d += n;
    out->len = (size_t) (d - out->data);
    return out;
}

static void
s_add_line (batch_t *out, uint32_t *lines_cap, int64_t line)
{
    if (out->rows >= *lines_cap) {
        *lines_cap = *lines_cap ? *lines_cap * 2 : 512;
        out->lines = xrealloc (out->lines, *lines_cap * sizeof *out->lines);
    }
    out->lines[out->rows] = line;
}

static void
s_reject (batch_t *out, int64_t line, const char *raw, size_t rawlen, const char *reason)
{
    /*  Drop the record's line terminator from what is stored. */
    while (rawlen > 0 && (raw[rawlen - 1] == '\n' || raw[rawlen - 1] == '\r'))
        rawlen--;
    reject_t *r = reject_new (line, raw, rawlen, reason);
    r->next = out->rejects;
    out->rejects = r;
    out->nrejects++;
}

/*  Processes one raw batch into a new processed batch. *records gets the
    records seen (rows + rejects). */
static batch_t *
s_process (attempt_t *a, csv_record_t *rec, batch_t *in, int64_t *records)
{
    const copyjob_t *job = a->job;
    batch_t *out = batch_new (in->len + in->len / 8 + 256);
    uint32_t lines_cap = 0;
    int64_t line = in->first_line;
    size_t pos = 0;
    char err[256], reason[512];
    const size_t max_record = (size_t) job->max_record_bytes;
    if (in->oversize > 0) {
        /*  The reader dropped this record but its first bytes. */
        (*records)++;
        snprintf (reason, sizeof reason, "record of %" PRId64 " bytes is longer than "
                  "source.format.max_record_bytes (%zu); its first %zu bytes are kept",
                  in->oversize, max_record, in->len);
        s_reject (out, line, in->data, in->len, reason);
        return out;
    }
    while (pos < in->len) {
        size_t consumed = 0;
        const char *raw = in->data + pos;
        int rc = csv_parse_record (&job->csv, raw, in->len - pos, true, rec, &consumed,
                                   err, sizeof err);
        if (rc == 2) {                  /* blank line */
            pos += consumed;
            line++;
            continue;
        }
        if (consumed == 0)              /* cannot happen with eof = true; be safe */
            consumed = in->len - pos;
        (*records)++;
        if (consumed > max_record) {
            /*  Whole in this batch (the reader lets a batch run a read or
                two past the limit), but over it all the same. */
            size_t keep = consumed < JOBCHECK_REJECT_PREFIX ? consumed : JOBCHECK_REJECT_PREFIX;
            snprintf (reason, sizeof reason, "record of %zu bytes is longer than "
                      "source.format.max_record_bytes (%zu); its first %zu bytes are kept",
                      consumed, max_record, keep);
            s_reject (out, line, raw, keep, reason);
            pos += consumed;
            line += rc == 1 ? csv_record_lines (rec) : 1;
            continue;
        }
        if (rc < 0) {
            s_reject (out, line, raw, consumed, err);
            pos += consumed;
            line++;
            continue;
        }
        int lines = csv_record_lines (rec);
        int nf = csv_record_nfields (rec);
        const char *bad = NULL;
        if (nf != job->nfile_columns) {
            snprintf (reason, sizeof reason, "expected %d fields, got %d", job->nfile_columns, nf);
            bad = reason;
        }
        else if (csv_record_has_nul (rec))
            bad = "a field holds a NUL byte (PostgreSQL text cannot store it)";
        else
            for (int i = 0; i < nf; i++) {
                if (!job->file_targets[i])
                    continue;
                size_t len = 0;
                const char *v = csv_record_field (rec, i, &len);
                if (validate_value (&job->validators[i], v, len, reason, sizeof reason) != 0) {
                    bad = reason;
                    break;
                }
            }
        if (bad) {
            s_reject (out, line, raw, consumed, bad);
        }
        else {
            bool first = true;
            for (int i = 0; i < nf; i++) {
                if (!job->file_targets[i])
                    continue;
                if (!first) {
                    out = batch_reserve (out, 1);
                    out->data[out->len++] = '\t';
                }
                first = false;
                size_t len = 0;
                const char *v = csv_record_field (rec, i, &len);
                if (!v) {
                    out = batch_reserve (out, 2);
                    out->data[out->len++] = '\\';
                    out->data[out->len++] = 'N';
                }
                else
                    out = s_put_field (out, v, len);
            }
            out = batch_reserve (out, 1);
            out->data[out->len++] = '\n';
            s_add_line (out, &lines_cap, line);
            out->rows++;
        }
        pos += consumed;
        line += lines;
    }
    return out;
}

static void *
s_thread (void *arg)
{
    attempt_t *a = arg;
    log_set_chunk (a->spec->chunk_id);
    csv_record_t *rec = csv_record_new ();
    int64_t busy_ms = 0, records = 0;
    int64_t slow_ms = stage_test_slow_process_ms ();
    batch_t *in;
    while ((in = queue_pop (a->raw)) != NULL) {
        int64_t t0 = util_now_ms ();
        if (slow_ms > 0)
            usleep ((useconds_t) (slow_ms * 1000));
        batch_t *out = s_process (a, rec, in, &records);
        batch_free (in);
        busy_ms += util_now_ms () - t0;
        if (queue_push (a->processed, out) != 0) {
            batch_free (out);
            break;                      /* aborted */
        }
    }
    csv_record_destroy (&rec);
    pthread_mutex_lock (&a->error_lock);
    a->rows_checked += records;
    a->process_ms += busy_ms;
    pthread_mutex_unlock (&a->error_lock);
    queue_producer_done (a->processed);
    return NULL;
}

const stage_ops_t processor_file = { .thread = s_thread };
