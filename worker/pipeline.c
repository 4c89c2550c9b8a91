/*  worker/pipeline.c: runs one chunk: attempts, retries, outcome; see
    pipeline.h. The stages live in reader.c, processor.c and writer.c. */
#include "pipeline.h"
#include "log.h"
#include "retry.h"
#include "util.h"
#include "wstats.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

batch_t *
batch_new (size_t cap)
{
    batch_t *b = xmalloc (sizeof *b + cap);
    b->len = 0;
    b->cap = cap;
    b->rows = 0;
    b->first_line = 0;
    b->lines = NULL;
    b->rejects = NULL;
    b->nrejects = 0;
    b->oversize = 0;
    b->member = 0;
    return b;
}

void
batch_free (void *batch)
{
    batch_t *b = batch;
    if (!b)
        return;
    free (b->lines);
    reject_free_list (&b->rejects);
    free (b);
}

batch_t *
batch_reserve (batch_t *b, size_t more)
{
    if (b->len + more <= b->cap)
        return b;
    size_t cap = b->cap * 2 > b->len + more ? b->cap * 2 : b->len + more;
    b = xrealloc (b, sizeof *b + cap);
    b->cap = cap;
    return b;
}

reject_t *
reject_new (int64_t line, const char *raw, size_t rawlen, const char *reason)
{
    size_t rl = strlen (reason);
    reject_t *r = xmalloc (sizeof *r + rl + 1);
    r->next = NULL;
    r->line = line;
    r->rawlen = rawlen;
    r->raw = xmalloc (rawlen + 1);
    memcpy (r->raw, raw, rawlen);
    r->raw[rawlen] = 0;
    memcpy (r->reason, reason, rl + 1);
    return r;
}

void
reject_free_list (reject_t **list_p)
{
    reject_t *r = *list_p;
    while (r) {
        reject_t *next = r->next;
        free (r->raw);
        free (r);
        r = next;
    }
    *list_p = NULL;
}

slot_t *
slot_new (const copyjob_t *job)
{
    slot_t *self = xcalloc (1, sizeof *self);
    self->source = pg_conn_new (job->source_conninfo, "source");
    self->target = pg_conn_new (job->target_conninfo, "target");
    /*  Names this worker's backends, so a coordinator that declares it lost
        can end them (ledger_terminate_worker). */
    char *app = util_strdupf ("ferry/%s/%s", job->run_id, job->worker);
    pg_conn_set_application_name (self->source, app);
    pg_conn_set_application_name (self->target, app);
    free (app);
    pg_conn_set_timeouts (self->source, job->source_connect_timeout, -1);
    pg_conn_set_timeouts (self->target, job->target_connect_timeout, -1);
    atomic_init (&self->rows_done, 0);
    atomic_init (&self->bytes_done, 0);
    return self;
}

void
slot_destroy (slot_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        slot_t *self = *self_p;
        pg_conn_destroy (&self->source);
        pg_conn_destroy (&self->target);
        free (self);
        *self_p = NULL;
    }
}

void
attempt_fail (attempt_t *a, const char *sqlstate, bool retryable, const char *format, ...)
{
    pthread_mutex_lock (&a->error_lock);
    if (!a->failed) {
        va_list args;
        va_start (args, format);
        vsnprintf (a->message, sizeof a->message, format, args);
        va_end (args);
        snprintf (a->sqlstate, sizeof a->sqlstate, "%s", sqlstate ? sqlstate : "");
        a->retryable = retryable;
        a->failed = 1;
    }
    pthread_mutex_unlock (&a->error_lock);
    /*  Before the queues exist (connecting) there is nothing to unwind. */
    if (a->raw)
        queue_abort (a->raw);
    if (a->processed)
        queue_abort (a->processed);
}

void
attempt_fail_pg (attempt_t *a, pg_conn_t *conn, const char *what)
{
    ferr_t e;
    pg_ferr (conn, &e, what);
    attempt_fail (a, e.sqlstate, e.retryable, "%s", e.message);
}

int
attempt_push_raw (attempt_t *a, batch_t *batch)
{
    int64_t t0 = util_now_ms ();
    int rc = queue_push (a->raw, batch);
    a->read_blocked_ms += util_now_ms () - t0;
    return rc;
}

static int
s_ensure_connected (attempt_t *a, pg_conn_t *conn)
{
    if (pg_is_connected (conn)) {
        PGconn *c = pg_conn_handle (conn);
        if (PQtransactionStatus (c) == PQTRANS_IDLE)
            return 0;
        pg_disconnect (conn);           /* left mid-transaction: start clean */
    }
    if (pg_connect (conn, NULL, a->stop) == 0)
        return 0;
    const pg_error_t *e = pg_conn_error (conn);
    attempt_fail (a, e->sqlstate, e->retryable, "%s", e->message);
    return -1;
}

