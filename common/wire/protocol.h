/*  common/wire/protocol.h: the FERRY/1 control protocol codec (msgpack).

    Every message is one ZeroMQ frame holding one msgpack map with at least
    "v" (protocol version, 1) and "type" (a string: "HELLO", "JOB", ...).
    Rows never cross this protocol: only control messages do.
    docs/PROTOCOL.md is the reference for fields and semantics.

    protocol_encode turns a protocol_msg_t into bytes; protocol_decode does
    the reverse and validates: truncated input, trailing bytes, a non-map,
    a wrong version, an unknown type, a missing required field or a field
    of the wrong msgpack type all return -1 with a reason, never a crash.
    Unknown extra fields are ignored (forward compatibility).

    Ownership: every string and the job inside a protocol_msg_t are owned by
    the message; decoded strings are copies (no pointer into the input
    survives protocol_decode). protocol_msg_reset frees them.
*/
#ifndef FERRY_PROTOCOL_H
#define FERRY_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTOCOL_VERSION 1

/*  Largest frame a FERRY/1 peer sends (protocol.c refuses to encode more);
    sockets drop bigger ones before they are read (ZMQ_MAXMSGSIZE). */
#define PROTOCOL_MAX_FRAME (4 * 1024 * 1024)

/*  The most chunks one ASSIGN may carry as a group. */
#define PROTOCOL_GROUP_MAX 4096

typedef enum {
    PROTO_MSG_INVALID = 0,
    PROTO_MSG_HELLO,      /* W->C */
    PROTO_MSG_JOB,        /* C->W */
    PROTO_MSG_ASSIGN,     /* C->W */
    PROTO_MSG_PROGRESS,   /* W->C */
    PROTO_MSG_DONE,       /* W->C */
    PROTO_MSG_FAILED,     /* W->C */
    PROTO_MSG_HEARTBEAT,  /* both */
    PROTO_MSG_STOP,       /* C->W */
    PROTO_MSG_BYE,        /* W->C */
    PROTO_MSG_CHALLENGE,  /* C->W: prove the cluster secret (answer to HELLO) */
    PROTO_MSG_AUTH,       /* W->C: the proof */
    PROTO_MSG_CANCEL,     /* C->W: end one attempt (another attempt committed its chunk) */
    PROTO_MSG_COUNT_
} protocol_type_t;

/*  What a worker needs to run chunks of one run (inside JOB).
    Conninfos are NULL when the coordinator must not send secrets (a
    non-loopback link without CURVE): the worker then uses FERRY_SOURCE_DSN /
    FERRY_TARGET_DSN. */
typedef struct {
    char *source_kind;          /* optional: "csv" for file sources; NULL = postgres */
    char *source_conninfo;      /* optional */
    char *target_conninfo;      /* optional */
    char *query;                /* postgres: the ordered source query */
    char *key;                  /* postgres: key column name */
    char *split;                /* postgres, optional: "key" (absent) or "ctid":
                                   chunk bounds are tids of heap blocks */
    char *snapshot;             /* optional: exported snapshot id */
    char *copy_table;           /* required: table the chunks COPY into (staging, or final for direct) */
    char *final_table;          /* required: the final table (for column checks) */
    int32_t processors;         /* pipeline.processors */
    int32_t raw_queue_max;
    int32_t processed_queue_max;
    int32_t read_buffer;
    int32_t batch_size;
    int32_t max_retries;        /* retry policy, applied by the worker per chunk */
    double initial_delay;
    double backoff;
    double max_delay;
    /* csv only (source_kind "csv"): one-byte format characters as ints
       (0 = none), the header flag, the NULL marker, the file encoding, and
       the target column of each file column in file order, joined by
       PROTOCOL_COLUMN_SEP, an empty entry for a skipped file column. */
    int32_t csv_delimiter;
    int32_t csv_quote;
    int32_t csv_escape;
    int32_t csv_header;
    char *csv_null;
    char *csv_encoding;
    char *csv_columns;
    int32_t csv_max_record;     /* source.format.max_record_bytes; 0 (absent) = the
                                   default, JOBCHECK_MAX_RECORD_DEFAULT */
    int32_t source_connect_timeout; /* optional: source.connect_timeout, whole seconds
                                   for libpq; 0 (absent) = libpq's default */
    int32_t target_connect_timeout; /* optional: target.connect_timeout, likewise */
} protocol_job_t;

/*  Separates column names in protocol_job_t.csv_columns (ASCII unit
    separator: never in a sane column name; the coordinator refuses names
    holding it). */
#define PROTOCOL_COLUMN_SEP '\x1f'

