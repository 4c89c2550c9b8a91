/*  common/wire/protocol_msgs.c: the FERRY/1 messages, one table of field rules
    per type (protocol_int.h); docs/PROTOCOL.md describes the same fields
    for people. Also what a job's kind requires beyond its fields, the
    lifetime of messages and jobs (driven by the same tables: a string a
    rule describes is owned by its struct), the batch_hist text and the
    type names.

    Adding a field: a member in protocol_msg_t (or protocol_job_t), one
    rule in its type's table here, a line in docs/PROTOCOL.md. The codec
    (protocol_codec.c) and the envelope (protocol.c) need no change. */
#include "protocol_int.h"
#include "jobcheck.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_COUNT(a) (sizeof (a) / sizeof ((a)[0]))
#define S_RULES(a) { a, S_COUNT (a) }

#define S_RULE(T, f, k) \
    .key = #f, .kind = PROTO_KIND_##k, .offset = offsetof (T, f), \
    .width = sizeof (((T *) 0)->f)
#define M_FIELD(f, k)       { S_RULE (protocol_msg_t, f, k) }
#define M_INT(f, k, lo, hi) { S_RULE (protocol_msg_t, f, k), .min = (lo), .max = (hi) }
#define J_FIELD(f, k)       { S_RULE (protocol_job_t, f, k) }
#define J_INT(f, k, lo, hi) { S_RULE (protocol_job_t, f, k), .min = (lo), .max = (hi) }
#define J_DBL(f, lo, hi)    { S_RULE (protocol_job_t, f, DOUBLE), .dmin = (lo), .dmax = (hi) }

/*  The bounds most counts and durations have. */
#define M_COUNT(f)          M_INT (f, INT, 0, INT64_MAX)
#define M_OPT_COUNT(f)      M_INT (f, OPT_INT, 0, INT64_MAX)
#define J_CHAR(f)           J_INT (f, OPT_INT, 0, 255)


/*  --------------------------------------------------------------------
    The job */

/*  Bounds kept loose on purpose: the protocol rejects what is nonsense for
    any configuration (a negative queue size); the worker applies its own
    limits. */
static const protocol_rule_t s_job_rules[] = {
    J_FIELD (source_kind, OPT_TEXT),
    J_FIELD (source_conninfo, OPT_TEXT),
    J_FIELD (target_conninfo, OPT_TEXT),
    J_FIELD (query, OPT_TEXT),
    J_FIELD (key, OPT_TEXT),
    J_FIELD (split, OPT_TEXT),
    J_FIELD (snapshot, OPT_TEXT),
    J_FIELD (copy_table, NAME),
    J_FIELD (final_table, NAME),
    J_INT (processors, INT, 1, JOBCHECK_MAX_PROCESSORS),   /* more cannot start (worker/pipeline.c) */
    J_INT (raw_queue_max, INT, 1, INT32_MAX),
    J_INT (processed_queue_max, INT, 1, INT32_MAX),
    J_INT (read_buffer, INT, 1, INT32_MAX),
    J_INT (batch_size, INT, 1, INT32_MAX),
    J_INT (max_retries, INT, 0, INT32_MAX),
    J_DBL (initial_delay, 0, PROTOCOL_MAX_DELAY),
    J_DBL (backoff, 1, PROTOCOL_MAX_DELAY),
    J_DBL (max_delay, 0, PROTOCOL_MAX_DELAY),
    J_CHAR (csv_delimiter),
    J_CHAR (csv_quote),
    J_CHAR (csv_escape),
    J_INT (csv_header, OPT_INT, 0, 1),
    J_FIELD (csv_null, OPT_TEXT),
    J_FIELD (csv_encoding, OPT_TEXT),
    J_FIELD (csv_columns, OPT_TEXT),
    J_INT (source_connect_timeout, OPT_INT, 0, 3600),
    J_INT (target_connect_timeout, OPT_INT, 0, 3600),
    J_INT (csv_max_record, OPT_INT, JOBCHECK_MAX_RECORD_MIN, JOBCHECK_MAX_RECORD_MAX),
};
const protocol_rules_t protocol_job_rules = S_RULES (s_job_rules);

