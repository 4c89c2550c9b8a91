/*  common/protocol.c: the FERRY/1 codec (msgpack); see protocol.h and
    docs/PROTOCOL.md.

    Each message type is described once, by a table of field rules (key,
    kind, where the value lives in the C struct, bounds). Encode and decode
    both walk the same tables and call the same value checks, so whatever
    protocol_encode accepts protocol_decode accepts, and every message that
    decodes re-encodes to an equal message (tests/fuzz/fuzz_protocol.c
    holds us to that). Key names are the C field names.

    Decoding is defensive because the bytes come from the network: before
    msgpack-c sees the input, s_scan walks it once without allocating and
    checks that every declared string, array and map length fits in what
    is left of the input, that nesting stays shallow and that exactly one
    object fills the buffer. msgpack-c allocates its zone from declared
    lengths, so this bounds memory by the (capped) input size instead of by
    what a hostile peer claims.
*/
#include "protocol.h"
#include "jobcheck.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Limits (docs/PROTOCOL.md, "Rejected input"). A message has at most
    twelve strings (JOB: run_id plus eleven in the job), so any message whose
    strings respect S_MAX_STRING encodes well under S_MAX_MESSAGE: decode
    then encode can never fail on size. */
#define S_MAX_MESSAGE   (2u * 1024 * 1024)
#define S_MAX_STRING    (128u * 1024)
#define S_MAX_DEPTH     16
#define S_MAX_DELAY     1e9

#define S_COUNT(a) (sizeof (a) / sizeof ((a)[0]))

