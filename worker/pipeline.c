/*  worker/pipeline.c: runs one chunk: attempts, retries, outcome; see
    pipeline.h. An attempt drives the stages of its kind of source through
    stage.h; the stages live in reader*.c, processor*.c and writer*.c. */
#include "pipeline.h"
#include "attempt.h"
#include "fence.h"
#include "stage.h"
#include "log.h"
#include "retry.h"
#include "util.h"
#include "wstats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int
slot_connect (slot_t *self, bool with_source, volatile int *stop)
{
    bool src = with_source && !pg_is_connected (self->source);
    bool tgt = !pg_is_connected (self->target);
    if (src && tgt)
        pg_connect_begin (self->target);
    int rc = src ? pg_connect (self->source, NULL, stop) : 0;
    if (tgt && pg_connect (self->target, NULL, stop) != 0)
        rc = -1;
    return rc;
}

static pg_conn_t *
s_ahead (const char *env, const char *label, const char *appname)
{
    const char *conninfo = getenv (env);
    if (!conninfo || !*conninfo)
        return NULL;
    pg_conn_t *c = pg_conn_new (conninfo, label);
    pg_conn_set_timeouts (c, 10.0, -1);
    if (appname)
        pg_conn_set_application_name (c, appname);
    pg_connect_begin (c);
    return c;
}

void
slot_ahead_begin (slot_ahead_t *self, const char *worker)
{
    /*  Named as the slots will name them, so that the coordinator's
        connection budget counts them as the run's own (coordinator/tick.c)
        and can end them with the worker's other sessions. */
    const char *run_id = getenv ("FERRY_RUN_ID");
    char *app = run_id && *run_id ? util_strdupf ("ferry/%s/%s", run_id, worker) : NULL;
    self->source = s_ahead ("FERRY_SOURCE_DSN", "source", app);
    self->target = s_ahead ("FERRY_TARGET_DSN", "target", app);
    free (app);
}

void
slot_ahead_take (slot_ahead_t *self, slot_t *slot, bool with_source)
{
    if (self->target)
        pg_conn_adopt (slot->target, &self->target);
    if (self->source && with_source)
        pg_conn_adopt (slot->source, &self->source);
    slot_ahead_drop (self);
}

