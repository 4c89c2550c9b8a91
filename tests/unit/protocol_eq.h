/*  tests/unit/protocol_eq.h: field-by-field equality of FERRY/1 messages,
    for the codec's unit test (test_protocol.c) and its fuzz target
    (tests/fuzz/fuzz_protocol.c): every member of protocol_msg_t and
    protocol_job_t, whatever the type (a decoded message has zeroes in the
    fields its type does not carry). A member added to those structs
    belongs here too. */
#ifndef FERRY_TESTS_PROTOCOL_EQ_H
#define FERRY_TESTS_PROTOCOL_EQ_H

#include <stdbool.h>
#include <string.h>

#include "protocol.h"

static inline bool
eq_str (const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

static inline bool
eq_job (const protocol_job_t *a, const protocol_job_t *b)
{
    if (!a || !b)
        return a == b;
    return eq_str (a->source_kind, b->source_kind)
        && eq_str (a->source_conninfo, b->source_conninfo)
        && eq_str (a->target_conninfo, b->target_conninfo)
        && eq_str (a->query, b->query) && eq_str (a->key, b->key)
        && eq_str (a->split, b->split) && eq_str (a->snapshot, b->snapshot)
        && eq_str (a->copy_table, b->copy_table)
        && eq_str (a->final_table, b->final_table)
        && a->processors == b->processors && a->raw_queue_max == b->raw_queue_max
        && a->processed_queue_max == b->processed_queue_max
        && a->read_buffer == b->read_buffer && a->batch_size == b->batch_size
        && a->max_retries == b->max_retries && a->initial_delay == b->initial_delay
        && a->backoff == b->backoff && a->max_delay == b->max_delay
        && a->csv_delimiter == b->csv_delimiter && a->csv_quote == b->csv_quote
        && a->csv_escape == b->csv_escape && a->csv_header == b->csv_header
        && eq_str (a->csv_null, b->csv_null) && eq_str (a->csv_encoding, b->csv_encoding)
        && eq_str (a->csv_columns, b->csv_columns)
        && a->csv_max_record == b->csv_max_record
        && a->source_connect_timeout == b->source_connect_timeout
        && a->target_connect_timeout == b->target_connect_timeout;
}

static inline bool
eq_msg (const protocol_msg_t *a, const protocol_msg_t *b)
{
    return a->type == b->type
        && eq_str (a->name, b->name) && eq_str (a->host, b->host)
        && a->pid == b->pid && a->slots == b->slots && eq_str (a->build, b->build)
        && eq_str (a->run_id, b->run_id) && eq_job (a->job, b->job)
        && a->heartbeat_ms == b->heartbeat_ms && a->liveness == b->liveness
        && a->chunk_id == b->chunk_id && a->attempt == b->attempt
        && eq_str (a->lo, b->lo) && eq_str (a->hi, b->hi)
        && eq_str (a->path, b->path) && a->offset == b->offset
        && a->length == b->length && a->first_line == b->first_line
        && a->group_count == b->group_count && eq_str (a->group_bounds, b->group_bounds)
        && a->rows == b->rows && a->bytes == b->bytes && a->rejected == b->rejected
        && a->checksum == b->checksum && a->read_ms == b->read_ms
        && a->process_ms == b->process_ms && a->write_ms == b->write_ms
        && a->commit_ms == b->commit_ms && a->retries == b->retries
        && a->peak_rss_kb == b->peak_rss_kb
        && a->cpu_ms == b->cpu_ms && a->pipelines == b->pipelines
        && a->raw_queued == b->raw_queued && a->processed_queued == b->processed_queued
        && eq_str (a->batch_hist, b->batch_hist) && a->batch_us == b->batch_us
        && a->retryable == b->retryable && strcmp (a->sqlstate, b->sqlstate) == 0
        && eq_str (a->message, b->message) && eq_str (a->reason, b->reason)
        && eq_str (a->outcome, b->outcome)
        && eq_str (a->nonce, b->nonce) && eq_str (a->proof, b->proof);
}

#endif