static int
s_fail (char *err, size_t errlen, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Writes "protocol: <reason>" into err (if any) and returns -1. */
static int
s_fail (char *err, size_t errlen, const char *format, ...)
{
    if (err && errlen) {
        int n = snprintf (err, errlen, "protocol: ");
        if (n >= 0 && (size_t) n < errlen) {
            va_list args;
            va_start (args, format);
            vsnprintf (err + n, errlen - (size_t) n, format, args);
            va_end (args);
        }
    }
    return -1;
}


/*  --------------------------------------------------------------------
    Field rules */

typedef enum {
    S_NAME,         /* required non-empty string (char *) */
    S_TEXT,         /* required string, may be empty (char *) */
    S_OPT_TEXT,     /* optional string: absent or nil is NULL; NULL is not sent */
    S_NULLABLE,     /* required key, string or nil (char *); NULL is sent as nil */
    S_RUN_ID,       /* required run id, util_run_id_is_valid (char *) */
    S_INT,          /* required integer in [min, max] (int32_t or int64_t) */
    S_OPT_INT,      /* optional integer in [min, max]: absent or nil is 0; 0 is not sent */
    S_UINT64,       /* required unsigned integer (uint64_t) */
    S_BOOL,         /* required boolean (bool) */
    S_DOUBLE,       /* required finite number in [dmin, dmax] (double) */
    S_SQLSTATE,     /* optional SQLSTATE (char[6]): absent, nil or "" is ""; "" is not sent */
    S_JOB           /* required map of s_job_rules (protocol_job_t *) */
} s_kind_t;

typedef struct {
    const char *key;
    s_kind_t kind;
    size_t offset;          /* of the member in its struct */
    size_t width;           /* sizeof the member (integers: 4 or 8) */
    int64_t min, max;       /* S_INT, S_OPT_INT */
    double dmin, dmax;      /* S_DOUBLE */
} s_rule_t;

#define S_RULE(T, f, k) \
    .key = #f, .kind = (k), .offset = offsetof (T, f), .width = sizeof (((T *) 0)->f)
#define M_FIELD(f, k)       { S_RULE (protocol_msg_t, f, k) }
#define M_INT(f, k, lo, hi) { S_RULE (protocol_msg_t, f, k), .min = (lo), .max = (hi) }
#define J_FIELD(f, k)       { S_RULE (protocol_job_t, f, k) }
#define J_INT(f, lo, hi)    { S_RULE (protocol_job_t, f, S_INT), .min = (lo), .max = (hi) }
#define J_DBL(f, lo, hi)    { S_RULE (protocol_job_t, f, S_DOUBLE), .dmin = (lo), .dmax = (hi) }

/*  Bounds kept loose on purpose: the protocol rejects what is nonsense for
    any configuration (a negative queue size); the worker applies its own
    limits. heartbeat_ms and liveness are capped so that their product
    fits comfortably in 32 bits. */
static const s_rule_t s_job_rules[] = {
    J_FIELD (source_kind, S_OPT_TEXT),
    J_FIELD (source_conninfo, S_OPT_TEXT),
    J_FIELD (target_conninfo, S_OPT_TEXT),
    J_FIELD (query, S_OPT_TEXT),
    J_FIELD (key, S_OPT_TEXT),
    J_FIELD (split, S_OPT_TEXT),
    J_FIELD (snapshot, S_OPT_TEXT),
    J_FIELD (copy_table, S_NAME),
    J_FIELD (final_table, S_NAME),
    J_INT (processors, 1, JOBCHECK_MAX_PROCESSORS),   /* more cannot start (worker/pipeline.c) */
    J_INT (raw_queue_max, 1, INT32_MAX),
    J_INT (processed_queue_max, 1, INT32_MAX),
    J_INT (read_buffer, 1, INT32_MAX),
    J_INT (batch_size, 1, INT32_MAX),
    J_INT (max_retries, 0, INT32_MAX),
    J_DBL (initial_delay, 0, S_MAX_DELAY),
    J_DBL (backoff, 1, S_MAX_DELAY),
    J_DBL (max_delay, 0, S_MAX_DELAY),
    { S_RULE (protocol_job_t, csv_delimiter, S_OPT_INT), .min = 0, .max = 255 },
    { S_RULE (protocol_job_t, csv_quote, S_OPT_INT), .min = 0, .max = 255 },
    { S_RULE (protocol_job_t, csv_escape, S_OPT_INT), .min = 0, .max = 255 },
    { S_RULE (protocol_job_t, csv_header, S_OPT_INT), .min = 0, .max = 1 },
    J_FIELD (csv_null, S_OPT_TEXT),
    J_FIELD (csv_encoding, S_OPT_TEXT),
    J_FIELD (csv_columns, S_OPT_TEXT),
    { S_RULE (protocol_job_t, source_connect_timeout, S_OPT_INT), .min = 0, .max = 3600 },
    { S_RULE (protocol_job_t, target_connect_timeout, S_OPT_INT), .min = 0, .max = 3600 },
    { S_RULE (protocol_job_t, csv_max_record, S_OPT_INT), .min = JOBCHECK_MAX_RECORD_MIN,
      .max = JOBCHECK_MAX_RECORD_MAX },
};

/*  What the job's kind requires beyond the field rules: a postgres job
    (no source_kind) needs query and key; a csv job needs its columns. */
static int
s_check_job_kind (const protocol_job_t *job, const char *where, char *err, size_t errlen)
{
    if (!job->source_kind) {
        if (!job->query)
            return s_fail (err, errlen, "%s: missing field \"query\"", where);
        if (!*job->query)
            return s_fail (err, errlen, "%s.query: expected non-empty string", where);
        if (!job->key)
            return s_fail (err, errlen, "%s: missing field \"key\"", where);
        if (!*job->key)
            return s_fail (err, errlen, "%s.key: expected non-empty string", where);
        if (job->split && strcmp (job->split, "key") != 0 && strcmp (job->split, "ctid") != 0)
            return s_fail (err, errlen, "%s.split: expected \"key\" or \"ctid\"", where);
        return 0;
    }
    if (strcmp (job->source_kind, "csv") != 0)
        return s_fail (err, errlen, "%s.source_kind: unknown source kind", where);
    if (!job->csv_columns || !*job->csv_columns)
        return s_fail (err, errlen, "%s: missing field \"csv_columns\"", where);
    if (job->csv_delimiter == 0)
        return s_fail (err, errlen, "%s: missing field \"csv_delimiter\"", where);
    /*  What csv.c would assert on (a worker must refuse it, not abort). */
    const char *field = NULL;
    const char *what = jobcheck_csv_format (job->csv_delimiter, job->csv_quote, job->csv_escape,
                                            &field);
    if (what)
        return s_fail (err, errlen, "%s.csv_%s: %s", where, field, what);
    return 0;
}

static const s_rule_t s_hello_rules[] = {
    M_FIELD (name, S_NAME),
    M_FIELD (host, S_NAME),
    M_INT (pid, S_INT, 1, INT64_MAX),
    M_INT (slots, S_INT, 1, INT32_MAX),
    M_FIELD (build, S_NAME),
};

static const s_rule_t s_job_msg_rules[] = {
    M_FIELD (run_id, S_RUN_ID),
    M_FIELD (job, S_JOB),
    M_INT (heartbeat_ms, S_INT, 1, 3600000),
    M_INT (liveness, S_INT, 1, 1000),
};

#define M_CHUNK \
    M_INT (chunk_id, S_INT, 0, INT64_MAX), \
    M_INT (attempt, S_INT, 1, INT32_MAX)

/*  ASSIGN is s_assign_rules plus either the key range or the file range
    (s_assign_range picks by the presence of "path"). */
static const s_rule_t s_assign_rules[] = {
    M_CHUNK,
};
static const s_rule_t s_assign_key_rules[] = {
    M_FIELD (lo, S_NULLABLE),
    M_FIELD (hi, S_NULLABLE),
    M_INT (group_count, S_OPT_INT, 0, PROTOCOL_GROUP_MAX),
    M_FIELD (group_bounds, S_OPT_TEXT),
};
static const s_rule_t s_assign_file_rules[] = {
    M_FIELD (path, S_NAME),
    M_INT (offset, S_INT, 0, INT64_MAX),
    M_INT (length, S_INT, 0, INT64_MAX),
    M_INT (first_line, S_INT, 0, INT64_MAX),
};

/*  The worker's figures, optional in PROGRESS and HEARTBEAT (added within
    v 1: older coordinators ignore them, older workers leave them out). */
#define M_FIGURES \
    M_INT (cpu_ms, S_OPT_INT, 0, INT64_MAX), \
    M_INT (pipelines, S_OPT_INT, 0, INT32_MAX), \
    M_INT (raw_queued, S_OPT_INT, 0, INT64_MAX), \
    M_INT (processed_queued, S_OPT_INT, 0, INT64_MAX), \
    M_FIELD (batch_hist, S_OPT_TEXT), \
    M_INT (batch_us, S_OPT_INT, 0, INT64_MAX)

static const s_rule_t s_progress_rules[] = {
    M_CHUNK,
    M_INT (rows, S_INT, 0, INT64_MAX),
    M_INT (bytes, S_INT, 0, INT64_MAX),
    M_INT (peak_rss_kb, S_OPT_INT, 0, INT64_MAX),
    M_FIGURES,
};

static const s_rule_t s_done_rules[] = {
    M_CHUNK,
    M_INT (rows, S_INT, 0, INT64_MAX),
    M_INT (bytes, S_INT, 0, INT64_MAX),
    M_INT (rejected, S_INT, 0, INT64_MAX),
    M_FIELD (checksum, S_UINT64),
    M_INT (read_ms, S_INT, 0, INT64_MAX),
    M_INT (process_ms, S_INT, 0, INT64_MAX),
    M_INT (write_ms, S_INT, 0, INT64_MAX),
    M_INT (commit_ms, S_INT, 0, INT64_MAX),
    M_INT (retries, S_INT, 0, INT32_MAX),
    M_INT (peak_rss_kb, S_INT, 0, INT64_MAX),
    M_FIGURES,
};

static const s_rule_t s_failed_rules[] = {
    M_CHUNK,
    M_FIELD (retryable, S_BOOL),
    M_FIELD (sqlstate, S_SQLSTATE),
    M_FIELD (message, S_TEXT),
};

static const s_rule_t s_heartbeat_rules[] = {
    M_INT (peak_rss_kb, S_OPT_INT, 0, INT64_MAX),
    M_FIGURES,
};

static const s_rule_t s_stop_rules[] = {
    M_FIELD (reason, S_TEXT),
    M_FIELD (outcome, S_OPT_TEXT),
};

static const s_rule_t s_challenge_rules[] = {
    M_FIELD (nonce, S_NAME),
};

static const s_rule_t s_auth_rules[] = {
    M_FIELD (proof, S_NAME),
};

typedef struct {
    const char *name;
    const s_rule_t *rules;
    size_t count;
} s_type_t;

#define S_TYPE(n, r) { n, r, S_COUNT (r) }
static const s_type_t s_types[PROTO_MSG_COUNT_] = {
    [PROTO_MSG_INVALID]   = { "INVALID", NULL, 0 },
    [PROTO_MSG_HELLO]     = S_TYPE ("HELLO", s_hello_rules),
    [PROTO_MSG_JOB]       = S_TYPE ("JOB", s_job_msg_rules),
    [PROTO_MSG_ASSIGN]    = S_TYPE ("ASSIGN", s_assign_rules),
    [PROTO_MSG_PROGRESS]  = S_TYPE ("PROGRESS", s_progress_rules),
    [PROTO_MSG_DONE]      = S_TYPE ("DONE", s_done_rules),
    [PROTO_MSG_FAILED]    = S_TYPE ("FAILED", s_failed_rules),
    [PROTO_MSG_HEARTBEAT] = S_TYPE ("HEARTBEAT", s_heartbeat_rules),
    [PROTO_MSG_STOP]      = S_TYPE ("STOP", s_stop_rules),
    [PROTO_MSG_BYE]       = { "BYE", NULL, 0 },
    [PROTO_MSG_CHALLENGE] = S_TYPE ("CHALLENGE", s_challenge_rules),
    [PROTO_MSG_AUTH]      = S_TYPE ("AUTH", s_auth_rules),
};

/*  Member accessors: base is a protocol_msg_t or a protocol_job_t. */
static void *
s_member (const void *base, const s_rule_t *rule)
{
    return (char *) base + rule->offset;
}

static int64_t
s_get_int (const void *base, const s_rule_t *rule)
{
    if (rule->width == sizeof (int32_t))
        return *(const int32_t *) s_member (base, rule);
    return *(const int64_t *) s_member (base, rule);
}

static void
s_set_int (void *base, const s_rule_t *rule, int64_t value)
{
    if (rule->width == sizeof (int32_t))
        *(int32_t *) s_member (base, rule) = (int32_t) value;
    else
        *(int64_t *) s_member (base, rule) = value;
}


/*  --------------------------------------------------------------------
    Value checks, shared by encode and decode */

/*  "positive integer" for the common bounds, else the explicit range. */
static const char *
s_int_expect (const s_rule_t *rule, char *buf, size_t buflen)
{
    int64_t natural = rule->width == sizeof (int32_t) ? INT32_MAX : INT64_MAX;
    if (rule->max == natural && rule->min == 0)
        return "non-negative integer";
    if (rule->max == natural && rule->min == 1)
        return "positive integer";
    snprintf (buf, buflen, "integer in [%" PRId64 ", %" PRId64 "]", rule->min, rule->max);
    return buf;
}

static int
s_check_int (const s_rule_t *rule, int64_t value, const char *where,
             char *err, size_t errlen)
{
    char buf[64];
    if (value < rule->min)
        return s_fail (err, errlen, "%s.%s: expected %s", where, rule->key,
                       s_int_expect (rule, buf, sizeof buf));
    if (value > rule->max)
        return s_fail (err, errlen, "%s.%s: %" PRId64 " out of range (max %" PRId64 ")",
                       where, rule->key, value, rule->max);
    return 0;
}

static int
s_check_double (const s_rule_t *rule, double value, const char *where,
                char *err, size_t errlen)
{
    if (!isfinite (value) || value < rule->dmin || value > rule->dmax)
        return s_fail (err, errlen, "%s.%s: expected number in [%g, %g]",
                       where, rule->key, rule->dmin, rule->dmax);
    return 0;
}

/*  Checks a string value of `len` bytes (which holds no NUL) against the
    rule: emptiness, length, run id syntax. */
static int
s_check_string (const s_rule_t *rule, const char *s, size_t len,
                const char *where, char *err, size_t errlen)
{
    if (len > S_MAX_STRING)
        return s_fail (err, errlen, "%s.%s: string too long (%zu bytes, max %u)",
                       where, rule->key, len, S_MAX_STRING);
    if (rule->kind == S_NAME && len == 0)
        return s_fail (err, errlen, "%s.%s: expected non-empty string", where, rule->key);
    if (rule->kind == S_RUN_ID && !util_run_id_is_valid (s))
        return s_fail (err, errlen, "%s.%s: expected run id (1 to 48 of A-Z a-z 0-9 _ -)",
                       where, rule->key);
    return 0;
}

/*  "" or five characters of [0-9A-Z], as PostgreSQL reports them. */
static bool
s_sqlstate_is_valid (const char *s, size_t len)
{
    if (len == 0)
        return true;
    if (len != 5)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

static int s_check_rules (const s_rule_t *rules, size_t count, const void *base,
                          const char *where, char *err, size_t errlen);

/*  Checks one member of a struct about to be encoded. */
static int
s_check_member (const s_rule_t *rule, const void *base, const char *where,
                char *err, size_t errlen)
{
    switch (rule->kind) {
    case S_NAME:
    case S_TEXT:
    case S_RUN_ID:
    case S_OPT_TEXT:
    case S_NULLABLE: {
        const char *s = *(char *const *) s_member (base, rule);
        if (!s) {
            if (rule->kind == S_OPT_TEXT || rule->kind == S_NULLABLE)
                return 0;
            return s_fail (err, errlen, "%s: missing field \"%s\"", where, rule->key);
        }
        return s_check_string (rule, s, strlen (s), where, err, errlen);
    }
    case S_INT:
    case S_OPT_INT: {
        int64_t value = s_get_int (base, rule);
        if (rule->kind == S_OPT_INT && value == 0)
            return 0;
        return s_check_int (rule, value, where, err, errlen);
    }
    case S_UINT64:
    case S_BOOL:
        return 0;
    case S_DOUBLE:
        return s_check_double (rule, *(const double *) s_member (base, rule),
                               where, err, errlen);
    case S_SQLSTATE: {
        const char *s = (const char *) s_member (base, rule);
        if (!s_sqlstate_is_valid (s, strnlen (s, rule->width)))
            return s_fail (err, errlen, "%s.%s: expected 5-character SQLSTATE",
                           where, rule->key);
        return 0;
    }
    case S_JOB: {
        const protocol_job_t *job = *(protocol_job_t *const *) s_member (base, rule);
        if (!job)
            return s_fail (err, errlen, "%s: missing field \"%s\"", where, rule->key);
        char nested[64];
        int n = snprintf (nested, sizeof nested, "%s.%s", where, rule->key);
        if (n < 0 || (size_t) n >= sizeof nested)
            return s_fail (err, errlen, "%s: field path too long", where);
        if (s_check_rules (s_job_rules, S_COUNT (s_job_rules), job, nested, err, errlen) != 0)
            return -1;
        return s_check_job_kind (job, nested, err, errlen);
    }
    }
    return s_fail (err, errlen, "%s.%s: unknown field kind", where, rule->key);
}

static int
s_check_rules (const s_rule_t *rules, size_t count, const void *base,
               const char *where, char *err, size_t errlen)
{
    for (size_t i = 0; i < count; i++)
        if (s_check_member (&rules[i], base, where, err, errlen))
            return -1;
    return 0;
}


/*  --------------------------------------------------------------------
    Encoding */

/*  Growable output for the packer. Writing can't fail: xrealloc aborts on
    OOM, so no msgpack_pack_* return code needs checking. */
typedef struct {
    char *data;
    size_t size;
    size_t alloc;
} s_buffer_t;

static int
s_buffer_write (void *data, const char *buf, size_t len)
{
    s_buffer_t *self = (s_buffer_t *) data;
    if (self->alloc - self->size < len) {
        size_t alloc = self->alloc ? self->alloc : 256;
        while (alloc - self->size < len)
            alloc *= 2;
        self->data = xrealloc (self->data, alloc);
        self->alloc = alloc;
    }
    memcpy (self->data + self->size, buf, len);
    self->size += len;
    return 0;
}

static void
s_pack_string (msgpack_packer *pk, const char *s)
{
    size_t len = strlen (s);
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, s, len);
}

/*  True if the member is sent (optional members at their "absent" value are
    not). */
static bool
s_member_is_sent (const s_rule_t *rule, const void *base)
{
    switch (rule->kind) {
    case S_OPT_TEXT:
        return *(char *const *) s_member (base, rule) != NULL;
    case S_OPT_INT:
        return s_get_int (base, rule) != 0;
    case S_SQLSTATE:
        return *(const char *) s_member (base, rule) != '\0';
    default:
        return true;
    }
}

static uint32_t
s_count_sent (const s_rule_t *rules, size_t count, const void *base)
{
    uint32_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (s_member_is_sent (&rules[i], base))
            n++;
    return n;
}

static void s_pack_rules (msgpack_packer *pk, const s_rule_t *rules, size_t count,
                          const void *base);

/*  Packs key and value of one checked member. */
static void
s_pack_member (msgpack_packer *pk, const s_rule_t *rule, const void *base)
{
    s_pack_string (pk, rule->key);
    switch (rule->kind) {
    case S_NAME:
    case S_TEXT:
    case S_RUN_ID:
    case S_OPT_TEXT:
    case S_NULLABLE: {
        const char *s = *(char *const *) s_member (base, rule);
        if (s)
            s_pack_string (pk, s);
        else
            msgpack_pack_nil (pk);
        break;
    }
    case S_INT:
    case S_OPT_INT:
        msgpack_pack_int64 (pk, s_get_int (base, rule));
        break;
    case S_UINT64:
        msgpack_pack_uint64 (pk, *(const uint64_t *) s_member (base, rule));
        break;
    case S_BOOL:
        if (*(const bool *) s_member (base, rule))
            msgpack_pack_true (pk);
        else
            msgpack_pack_false (pk);
        break;
    case S_DOUBLE:
        msgpack_pack_double (pk, *(const double *) s_member (base, rule));
        break;
    case S_SQLSTATE:
        s_pack_string (pk, (const char *) s_member (base, rule));
        break;
    case S_JOB: {
        const protocol_job_t *job = *(protocol_job_t *const *) s_member (base, rule);
        msgpack_pack_map (pk, s_count_sent (s_job_rules, S_COUNT (s_job_rules), job));
        s_pack_rules (pk, s_job_rules, S_COUNT (s_job_rules), job);
        break;
    }
    }
}

static void
s_pack_rules (msgpack_packer *pk, const s_rule_t *rules, size_t count, const void *base)
{
    for (size_t i = 0; i < count; i++)
        if (s_member_is_sent (&rules[i], base))
            s_pack_member (pk, &rules[i], base);
}

int
protocol_encode (const protocol_msg_t *msg, char **data, size_t *size,
                 char *err, size_t errlen)
{
    FERRY_ASSERT (msg);
    FERRY_ASSERT (data);
    FERRY_ASSERT (size);
    *data = NULL;
    *size = 0;
    if (msg->type <= PROTO_MSG_INVALID || msg->type >= PROTO_MSG_COUNT_)
        return s_fail (err, errlen, "cannot encode message type %d", (int) msg->type);

    const s_type_t *type = &s_types[msg->type];
    if (s_check_rules (type->rules, type->count, msg, type->name, err, errlen))
        return -1;

    /*  ASSIGN carries one of two ranges; a message holding both is a bug in
        the caller, and sending it would make the worker guess. */
    const s_rule_t *range = NULL;
    size_t range_count = 0;
    if (msg->type == PROTO_MSG_ASSIGN) {
        if (msg->path) {
            if (msg->lo || msg->hi)
                return s_fail (err, errlen, "ASSIGN: lo/hi and path are exclusive");
            range = s_assign_file_rules;
            range_count = S_COUNT (s_assign_file_rules);
        }
        else {
            range = s_assign_key_rules;
            range_count = S_COUNT (s_assign_key_rules);
        }
        if (s_check_rules (range, range_count, msg, type->name, err, errlen))
            return -1;
    }

    s_buffer_t buf = { NULL, 0, 0 };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, s_buffer_write);
    msgpack_pack_map (&pk, 2 + s_count_sent (type->rules, type->count, msg)
                           + s_count_sent (range, range_count, msg));
    s_pack_string (&pk, "v");
    msgpack_pack_int (&pk, PROTOCOL_VERSION);
    s_pack_string (&pk, "type");
    s_pack_string (&pk, type->name);
    s_pack_rules (&pk, type->rules, type->count, msg);
    s_pack_rules (&pk, range, range_count, msg);

    if (buf.size > S_MAX_MESSAGE) {
        free (buf.data);
        return s_fail (err, errlen, "%s: message too large (%zu bytes, max %u)",
                       type->name, buf.size, S_MAX_MESSAGE);
    }
    *data = buf.data;
    *size = buf.size;
    return 0;
}