int
protocol_check_job_kind (const protocol_job_t *job, const char *where, char *err, size_t errlen)
{
    if (!job->source_kind) {
        if (!job->query)
            return protocol_fail (err, errlen, "%s: missing field \"query\"", where);
        if (!*job->query)
            return protocol_fail (err, errlen, "%s.query: expected non-empty string", where);
        if (!job->key)
            return protocol_fail (err, errlen, "%s: missing field \"key\"", where);
        if (!*job->key)
            return protocol_fail (err, errlen, "%s.key: expected non-empty string", where);
        if (job->split && strcmp (job->split, "key") != 0 && strcmp (job->split, "ctid") != 0)
            return protocol_fail (err, errlen, "%s.split: expected \"key\" or \"ctid\"", where);
        return 0;
    }
    if (strcmp (job->source_kind, "csv") != 0)
        return protocol_fail (err, errlen, "%s.source_kind: unknown source kind", where);
    if (!job->csv_columns || !*job->csv_columns)
        return protocol_fail (err, errlen, "%s: missing field \"csv_columns\"", where);
    if (job->csv_delimiter == 0)
        return protocol_fail (err, errlen, "%s: missing field \"csv_delimiter\"", where);
    /*  What csv.c would assert on (a worker must refuse it, not abort). */
    const char *field = NULL;
    const char *what = jobcheck_csv_format (job->csv_delimiter, job->csv_quote, job->csv_escape,
                                            &field);
    if (what)
        return protocol_fail (err, errlen, "%s.csv_%s: %s", where, field, what);
    return 0;
}


/*  --------------------------------------------------------------------
    The messages */

static const protocol_rule_t s_hello_rules[] = {
    M_FIELD (name, NAME),
    M_FIELD (host, NAME),
    M_INT (pid, INT, 1, INT64_MAX),
    M_INT (slots, INT, 1, INT32_MAX),
    M_FIELD (build, NAME),
};

/*  heartbeat_ms and liveness are capped so that their product fits
    comfortably in 32 bits. */
static const protocol_rule_t s_job_msg_rules[] = {
    M_FIELD (run_id, RUN_ID),
    M_FIELD (job, JOB),
    M_INT (heartbeat_ms, INT, 1, 3600000),
    M_INT (liveness, INT, 1, 1000),
};

#define M_CHUNK \
    M_INT (chunk_id, INT, 0, INT64_MAX), \
    M_INT (attempt, INT, 1, INT32_MAX)

/*  ASSIGN is s_assign_rules plus either the key range or the file range
    (protocol.c picks by the presence of "path"). */
static const protocol_rule_t s_assign_rules[] = {
    M_CHUNK,
};
static const protocol_rule_t s_assign_key_rules[] = {
    M_FIELD (lo, NULLABLE),
    M_FIELD (hi, NULLABLE),
    M_INT (group_count, OPT_INT, 0, PROTOCOL_GROUP_MAX),
    M_FIELD (group_bounds, OPT_TEXT),
};
static const protocol_rule_t s_assign_file_rules[] = {
    M_FIELD (path, NAME),
    M_COUNT (offset),
    M_COUNT (length),
    M_COUNT (first_line),
};
const protocol_rules_t protocol_assign_key_rules = S_RULES (s_assign_key_rules);
const protocol_rules_t protocol_assign_file_rules = S_RULES (s_assign_file_rules);

/*  What a chunk attempt moved so far (PROGRESS) or in all (DONE). */
#define M_MOVED \
    M_COUNT (rows), \
    M_COUNT (bytes)

/*  The worker's figures, optional in PROGRESS and HEARTBEAT (added within
    v 1: older coordinators ignore them, older workers leave them out). */
#define M_FIGURES \
    M_OPT_COUNT (cpu_ms), \
    M_INT (pipelines, OPT_INT, 0, INT32_MAX), \
    M_OPT_COUNT (raw_queued), \
    M_OPT_COUNT (processed_queued), \
    M_FIELD (batch_hist, OPT_TEXT), \
    M_OPT_COUNT (batch_us)

static const protocol_rule_t s_progress_rules[] = {
    M_CHUNK,
    M_MOVED,
    M_OPT_COUNT (peak_rss_kb),
    M_FIGURES,
};

static const protocol_rule_t s_done_rules[] = {
    M_CHUNK,
    M_MOVED,
    M_COUNT (rejected),
    M_FIELD (checksum, UINT64),
    M_COUNT (read_ms),
    M_COUNT (process_ms),
    M_COUNT (write_ms),
    M_COUNT (commit_ms),
    M_INT (retries, INT, 0, INT32_MAX),
    M_COUNT (peak_rss_kb),
    M_FIGURES,
};

static const protocol_rule_t s_failed_rules[] = {
    M_CHUNK,
    M_FIELD (retryable, BOOL),
    M_FIELD (sqlstate, SQLSTATE),
    M_FIELD (message, TEXT),
};

static const protocol_rule_t s_heartbeat_rules[] = {
    M_OPT_COUNT (peak_rss_kb),
    M_FIGURES,
};