/*  TEST-ONLY fault hook (docs/OPERATIONS.md): FERRY_FAULT_STALL_CHUNK=N
    freezes attempt 1 of chunk N after its target transaction began, until
    the attempt is aborted (STOP or a signal), while the session keeps
    heartbeating and sending PROGRESS without any advance: the coordinator's
    cluster.chunk_stall_timeout must move the chunk elsewhere. Returns 0
    when not armed, -1 (attempt failed, interrupted) once released. */
static int
s_fault_stall (attempt_t *a)
{
    const char *v = getenv ("FERRY_FAULT_STALL_CHUNK");
    int64_t id;
    if (!v || !*v || a->spec->attempt != 1 || util_parse_int64 (v, 0, INT64_MAX, &id) != 0
    ||  id != a->spec->chunk_id)
        return 0;
    log_warn ("FERRY_FAULT_STALL_CHUNK: freezing chunk %" PRId64 " attempt 1 (test hook)", id);
    while (!*a->stop)
        usleep (50 * 1000);
    attempt_fail (a, "57014", true, "frozen by FERRY_FAULT_STALL_CHUNK until stopped");
    return -1;
}

int64_t
pipeline_test_slow_process_ms (void)
{
    const char *v = getenv ("FERRY_TEST_SLOW_PROCESS_MS");
    int64_t ms = 0;
    if (!v || !*v || util_parse_int64 (v, 0, 60000, &ms) != 0)
        return 0;
    return ms;
}

/*  One attempt: fence, read, process, write, commit. Returns 0 when
    committed; otherwise the attempt's error fields say why. */
static int
s_attempt (attempt_t *a, const char *token)
{
    if (s_ensure_connected (a, a->slot->target) != 0
    ||  (a->job->kind != SOURCE_KIND_CSV && s_ensure_connected (a, a->slot->source) != 0))
        return -1;
    atomic_store (&a->slot->rows_done, 0);
    atomic_store (&a->slot->bytes_done, 0);

    a->raw = queue_new ((size_t) a->job->raw_queue_max, 1, batch_free);
    a->processed = queue_new ((size_t) a->job->processed_queue_max,
                              a->job->processors, batch_free);
    queue_set_gauge (a->raw, wstats_raw_gauge ());
    queue_set_gauge (a->processed, wstats_processed_gauge ());
    wstats_pipeline (1);
    bool streaming = true;         /* counted in wstats' pipelines */
    int rc = -1;
    bool file = a->job->kind == SOURCE_KIND_CSV;
    const stages_t *st = file ? &stages_file : &stages_postgres;
    if (writer_begin (a, token) != 0)
        goto done;
    if (s_fault_stall (a) != 0) {
        writer_abort (a);
        goto done;
    }
    if (st->reader_begin (a) != 0) {
        writer_abort (a);
        if (!file)
            pg_disconnect (a->slot->source);
        goto done;
    }

    int nproc = a->job->processors;
    pthread_t reader, writer, procs[64];
    bool reader_ok = pthread_create (&reader, NULL, st->reader, a) == 0;
    int started = 0;
    for (int i = 0; i < nproc && i < 64; i++)
        if (pthread_create (&procs[i], NULL, st->processor, a) == 0)
            started++;
    bool writer_ok = pthread_create (&writer, NULL, st->writer, a) == 0;
    if (!reader_ok || started < nproc || !writer_ok) {
        attempt_fail (a, "53000", true, "cannot start pipeline threads");
        /*  Stages that did start unwind on the aborted queues. A missing
            reader never closes the raw queue; the abort covers it. */
        for (int i = started; i < nproc; i++)
            queue_producer_done (a->processed);
    }
    if (reader_ok)
        pthread_join (reader, NULL);
    for (int i = 0; i < started; i++)
        pthread_join (procs[i], NULL);
    if (writer_ok)
        pthread_join (writer, NULL);
    /*  The commit waits on the server, not on the queues: no longer a
        pipeline whose (empty) queues would read as "the read side is the
        limit". */
    wstats_pipeline (-1);
    streaming = false;

    st->reader_end (a);
    if (a->failed) {
        writer_abort (a);
        goto done;
    }
    int64_t t0 = util_now_ms ();
    rc = st->commit (a);
    a->commit_ms = util_now_ms () - t0;

done:
    queue_destroy (&a->raw);
    queue_destroy (&a->processed);
    if (streaming)
        wstats_pipeline (-1);
    return rc;
}