/*  --------------------------------------------------------------------
    Decoding */

/*  Walks the single msgpack object that must fill data[0..size) without
    allocating. Rejects reserved bytes, lengths and element counts that
    exceed what remains of the input (every element takes at least one
    byte), nesting deeper than S_MAX_DEPTH and trailing bytes. Returns 0 or
    -1 with a reason. */
static int
s_scan (const uint8_t *p, size_t size, char *err, size_t errlen)
{
    uint64_t stack[S_MAX_DEPTH];   /* elements left at each open level */
    int top = 0;
    uint64_t pending = 1;          /* sum of stack[] */
    size_t pos = 0;
    stack[0] = 1;

    while (pending > 0) {
        while (stack[top] == 0)
            top--;
        if (pos >= size)
            return s_fail (err, errlen, "truncated message");
        uint8_t b = p[pos++];
        stack[top]--;
        pending--;

        uint64_t items = 0;         /* child elements (map: keys + values) */
        uint64_t skip = 0;          /* payload bytes */
        size_t len_bytes = 0;       /* big-endian length that follows */
        uint64_t len_factor = 0;    /* 1: payload, 2: map pairs, 3: array */
        uint64_t extra = 0;         /* ext type byte */

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            ;                                   /* fixint, nil, bool */
        else if ((b & 0xf0) == 0x80)
            items = 2 * (uint64_t) (b & 0x0f);  /* fixmap */
        else if ((b & 0xf0) == 0x90)
            items = b & 0x0f;                   /* fixarray */
        else if ((b & 0xe0) == 0xa0)
            skip = b & 0x1f;                    /* fixstr */
        else
            switch (b) {
            case 0xc4: case 0xd9: len_bytes = 1; len_factor = 1; break;  /* bin8, str8 */
            case 0xc5: case 0xda: len_bytes = 2; len_factor = 1; break;
            case 0xc6: case 0xdb: len_bytes = 4; len_factor = 1; break;
            case 0xc7: len_bytes = 1; len_factor = 1; extra = 1; break;  /* ext8 */
            case 0xc8: len_bytes = 2; len_factor = 1; extra = 1; break;
            case 0xc9: len_bytes = 4; len_factor = 1; extra = 1; break;
            case 0xca: skip = 4; break;                                  /* float32 */
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;                       /* (u)int8 */
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;                                  /* fixext1 */
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: len_bytes = 2; len_factor = 3; break;             /* array16 */
            case 0xdd: len_bytes = 4; len_factor = 3; break;
            case 0xde: len_bytes = 2; len_factor = 2; break;             /* map16 */
            case 0xdf: len_bytes = 4; len_factor = 2; break;
            default:                                                     /* 0xc1 */
                return s_fail (err, errlen, "malformed msgpack (byte 0x%02x at %zu)",
                               b, pos - 1);
            }

        if (len_bytes) {
            if (size - pos < len_bytes)
                return s_fail (err, errlen, "truncated message");
            uint64_t n = 0;
            for (size_t i = 0; i < len_bytes; i++)
                n = (n << 8) | p[pos++];
            if (len_factor == 1)
                skip = n + extra;
            else if (len_factor == 2)
                items = 2 * n;
            else
                items = n;
        }
        if (skip > size - pos)
            return s_fail (err, errlen, "truncated message");
        pos += (size_t) skip;

        if (items > 0) {
            if (top + 1 >= S_MAX_DEPTH)
                return s_fail (err, errlen, "nested too deeply (max %d)", S_MAX_DEPTH);
            stack[++top] = items;
            pending += items;
        }
        /*  Every pending element needs at least one more byte: a length
            beyond that is a lie (or a truncation); refuse it before
            msgpack-c allocates for it. */
        if (pending > size - pos)
            return s_fail (err, errlen, "truncated message");
    }
    if (pos != size)
        return s_fail (err, errlen, "%zu trailing bytes after message", size - pos);
    return 0;
}

