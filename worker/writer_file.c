/*  worker/writer_file.c: the writer stage for file sources.

    Inside the chunk's transaction (opened by fence_begin, fence.h), the
    fast path streams every row of the chunk into ONE COPY: the server
    fills its bulk-insert ring once per chunk instead of once per group
    (on 1M rows into a PK table, 5000-row COPYs cost the target about
    1.5x the CPU of one COPY). Rejects found by the processors are stored
    after that COPY. If the server refuses a row anyway (something the
    validators let through), the transaction is lost: the attempt ends with
    `refused` set and pipeline_run_chunk runs it again at once in careful
    mode, below. So does a chunk with more than S_FAST_MAX_REJECTS
    rejects, which the fast path would otherwise hold in memory.

    Careful mode: rows go to the copy table in groups of about batch_size
    rows, each group one COPY under a SAVEPOINT. If the server refuses a group
    (a value validation let through: class 22 or 23), the group is rolled
    back to its savepoint and bisected: each half is copied under its own
    savepoint, down to the single rows the server refuses, which become
    rejects with the server's message. So one bad row costs about
    2 log2(batch_size) small COPYs, never the chunk. Rejects (from the
    processors and from the server) are stored in ferry.rejects in the
    same transaction, so they commit exactly when the chunk's rows do.
    The commit then inserts the ledger row (fence_take, with rows and
    rejects) and commits. */
#include "stage.h"
#include "fence.h"
#include "log.h"
#include "util.h"
#include "wstats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    batch_t **batches;
    size_t count, cap;
    int64_t rows;
    bool copying;              /* the group's COPY is open */
} group_t;

/*  One row of a group, for bisection. */
typedef struct {
    const char *data;
    size_t len;
    int64_t line;
} row_ref_t;

/*  A data error: the row is at fault, not the link or the schema. */
static bool
s_is_data_error (const char *sqlstate)
{
    return strncmp (sqlstate, "22", 2) == 0 || strncmp (sqlstate, "23", 2) == 0;
}

static int
s_exec (attempt_t *a, const char *sql)
{
    if (pg_exec (a->slot->target, sql) == 0)
        return 0;
    attempt_fail_pg (a, a->slot->target, sql);
    return -1;
}

/*  Ends the open COPY. Returns 0 (server rows in *rows), 1 when the server
    refused the data (a data error: the caller rolls back to its
    savepoint), -1 when the attempt failed (recorded). */
static int
s_copy_end (attempt_t *a, int64_t *rows)
{
    pg_conn_t *tgt = a->slot->target;
    if (pg_copy_in_end (tgt, NULL, rows) == 0)
        return 0;
    const pg_error_t *e = pg_conn_error (tgt);
    if (pg_is_connected (tgt) && s_is_data_error (e->sqlstate))
        return 1;
    attempt_fail_pg (a, tgt, "target COPY");
    return -1;
}

static int
s_copy_begin (attempt_t *a)
{
    char *sql = copyjob_copy_in_sql (a->job);
    int rc = pg_copy_in_begin (a->slot->target, sql);
    free (sql);
    if (rc != 0)
        attempt_fail_pg (a, a->slot->target, "target COPY FROM STDIN");
    return rc;
}

/*  Puts bytes of an open COPY. A refusal by the server may surface here
    already: then 1 (the caller ends the COPY to collect the error). */
static int
s_copy_put (attempt_t *a, const char *data, size_t len)
{
    pg_conn_t *tgt = a->slot->target;
    if (pg_copy_in_put (tgt, data, len) == 0)
        return 0;
    return pg_is_connected (tgt) ? 1 : -1;
}

static void
s_server_reject (attempt_t *a, reject_t **list, const row_ref_t *row)
{
    const pg_error_t *e = pg_conn_error (a->slot->target);
    char reason[2048];
    snprintf (reason, sizeof reason, "rejected by the server: [%s] %s%s%s", e->sqlstate,
              e->message, e->detail[0] ? " (" : "", e->detail[0] ? e->detail : "");
    if (e->detail[0])
        strncat (reason, ")", sizeof reason - strlen (reason) - 1);
    size_t len = row->len;
    if (len && row->data[len - 1] == '\n')
        len--;
    reject_t *r = reject_new (row->line, row->data, len, reason);
    r->next = *list;
    *list = r;
}