static const protocol_rule_t s_stop_rules[] = {
    M_FIELD (reason, TEXT),
    M_FIELD (outcome, OPT_TEXT),
};

static const protocol_rule_t s_cancel_rules[] = {
    M_CHUNK,
};

static const protocol_rule_t s_challenge_rules[] = {
    M_FIELD (nonce, NAME),
};

static const protocol_rule_t s_auth_rules[] = {
    M_FIELD (proof, NAME),
};

#define S_DEF(n, r) { n, S_RULES (r) }
const protocol_def_t protocol_defs[PROTO_MSG_COUNT_] = {
    [PROTO_MSG_INVALID]   = { "INVALID", { NULL, 0 } },
    [PROTO_MSG_HELLO]     = S_DEF ("HELLO", s_hello_rules),
    [PROTO_MSG_JOB]       = S_DEF ("JOB", s_job_msg_rules),
    [PROTO_MSG_ASSIGN]    = S_DEF ("ASSIGN", s_assign_rules),
    [PROTO_MSG_PROGRESS]  = S_DEF ("PROGRESS", s_progress_rules),
    [PROTO_MSG_DONE]      = S_DEF ("DONE", s_done_rules),
    [PROTO_MSG_FAILED]    = S_DEF ("FAILED", s_failed_rules),
    [PROTO_MSG_HEARTBEAT] = S_DEF ("HEARTBEAT", s_heartbeat_rules),
    [PROTO_MSG_STOP]      = S_DEF ("STOP", s_stop_rules),
    [PROTO_MSG_BYE]       = { "BYE", { NULL, 0 } },
    [PROTO_MSG_CHALLENGE] = S_DEF ("CHALLENGE", s_challenge_rules),
    [PROTO_MSG_AUTH]      = S_DEF ("AUTH", s_auth_rules),
    [PROTO_MSG_CANCEL]    = S_DEF ("CANCEL", s_cancel_rules),
};

const char *
protocol_type_name (protocol_type_t type)
{
    if ((int) type <= PROTO_MSG_INVALID || type >= PROTO_MSG_COUNT_)
        return "INVALID";
    return protocol_defs[type].name;
}


/*  --------------------------------------------------------------------
    Message and job lifetime */

/*  The string member a rule describes, or NULL if its kind is no string
    the struct owns. */
static char **
s_owned_string (const protocol_rule_t *rule, void *base)
{
    switch (rule->kind) {
    case PROTO_KIND_NAME:
    case PROTO_KIND_TEXT:
    case PROTO_KIND_OPT_TEXT:
    case PROTO_KIND_NULLABLE:
    case PROTO_KIND_RUN_ID:
        return (char **) ((char *) base + rule->offset);
    default:
        return NULL;
    }
}

/*  Frees (and NULLs) every string and job the rules describe in base; a
    member named by several types' rules is freed once. */
static void
s_free_members (protocol_rules_t rules, void *base)
{
    for (size_t i = 0; i < rules.count; i++) {
        const protocol_rule_t *rule = &rules.rule[i];
        char **s = s_owned_string (rule, base);
        if (s) {
            free (*s);
            *s = NULL;
        }
        else if (rule->kind == PROTO_KIND_JOB)
            protocol_job_destroy ((protocol_job_t **) ((char *) base + rule->offset));
    }
}

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
    /*  Every type's members, whatever msg->type says: a message being
        decoded may hold members of the type it was about to become. */
    for (int t = PROTO_MSG_INVALID; t < PROTO_MSG_COUNT_; t++)
        s_free_members (protocol_defs[t].rules, msg);
    s_free_members (protocol_assign_key_rules, msg);
    s_free_members (protocol_assign_file_rules, msg);
    memset (msg, 0, sizeof *msg);
}

protocol_job_t *
protocol_job_dup (const protocol_job_t *job)
{
    if (!job)
        return NULL;
    protocol_job_t *copy = xmalloc (sizeof *copy);
    *copy = *job;
    for (size_t i = 0; i < protocol_job_rules.count; i++) {
        char **s = s_owned_string (&protocol_job_rules.rule[i], copy);
        if (s)
            *s = xstrdup (*s);
    }
    return copy;
}

void
protocol_job_destroy (protocol_job_t **job_p)
{
    FERRY_ASSERT (job_p);
    protocol_job_t *job = *job_p;
    if (!job)
        return;
    s_free_members (protocol_job_rules, job);
    free (job);
    *job_p = NULL;
}


/*  --------------------------------------------------------------------
    batch_hist */

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