static bool
s_key_is (const msgpack_object *key, const char *name)
{
    size_t len = strlen (name);
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == len
        && memcmp (key->via.str.ptr, name, len) == 0;
}

/*  Finds `key` in the map. Returns 0 and sets *value, 1 if absent, -1 (with
    a reason) if the key appears twice: with two values, which one counts
    would be up to each implementation. */
static int
s_lookup (const msgpack_object_map *map, const char *key, const msgpack_object **value,
          const char *where, char *err, size_t errlen)
{
    *value = NULL;
    for (uint32_t i = 0; i < map->size; i++)
        if (s_key_is (&map->ptr[i].key, key)) {
            if (*value) {
                if (where)
                    return s_fail (err, errlen, "%s: duplicate field \"%s\"", where, key);
                return s_fail (err, errlen, "duplicate field \"%s\"", key);
            }
            *value = &map->ptr[i].val;
        }
    return *value ? 0 : 1;
}

static bool
s_object_is_int (const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
        || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static int s_decode_rules (const msgpack_object_map *map, const s_rule_t *rules,
                           size_t count, void *base, const char *where,
                           char *err, size_t errlen);

/*  Decodes one member into base. Strings are copied. On -1 anything
    already stored in base is still owned by base (the caller resets it). */
static int
s_decode_member (const msgpack_object_map *map, const s_rule_t *rule, void *base,
                 const char *where, char *err, size_t errlen)
{
    const msgpack_object *o;
    int rc = s_lookup (map, rule->key, &o, where, err, errlen);
    if (rc < 0)
        return -1;
    bool optional = rule->kind == S_OPT_TEXT || rule->kind == S_OPT_INT
                 || rule->kind == S_SQLSTATE;
    if (rc == 1)
        return optional ? 0 : s_fail (err, errlen, "%s: missing field \"%s\"", where, rule->key);
    if (o->type == MSGPACK_OBJECT_NIL && (optional || rule->kind == S_NULLABLE))
        return 0;

    char buf[64];
    switch (rule->kind) {
    case S_NAME:
    case S_TEXT:
    case S_RUN_ID:
    case S_OPT_TEXT:
    case S_NULLABLE: {
        if (o->type != MSGPACK_OBJECT_STR)
            return s_fail (err, errlen, "%s.%s: expected %sstring", where, rule->key,
                           rule->kind == S_NAME ? "non-empty " : "");
        size_t len = o->via.str.size;
        if (len && memchr (o->via.str.ptr, '\0', len))
            return s_fail (err, errlen, "%s.%s: string contains NUL", where, rule->key);
        if (len > S_MAX_STRING)     /* before copying it */
            return s_check_string (rule, "", len, where, err, errlen);
        char *s = xmalloc (len + 1);
        if (len)
            memcpy (s, o->via.str.ptr, len);
        s[len] = '\0';
        if (s_check_string (rule, s, len, where, err, errlen)) {
            free (s);
            return -1;
        }
        *(char **) s_member (base, rule) = s;
        return 0;
    }
    case S_INT:
    case S_OPT_INT: {
        if (!s_object_is_int (o))
            return s_fail (err, errlen, "%s.%s: expected %s", where, rule->key,
                           s_int_expect (rule, buf, sizeof buf));
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 > (uint64_t) rule->max)
            return s_fail (err, errlen, "%s.%s: %" PRIu64 " out of range (max %" PRId64 ")",
                           where, rule->key, o->via.u64, rule->max);
        int64_t value = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                      ? (int64_t) o->via.u64 : o->via.i64;
        /*  An optional 0 means "none", as when absent, whatever the bounds. */
        if (!(rule->kind == S_OPT_INT && value == 0)
        &&  s_check_int (rule, value, where, err, errlen))
            return -1;
        s_set_int (base, rule, value);
        return 0;
    }
    case S_UINT64:
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return s_fail (err, errlen, "%s.%s: expected unsigned integer", where, rule->key);
        *(uint64_t *) s_member (base, rule) = o->via.u64;
        return 0;
    case S_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN)
            return s_fail (err, errlen, "%s.%s: expected boolean", where, rule->key);
        *(bool *) s_member (base, rule) = o->via.boolean;
        return 0;
    case S_DOUBLE: {
        double value;
        if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
            value = o->via.f64;
        else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            value = (double) o->via.u64;
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            value = (double) o->via.i64;
        else
            value = NAN;
        if (s_check_double (rule, value, where, err, errlen))
            return -1;
        *(double *) s_member (base, rule) = value;
        return 0;
    }
    case S_SQLSTATE:
        if (o->type != MSGPACK_OBJECT_STR
        ||  !s_sqlstate_is_valid (o->via.str.ptr, o->via.str.size))
            return s_fail (err, errlen, "%s.%s: expected 5-character SQLSTATE",
                           where, rule->key);
        memcpy (s_member (base, rule), o->via.str.ptr, o->via.str.size);
        ((char *) s_member (base, rule))[o->via.str.size] = '\0';
        return 0;
    case S_JOB: {
        if (o->type != MSGPACK_OBJECT_MAP)
            return s_fail (err, errlen, "%s.%s: expected map", where, rule->key);
        /*  Owned by base from here on, so a failure below frees it. */
        protocol_job_t *job = xcalloc (1, sizeof *job);
        *(protocol_job_t **) s_member (base, rule) = job;
        char nested[64];
        int n = snprintf (nested, sizeof nested, "%s.%s", where, rule->key);
        if (n < 0 || (size_t) n >= sizeof nested)
            return s_fail (err, errlen, "%s: field path too long", where);
        if (s_decode_rules (&o->via.map, s_job_rules, S_COUNT (s_job_rules), job,
                            nested, err, errlen) != 0)
            return -1;
        return s_check_job_kind (job, nested, err, errlen);
    }
    }
    return s_fail (err, errlen, "%s.%s: unknown field kind", where, rule->key);
}

