/*  common/wire/protocol_codec.c: the generic, table-driven half of the FERRY/1
    codec (protocol_int.h): one value check per field kind, used by both
    directions, then packing a rule table into msgpack and decoding a rule
    table out of a msgpack map. It knows the kinds of field, not the
    messages (protocol_msgs.c) nor the envelope (protocol.c).

    Decoding copies every string out of the msgpack object: nothing here
    keeps a pointer into the input. */
#include "protocol_int.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
protocol_fail (char *err, size_t errlen, const char *format, ...)
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

/*  Member accessors: base is a protocol_msg_t or a protocol_job_t. */
static void *
s_member (const void *base, const protocol_rule_t *rule)
{
    return (char *) base + rule->offset;
}

static int64_t
s_get_int (const void *base, const protocol_rule_t *rule)
{
    if (rule->width == sizeof (int32_t))
        return *(const int32_t *) s_member (base, rule);
    return *(const int64_t *) s_member (base, rule);
}

static void
s_set_int (void *base, const protocol_rule_t *rule, int64_t value)
{
    if (rule->width == sizeof (int32_t))
        *(int32_t *) s_member (base, rule) = (int32_t) value;
    else
        *(int64_t *) s_member (base, rule) = value;
}

/*  "<where>.<key>" into buf, for the fields of a nested map. Returns 0, or
    -1 with a reason when it does not fit. */
static int
s_nested_where (char *buf, size_t buflen, const char *where, const protocol_rule_t *rule,
                char *err, size_t errlen)
{
    int n = snprintf (buf, buflen, "%s.%s", where, rule->key);
    if (n < 0 || (size_t) n >= buflen)
        return protocol_fail (err, errlen, "%s: field path too long", where);
    return 0;
}


/*  --------------------------------------------------------------------
    Value checks, shared by encode and decode */

/*  "positive integer" for the common bounds, else the explicit range. */
static const char *
s_int_expect (const protocol_rule_t *rule, char *buf, size_t buflen)
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
s_check_int (const protocol_rule_t *rule, int64_t value, const char *where,
             char *err, size_t errlen)
{
    char buf[64];
    if (value < rule->min)
        return protocol_fail (err, errlen, "%s.%s: expected %s", where, rule->key,
                              s_int_expect (rule, buf, sizeof buf));
    if (value > rule->max)
        return protocol_fail (err, errlen, "%s.%s: %" PRId64 " out of range (max %" PRId64 ")",
                              where, rule->key, value, rule->max);
    return 0;
}

static int
s_check_double (const protocol_rule_t *rule, double value, const char *where,
                char *err, size_t errlen)
{
    if (!isfinite (value) || value < rule->dmin || value > rule->dmax)
        return protocol_fail (err, errlen, "%s.%s: expected number in [%g, %g]",
                              where, rule->key, rule->dmin, rule->dmax);
    return 0;
}

/*  Checks a string value of `len` bytes (which holds no NUL) against the
    rule: emptiness, length, run id syntax. */