void
slot_ahead_drop (slot_ahead_t *self)
{
    pg_conn_destroy (&self->source);
    pg_conn_destroy (&self->target);
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

/*  One attempt: fence, read, process, write, commit, through the stages
    of the job's kind of source (stage.h). Returns 0 when committed;
    otherwise the attempt's error fields say why. */
static int
s_attempt (attempt_t *a)
{
    const stage_set_t *st = stage_choose (a->job);
    const stage_ops_t *rd = st->reader, *pr = st->processor, *wr = st->writer;
    if ((wr->connect && wr->connect (a) != 0) || (rd->connect && rd->connect (a) != 0))
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
    if (wr->begin && wr->begin (a) != 0)
        goto done;
    if (s_fault_stall (a) != 0) {
        wr->abort (a);
        goto done;
    }
    if (rd->begin && rd->begin (a) != 0) {
        wr->abort (a);
        goto done;
    }

    int nproc = a->job->processors;
    pthread_t reader, writer, procs[64];
    bool reader_ok = pthread_create (&reader, NULL, rd->thread, a) == 0;
    int started = 0;
    for (int i = 0; i < nproc && i < 64; i++)
        if (pthread_create (&procs[i], NULL, pr->thread, a) == 0)
            started++;
    bool writer_ok = pthread_create (&writer, NULL, wr->thread, a) == 0;
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

    if (a->failed) {
        if (rd->abort)
            rd->abort (a);
        wr->abort (a);
        goto done;
    }
    if (rd->end)
        rd->end (a);
    int64_t t0 = util_now_ms ();
    rc = wr->end (a);
    a->commit_ms = util_now_ms () - t0;

done:
    queue_destroy (&a->raw);
    queue_destroy (&a->processed);
    if (streaming)
        wstats_pipeline (-1);
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
        attempt_init (&a, job, slot, spec, stop, token, careful);
        int rc = s_attempt (&a);
        if (rc == 0 && a.members) {
            result->members = a.members;    /* the caller's now */
            a.members = NULL;
        }
        attempt_release (&a);
        result->read_ms += a.read_ms;
        result->process_ms += a.process_ms;
        result->write_ms += a.write_ms;
        result->commit_ms += a.commit_ms;
        result->retries = retry;

        if (rc == 0) {
            result->status = CHUNK_OK;
            result->rows = a.rows_committed;
            result->rejected = a.rejected;
            result->bytes = a.bytes_read;
            result->checksum = a.checksum;
            double secs = (double) (util_now_ms () - started) / 1000.0;
            if (spec->path)             /* a file range */
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
        ferr_copy (&result->err, &a.err);
        if (a.refused && !careful && !*stop) {
            /*  The fast path's one COPY met a row the server refuses: copy
                the chunk again in groups, isolating that row. Not a retry:
                nothing went wrong with the link or the servers. */
            log_info ("chunk %" PRId64 ": %s; copying it again in groups of %d rows to isolate "
                      "the refused row(s)", spec->chunk_id, a.err.message, job->batch_size);
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
            result->err.retryable = true;
            ferr_set (&result->err, result->err.sqlstate, result->err.retryable, "chunks %" PRId64 "-%" PRId64
                      ": a chunk of this group is already committed (%s); each chunk is "
                      "retried alone", spec->chunk_id, spec->chunk_id + spec->count - 1,
                      a.err.message);
            log_warn ("%s", result->err.message);
            log_set_chunk (-1);
            return -1;
        }
        if (a.already_committed) {
            int own = fence_whose_row (job, slot, spec, token, result);
            if (own == 1) {
                log_warn ("chunk %" PRId64 ": our COMMIT was acknowledged late; the ledger "
                          "shows it committed (%" PRId64 " rows)", spec->chunk_id, result->rows);
                result->status = CHUNK_OK;
                log_set_chunk (-1);
                return 0;
            }
            if (own == 0) {
                result->status = CHUNK_ALREADY_COMMITTED;
                result->err.retryable = false;
                log_error ("%s", result->err.message);
                log_set_chunk (-1);
                return -1;
            }
            /* the lookup failed: the connection went; retry as usual */
            a.err.retryable = true;
        }
        if (*stop) {
            result->status = CHUNK_INTERRUPTED;
            ferr_set (&result->err, result->err.sqlstate, result->err.retryable, "chunk %" PRId64 ": interrupted; rolled back", spec->chunk_id);
            log_warn ("%s", result->err.message);
            log_set_chunk (-1);
            return -1;
        }
        if (!a.err.retryable || retry >= job->retry.max_retries) {
            result->status = a.err.retryable ? CHUNK_RETRIES_EXHAUSTED : CHUNK_FAILED;
            ferr_set (&result->err, result->err.sqlstate, result->err.retryable, "chunk %" PRId64 " %s: %s",
                      spec->chunk_id,
                      a.err.retryable && retry > 0 ? "failed after all retries" : "failed", a.err.message);
            log_error_ctx (-1, a.err.sqlstate, "%s", result->err.message);
            log_set_chunk (-1);
            return -1;
        }
        double delay = retry_delay (&job->retry, retry, &rng);
        log_warn_ctx (-1, a.err.sqlstate, "chunk %" PRId64 ": %s; retry %d/%d in %.1fs", spec->chunk_id, a.err.message,
                  retry + 1, job->retry.max_retries, delay);
        if (retry_sleep (delay, stop) != 0) {
            result->status = CHUNK_INTERRUPTED;
            ferr_set (&result->err, result->err.sqlstate, result->err.retryable, "chunk %" PRId64 ": interrupted while waiting to retry", spec->chunk_id);
            log_warn ("%s", result->err.message);
            log_set_chunk (-1);
            return -1;
        }
    }
}