static int
s_decode_rules (const msgpack_object_map *map, const s_rule_t *rules, size_t count,
                void *base, const char *where, char *err, size_t errlen)
{
    for (size_t i = 0; i < count; i++)
        if (s_decode_member (map, &rules[i], base, where, err, errlen))
            return -1;
    return 0;
}

/*  ASSIGN's range: a non-nil "path" makes it a file range (lo/hi must then be
    absent or nil), otherwise "lo" and "hi" must both be there. */
static int
s_decode_assign_range (const msgpack_object_map *map, protocol_msg_t *msg,
                       char *err, size_t errlen)
{
    const msgpack_object *path;
    int rc = s_lookup (map, "path", &path, "ASSIGN", err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1 || path->type == MSGPACK_OBJECT_NIL)
        return s_decode_rules (map, s_assign_key_rules, S_COUNT (s_assign_key_rules),
                               msg, "ASSIGN", err, errlen);

    const char *keys[] = { "lo", "hi" };
    for (size_t i = 0; i < S_COUNT (keys); i++) {
        const msgpack_object *o;
        rc = s_lookup (map, keys[i], &o, "ASSIGN", err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0 && o->type != MSGPACK_OBJECT_NIL)
            return s_fail (err, errlen, "ASSIGN: lo/hi and path are exclusive");
    }
    return s_decode_rules (map, s_assign_file_rules, S_COUNT (s_assign_file_rules),
                           msg, "ASSIGN", err, errlen);
}

