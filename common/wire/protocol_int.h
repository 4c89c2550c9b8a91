/*  common/wire/protocol_int.h: what the three parts of the FERRY/1 codec share.
    Not for any other module: everyone else includes protocol.h.

      protocol_msgs.c   the messages: one table of field rules per message
                        type (and the job's), what a job's kind requires,
                        and the lifetime of messages and jobs;
      protocol_codec.c  the generic, table-driven codec: the value checks
                        shared by encode and decode, packing a rule table,
                        decoding a rule table from a msgpack map;
      protocol.c        the envelope: protocol_encode and protocol_decode
                        ("v", "type", ASSIGN's two ranges), and the scan
                        that bounds a peer's input before msgpack-c reads it.

    Each message type is described once, by its rule table. Encode and
    decode both walk the same tables and call the same value checks, so
    whatever protocol_encode accepts protocol_decode accepts, and every
    message that decodes re-encodes to an equal message
    (tests/fuzz/fuzz_protocol.c holds us to that). Key names are the C
    field names. */
#ifndef FERRY_PROTOCOL_INT_H
#define FERRY_PROTOCOL_INT_H

#include "protocol.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  Limits (docs/PROTOCOL.md, "Rejected input"). A message has at most
    twelve strings (JOB: run_id plus eleven in the job), so any message whose
    strings respect PROTOCOL_MAX_STRING encodes well under
    PROTOCOL_MAX_MESSAGE: decode then encode can never fail on size. */
#define PROTOCOL_MAX_MESSAGE   (2u * 1024 * 1024)
#define PROTOCOL_MAX_STRING    (128u * 1024)
#define PROTOCOL_MAX_DEPTH     16
#define PROTOCOL_MAX_DELAY     1e9

/*  The kinds of field a rule describes, and how each is read and sent. */
typedef enum {
    PROTO_KIND_NAME,        /* required non-empty string (char *) */
    PROTO_KIND_TEXT,        /* required string, may be empty (char *) */
    PROTO_KIND_OPT_TEXT,    /* optional string: absent or nil is NULL; NULL is not sent */
    PROTO_KIND_NULLABLE,    /* required key, string or nil (char *); NULL is sent as nil */
    PROTO_KIND_RUN_ID,      /* required run id, util_run_id_is_valid (char *) */
    PROTO_KIND_INT,         /* required integer in [min, max] (int32_t or int64_t) */
    PROTO_KIND_OPT_INT,     /* optional integer in [min, max]: absent or nil is 0; 0 is not sent */
    PROTO_KIND_UINT64,      /* required unsigned integer (uint64_t) */
    PROTO_KIND_BOOL,        /* required boolean (bool) */
    PROTO_KIND_DOUBLE,      /* required finite number in [dmin, dmax] (double) */
    PROTO_KIND_SQLSTATE,    /* optional SQLSTATE (char[6]): absent, nil or "" is ""; "" is not sent */
    PROTO_KIND_JOB          /* required map of protocol_job_rules (protocol_job_t *) */
} protocol_kind_t;

/*  One field: its key, kind, where the value lives in its C struct (a
    protocol_msg_t or a protocol_job_t) and its bounds. */
typedef struct {
    const char *key;
    protocol_kind_t kind;
    size_t offset;          /* of the member in its struct */
    size_t width;           /* sizeof the member (integers: 4 or 8) */
    int64_t min, max;       /* PROTO_KIND_INT, PROTO_KIND_OPT_INT */
    double dmin, dmax;      /* PROTO_KIND_DOUBLE */
} protocol_rule_t;

/*  A table of rules. */
typedef struct {
    const protocol_rule_t *rule;
    size_t count;
} protocol_rules_t;

/*  A message type: its wire name and its rules (ASSIGN's range rules come
    on top, see protocol_assign_key_rules). */
typedef struct {
    const char *name;
    protocol_rules_t rules;
} protocol_def_t;


/*  protocol_msgs.c */

/*  Every type, indexed by protocol_type_t; PROTO_MSG_INVALID is named
    "INVALID" and has no rules. */
extern const protocol_def_t protocol_defs[PROTO_MSG_COUNT_];

/*  The fields of a job (JOB.job). */
extern const protocol_rules_t protocol_job_rules;

/*  ASSIGN's two ranges, one of which comes on top of its rules: the key
    range (lo, hi, a group) or, when "path" is there, the file range. */
extern const protocol_rules_t protocol_assign_key_rules;
extern const protocol_rules_t protocol_assign_file_rules;

/*  What the job's kind requires beyond the field rules: a postgres job
    (no source_kind) needs query and key; a csv job needs its columns and
    a format csv.c can take. `where` names the job in the reason. Returns
    0, or -1 with a reason in err. */
int protocol_check_job_kind (const protocol_job_t *job, const char *where,
                             char *err, size_t errlen);


/*  protocol_codec.c */

/*  Writes "protocol: <reason>" into err (if any) and returns -1. */
int protocol_fail (char *err, size_t errlen, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Checks every member of base (a struct about to be encoded) against its
    rule; `where` prefixes the reason ("HELLO", "JOB.job"). Returns 0, or
    -1 with a reason in err. */
int protocol_check_rules (protocol_rules_t rules, const void *base, const char *where,
                          char *err, size_t errlen);

/*  How many members of base are sent (optional members at their "absent"
    value are not). Can't fail. */
uint32_t protocol_count_sent (protocol_rules_t rules, const void *base);

/*  Packs key and value of every sent member of base, which
    protocol_check_rules accepted. Can't fail. */
void protocol_pack_rules (msgpack_packer *pk, protocol_rules_t rules, const void *base);

/*  Packs a NUL-terminated string. Can't fail. */
void protocol_pack_string (msgpack_packer *pk, const char *s);

/*  True if the msgpack object is the string `name`, over its full length. */
bool protocol_key_is (const msgpack_object *key, const char *name);

/*  Finds `key` in the map. Returns 0 and sets *value, 1 if absent, -1
    (with a reason naming `where`, if not NULL) if the key appears twice:
    with two values, which one counts would be up to each implementation. */
int protocol_lookup (const msgpack_object_map *map, const char *key,
                     const msgpack_object **value, const char *where,
                     char *err, size_t errlen);

/*  Decodes every rule's member from the map into base, copying strings.
    Returns 0, or -1 with a reason in err; on -1 anything already stored in
    base is still owned by base (the caller resets it). */
int protocol_decode_rules (const msgpack_object_map *map, protocol_rules_t rules,
                           void *base, const char *where, char *err, size_t errlen);

#endif