void
spec_member_range (const chunk_spec_t *spec, int32_t i, const char **lo, const char **hi)
{
    int32_t n = spec->count > 1 ? spec->count : 1;
    *lo = i == 0 ? spec->lo : spec->bounds[i - 1];
    *hi = i == n - 1 ? spec->hi : spec->bounds[i];
}

const stages_t stages_postgres = {
    .reader_begin = reader_begin, .reader = reader_thread, .reader_end = reader_end,
    .processor = processor_thread, .writer = writer_thread, .commit = writer_commit };

const stages_t stages_file = {
    .reader_begin = reader_file_begin, .reader = reader_file_thread,
    .reader_end = reader_file_end, .processor = processor_file_thread,
    .writer = writer_file_thread, .commit = writer_file_commit };

/*  After a fence violation: whose row is it? Returns 1 when it is ours
    (a commit whose acknowledgement was lost), 0 when somebody else's
    (message filled), -1 when the lookup itself failed. */
static int
s_check_ledger (copyjob_t *job, slot_t *slot, const chunk_spec_t *spec,
                const char *token, chunk_result_t *result)
{
    if (!pg_is_connected (slot->target) && pg_connect (slot->target, NULL, NULL) != 0)
        return -1;
    char chunk[24];
    snprintf (chunk, sizeof chunk, "%" PRId64, spec->chunk_id);
    const char *params[2] = { job->run_id, chunk };
    PGresult *res = NULL;
    if (pg_exec_params (slot->target,
            "SELECT attempt, worker, token, coalesce(rows, 0), "
            "to_char(committed_at, 'YYYY-MM-DD HH24:MI:SS'), coalesce(bytes, 0), "
            "coalesce(checksum, '0'), rejected "
            "FROM ferry.chunk_commits WHERE run_id = $1 AND chunk_id = $2",
            2, params, &res) != 0)
        return -1;
    int rc = -1;
    if (PQntuples (res) == 1) {
        if (strcmp (PQgetvalue (res, 0, 2), token) == 0) {
            /*  Ours: DONE reports what the ledger holds (the coordinator
                checks it against the row, coordinator/donecheck.h). */
            result->rows = strtoll (PQgetvalue (res, 0, 3), NULL, 10);
            result->bytes = strtoll (PQgetvalue (res, 0, 5), NULL, 10);
            result->checksum = strtoull (PQgetvalue (res, 0, 6), NULL, 16);
            result->rejected = strtoll (PQgetvalue (res, 0, 7), NULL, 10);
            rc = 1;
        }
        else {
            snprintf (result->message, sizeof result->message,
                      "chunk %" PRId64 " of run %s is already committed (attempt %s by worker %s "
                      "at %s UTC, %s rows); nothing was added",
                      spec->chunk_id, job->run_id, PQgetvalue (res, 0, 0),
                      PQgetvalue (res, 0, 1), PQgetvalue (res, 0, 4), PQgetvalue (res, 0, 3));
            rc = 0;
        }
    }
    PQclear (res);
    return rc;
}