/*  Copies at most 32 bytes of a peer's string into buf for an error
    message, replacing anything unprintable. */
static const char *
s_printable (const char *s, size_t len, char *buf, size_t buflen)
{
    size_t n = 0;
    for (size_t i = 0; i < len && i < 32 && n + 1 < buflen; i++)
        buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    if (len > 32 && n + 4 < buflen) {
        memcpy (buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static int
s_decode_root (const msgpack_object *root, protocol_msg_t *msg, char *err, size_t errlen)
{
    if (root->type != MSGPACK_OBJECT_MAP)
        return s_fail (err, errlen, "expected a map at top level");
    const msgpack_object_map *map = &root->via.map;

    const msgpack_object *v;
    int rc = s_lookup (map, "v", &v, NULL, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return s_fail (err, errlen, "missing field \"v\"");
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return s_fail (err, errlen, "unsupported version %" PRId64, v->via.i64);
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_fail (err, errlen, "\"v\": expected integer");
    if (v->via.u64 != PROTOCOL_VERSION)
        return s_fail (err, errlen, "unsupported version %" PRIu64, v->via.u64);

    const msgpack_object *t;
    rc = s_lookup (map, "type", &t, NULL, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return s_fail (err, errlen, "missing field \"type\"");
    if (t->type != MSGPACK_OBJECT_STR)
        return s_fail (err, errlen, "\"type\": expected string");
    protocol_type_t type = PROTO_MSG_INVALID;
    for (int i = PROTO_MSG_INVALID + 1; i < PROTO_MSG_COUNT_; i++)
        if (s_key_is (t, s_types[i].name))
            type = (protocol_type_t) i;
    if (type == PROTO_MSG_INVALID) {
        char buf[40];
        return s_fail (err, errlen, "unknown type \"%s\"",
                       s_printable (t->via.str.ptr, t->via.str.size, buf, sizeof buf));
    }

    msg->type = type;
    const s_type_t *def = &s_types[type];
    if (s_decode_rules (map, def->rules, def->count, msg, def->name, err, errlen))
        return -1;
    if (type == PROTO_MSG_ASSIGN && s_decode_assign_range (map, msg, err, errlen))
        return -1;
    return 0;
}

int
protocol_decode (const void *data, size_t size, protocol_msg_t *msg,
                 char *err, size_t errlen)
{
    FERRY_ASSERT (msg);
    memset (msg, 0, sizeof *msg);
    if (!data || size == 0)
        return s_fail (err, errlen, "empty message");
    if (size > S_MAX_MESSAGE)
        return s_fail (err, errlen, "message too large (%zu bytes, max %u)",
                       size, S_MAX_MESSAGE);
    if (s_scan ((const uint8_t *) data, size, err, errlen))
        return -1;

    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t off = 0;
    int rc = -1;
    msgpack_unpack_return ur = msgpack_unpack_next (&unpacked, (const char *) data, size, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != size)
        /*  s_scan accepted it, so this is msgpack-c disagreeing (or out of
            memory): still the peer's input, still not a crash. */
        s_fail (err, errlen, "malformed msgpack (unpack returned %d)", (int) ur);
    else {
        protocol_msg_t decoded;
        memset (&decoded, 0, sizeof decoded);
        rc = s_decode_root (&unpacked.data, &decoded, err, errlen);
        if (rc == 0)
            *msg = decoded;
        else
            protocol_msg_reset (&decoded);
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}


/*  --------------------------------------------------------------------
    Message and job lifetime */

void
protocol_msg_init (protocol_msg_t *msg, protocol_type_t type)
{
    FERRY_ASSERT (msg);
    memset (msg, 0, sizeof *msg);
    msg->type = type;
}

void
protocol_msg_reset (protocol_msg_t *msg)
{
    FERRY_ASSERT (msg);
    free (msg->name);
    free (msg->host);
    free (msg->build);
    free (msg->run_id);
    protocol_job_destroy (&msg->job);
    free (msg->lo);
    free (msg->hi);
    free (msg->path);
    free (msg->group_bounds);
    free (msg->message);
    free (msg->reason);
    free (msg->outcome);
    free (msg->nonce);
    free (msg->proof);
    free (msg->batch_hist);
    memset (msg, 0, sizeof *msg);
}

const double protocol_batch_bounds_ms[PROTOCOL_BATCH_BOUNDS] = {
    1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000
};

char *
protocol_batch_hist_format (const uint64_t counts[PROTOCOL_BATCH_BOUNDS + 1])
{
    char buf[(PROTOCOL_BATCH_BOUNDS + 1) * 21 + 1];
    size_t o = 0;
    for (int i = 0; i <= PROTOCOL_BATCH_BOUNDS; i++)
        o += (size_t) snprintf (buf + o, sizeof buf - o, "%s%" PRIu64, i ? " " : "", counts[i]);
    return xstrdup (buf);
}

int
protocol_batch_hist_parse (const char *text, uint64_t counts[PROTOCOL_BATCH_BOUNDS + 1])
{
    memset (counts, 0, (PROTOCOL_BATCH_BOUNDS + 1) * sizeof counts[0]);
    const char *p = text;
    for (int i = 0; p && i <= PROTOCOL_BATCH_BOUNDS; i++) {
        if (i > 0 && *p++ != ' ')
            break;
        if (*p < '0' || *p > '9')
            break;
        uint64_t v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 19) {
            v = v * 10 + (uint64_t) (*p++ - '0');
            digits++;
        }
        counts[i] = v;
        if (i == PROTOCOL_BATCH_BOUNDS && *p == 0)
            return 0;
    }
    memset (counts, 0, (PROTOCOL_BATCH_BOUNDS + 1) * sizeof counts[0]);
    return -1;
}

protocol_job_t *
protocol_job_dup (const protocol_job_t *job)
{
    if (!job)
        return NULL;
    protocol_job_t *copy = xmalloc (sizeof *copy);
    *copy = *job;
    copy->source_kind = xstrdup (job->source_kind);
    copy->csv_null = xstrdup (job->csv_null);
    copy->csv_encoding = xstrdup (job->csv_encoding);
    copy->csv_columns = xstrdup (job->csv_columns);
    copy->source_conninfo = xstrdup (job->source_conninfo);
    copy->target_conninfo = xstrdup (job->target_conninfo);
    copy->query = xstrdup (job->query);
    copy->key = xstrdup (job->key);
    copy->split = xstrdup (job->split);
    copy->snapshot = xstrdup (job->snapshot);
    copy->copy_table = xstrdup (job->copy_table);
    copy->final_table = xstrdup (job->final_table);
    return copy;
}

void
protocol_job_destroy (protocol_job_t **job_p)
{
    FERRY_ASSERT (job_p);
    protocol_job_t *job = *job_p;
    if (!job)
        return;
    free (job->source_kind);
    free (job->csv_null);
    free (job->csv_encoding);
    free (job->csv_columns);
    free (job->source_conninfo);
    free (job->target_conninfo);
    free (job->query);
    free (job->key);
    free (job->split);
    free (job->snapshot);
    free (job->copy_table);
    free (job->final_table);
    free (job);
    *job_p = NULL;
}

const char *
protocol_type_name (protocol_type_t type)
{
    if ((int) type <= PROTO_MSG_INVALID || type >= PROTO_MSG_COUNT_)
        return "INVALID";
    return s_types[type].name;
}
