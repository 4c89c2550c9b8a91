/*  worker/reader.c: the reader stage, owner of the source connection's
    COPY OUT.

    In a REPEATABLE READ READ ONLY transaction (on the run's exported
    snapshot when there is one), COPY (SELECT ... WHERE key in [lo, hi)) TO
    STDOUT streams rows; the reader packs whole rows into batches of about
    read_buffer bytes for the raw queue. In binary format the first row
    message carries the 19-byte header and the last message is the 2-byte
    trailer: both are stripped here, so a batch holds tuples only and the
    writer adds its own header and trailer. */
#include "stage.h"
#include "copyfmt.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/*  Starts the COPY TO of the chunk, or of every member of a group in one
    query string: the server runs the members' statements back to back,
    so the stream does not stop for a round trip and a statement start
    between two members (pg_copy_out_row says where each ends). */
static int
s_copy_out (attempt_t *a)
{
    pg_conn_t *src = a->slot->source;
    char *sql = NULL;
    size_t len = 0;
    for (int32_t i = 0; i < a->count; i++) {
        const char *lo, *hi;
        spec_member_range (a->spec, i, &lo, &hi);
        char *one = copyjob_copy_out_sql (a->job, src, lo, hi);
        if (!one) {
            free (sql);
            sql = NULL;
            break;
        }
        size_t n = strlen (one);
        sql = xrealloc (sql, len + n + 3);
        if (len > 0) {
            memcpy (sql + len, ";\n", 2);
            len += 2;
        }
        memcpy (sql + len, one, n + 1);
        len += n;
        free (one);
    }
    int rc = sql ? pg_copy_out_begin (src, sql) : -1;
    if (rc != 0)
        attempt_fail_pg (a, src, "source COPY TO STDOUT");
    free (sql);
    return rc;
}

static int
s_connect (attempt_t *a)
{
    return attempt_connect (a, a->slot->source);
}

/*  BEGIN, snapshot, COPY OUT of the first member. */
static int
s_open (attempt_t *a)
{
    pg_conn_t *src = a->slot->source;
    if (pg_exec (src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) {
        attempt_fail_pg (a, src, "source BEGIN");
        return -1;
    }
    if (a->job->snapshot) {
        const char *params[1] = { a->job->snapshot };
        char *sql = NULL;
        PGconn *c = pg_conn_handle (src);
        char *lit = PQescapeLiteral (c, params[0], strlen (params[0]));
        if (lit)
            sql = util_strdupf ("SET TRANSACTION SNAPSHOT %s", lit);
        PQfreemem (lit);
        int rc = sql ? pg_exec (src, sql) : -1;
        free (sql);
        if (rc != 0) {
            /*  The exporting transaction is gone (coordinator or source
                restarted): reading anything else would break the run's
                consistent cut, so this is not retried here. */
            const pg_error_t *e = pg_conn_error (src);
            attempt_fail (a, e->sqlstate, e->retryable && pg_is_connected (src) == false,
                          "source: cannot use the run's snapshot %s: [%s] %s",
                          a->job->snapshot, e->sqlstate, e->message);
            return -1;
        }
    }
    return s_copy_out (a);
}

static int
s_begin (attempt_t *a)
{
    if (s_open (a) == 0)
        return 0;
    pg_disconnect (a->slot->source);
    return -1;
}

static void *
s_thread (void *arg)
{
    attempt_t *a = arg;
    log_set_chunk (a->spec->chunk_id);
    pg_conn_t *src = a->slot->source;
    const size_t target = (size_t) a->job->read_buffer;
    const bool binary = a->job->binary;
    bool header_pending = binary;
    int64_t t0 = util_now_ms ();
    batch_t *batch = batch_new (target);
    int32_t member = 0;
    int64_t member_rows = 0, member_bytes = 0;

    while (1) {
        if (*a->stop) {
            attempt_fail (a, "57014", false, "interrupted");
            break;
        }
        char *row = NULL;
        int n = pg_copy_out_row (src, &row);
        if (n == -3 && member + 1 >= a->count) {
            attempt_fail (a, "XX000", false, "source: more COPY statements than the %d "
                          "members of the group", a->count);
            break;
        }
        if (n == -1 && member + 1 < a->count) {
            attempt_fail (a, "XX000", false, "source: the group's COPY statements ended "
                          "after member %d of %d", member + 1, a->count);
            break;
        }
        if (n == -3) {
            /*  A group: this member's rows are all read; its batch leaves
                alone (a batch belongs to one member), the next member's
                COPY, in the same query string, transaction and snapshot,
                has begun. */
            a->members[member].rows = member_rows;
            a->members[member].bytes = member_bytes;
            member_rows = member_bytes = 0;
            if (batch->len > 0) {
                if (queue_push (a->raw, batch) != 0) {
                    batch_free (batch);
                    batch = NULL;
                    break;
                }
                batch = batch_new (target);
            }
            batch->member = ++member;
            header_pending = binary;
            continue;
        }
        if (n == -1) {
            if (a->count > 1) {
                a->members[member].rows = member_rows;
                a->members[member].bytes = member_bytes;
            }
            break;                      /* end of data, COPY succeeded */
        }
        if (n < -1) {
            attempt_fail_pg (a, src, "source COPY");
            break;
        }
        const char *p = row;
        size_t len = (size_t) n;
        if (header_pending) {
            long h = copyfmt_binary_header_len (p, len);
            if (h < 0) {
                PQfreemem (row);
                attempt_fail (a, "XX000", false, "source: bad binary COPY header");
                break;
            }
            p += h;
            len -= (size_t) h;
            header_pending = false;
        }
        if (binary && copyfmt_is_binary_trailer (p, len)) {
            PQfreemem (row);
            continue;                   /* the end is reported by -1 next */
        }
        if (len == 0) {
            PQfreemem (row);
            continue;
        }
        if (batch->len + len > batch->cap && batch->len > 0) {
            if (attempt_push_raw (a, batch) != 0) {
                PQfreemem (row);
                batch_free (batch);
                batch = NULL;
                break;                  /* aborted by another stage */
            }
            batch = batch_new (target > len ? target : len);
            batch->member = member;
        }
        if (len > batch->cap) {
            /*  A row larger than read_buffer travels in a batch of its own. */
            batch_t *big = batch_new (len);
            batch_free (batch);
            batch = big;
            batch->member = member;
        }
        memcpy (batch->data + batch->len, p, len);
        batch->len += len;
        batch->rows++;
        a->rows_read++;
        a->bytes_read += (int64_t) len;
        member_rows++;
        member_bytes += (int64_t) len;
        PQfreemem (row);
    }
    attempt_push_last (a, &batch);
    a->read_ms = util_now_ms () - t0 - a->read_blocked_ms;
    /*  The reader is the raw queue's only producer. */
    queue_close (a->raw);
    return NULL;
}

/*  COMMIT the read-only transaction. */
static int
s_end (attempt_t *a)
{
    pg_conn_t *src = a->slot->source;
    if (pg_exec (src, "COMMIT") != 0)
        pg_disconnect (src);    /* read-only: nothing to lose, reconnect next time */
    return 0;
}

static void
s_abort (attempt_t *a)
{
    /*  The COPY may still be streaming: dropping the connection is the
        cheapest way to stop the server's work. */
    pg_disconnect (a->slot->source);
}

const stage_ops_t reader_pg = {
    .connect = s_connect, .begin = s_begin, .thread = s_thread, .end = s_end,
    .abort = s_abort };
