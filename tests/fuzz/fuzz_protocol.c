/*  tests/fuzz/fuzz_protocol.c: libFuzzer target for the FERRY/1 codec.

    Whatever the bytes, protocol_decode must return without crashing,
    leaking or reading out of bounds; on failure it leaves a zeroed message
    and a "protocol: " reason. Whatever it accepts must re-encode, and the
    re-encoding must decode to an equal message and re-encode to the same
    bytes (encode is deterministic). Built as a libFuzzer binary with
    FERRY_FUZZ=ON, and always with replay_main.c as fuzz.protocol_replay. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void __attribute__ ((noreturn))
s_die (const char *what, const char *err)
{
    fprintf (stderr, "fuzz_protocol: %s%s%s\n", what, err ? ": " : "", err ? err : "");
    abort ();
}

static bool
s_str_eq (const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

static bool
s_job_eq (const protocol_job_t *a, const protocol_job_t *b)
{
    if (!a || !b)
        return a == b;
    return s_str_eq (a->source_conninfo, b->source_conninfo)
        && s_str_eq (a->target_conninfo, b->target_conninfo)
        && s_str_eq (a->query, b->query) && s_str_eq (a->key, b->key)
        && s_str_eq (a->snapshot, b->snapshot)
        && s_str_eq (a->copy_table, b->copy_table)
        && s_str_eq (a->final_table, b->final_table)
        && a->processors == b->processors && a->raw_queue_max == b->raw_queue_max
        && a->processed_queue_max == b->processed_queue_max
        && a->read_buffer == b->read_buffer && a->batch_size == b->batch_size
        && a->max_retries == b->max_retries && a->initial_delay == b->initial_delay
        && a->backoff == b->backoff && a->max_delay == b->max_delay;
}

static bool
s_msg_eq (const protocol_msg_t *a, const protocol_msg_t *b)
{
    return a->type == b->type
        && s_str_eq (a->name, b->name) && s_str_eq (a->host, b->host)
        && a->pid == b->pid && a->slots == b->slots && s_str_eq (a->build, b->build)
        && s_str_eq (a->run_id, b->run_id) && s_job_eq (a->job, b->job)
        && a->heartbeat_ms == b->heartbeat_ms && a->liveness == b->liveness
        && a->chunk_id == b->chunk_id && a->attempt == b->attempt
        && s_str_eq (a->lo, b->lo) && s_str_eq (a->hi, b->hi)
        && s_str_eq (a->path, b->path) && a->offset == b->offset
        && a->length == b->length && a->first_line == b->first_line
        && a->rows == b->rows && a->bytes == b->bytes && a->rejected == b->rejected
        && a->checksum == b->checksum && a->read_ms == b->read_ms
        && a->process_ms == b->process_ms && a->write_ms == b->write_ms
        && a->commit_ms == b->commit_ms && a->retries == b->retries
        && a->peak_rss_kb == b->peak_rss_kb
        && a->cpu_ms == b->cpu_ms && a->pipelines == b->pipelines
        && a->raw_queued == b->raw_queued && a->processed_queued == b->processed_queued
        && s_str_eq (a->batch_hist, b->batch_hist) && a->batch_us == b->batch_us && a->retryable == b->retryable
        && strcmp (a->sqlstate, b->sqlstate) == 0 && s_str_eq (a->message, b->message)
        && s_str_eq (a->reason, b->reason);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err [256];
    protocol_msg_t msg;
    memset (&msg, 0xa5, sizeof msg);        /* decode must not rely on a zeroed msg */
    if (protocol_decode (data, size, &msg, err, sizeof err) != 0) {
        protocol_msg_t zero;
        memset (&zero, 0, sizeof zero);
        if (memcmp (&msg, &zero, sizeof msg) != 0)
            s_die ("failed decode left data in the message", err);
        if (strncmp (err, "protocol: ", 10) != 0)
            s_die ("failed decode without a reason", NULL);
        return 0;
    }

    char *encoded = NULL;
    size_t encoded_size = 0;
    if (protocol_encode (&msg, &encoded, &encoded_size, err, sizeof err) != 0)
        s_die ("decoded message does not re-encode", err);

    protocol_msg_t back;
    if (protocol_decode (encoded, encoded_size, &back, err, sizeof err) != 0)
        s_die ("re-encoded message does not decode", err);
    if (!s_msg_eq (&msg, &back))
        s_die ("round trip changed the message", protocol_type_name (msg.type));

    char *again = NULL;
    size_t again_size = 0;
    if (protocol_encode (&back, &again, &again_size, err, sizeof err) != 0)
        s_die ("second encode failed", err);
    if (again_size != encoded_size || memcmp (again, encoded, encoded_size) != 0)
        s_die ("encode is not deterministic", protocol_type_name (msg.type));

    free (again);
    free (encoded);
    protocol_msg_reset (&back);
    protocol_msg_reset (&msg);
    return 0;
}