typedef struct {
    protocol_type_t type;

    /* HELLO */
    char *name;                 /* worker name (required) */
    char *host;                 /* hostname (required) */
    int64_t pid;
    int32_t slots;              /* >= 1 */
    char *build;                /* ferry version string */

    /* JOB */
    char *run_id;               /* required in JOB */
    protocol_job_t *job;        /* required in JOB */
    int32_t heartbeat_ms;
    int32_t liveness;

    /* ASSIGN, PROGRESS, DONE, FAILED */
    int64_t chunk_id;
    int32_t attempt;

    /* ASSIGN: key range, half-open [lo, hi); NULL = unbounded.
       Keys travel as text, cast by the server to the key's type. */
    char *lo;
    char *hi;
    /* ASSIGN: file range (file sources); path NULL for key ranges */
    char *path;
    int64_t offset;
    int64_t length;
    int64_t first_line;
    /* ASSIGN, key ranges: a group of group_count adjacent chunks
       chunk_id .. chunk_id + group_count - 1, [lo, hi) spanning them all,
       split at the group_count - 1 interior bounds of group_bounds
       (common/wire/bounds.h). 0 or absent: one chunk. */
    int32_t group_count;
    char *group_bounds;

    /* PROGRESS, DONE */
    int64_t rows;
    int64_t bytes;
    /* DONE */
    int64_t rejected;
    uint64_t checksum;
    int64_t read_ms, process_ms, write_ms, commit_ms;
    int32_t retries;
    int64_t peak_rss_kb;        /* also optional in PROGRESS and HEARTBEAT */

    /* PROGRESS, HEARTBEAT, DONE (W->C, all optional): the worker's own figures,
       for the coordinator's metrics and its bottleneck monitor */
    int64_t cpu_ms;             /* CPU time of the worker process (user + system) */
    int32_t pipelines;          /* chunk attempts whose queues are counted below */
    int64_t raw_queued;         /* batches in their raw queues now (summed) */
    int64_t processed_queued;   /* batches in their processed queues now (summed) */
    char *batch_hist;           /* batch write latencies: protocol_batch_hist_format */
    int64_t batch_us;           /* sum of those latencies, in microseconds */

    /* FAILED */
    bool retryable;
    char sqlstate[6];           /* "" when none */
    char *message;              /* required in FAILED */

    /* STOP */
    char *reason;
    /*  STOP, optional: how the run ended, PROTOCOL_OUTCOME_* (NULL: not
        said, as from an older coordinator or a refusal). Any string
        decodes, so that a later outcome does not break older workers. */
    char *outcome;

    /* CHALLENGE: a fresh random nonce (hex); AUTH: the worker's proof,
       hex HMAC-SHA256 (common/wire/auth.h) */
    char *nonce;
    char *proof;
} protocol_msg_t;

/*  FAILED.sqlstate meaning "this chunk is already committed by another
    attempt" (the ledger fence): not a PostgreSQL SQLSTATE (class FR is
    ferry's own), so it never collides with a server error. */
#define PROTOCOL_ALREADY_COMMITTED "FR001"

/*  FAILED.sqlstate meaning "not started: this worker has no free slot (or
    is finishing another run)": the coordinator requeues the chunk without
    counting an attempt. */
#define PROTOCOL_NO_SLOT "FR002"

/*  The batch write latency histogram a worker sends (batch_hist): counts
    per bucket, bucket i holding latencies <= protocol_batch_bounds_ms[i]
    and above the bound before; the last bucket holds what is above every
    bound. Counts are cumulative since the worker took the run's JOB. */
#define PROTOCOL_BATCH_BOUNDS 12
extern const double protocol_batch_bounds_ms[PROTOCOL_BATCH_BOUNDS];

/*  batch_hist's text: PROTOCOL_BATCH_BOUNDS + 1 decimal counts separated
    by single spaces ("3 0 1 0 0 0 0 0 0 0 0 0 0"). Caller owns the result. */
char *protocol_batch_hist_format (const uint64_t counts[PROTOCOL_BATCH_BOUNDS + 1]);

/*  Parses batch_hist's text into counts. Returns 0, or -1 (counts zeroed)
    when the text is not exactly that shape. */
int protocol_batch_hist_parse (const char *text, uint64_t counts[PROTOCOL_BATCH_BOUNDS + 1]);
/*  STOP.outcome: the run was published, failed (nothing published, or
    direct: not complete), or cancelled (its coordinator was interrupted;
    the run is resumable). */
#define PROTOCOL_OUTCOME_PUBLISHED "published"
#define PROTOCOL_OUTCOME_FAILED    "failed"
#define PROTOCOL_OUTCOME_CANCELLED "cancelled"

/*  Zeroes a message to type `type` (no allocation). */
void protocol_msg_init (protocol_msg_t *msg, protocol_type_t type);

/*  Frees every owned string and the job, and zeroes the message. */
void protocol_msg_reset (protocol_msg_t *msg);

/*  Deep copy of a job (NULL in, NULL out). Caller owns the result. */
protocol_job_t *protocol_job_dup (const protocol_job_t *job);
void protocol_job_destroy (protocol_job_t **job_p);

/*  Encodes msg. On success returns 0 and sets *data (caller frees with
    free()) and *size. Returns -1 if a required field is missing (message in
    err). */
int protocol_encode (const protocol_msg_t *msg, char **data, size_t *size,
                     char *err, size_t errlen);

/*  Decodes `size` bytes into msg (which must be zeroed or reset). Returns 0,
    or -1 with a reason in err; on -1 msg holds nothing to free. */
int protocol_decode (const void *data, size_t size, protocol_msg_t *msg,
                     char *err, size_t errlen);

/*  "HELLO", "JOB", ...; "INVALID" for anything else. Can't fail. */
const char *protocol_type_name (protocol_type_t type);

#endif