int
pipeline_run_chunk (copyjob_t *job, slot_t *slot, const chunk_spec_t *spec,
                    chunk_result_t *result, volatile int *stop)
{
    FERRY_ASSERT (job->prepared);
    memset (result, 0, sizeof *result);
    log_set_chunk (spec->chunk_id);
    uint64_t rng = retry_seed ();
    char token[20];
    snprintf (token, sizeof token, "%016" PRIx64, (uint64_t) (rng * 0x9E3779B97F4A7C15ull));
    int64_t started = util_now_ms ();

    bool careful = false;
    for (int retry = 0;; retry++) {
        attempt_t a;
        memset (&a, 0, sizeof a);
        a.job = job;
        a.slot = slot;
        a.spec = spec;
        a.stop = stop;
        a.fd = -1;
        a.careful = careful;
        a.count = spec->count > 1 ? spec->count : 1;
        if (a.count > 1)
            a.members = xcalloc ((size_t) a.count, sizeof *a.members);
        pthread_mutex_init (&a.error_lock, NULL);
        int rc = s_attempt (&a, token);
        pthread_mutex_destroy (&a.error_lock);
        if (rc == 0 && a.members) {
            result->members = a.members;    /* the caller's now */
            a.members = NULL;
        }
        free (a.members);
        a.members = NULL;
        result->read_ms += a.read_ms;
        result->process_ms += a.process_ms;
        result->write_ms += a.write_ms;
        result->commit_ms += a.commit_ms;
        result->retries = retry;

        if (rc == 0) {
            bool file = job->kind == SOURCE_KIND_CSV;
            result->status = CHUNK_OK;
            result->rows = file ? a.rows_written : a.rows_read;
            result->rejected = a.rejected;
            result->bytes = a.bytes_read;
            result->checksum = a.checksum;
            double secs = (double) (util_now_ms () - started) / 1000.0;
            if (file)
                log_info ("chunk %" PRId64 " committed: %" PRId64 " rows, %" PRId64 " rejected, "
                          "%.1f MB of %s in %.2fs (%d retries)", spec->chunk_id, result->rows,
                          a.rejected, (double) a.bytes_read / 1e6, spec->path, secs, retry);
            else if (a.count > 1)
                log_info ("chunks %" PRId64 "-%" PRId64 " (a group of %d) committed: %" PRId64
                          " rows, %.1f MB in %.2fs (one %s COPY, %d retries)", spec->chunk_id,
                          spec->chunk_id + a.count - 1, a.count, a.rows_read,
                          (double) a.bytes_read / 1e6, secs, job->binary ? "binary" : "text", retry);
            else
                log_info ("chunk %" PRId64 " committed: %" PRId64 " rows, %.1f MB in %.2fs "
                          "(%s COPY, %d retries)", spec->chunk_id, a.rows_read,
                          (double) a.bytes_read / 1e6, secs, job->binary ? "binary" : "text", retry);
            log_set_chunk (-1);
            return 0;
        }
        snprintf (result->sqlstate, sizeof result->sqlstate, "%s", a.sqlstate);
        result->retryable = a.retryable;
        if (a.refused && !careful && !*stop) {
            /*  The fast path's one COPY met a row the server refuses: copy
                the chunk again in groups, isolating that row. Not a retry:
                nothing went wrong with the link or the servers. */
            log_info ("chunk %" PRId64 ": %s; copying it again in groups of %d rows to isolate "
                      "the refused row(s)", spec->chunk_id, a.message, job->batch_size);
            careful = true;
            retry--;
            continue;
        }

        if (a.already_committed && spec->count > 1) {
            /*  A chunk of the group is committed: ours from a lost COMMIT
                acknowledgement (then all are, in one transaction), or
                another attempt's. Either way the chunks go back to the
                coordinator one by one, which sorts out each (FR001 for a
                committed one, our own ledger rows are counted from there). */
            result->status = CHUNK_FAILED;
            result->retryable = true;
            snprintf (result->message, sizeof result->message, "chunks %" PRId64 "-%" PRId64
                      ": a chunk of this group is already committed (%s); each chunk is "
                      "retried alone", spec->chunk_id, spec->chunk_id + spec->count - 1,
                      a.message);
            log_warn ("%s", result->message);
            log_set_chunk (-1);
            return -1;
        }
        if (a.already_committed) {
            int own = s_check_ledger (job, slot, spec, token, result);
            if (own == 1) {
                log_warn ("chunk %" PRId64 ": our COMMIT was acknowledged late; the ledger "
                          "shows it committed (%" PRId64 " rows)", spec->chunk_id, result->rows);
                result->status = CHUNK_OK;
                log_set_chunk (-1);
                return 0;
            }
            if (own == 0) {
                result->status = CHUNK_ALREADY_COMMITTED;
                result->retryable = false;
                log_error ("%s", result->message);
                log_set_chunk (-1);
                return -1;
            }
            /* the lookup failed: the connection went; retry as usual */
            a.retryable = true;
        }
        if (*stop) {
            result->status = CHUNK_INTERRUPTED;
            snprintf (result->message, sizeof result->message,
                      "chunk %" PRId64 ": interrupted; rolled back", spec->chunk_id);
            log_warn ("%s", result->message);
            log_set_chunk (-1);
            return -1;
        }
        if (!a.retryable || retry >= job->retry.max_retries) {
            result->status = a.retryable ? CHUNK_RETRIES_EXHAUSTED : CHUNK_FAILED;
            snprintf (result->message, sizeof result->message, "chunk %" PRId64 " %s: %s",
                      spec->chunk_id,
                      a.retryable && retry > 0 ? "failed after all retries" : "failed", a.message);
            log_error_ctx (-1, a.sqlstate, "%s", result->message);
            log_set_chunk (-1);
            return -1;
        }
        double delay = retry_delay (&job->retry, retry, &rng);
        log_warn_ctx (-1, a.sqlstate, "chunk %" PRId64 ": %s; retry %d/%d in %.1fs", spec->chunk_id, a.message,
                  retry + 1, job->retry.max_retries, delay);
        if (retry_sleep (delay, stop) != 0) {
            result->status = CHUNK_INTERRUPTED;
            snprintf (result->message, sizeof result->message,
                      "chunk %" PRId64 ": interrupted while waiting to retry", spec->chunk_id);
            log_warn ("%s", result->message);
            log_set_chunk (-1);
            return -1;
        }
    }
}
