/*  common/wire/protocol.c: the FERRY/1 envelope; see protocol.h and
    docs/PROTOCOL.md. protocol_int.h tells how the codec is split:
    this file handles "v" and "type", picks ASSIGN's range, and bounds a
    peer's input; the fields are protocol_msgs.c's tables, walked by
    protocol_codec.c.

    Decoding is defensive because the bytes come from the network: before
    msgpack-c sees the input, s_scan walks it once without allocating and
    checks that every declared string, array and map length fits in what
    is left of the input, that nesting stays shallow and that exactly one
    object fills the buffer. msgpack-c allocates its zone from declared
    lengths, so this bounds memory by the (capped) input size instead of by
    what a hostile peer claims.
*/
#include "protocol_int.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
        return protocol_fail (err, errlen, "cannot encode message type %d", (int) msg->type);

    const protocol_def_t *type = &protocol_defs[msg->type];
    if (protocol_check_rules (type->rules, msg, type->name, err, errlen))
        return -1;

    /*  ASSIGN carries one of two ranges; a message holding both is a bug in
        the caller, and sending it would make the worker guess. */
    protocol_rules_t range = { NULL, 0 };
    if (msg->type == PROTO_MSG_ASSIGN) {
        if (msg->path && (msg->lo || msg->hi))
            return protocol_fail (err, errlen, "ASSIGN: lo/hi and path are exclusive");
        range = msg->path ? protocol_assign_file_rules : protocol_assign_key_rules;
        if (protocol_check_rules (range, msg, type->name, err, errlen))
            return -1;
    }

    s_buffer_t buf = { NULL, 0, 0 };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, s_buffer_write);
    msgpack_pack_map (&pk, 2 + protocol_count_sent (type->rules, msg)
                           + protocol_count_sent (range, msg));
    protocol_pack_string (&pk, "v");
    msgpack_pack_int (&pk, PROTOCOL_VERSION);
    protocol_pack_string (&pk, "type");
    protocol_pack_string (&pk, type->name);
    protocol_pack_rules (&pk, type->rules, msg);
    protocol_pack_rules (&pk, range, msg);

    if (buf.size > PROTOCOL_MAX_MESSAGE) {
        free (buf.data);
        return protocol_fail (err, errlen, "%s: message too large (%zu bytes, max %u)",
                              type->name, buf.size, PROTOCOL_MAX_MESSAGE);
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
    byte), nesting deeper than PROTOCOL_MAX_DEPTH and trailing bytes.
    Returns 0 or -1 with a reason. */
static int
s_scan (const uint8_t *p, size_t size, char *err, size_t errlen)
{
    uint64_t stack[PROTOCOL_MAX_DEPTH]; /* elements left at each open level */
    int top = 0;
    uint64_t pending = 1;          /* sum of stack[] */
    size_t pos = 0;
    stack[0] = 1;

    while (pending > 0) {
        while (stack[top] == 0)
            top--;
        if (pos >= size)
            return protocol_fail (err, errlen, "truncated message");
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
                return protocol_fail (err, errlen, "malformed msgpack (byte 0x%02x at %zu)",
                                      b, pos - 1);
            }

        if (len_bytes) {
            if (size - pos < len_bytes)
                return protocol_fail (err, errlen, "truncated message");
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
            return protocol_fail (err, errlen, "truncated message");
        pos += (size_t) skip;

        if (items > 0) {
            if (top + 1 >= PROTOCOL_MAX_DEPTH)
                return protocol_fail (err, errlen, "nested too deeply (max %d)",
                                      PROTOCOL_MAX_DEPTH);
            stack[++top] = items;
            pending += items;
        }
        /*  Every pending element needs at least one more byte: a length
            beyond that is a lie (or a truncation); refuse it before
            msgpack-c allocates for it. */
        if (pending > size - pos)
            return protocol_fail (err, errlen, "truncated message");
    }
    if (pos != size)
        return protocol_fail (err, errlen, "%zu trailing bytes after message", size - pos);
    return 0;
}

/*  ASSIGN's range: a non-nil "path" makes it a file range (lo/hi must then be
    absent or nil), otherwise "lo" and "hi" must both be there. */
static int
s_decode_assign_range (const msgpack_object_map *map, protocol_msg_t *msg,
                       char *err, size_t errlen)
{
    const msgpack_object *path;
    int rc = protocol_lookup (map, "path", &path, "ASSIGN", err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1 || path->type == MSGPACK_OBJECT_NIL)
        return protocol_decode_rules (map, protocol_assign_key_rules, msg, "ASSIGN",
                                      err, errlen);

    const char *keys[] = { "lo", "hi" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const msgpack_object *o;
        rc = protocol_lookup (map, keys[i], &o, "ASSIGN", err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0 && o->type != MSGPACK_OBJECT_NIL)
            return protocol_fail (err, errlen, "ASSIGN: lo/hi and path are exclusive");
    }
    return protocol_decode_rules (map, protocol_assign_file_rules, msg, "ASSIGN",
                                  err, errlen);
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
        return protocol_fail (err, errlen, "expected a map at top level");
    const msgpack_object_map *map = &root->via.map;

    const msgpack_object *v;
    int rc = protocol_lookup (map, "v", &v, NULL, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return protocol_fail (err, errlen, "missing field \"v\"");
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return protocol_fail (err, errlen, "unsupported version %" PRId64, v->via.i64);
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return protocol_fail (err, errlen, "\"v\": expected integer");
    if (v->via.u64 != PROTOCOL_VERSION)
        return protocol_fail (err, errlen, "unsupported version %" PRIu64, v->via.u64);

    const msgpack_object *t;
    rc = protocol_lookup (map, "type", &t, NULL, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return protocol_fail (err, errlen, "missing field \"type\"");
    if (t->type != MSGPACK_OBJECT_STR)
        return protocol_fail (err, errlen, "\"type\": expected string");
    protocol_type_t type = PROTO_MSG_INVALID;
    for (int i = PROTO_MSG_INVALID + 1; i < PROTO_MSG_COUNT_; i++)
        if (protocol_key_is (t, protocol_defs[i].name))
            type = (protocol_type_t) i;
    if (type == PROTO_MSG_INVALID) {
        char buf[40];
        return protocol_fail (err, errlen, "unknown type \"%s\"",
                              s_printable (t->via.str.ptr, t->via.str.size, buf, sizeof buf));
    }

    msg->type = type;
    const protocol_def_t *def = &protocol_defs[type];
    if (protocol_decode_rules (map, def->rules, msg, def->name, err, errlen))
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
        return protocol_fail (err, errlen, "empty message");
    if (size > PROTOCOL_MAX_MESSAGE)
        return protocol_fail (err, errlen, "message too large (%zu bytes, max %u)",
                              size, PROTOCOL_MAX_MESSAGE);
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
        protocol_fail (err, errlen, "malformed msgpack (unpack returned %d)", (int) ur);
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