static int
s_check_string (const protocol_rule_t *rule, const char *s, size_t len,
                const char *where, char *err, size_t errlen)
{
    if (len > PROTOCOL_MAX_STRING)
        return protocol_fail (err, errlen, "%s.%s: string too long (%zu bytes, max %u)",
                              where, rule->key, len, PROTOCOL_MAX_STRING);
    if (rule->kind == PROTO_KIND_NAME && len == 0)
        return protocol_fail (err, errlen, "%s.%s: expected non-empty string", where, rule->key);
    if (rule->kind == PROTO_KIND_RUN_ID && !util_run_id_is_valid (s))
        return protocol_fail (err, errlen, "%s.%s: expected run id (1 to 48 of A-Z a-z 0-9 _ -)",
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

/*  A job's fields, then what its kind requires. */
static int
s_check_job (const protocol_job_t *job, const char *where, char *err, size_t errlen)
{
    if (protocol_check_rules (protocol_job_rules, job, where, err, errlen) != 0)
        return -1;
    return protocol_check_job_kind (job, where, err, errlen);
}

/*  Checks one member of a struct about to be encoded. */
static int
s_check_member (const protocol_rule_t *rule, const void *base, const char *where,
                char *err, size_t errlen)
{
    switch (rule->kind) {
    case PROTO_KIND_NAME:
    case PROTO_KIND_TEXT:
    case PROTO_KIND_RUN_ID:
    case PROTO_KIND_OPT_TEXT:
    case PROTO_KIND_NULLABLE: {
        const char *s = *(char *const *) s_member (base, rule);
        if (!s) {
            if (rule->kind == PROTO_KIND_OPT_TEXT || rule->kind == PROTO_KIND_NULLABLE)
                return 0;
            return protocol_fail (err, errlen, "%s: missing field \"%s\"", where, rule->key);
        }
        return s_check_string (rule, s, strlen (s), where, err, errlen);
    }
    case PROTO_KIND_INT:
    case PROTO_KIND_OPT_INT: {
        int64_t value = s_get_int (base, rule);
        if (rule->kind == PROTO_KIND_OPT_INT && value == 0)
            return 0;
        return s_check_int (rule, value, where, err, errlen);
    }
    case PROTO_KIND_UINT64:
    case PROTO_KIND_BOOL:
        return 0;
    case PROTO_KIND_DOUBLE:
        return s_check_double (rule, *(const double *) s_member (base, rule),
                               where, err, errlen);
    case PROTO_KIND_SQLSTATE: {
        const char *s = (const char *) s_member (base, rule);
        if (!s_sqlstate_is_valid (s, strnlen (s, rule->width)))
            return protocol_fail (err, errlen, "%s.%s: expected 5-character SQLSTATE",
                                  where, rule->key);
        return 0;
    }
    case PROTO_KIND_JOB: {
        const protocol_job_t *job = *(protocol_job_t *const *) s_member (base, rule);
        if (!job)
            return protocol_fail (err, errlen, "%s: missing field \"%s\"", where, rule->key);
        char nested[64];
        if (s_nested_where (nested, sizeof nested, where, rule, err, errlen))
            return -1;
        return s_check_job (job, nested, err, errlen);
    }
    }
    return protocol_fail (err, errlen, "%s.%s: unknown field kind", where, rule->key);
}

int
protocol_check_rules (protocol_rules_t rules, const void *base, const char *where,
                      char *err, size_t errlen)
{
    for (size_t i = 0; i < rules.count; i++)
        if (s_check_member (&rules.rule[i], base, where, err, errlen))
            return -1;
    return 0;
}


/*  --------------------------------------------------------------------
    Encoding */

void
protocol_pack_string (msgpack_packer *pk, const char *s)
{
    size_t len = strlen (s);
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, s, len);
}

/*  True if the member is sent (optional members at their "absent" value are
    not). */
static bool
s_member_is_sent (const protocol_rule_t *rule, const void *base)
{
    switch (rule->kind) {
    case PROTO_KIND_OPT_TEXT:
        return *(char *const *) s_member (base, rule) != NULL;
    case PROTO_KIND_OPT_INT:
        return s_get_int (base, rule) != 0;
    case PROTO_KIND_SQLSTATE:
        return *(const char *) s_member (base, rule) != '\0';
    default:
        return true;
    }
}

uint32_t
protocol_count_sent (protocol_rules_t rules, const void *base)
{
    uint32_t n = 0;
    for (size_t i = 0; i < rules.count; i++)
        if (s_member_is_sent (&rules.rule[i], base))
            n++;
    return n;
}

/*  Packs key and value of one checked member. */
static void
s_pack_member (msgpack_packer *pk, const protocol_rule_t *rule, const void *base)
{
    protocol_pack_string (pk, rule->key);
    switch (rule->kind) {
    case PROTO_KIND_NAME:
    case PROTO_KIND_TEXT:
    case PROTO_KIND_RUN_ID:
    case PROTO_KIND_OPT_TEXT:
    case PROTO_KIND_NULLABLE: {
        const char *s = *(char *const *) s_member (base, rule);
        if (s)
            protocol_pack_string (pk, s);
        else
            msgpack_pack_nil (pk);
        break;
    }
    case PROTO_KIND_INT:
    case PROTO_KIND_OPT_INT:
        msgpack_pack_int64 (pk, s_get_int (base, rule));
        break;
    case PROTO_KIND_UINT64:
        msgpack_pack_uint64 (pk, *(const uint64_t *) s_member (base, rule));
        break;
    case PROTO_KIND_BOOL:
        if (*(const bool *) s_member (base, rule))
            msgpack_pack_true (pk);
        else
            msgpack_pack_false (pk);
        break;
    case PROTO_KIND_DOUBLE:
        msgpack_pack_double (pk, *(const double *) s_member (base, rule));
        break;
    case PROTO_KIND_SQLSTATE:
        protocol_pack_string (pk, (const char *) s_member (base, rule));
        break;
    case PROTO_KIND_JOB: {
        const protocol_job_t *job = *(protocol_job_t *const *) s_member (base, rule);
        msgpack_pack_map (pk, protocol_count_sent (protocol_job_rules, job));
        protocol_pack_rules (pk, protocol_job_rules, job);
        break;
    }
    }
}

void
protocol_pack_rules (msgpack_packer *pk, protocol_rules_t rules, const void *base)
{
    for (size_t i = 0; i < rules.count; i++)
        if (s_member_is_sent (&rules.rule[i], base))
            s_pack_member (pk, &rules.rule[i], base);
}


/*  --------------------------------------------------------------------
    Decoding */

bool
protocol_key_is (const msgpack_object *key, const char *name)
{
    size_t len = strlen (name);
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == len
        && memcmp (key->via.str.ptr, name, len) == 0;
}

int
protocol_lookup (const msgpack_object_map *map, const char *key, const msgpack_object **value,
                 const char *where, char *err, size_t errlen)
{
    *value = NULL;
    for (uint32_t i = 0; i < map->size; i++)
        if (protocol_key_is (&map->ptr[i].key, key)) {
            if (*value) {
                if (where)
                    return protocol_fail (err, errlen, "%s: duplicate field \"%s\"", where, key);
                return protocol_fail (err, errlen, "duplicate field \"%s\"", key);
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

/*  Decodes one member into base. Strings are copied. On -1 anything
    already stored in base is still owned by base (the caller resets it). */
static int
s_decode_member (const msgpack_object_map *map, const protocol_rule_t *rule, void *base,
                 const char *where, char *err, size_t errlen)
{
    const msgpack_object *o;
    int rc = protocol_lookup (map, rule->key, &o, where, err, errlen);
    if (rc < 0)
        return -1;
    bool optional = rule->kind == PROTO_KIND_OPT_TEXT || rule->kind == PROTO_KIND_OPT_INT
                 || rule->kind == PROTO_KIND_SQLSTATE;
    if (rc == 1)
        return optional ? 0 : protocol_fail (err, errlen, "%s: missing field \"%s\"",
                                             where, rule->key);
    if (o->type == MSGPACK_OBJECT_NIL && (optional || rule->kind == PROTO_KIND_NULLABLE))
        return 0;

    char buf[64];
    switch (rule->kind) {
    case PROTO_KIND_NAME:
    case PROTO_KIND_TEXT:
    case PROTO_KIND_RUN_ID:
    case PROTO_KIND_OPT_TEXT:
    case PROTO_KIND_NULLABLE: {
        if (o->type != MSGPACK_OBJECT_STR)
            return protocol_fail (err, errlen, "%s.%s: expected %sstring", where, rule->key,
                                  rule->kind == PROTO_KIND_NAME ? "non-empty " : "");
        size_t len = o->via.str.size;
        if (len && memchr (o->via.str.ptr, '\0', len))
            return protocol_fail (err, errlen, "%s.%s: string contains NUL", where, rule->key);
        if (len > PROTOCOL_MAX_STRING)     /* before copying it */
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
    case PROTO_KIND_INT:
    case PROTO_KIND_OPT_INT: {
        if (!s_object_is_int (o))
            return protocol_fail (err, errlen, "%s.%s: expected %s", where, rule->key,
                                  s_int_expect (rule, buf, sizeof buf));
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 > (uint64_t) rule->max)
            return protocol_fail (err, errlen, "%s.%s: %" PRIu64 " out of range (max %" PRId64 ")",
                                  where, rule->key, o->via.u64, rule->max);
        int64_t value = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                      ? (int64_t) o->via.u64 : o->via.i64;
        /*  An optional 0 means "none", as when absent, whatever the bounds. */
        if (!(rule->kind == PROTO_KIND_OPT_INT && value == 0)
        &&  s_check_int (rule, value, where, err, errlen))
            return -1;
        s_set_int (base, rule, value);
        return 0;
    }
    case PROTO_KIND_UINT64:
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return protocol_fail (err, errlen, "%s.%s: expected unsigned integer",
                                  where, rule->key);
        *(uint64_t *) s_member (base, rule) = o->via.u64;
        return 0;
    case PROTO_KIND_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN)
            return protocol_fail (err, errlen, "%s.%s: expected boolean", where, rule->key);
        *(bool *) s_member (base, rule) = o->via.boolean;
        return 0;
    case PROTO_KIND_DOUBLE: {
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
    case PROTO_KIND_SQLSTATE:
        if (o->type != MSGPACK_OBJECT_STR
        ||  !s_sqlstate_is_valid (o->via.str.ptr, o->via.str.size))
            return protocol_fail (err, errlen, "%s.%s: expected 5-character SQLSTATE",
                                  where, rule->key);
        memcpy (s_member (base, rule), o->via.str.ptr, o->via.str.size);
        ((char *) s_member (base, rule))[o->via.str.size] = '\0';
        return 0;
    case PROTO_KIND_JOB: {
        if (o->type != MSGPACK_OBJECT_MAP)
            return protocol_fail (err, errlen, "%s.%s: expected map", where, rule->key);
        /*  Owned by base from here on, so a failure below frees it. */
        protocol_job_t *job = xcalloc (1, sizeof *job);
        *(protocol_job_t **) s_member (base, rule) = job;
        char nested[64];
        if (s_nested_where (nested, sizeof nested, where, rule, err, errlen))
            return -1;
        if (protocol_decode_rules (&o->via.map, protocol_job_rules, job, nested, err, errlen))
            return -1;
        return protocol_check_job_kind (job, nested, err, errlen);
    }
    }
    return protocol_fail (err, errlen, "%s.%s: unknown field kind", where, rule->key);
}

int
protocol_decode_rules (const msgpack_object_map *map, protocol_rules_t rules,
                       void *base, const char *where, char *err, size_t errlen)
{
    for (size_t i = 0; i < rules.count; i++)
        if (s_decode_member (map, &rules.rule[i], base, where, err, errlen))
            return -1;
    return 0;
}