/*  Copies rows[lo, hi) under a savepoint; bisects on a data error.
    Returns 0 or -1 (attempt failed). */
static int
s_copy_range (attempt_t *a, row_ref_t *rows, size_t lo, size_t hi, reject_t **rejects)
{
    if (s_exec (a, "SAVEPOINT ferry_rows") != 0 || s_copy_begin (a) != 0)
        return -1;
    int rc = 0;
    for (size_t i = lo; i < hi && rc == 0; i++)
        rc = s_copy_put (a, rows[i].data, rows[i].len);
    if (rc < 0) {
        attempt_fail_pg (a, a->slot->target, "target COPY");
        return -1;
    }
    int64_t n = 0;
    rc = s_copy_end (a, &n);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        a->rows_written += n;
        return s_exec (a, "RELEASE SAVEPOINT ferry_rows");
    }
    if (hi - lo == 1)
        s_server_reject (a, rejects, &rows[lo]);
    if (s_exec (a, "ROLLBACK TO SAVEPOINT ferry_rows") != 0
    ||  s_exec (a, "RELEASE SAVEPOINT ferry_rows") != 0)
        return -1;
    if (hi - lo == 1)
        return 0;
    size_t mid = lo + (hi - lo) / 2;
    if (s_copy_range (a, rows, lo, mid, rejects) != 0)
        return -1;
    return s_copy_range (a, rows, mid, hi, rejects);
}

/*  Stores rejects in ferry.rejects (COPY text; raw as bytea hex). */
static int
s_store_rejects (attempt_t *a, reject_t *list)
{
    if (!list)
        return 0;
    pg_conn_t *tgt = a->slot->target;
    if (pg_copy_in_begin (tgt, "COPY ferry.rejects (run_id, chunk_id, file, line, raw, reason) "
                               "FROM STDIN") != 0) {
        attempt_fail_pg (a, tgt, "COPY ferry.rejects");
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    for (reject_t *r = list; r && rc == 0; r = r->next) {
        size_t need = strlen (a->job->run_id) + strlen (a->spec->path) * 2 + r->rawlen * 2
                    + strlen (r->reason) * 2 + 96;
        if (need > cap)
            buf = xrealloc (buf, cap = need * 2);
        char *p = buf;
        p += sprintf (p, "%s\t%" PRId64 "\t", a->job->run_id, a->spec->chunk_id);
        for (const char *s = a->spec->path; *s; s++) {
            if (*s == '\\' || *s == '\t' || *s == '\n' || *s == '\r')
                *p++ = '\\';
            *p++ = *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : *s;
        }
        p += sprintf (p, "\t%" PRId64 "\t\\\\x", r->line);
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < r->rawlen; i++) {
            unsigned char c = (unsigned char) r->raw[i];
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
        *p++ = '\t';
        for (const char *s = r->reason; *s; s++) {
            if (*s == '\\' || *s == '\t' || *s == '\n' || *s == '\r')
                *p++ = '\\';
            *p++ = *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : *s;
        }
        *p++ = '\n';
        rc = pg_copy_in_put (tgt, buf, (size_t) (p - buf));
        a->rejected++;
    }
    free (buf);
    int64_t n = 0;
    if (rc != 0 || pg_copy_in_end (tgt, NULL, &n) != 0) {
        attempt_fail_pg (a, tgt, "COPY ferry.rejects");
        return -1;
    }
    return 0;
}

/*  Ends the group: its COPY is checked, bisected if refused; rejects
    stored; batches freed. Returns 0 or -1. */
static int
s_group_flush (attempt_t *a, group_t *g)
{
    int rc = 0;
    reject_t *server = NULL;
    if (g->copying) {
        g->copying = false;
        int64_t n = 0;
        int end = s_copy_end (a, &n);
        if (end < 0)
            rc = -1;
        else if (end == 0) {
            if (n != g->rows) {
                attempt_fail (a, "XX002", false, "target stored %" PRId64 " rows of a group of %"
                              PRId64, n, g->rows);
                rc = -1;
            }
            else {
                a->rows_written += n;
                rc = s_exec (a, "RELEASE SAVEPOINT ferry_group");
            }
        }
        else {
            log_debug ("group of %" PRId64 " rows refused; isolating", g->rows);
            rc = s_exec (a, "ROLLBACK TO SAVEPOINT ferry_group");
            if (rc == 0)
                rc = s_exec (a, "RELEASE SAVEPOINT ferry_group");
            row_ref_t *rows = rc == 0 ? xcalloc ((size_t) g->rows + 1, sizeof *rows) : NULL;
            size_t k = 0;
            for (size_t b = 0; rows && b < g->count; b++) {
                batch_t *bt = g->batches[b];
                const char *p = bt->data, *end_p = bt->data + bt->len;
                for (uint32_t r = 0; r < bt->rows && p < end_p; r++) {
                    const char *nl = memchr (p, '\n', (size_t) (end_p - p));
                    size_t len = nl ? (size_t) (nl - p) + 1 : (size_t) (end_p - p);
                    rows[k].data = p;
                    rows[k].len = len;
                    rows[k].line = bt->lines[r];
                    k++;
                    p += len;
                }
            }
            if (rows)
                rc = s_copy_range (a, rows, 0, k, &server);
            free (rows);
        }
    }
    /*  Rejects of the processors, then of the server. */
    for (size_t b = 0; rc == 0 && b < g->count; b++)
        rc = s_store_rejects (a, g->batches[b]->rejects);
    if (rc == 0)
        rc = s_store_rejects (a, server);
    reject_free_list (&server);
    for (size_t b = 0; b < g->count; b++)
        batch_free (g->batches[b]);
    g->count = 0;
    g->rows = 0;
    return rc;
}

/*  Rejects the fast path holds at most before it gives up for careful
    mode (which stores them group by group). */
#define S_FAST_MAX_REJECTS 10000

/*  The fast path: one COPY for the whole chunk, rejects stored after it. */
static void
s_fast (attempt_t *a)
{
    reject_t *rejects = NULL, **tail = &rejects;
    int64_t held = 0, sent = 0, busy = 0;
    bool copying = false, refused = false;
    batch_t *batch;
    while ((batch = queue_pop (a->processed)) != NULL) {
        int64_t t0 = util_now_ms ();
        int put = 0;
        if (batch->rows > 0) {
            if (!copying) {
                if (s_copy_begin (a) != 0) {
                    batch_free (batch);
                    break;
                }
                copying = true;
            }
            int64_t u0 = wstats_now_us ();
            put = s_copy_put (a, batch->data, batch->len);
            wstats_batch_since (u0);
            if (put < 0) {
                attempt_fail_pg (a, a->slot->target, "target COPY");
                batch_free (batch);
                break;
            }
            sent += batch->rows;
        }
        /*  Keep the batch's rejects (its rows are in the COPY already). */
        if (batch->rejects) {
            *tail = batch->rejects;
            while (*tail)
                tail = &(*tail)->next;
            held += batch->nrejects;
            batch->rejects = NULL;
        }
        atomic_fetch_add (&a->slot->rows_done, (int64_t) batch->rows);
        atomic_fetch_add (&a->slot->bytes_done, (int64_t) batch->len);
        batch_free (batch);
        busy += util_now_ms () - t0;
        if (put == 1) {
            refused = true;             /* the error is collected at the COPY's end */
            break;
        }
        if (held > S_FAST_MAX_REJECTS) {
            pthread_mutex_lock (&a->error_lock);
            bool first = !a->failed;
            pthread_mutex_unlock (&a->error_lock);
            if (first)
                a->refused = true;
            attempt_fail (a, "22000", false, "more than %d rejected records",
                          S_FAST_MAX_REJECTS);
            break;
        }
    }
    int64_t t0 = util_now_ms ();
    if (copying && !a->failed) {
        int64_t n = 0;
        int end = s_copy_end (a, &n);
        if (end == 1 || (end == 0 && refused)) {
            const pg_error_t *e = pg_conn_error (a->slot->target);
            a->refused = true;
            attempt_fail (a, e->sqlstate[0] ? e->sqlstate : "22000", false,
                          "the server refused a row: [%s] %s", e->sqlstate, e->message);
        }
        else if (end == 0 && n != sent) {
            attempt_fail (a, "XX002", false, "target stored %" PRId64 " rows of the %" PRId64
                          " sent", n, sent);
        }
        else if (end == 0)
            a->rows_written = n;
    }
    if (!a->failed)
        s_store_rejects (a, rejects);
    reject_free_list (&rejects);
    a->write_ms = busy + util_now_ms () - t0;
}

static int
s_connect (attempt_t *a)
{
    return attempt_connect (a, a->slot->target);
}

/*  BEGIN and the ledger look-up; the COPYs start with the rows. */
static int
s_begin (attempt_t *a)
{
    return fence_begin (a);
}

static void *
s_thread (void *arg)
{
    attempt_t *a = arg;
    log_set_chunk (a->spec->chunk_id);
    if (!a->careful) {
        s_fast (a);
        return NULL;
    }
    group_t g = { 0 };
    int64_t busy = 0;
    int64_t group_rows = a->job->batch_size > 0 ? a->job->batch_size : 5000;
    batch_t *batch;
    while ((batch = queue_pop (a->processed)) != NULL) {
        int64_t t0 = util_now_ms ();
        if (g.count == g.cap) {
            g.cap = g.cap ? g.cap * 2 : 16;
            g.batches = xrealloc (g.batches, g.cap * sizeof *g.batches);
        }
        g.batches[g.count++] = batch;
        int rc = 0;
        if (batch->rows > 0 && !g.copying) {
            rc = s_exec (a, "SAVEPOINT ferry_group");
            if (rc == 0)
                rc = s_copy_begin (a);
            g.copying = rc == 0;
        }
        if (rc == 0 && batch->rows > 0) {
            int64_t u0 = wstats_now_us ();
            int put = s_copy_put (a, batch->data, batch->len);
            wstats_batch_since (u0);
            if (put < 0) {
                attempt_fail_pg (a, a->slot->target, "target COPY");
                rc = -1;
            }
            /*  put == 1: refused already; the flush collects the error. */
        }
        g.rows += batch->rows;
        atomic_fetch_add (&a->slot->rows_done, (int64_t) batch->rows);
        atomic_fetch_add (&a->slot->bytes_done, (int64_t) batch->len);
        if (rc == 0 && g.rows >= group_rows)
            rc = s_group_flush (a, &g);
        busy += util_now_ms () - t0;
        if (rc != 0)
            break;
    }
    if (!a->failed)
        s_group_flush (a, &g);
    for (size_t b = 0; b < g.count; b++)
        batch_free (g.batches[b]);
    free (g.batches);
    a->write_ms = busy;
    return NULL;
}

/*  The record count, the fence, COMMIT. */
static int
s_commit (attempt_t *a)
{
    pg_conn_t *tgt = a->slot->target;
    /*  Every record read is a row or a reject. */
    if (a->rows_checked != a->rows_written + a->rejected) {
        attempt_fail (a, "XX002", false, "record count mismatch: %" PRId64 " records read, %"
                      PRId64 " loaded + %" PRId64 " rejected", a->rows_checked, a->rows_written,
                      a->rejected);
        pg_rollback (tgt);
        return -1;
    }
    if (fence_take (a, a->rows_written, a->rejected) != 0)
        return -1;
    if (pg_exec (tgt, "COMMIT") != 0) {
        attempt_fail_pg (a, tgt, "target COMMIT");
        return -1;
    }
    return 0;
}

const stage_ops_t writer_file = {
    .connect = s_connect, .begin = s_begin, .thread = s_thread, .end = s_commit,
    .abort = attempt_abort_target };
