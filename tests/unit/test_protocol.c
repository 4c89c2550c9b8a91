/*  tests/unit/test_protocol.c: the FERRY/1 codec (common/wire/protocol.c).

    Round trips of every message type with every field checked; every
    truncation of every valid encoding; random bytes and random mutations
    of valid encodings (deterministic seed); and hand-built maps (packed
    with msgpack_pack_*) for each way a peer can get a message wrong, with
    the exact error text for most of them. Runs clean under ASan/UBSan and
    valgrind: a failed decode must leave nothing to free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "protocol_eq.h"
#include "util.h"

#define COUNT(a) (sizeof (a) / sizeof ((a)[0]))


/*  --------------------------------------------------------------------
    Helpers */

/*  A zeroed message is what a failed decode must leave behind. */
static void
s_assert_zeroed (const protocol_msg_t *msg)
{
    protocol_msg_t zero;
    memset (&zero, 0, sizeof zero);
    assert_memory_equal (msg, &zero, sizeof zero);
}

/*  Encodes `in` (must succeed), decodes into `out` (must succeed) and
    checks the two are equal; also that re-encoding gives the same bytes. */
static void
s_roundtrip (const protocol_msg_t *in, protocol_msg_t *out)
{
    char err [256] = "";
    char *data = NULL;
    size_t size = 0;
    int rc = protocol_encode (in, &data, &size, err, sizeof err);
    if (rc)
        print_error ("encode: %s\n", err);
    assert_int_equal (rc, 0);
    assert_non_null (data);
    rc = protocol_decode (data, size, out, err, sizeof err);
    if (rc)
        print_error ("decode: %s\n", err);
    assert_int_equal (rc, 0);
    assert_true (eq_msg (in, out));

    char *again = NULL;
    size_t again_size = 0;
    assert_int_equal (protocol_encode (out, &again, &again_size, err, sizeof err), 0);
    assert_int_equal (again_size, size);
    assert_memory_equal (again, data, size);
    free (again);
    free (data);
}

static char *
s_encode_ok (const protocol_msg_t *msg, size_t *size)
{
    char err [256] = "";
    char *data = NULL;
    int rc = protocol_encode (msg, &data, size, err, sizeof err);
    if (rc)
        print_error ("encode: %s\n", err);
    assert_int_equal (rc, 0);
    return data;
}

/*  Decodes, which must fail with exactly `expected` (or with any reason
    when expected is NULL), leaving the message zeroed. */
static void
s_expect_decode_error (const void *data, size_t size, const char *expected)
{
    char err [256];
    memset (err, 'x', sizeof err);
    protocol_msg_t msg;
    memset (&msg, 0, sizeof msg);
    int rc = protocol_decode (data, size, &msg, err, sizeof err);
    if (rc == 0 || (expected && strcmp (err, expected) != 0))
        print_error ("expected: %s\ngot:      %s\n", expected ? expected : "(any error)",
                     rc == 0 ? "(success)" : err);
    assert_int_equal (rc, -1);
    assert_non_null (memchr (err, '\0', sizeof err));
    assert_true (strncmp (err, "protocol: ", 10) == 0);
    if (expected)
        assert_string_equal (err, expected);
    s_assert_zeroed (&msg);
}

static void
s_expect_encode_error (const protocol_msg_t *msg, const char *expected)
{
    char err [256];
    memset (err, 'x', sizeof err);
    char *data = (char *) "untouched";
    size_t size = 99;
    int rc = protocol_encode (msg, &data, &size, err, sizeof err);
    if (rc == 0 || strcmp (err, expected) != 0)
        print_error ("expected: %s\ngot:      %s\n", expected, rc == 0 ? "(success)" : err);
    assert_int_equal (rc, -1);
    assert_null (data);
    assert_int_equal (size, 0);
    assert_string_equal (err, expected);
}

static uint64_t s_rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t
s_rand (void)
{
    /*  xorshift64*: deterministic across runs and platforms. */
    s_rng_state ^= s_rng_state >> 12;
    s_rng_state ^= s_rng_state << 25;
    s_rng_state ^= s_rng_state >> 27;
    return s_rng_state * 2685821657736338717ULL;
}


/*  --------------------------------------------------------------------
    Sample messages, one per type and variant; all distinct values */

static protocol_job_t *
s_job_new (bool with_secrets)
{
    protocol_job_t *job = xmalloc (sizeof *job);
    *job = (protocol_job_t) {
        .processors = 3, .raw_queue_max = 20, .processed_queue_max = 10,
        .read_buffer = 65536, .batch_size = 5000, .max_retries = 4,
        .initial_delay = 0.25, .backoff = 2.5, .max_delay = 30.0,
    };
    if (with_secrets) {
        job->source_conninfo = xstrdup ("host=src password=s3cret");
        job->target_conninfo = xstrdup ("host=tgt password=s3cret");
        job->snapshot = xstrdup ("00000003-0000001B-1");
        job->split = xstrdup ("ctid");
    }
    job->query = xstrdup ("SELECT id, v FROM public.t ORDER BY id");
    job->key = xstrdup ("id");
    job->copy_table = xstrdup ("ferry_stage.t_20240101_000000_abcd");
    job->final_table = xstrdup ("public.t");
    return job;
}

static void
s_sample (protocol_msg_t *msg, protocol_type_t type, int variant)
{
    protocol_msg_init (msg, type);
    switch (type) {
    case PROTO_MSG_HELLO:
        msg->name = xstrdup ("worker-7");
        msg->host = xstrdup ("db-loader-2.example");
        msg->pid = 4242;
        msg->slots = 6;
        msg->build = xstrdup ("0.1.0");
        break;
    case PROTO_MSG_JOB:
        msg->run_id = xstrdup ("20240101_000000_abcd");
        msg->job = s_job_new (variant == 0);
        msg->heartbeat_ms = 1000;
        msg->liveness = 5;
        break;
    case PROTO_MSG_ASSIGN:
        msg->chunk_id = 17;
        msg->attempt = 2;
        if (variant == 0) {
            msg->lo = xstrdup ("1000");
            msg->hi = xstrdup ("2000");
        }
        else if (variant == 1)
            msg->hi = xstrdup ("'quoted' key");    /* lo unbounded */
        else if (variant == 2)
            msg->lo = xstrdup ("");                 /* hi unbounded, empty text key */
        else if (variant == 3)
            ;                                       /* both unbounded */
        else {
            msg->path = xstrdup ("/data/in/part-0001.csv");
            msg->offset = 1 << 20;
            msg->length = 8 << 20;
            msg->first_line = 10001;
        }
        break;
    case PROTO_MSG_PROGRESS:
        msg->chunk_id = 18;
        msg->attempt = 1;
        msg->rows = 12345;
        msg->bytes = 987654;
        msg->peak_rss_kb = variant == 0 ? 20480 : 0;
        if (variant == 0) {
            msg->cpu_ms = 1234;
            msg->pipelines = 2;
            msg->raw_queued = 7;
            msg->processed_queued = 3;
            msg->batch_hist = xstrdup ("1 2 3 0 0 0 0 0 0 0 0 0 4");
            msg->batch_us = 98765;
        }
        break;
    case PROTO_MSG_DONE:
        *msg = (protocol_msg_t) {
            .type = type, .chunk_id = INT64_MAX, .attempt = INT32_MAX, .rows = 50000,
            .bytes = 1LL << 40, .rejected = 3,
            .checksum = variant == 0 ? UINT64_MAX : 0x0123456789abcdefULL,
            .read_ms = 11, .process_ms = 22, .write_ms = 33, .commit_ms = 44,
            .retries = 1, .peak_rss_kb = 30720,
        };
        if (variant == 0)
            msg->batch_hist = xstrdup ("0 0 0 0 0 0 0 0 0 0 0 0 1");
        break;
    case PROTO_MSG_FAILED:
        msg->chunk_id = 0;
        msg->attempt = 3;
        msg->retryable = variant == 0;
        if (variant == 0)
            strcpy (msg->sqlstate, "08006");
        msg->message = xstrdup (variant == 0 ? "connection lost\nDETAIL: x" : "");
        break;
    case PROTO_MSG_HEARTBEAT:
        msg->peak_rss_kb = variant == 0 ? 4096 : 0;
        if (variant == 0) {
            msg->cpu_ms = 55;
            msg->batch_hist = xstrdup ("0 0 0 0 0 0 0 0 0 0 0 0 0");
        }
        break;
    case PROTO_MSG_STOP:
        msg->reason = xstrdup (variant == 0 ? "run finished" : "");
        if (variant == 0)
            msg->outcome = xstrdup (PROTOCOL_OUTCOME_PUBLISHED);
        break;
    case PROTO_MSG_CHALLENGE:
        msg->nonce = xstrdup ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        break;
    case PROTO_MSG_AUTH:
        msg->proof = xstrdup ("ab95c3c5e0bd5c3e0e7f8e1b0f6a3e6f4b8e2f1c0d9a8b7c6d5e4f3a2b1c0d9e");
        break;
    case PROTO_MSG_CANCEL:
        msg->chunk_id = 41;
        msg->attempt = 2;
        break;
    default:
        break;
    }
}

/*  Number of variants s_sample knows per type. */
static int
s_variants (protocol_type_t type)
{
    switch (type) {
    case PROTO_MSG_ASSIGN:
        return 5;
    case PROTO_MSG_JOB: case PROTO_MSG_PROGRESS: case PROTO_MSG_DONE:
    case PROTO_MSG_FAILED: case PROTO_MSG_HEARTBEAT: case PROTO_MSG_STOP:
        return 2;
    default:
        return 1;
    }
}


/*  Calls fn with every sample of every type, and its encoding. */
typedef void (s_sample_fn) (const protocol_msg_t *msg, const char *data, size_t size,
                            void *arg);

static void
s_each_sample (s_sample_fn *fn, void *arg)
{
    for (int t = PROTO_MSG_HELLO; t < PROTO_MSG_COUNT_; t++)
        for (int variant = 0; variant < s_variants ((protocol_type_t) t); variant++) {
            protocol_msg_t msg;
            s_sample (&msg, (protocol_type_t) t, variant);
            size_t size;
            char *data = s_encode_ok (&msg, &size);
            fn (&msg, data, size, arg);
            free (data);
            protocol_msg_reset (&msg);
        }
}


/*  --------------------------------------------------------------------
    Round trips */

/*  Every sample of every type comes back whole (eq_msg compares every
    member) and re-encodes to the same bytes (s_roundtrip); reset frees
    it all. */
static void
s_roundtrip_sample (const protocol_msg_t *in, const char *data, size_t size, void *arg)
{
    protocol_msg_t out;
    s_roundtrip (in, &out);
    assert_int_equal (out.type, in->type);
    protocol_msg_reset (&out);
    s_assert_zeroed (&out);
}

static void
test_roundtrip_every_sample (void **state)
{
    s_each_sample (s_roundtrip_sample, NULL);
}

/*  Decoded strings are copies, not pointers into anything shared. */
static void
test_roundtrip_copies (void **state)
{
    protocol_msg_t in, out;
    s_sample (&in, PROTO_MSG_HELLO, 0);
    s_roundtrip (&in, &out);
    assert_string_equal (out.name, "worker-7");
    assert_true (out.name != in.name);
    protocol_msg_reset (&in);
    protocol_msg_reset (&out);
}

static void
s_check_job_fields (const protocol_job_t *job, bool with_secrets)
{
    assert_non_null (job);
    if (with_secrets) {
        assert_string_equal (job->source_conninfo, "host=src password=s3cret");
        assert_string_equal (job->target_conninfo, "host=tgt password=s3cret");
        assert_string_equal (job->snapshot, "00000003-0000001B-1");
        assert_string_equal (job->split, "ctid");
    }
    else {
        assert_null (job->source_conninfo);
        assert_null (job->target_conninfo);
        assert_null (job->snapshot);
        assert_null (job->split);
    }
    assert_string_equal (job->query, "SELECT id, v FROM public.t ORDER BY id");
    assert_string_equal (job->key, "id");
    assert_string_equal (job->copy_table, "ferry_stage.t_20240101_000000_abcd");
    assert_string_equal (job->final_table, "public.t");
    assert_int_equal (job->processors, 3);
    assert_int_equal (job->raw_queue_max, 20);
    assert_int_equal (job->processed_queue_max, 10);
    assert_int_equal (job->read_buffer, 65536);
    assert_int_equal (job->batch_size, 5000);
    assert_int_equal (job->max_retries, 4);
    assert_true (job->initial_delay == 0.25);
    assert_true (job->backoff == 2.5);
    assert_true (job->max_delay == 30.0);
}

static void
test_roundtrip_job_omits_null_strings (void **state)
{
    /*  NULL optional strings are absent from the wire, not nil: the
        conninfos must not even appear as keys. */
    protocol_msg_t in;
    s_sample (&in, PROTO_MSG_JOB, 1);
    size_t size;
    char *data = s_encode_ok (&in, &size);
    assert_null (memmem (data, size, "conninfo", 8));
    assert_null (memmem (data, size, "snapshot", 8));
    free (data);
    protocol_msg_reset (&in);

    s_sample (&in, PROTO_MSG_JOB, 0);
    data = s_encode_ok (&in, &size);
    assert_non_null (memmem (data, size, "source_conninfo", 15));
    free (data);
    protocol_msg_reset (&in);
}

/*  A BYE is tiny: {"v": 1, "type": "BYE"}. */
static void
test_bye_bytes (void **state)
{
    protocol_msg_t in;
    s_sample (&in, PROTO_MSG_BYE, 0);
    size_t size;
    char *data = s_encode_ok (&in, &size);
    const char expected [] = "\x82\xa1v\x01\xa4type\xa3" "BYE";
    assert_int_equal (size, sizeof expected - 1);
    assert_memory_equal (data, expected, size);
    free (data);
}

static void
test_type_names (void **state)
{
    const char *names [] = { "INVALID", "HELLO", "JOB", "ASSIGN", "PROGRESS", "DONE",
                             "FAILED", "HEARTBEAT", "STOP", "BYE", "CHALLENGE", "AUTH", "CANCEL" };
    for (int i = 0; i < PROTO_MSG_COUNT_; i++)
        assert_string_equal (protocol_type_name ((protocol_type_t) i), names [i]);
    assert_string_equal (protocol_type_name (PROTO_MSG_COUNT_), "INVALID");
    assert_string_equal (protocol_type_name ((protocol_type_t) -1), "INVALID");
}

static void
test_job_dup_destroy (void **state)
{
    assert_null (protocol_job_dup (NULL));
    protocol_job_t *job = s_job_new (true);
    protocol_job_t *copy = protocol_job_dup (job);
    assert_true (eq_job (job, copy));
    assert_true (copy->query != job->query);
    assert_true (copy->source_conninfo != job->source_conninfo);
    protocol_job_destroy (&job);
    assert_null (job);
    s_check_job_fields (copy, true);
    protocol_job_destroy (&copy);
    assert_null (copy);
    protocol_job_destroy (&copy);     /* NULL is fine */

    job = s_job_new (false);
    copy = protocol_job_dup (job);
    assert_null (copy->snapshot);
    assert_true (eq_job (job, copy));
    protocol_job_destroy (&job);
    protocol_job_destroy (&copy);
}


/*  --------------------------------------------------------------------
    Garbage: truncation, random bytes, mutations */

/*  Every prefix of an encoding fails, and so does one byte too many. */
static void
s_truncate_sample (const protocol_msg_t *msg, const char *data, size_t size, void *arg)
{
    for (size_t n = 0; n < size; n++) {
        /*  A fresh heap copy of exactly n bytes, so ASan catches any read
            past the prefix. */
        char *prefix = xmalloc (n ? n : 1);
        memcpy (prefix, data, n);
        s_expect_decode_error (prefix, n, NULL);
        free (prefix);
    }
    char *longer = xmalloc (size + 1);
    memcpy (longer, data, size);
    longer [size] = '\xc0';
    s_expect_decode_error (longer, size + 1, "protocol: 1 trailing bytes after message");
    free (longer);
}

static void
test_every_truncation_fails (void **state)
{
    s_each_sample (s_truncate_sample, NULL);
    s_expect_decode_error (NULL, 0, "protocol: empty message");
    s_expect_decode_error ("", 0, "protocol: empty message");
}

/*  Decodes arbitrary bytes: either fails cleanly, or re-encodes and
    re-decodes to an equal message. */
static void
s_decode_anything (const char *data, size_t size, int *accepted)
{
    char err [256];
    protocol_msg_t msg;
    memset (&msg, 0, sizeof msg);
    if (protocol_decode (data, size, &msg, err, sizeof err) != 0) {
        s_assert_zeroed (&msg);
        assert_true (strncmp (err, "protocol: ", 10) == 0);
        return;
    }
    (*accepted)++;
    size_t again_size;
    char *again = s_encode_ok (&msg, &again_size);
    protocol_msg_t back;
    assert_int_equal (protocol_decode (again, again_size, &back, err, sizeof err), 0);
    assert_true (eq_msg (&msg, &back));
    free (again);
    protocol_msg_reset (&msg);
    protocol_msg_reset (&back);
}

static void
test_random_bytes (void **state)
{
    int accepted = 0;
    for (int i = 0; i < 5000; i++) {
        size_t size = (size_t) (s_rand () % 96);
        char *data = xmalloc (size ? size : 1);
        for (size_t j = 0; j < size; j++)
            data [j] = (char) s_rand ();
        /*  Half of them start like a map, to get past the first check. */
        if (size && i % 2)
            data [0] = (char) (0x80 | (s_rand () % 16));
        s_decode_anything (data, size, &accepted);
        free (data);
    }
    assert_int_equal (accepted, 0);     /* no random blob is a valid message */
}

/*  400 random mutations of an encoding (1 to 3 bytes flipped or
    replaced); arg counts the ones that still decode. */
static void
s_mutate_sample (const protocol_msg_t *msg, const char *data, size_t size, void *arg)
{
    for (int i = 0; i < 400; i++) {
        char *copy = xmalloc (size);
        memcpy (copy, data, size);
        int flips = 1 + (int) (s_rand () % 3);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t) (s_rand () % size);
            if (s_rand () % 2)
                copy [at] ^= (char) (1u << (s_rand () % 8));
            else
                copy [at] = (char) s_rand ();
        }
        s_decode_anything (copy, size, (int *) arg);
        free (copy);
    }
}

static void
test_random_mutations (void **state)
{
    int accepted = 0;
    s_each_sample (s_mutate_sample, &accepted);
    /*  Some mutations hit string bodies and stay valid: those went through
        the re-encode check above. */
    assert_true (accepted > 0);
}


/*  --------------------------------------------------------------------
    Hand-built maps */

typedef enum {
    V_STR, V_INT, V_UINT, V_NIL, V_TRUE, V_DOUBLE, V_FLOAT, V_BIN, V_ARRAY,
    V_RAW,      /* len bytes of msgpack, packed as they are */
    V_MAP,      /* a nested map: sub, nsub */
    V_ABSENT    /* in an edit (edit_t): the key is removed */
} vkind_t;

typedef struct kv_s {
    const char *key;
    vkind_t kind;
    const char *s;          /* V_STR (len bytes if len, else strlen), V_RAW, V_BIN */
    size_t len;
    int64_t i;
    uint64_t u;
    double d;
    const struct kv_s *sub;
    size_t nsub;
} kv_t;

#define KS(k, v)   { .key = (k), .kind = V_STR, .s = (v) }
#define KI(k, v)   { .key = (k), .kind = V_INT, .i = (v) }
#define KU(k, v)   { .key = (k), .kind = V_UINT, .u = (v) }
#define KN(k)      { .key = (k), .kind = V_NIL }
#define KT(k)      { .key = (k), .kind = V_TRUE }
#define KD(k, v)   { .key = (k), .kind = V_DOUBLE, .d = (v) }
#define KM(k, a)   { .key = (k), .kind = V_MAP, .sub = (a), .nsub = COUNT (a) }
#define KX(k)      { .key = (k), .kind = V_ABSENT }

static void s_pack_kvs (msgpack_packer *pk, msgpack_sbuffer *sb, const kv_t *kvs, size_t n,
                        const char *skip, const kv_t *with);

static void
s_pack_value (msgpack_packer *pk, msgpack_sbuffer *sb, const kv_t *kv)
{
    size_t len = kv->len ? kv->len : (kv->s ? strlen (kv->s) : 0);
    switch (kv->kind) {
    case V_STR:
        msgpack_pack_str (pk, len);
        msgpack_pack_str_body (pk, kv->s, len);
        break;
    case V_BIN:
        msgpack_pack_bin (pk, len);
        msgpack_pack_bin_body (pk, kv->s, len);
        break;
    case V_INT:    msgpack_pack_int64 (pk, kv->i); break;
    case V_UINT:   msgpack_pack_uint64 (pk, kv->u); break;
    case V_NIL:    msgpack_pack_nil (pk); break;
    case V_TRUE:   msgpack_pack_true (pk); break;
    case V_DOUBLE: msgpack_pack_double (pk, kv->d); break;
    case V_FLOAT:  msgpack_pack_float (pk, (float) kv->d); break;
    case V_ARRAY:  msgpack_pack_array (pk, 0); break;
    case V_RAW:    msgpack_sbuffer_write (sb, kv->s, kv->len); break;
    case V_MAP:    s_pack_kvs (pk, sb, kv->sub, kv->nsub, NULL, NULL); break;
    case V_ABSENT: break;
    }
}

/*  Packs the map kvs. If `skip` is set, that key is left out, or, when
    `with` is set, its value is replaced by with's (same key). A `with`
    whose key is not in kvs is appended. */
static void
s_pack_kvs (msgpack_packer *pk, msgpack_sbuffer *sb, const kv_t *kvs, size_t n,
            const char *skip, const kv_t *with)
{
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (skip && strcmp (kvs [i].key, skip) == 0)
            found = true;
    size_t count = n - (found && !with ? 1 : 0) + (with && !found ? 1 : 0);
    msgpack_pack_map (pk, count);
    for (size_t i = 0; i < n; i++) {
        const kv_t *kv = &kvs [i];
        if (skip && strcmp (kv->key, skip) == 0) {
            if (!with)
                continue;
            kv = with;
        }
        msgpack_pack_str (pk, strlen (kvs [i].key));
        msgpack_pack_str_body (pk, kvs [i].key, strlen (kvs [i].key));
        s_pack_value (pk, sb, kv);
    }
    if (with && !found) {
        msgpack_pack_str (pk, strlen (with->key));
        msgpack_pack_str_body (pk, with->key, strlen (with->key));
        s_pack_value (pk, sb, with);
    }
}

/*  Builds the map (with the edit described at s_pack_kvs) into sb. */
static void
s_build (msgpack_sbuffer *sb, const kv_t *kvs, size_t n, const char *skip, const kv_t *with)
{
    msgpack_sbuffer_init (sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    s_pack_kvs (&pk, sb, kvs, n, skip, with);
}

static const kv_t s_job_kvs [] = {
    KS ("source_conninfo", "host=a"), KS ("query", "SELECT 1 ORDER BY 1"), KS ("key", "id"),
    KS ("split", "ctid"), KS ("copy_table", "s.t"), KS ("final_table", "t"), KI ("processors", 2),
    KI ("raw_queue_max", 20), KI ("processed_queue_max", 10), KI ("read_buffer", 4096),
    KI ("batch_size", 100), KI ("max_retries", 0), KD ("initial_delay", 1),
    KD ("backoff", 2), KD ("max_delay", 30),
};

static const kv_t s_hello_kvs [] = {
    KI ("v", 1), KS ("type", "HELLO"), KS ("name", "w1"), KS ("host", "h"),
    KI ("pid", 10), KI ("slots", 2), KS ("build", "0.1.0"),
};
static const kv_t s_job_msg_kvs [] = {
    KI ("v", 1), KS ("type", "JOB"), KS ("run_id", "r1"), KM ("job", s_job_kvs),
    KI ("heartbeat_ms", 500), KI ("liveness", 3),
};
static const kv_t s_assign_kvs [] = {
    KI ("v", 1), KS ("type", "ASSIGN"), KI ("chunk_id", 1), KI ("attempt", 1),
    KS ("lo", "a"), KN ("hi"),
};
static const kv_t s_assign_file_kvs [] = {
    KI ("v", 1), KS ("type", "ASSIGN"), KI ("chunk_id", 1), KI ("attempt", 1),
    KS ("path", "/f.csv"), KI ("offset", 0), KI ("length", 10), KI ("first_line", 1),
};
static const kv_t s_progress_kvs [] = {
    KI ("v", 1), KS ("type", "PROGRESS"), KI ("chunk_id", 1), KI ("attempt", 1),
    KI ("rows", 5), KI ("bytes", 50), KI ("peak_rss_kb", 100),
};
static const kv_t s_done_kvs [] = {
    KI ("v", 1), KS ("type", "DONE"), KI ("chunk_id", 1), KI ("attempt", 1),
    KI ("rows", 5), KI ("bytes", 50), KI ("rejected", 0), KU ("checksum", 77),
    KI ("read_ms", 1), KI ("process_ms", 2), KI ("write_ms", 3), KI ("commit_ms", 4),
    KI ("retries", 0), KI ("peak_rss_kb", 100),
};
static const kv_t s_failed_kvs [] = {
    KI ("v", 1), KS ("type", "FAILED"), KI ("chunk_id", 1), KI ("attempt", 1),
    KT ("retryable"), KS ("sqlstate", "23505"), KS ("message", "duplicate key"),
};
static const kv_t s_heartbeat_kvs [] = {
    KI ("v", 1), KS ("type", "HEARTBEAT"), KI ("peak_rss_kb", 100),
};
static const kv_t s_stop_kvs [] = {
    KI ("v", 1), KS ("type", "STOP"), KS ("reason", "done"),
};
static const kv_t s_bye_kvs [] = {
    KI ("v", 1), KS ("type", "BYE"),
};

typedef struct {
    const kv_t *kvs;
    size_t n;
} kvset_t;

#define KVSET(a) { a, COUNT (a) }
static const kvset_t s_kvsets [] = {
    KVSET (s_hello_kvs), KVSET (s_job_msg_kvs), KVSET (s_assign_kvs),
    KVSET (s_assign_file_kvs), KVSET (s_progress_kvs), KVSET (s_done_kvs),
    KVSET (s_failed_kvs), KVSET (s_heartbeat_kvs), KVSET (s_stop_kvs), KVSET (s_bye_kvs),
};

/*  Decodes the edited map; returns decode's result, with err filled and
    msg reset on success (checks done by the caller through *out if set). */
static int
s_try (const kv_t *kvs, size_t n, const char *skip, const kv_t *with,
       char *err, size_t errlen, protocol_msg_t *out)
{
    msgpack_sbuffer sb;
    s_build (&sb, kvs, n, skip, with);
    protocol_msg_t msg;
    memset (&msg, 0, sizeof msg);
    int rc = protocol_decode (sb.data, sb.size, &msg, err, errlen);
    if (rc)
        s_assert_zeroed (&msg);
    msgpack_sbuffer_destroy (&sb);
    if (out)
        *out = msg;
    else
        protocol_msg_reset (&msg);
    return rc;
}

/*  The edit must be rejected with exactly `expected`. */
static void
s_expect (const kv_t *kvs, size_t n, const char *skip, const kv_t *with, const char *expected)
{
    char err [256] = "";
    int rc = s_try (kvs, n, skip, with, err, sizeof err, NULL);
    if (rc == 0 || strcmp (err, expected) != 0)
        print_error ("edit %s: expected: %s\ngot:      %s\n", skip ? skip : "-", expected,
                     rc == 0 ? "(success)" : err);
    assert_int_equal (rc, -1);
    assert_string_equal (err, expected);
}

static void
s_expect_ok (const kv_t *kvs, size_t n, const char *skip, const kv_t *with, protocol_msg_t *out)
{
    char err [256] = "";
    int rc = s_try (kvs, n, skip, with, err, sizeof err, out);
    if (rc)
        print_error ("edit %s: unexpected error: %s\n", skip ? skip : "-", err);
    assert_int_equal (rc, 0);
}

/*  One edit of a baseline map: `with` replaces the entry of with.key
    (or is appended when there is none; V_ABSENT removes it). The result
    must be refused with exactly `expected`, or decode when that is NULL. */
typedef struct {
    const kv_t *kvs;
    size_t n;
    kv_t with;
    const char *expected;
} edit_t;

#define EDIT(set, kv, expected) { set, COUNT (set), kv, expected }

static void
s_run_edits (const edit_t *edits, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const edit_t *e = &edits [i];
        const kv_t *with = e->with.kind == V_ABSENT ? NULL : &e->with;
        if (e->expected)
            s_expect (e->kvs, e->n, e->with.key, with, e->expected);
        else {
            protocol_msg_t msg;
            s_expect_ok (e->kvs, e->n, e->with.key, with, &msg);
            protocol_msg_reset (&msg);
        }
    }
}

/*  A JOB whose job map is base (n entries) with the entry of field.key
    replaced by field; checked as by s_run_edits. */
static void
s_expect_job_edit (const kv_t *base, size_t n, kv_t field, const char *expected)
{
    kv_t sub [32];
    assert_true (n <= COUNT (sub));
    memcpy (sub, base, n * sizeof *sub);
    for (size_t i = 0; i < n; i++)
        if (strcmp (sub [i].key, field.key) == 0)
            sub [i] = field;
    edit_t edit = EDIT (s_job_msg_kvs, ((kv_t) { .key = "job", .kind = V_MAP, .sub = sub,
                                                 .nsub = n }), expected);
    s_run_edits (&edit, 1);
}

static void
test_handbuilt_baselines_decode (void **state)
{
    for (size_t i = 0; i < COUNT (s_kvsets); i++) {
        protocol_msg_t msg;
        s_expect_ok (s_kvsets [i].kvs, s_kvsets [i].n, NULL, NULL, &msg);
        protocol_msg_reset (&msg);
    }
    protocol_msg_t msg;
    s_expect_ok (s_job_msg_kvs, COUNT (s_job_msg_kvs), NULL, NULL, &msg);
    assert_string_equal (msg.job->source_conninfo, "host=a");
    assert_null (msg.job->target_conninfo);
    assert_null (msg.job->snapshot);
    assert_true (msg.job->backoff == 2.0);
    protocol_msg_reset (&msg);

    s_expect_ok (s_failed_kvs, COUNT (s_failed_kvs), NULL, NULL, &msg);
    assert_string_equal (msg.sqlstate, "23505");
    assert_true (msg.retryable);
    protocol_msg_reset (&msg);
}

/*  Every key of every type, removed: "v" and "type" have their own
    messages, optional keys are accepted, the rest say "missing field". */
static void
test_every_missing_field (void **state)
{
    const char *optional [] = { "peak_rss_kb", "sqlstate", "source_conninfo" };
    for (size_t i = 0; i < COUNT (s_kvsets); i++) {
        const kvset_t *set = &s_kvsets [i];
        const char *type = set->kvs [1].s;
        for (size_t k = 0; k < set->n; k++) {
            const char *key = set->kvs [k].key;
            bool is_optional = false;
            for (size_t o = 0; o < COUNT (optional); o++)
                if (strcmp (key, optional [o]) == 0 && strcmp (type, "DONE") != 0)
                    is_optional = true;
            char expected [128];
            if (strcmp (key, "v") == 0)
                snprintf (expected, sizeof expected, "protocol: missing field \"v\"");
            else if (strcmp (key, "type") == 0)
                snprintf (expected, sizeof expected, "protocol: missing field \"type\"");
            else if (set->kvs == s_assign_file_kvs && strcmp (key, "path") == 0)
                /*  Without path it is a key range, which needs lo and hi. */
                snprintf (expected, sizeof expected, "protocol: ASSIGN: missing field \"lo\"");
            else
                snprintf (expected, sizeof expected, "protocol: %s: missing field \"%s\"",
                          type, key);
            if (is_optional) {
                protocol_msg_t msg;
                s_expect_ok (set->kvs, set->n, key, NULL, &msg);
                protocol_msg_reset (&msg);
            }
            else
                s_expect (set->kvs, set->n, key, NULL, expected);
        }
    }
    /*  Same inside the job. */
    for (size_t k = 0; k < COUNT (s_job_kvs); k++) {
        const char *key = s_job_kvs [k].key;
        if (strcmp (key, "source_conninfo") == 0 || strcmp (key, "split") == 0)
            continue;                   /* optional */
        kv_t sub [COUNT (s_job_kvs) - 1];
        size_t n = 0;
        for (size_t j = 0; j < COUNT (s_job_kvs); j++)
            if (j != k)
                sub [n++] = s_job_kvs [j];
        kv_t job = { .key = "job", .kind = V_MAP, .sub = sub, .nsub = n };
        char expected [128];
        snprintf (expected, sizeof expected, "protocol: JOB.job: missing field \"%s\"", key);
        s_expect (s_job_msg_kvs, COUNT (s_job_msg_kvs), "job", &job, expected);
    }
}

/*  Every field of every type given a value of a type no field accepts
    (an empty array, a bin): always rejected, never crashes. */
static void
test_every_wrong_type (void **state)
{
    for (size_t i = 0; i < COUNT (s_kvsets); i++) {
        const kvset_t *set = &s_kvsets [i];
        for (size_t k = 0; k < set->n; k++) {
            char err [256];
            kv_t bad = { .key = set->kvs [k].key, .kind = V_ARRAY };
            assert_int_equal (s_try (set->kvs, set->n, bad.key, &bad, err, sizeof err, NULL), -1);
            kv_t bin = { .key = set->kvs [k].key, .kind = V_BIN, .s = "1" };
            assert_int_equal (s_try (set->kvs, set->n, bin.key, &bin, err, sizeof err, NULL), -1);
        }
    }
    for (size_t k = 0; k < COUNT (s_job_kvs); k++) {
        kv_t sub [COUNT (s_job_kvs)];
        memcpy (sub, s_job_kvs, sizeof sub);
        sub [k].kind = V_ARRAY;
        kv_t job = { .key = "job", .kind = V_MAP, .sub = sub, .nsub = COUNT (sub) };
        char err [256];
        assert_int_equal (s_try (s_job_msg_kvs, COUNT (s_job_msg_kvs), "job", &job,
                                 err, sizeof err, NULL), -1);
        assert_non_null (strstr (err, "JOB.job."));
    }
}

static void
test_version_and_type (void **state)
{
    const kv_t *h = s_hello_kvs;
    size_t n = COUNT (s_hello_kvs);
    kv_t v2 = KI ("v", 2);
    s_expect (h, n, "v", &v2, "protocol: unsupported version 2");
    kv_t v0 = KI ("v", 0);
    s_expect (h, n, "v", &v0, "protocol: unsupported version 0");
    kv_t vneg = KI ("v", -1);
    s_expect (h, n, "v", &vneg, "protocol: unsupported version -1");
    kv_t vstr = KS ("v", "1");
    s_expect (h, n, "v", &vstr, "protocol: \"v\": expected integer");
    kv_t vnil = KN ("v");
    s_expect (h, n, "v", &vnil, "protocol: \"v\": expected integer");
    kv_t vdbl = KD ("v", 1.0);
    s_expect (h, n, "v", &vdbl, "protocol: \"v\": expected integer");
    /*  v = 1 as int8 (0xd0 0x01) and as int64 is still version 1. */
    kv_t v8 = { .key = "v", .kind = V_RAW, .s = "\xd0\x01", .len = 2 };
    protocol_msg_t msg;
    s_expect_ok (h, n, "v", &v8, &msg);
    assert_int_equal (msg.type, PROTO_MSG_HELLO);
    protocol_msg_reset (&msg);
    kv_t v64 = { .key = "v", .kind = V_RAW, .s = "\xd3\0\0\0\0\0\0\0\x01", .len = 9 };
    s_expect_ok (h, n, "v", &v64, &msg);
    protocol_msg_reset (&msg);
    /*  The version is checked before the type. */
    kv_t v9 = KI ("v", 9);
    s_expect (&v9, 1, NULL, NULL, "protocol: unsupported version 9");

    kv_t tnum = KI ("type", 1);
    s_expect (h, n, "type", &tnum, "protocol: \"type\": expected string");
    kv_t tunk = KS ("type", "HELO");
    s_expect (h, n, "type", &tunk, "protocol: unknown type \"HELO\"");
    kv_t tlower = KS ("type", "hello");
    s_expect (h, n, "type", &tlower, "protocol: unknown type \"hello\"");
    kv_t tinv = KS ("type", "INVALID");
    s_expect (h, n, "type", &tinv, "protocol: unknown type \"INVALID\"");
    kv_t tnul = { .key = "type", .kind = V_STR, .s = "HELLO\0X", .len = 7 };
    s_expect (h, n, "type", &tnul, "protocol: unknown type \"HELLO?X\"");
    kv_t tlong = KS ("type", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    s_expect (h, n, "type", &tlong,
              "protocol: unknown type \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...\"");
}

static void
test_structure_errors (void **state)
{
    /*  Not a map. */
    s_expect_decode_error ("\x91\x01", 2, "protocol: expected a map at top level");
    s_expect_decode_error ("\x01", 1, "protocol: expected a map at top level");
    s_expect_decode_error ("\xa3" "BYE", 4, "protocol: expected a map at top level");
    s_expect_decode_error ("\xc0", 1, "protocol: expected a map at top level");
    s_expect_decode_error ("\x80", 1, "protocol: missing field \"v\"");
    /*  Two messages in one frame. */
    const char bye [] = "\x82\xa1v\x01\xa4type\xa3" "BYE";
    char two [2 * (sizeof bye - 1)];
    memcpy (two, bye, sizeof bye - 1);
    memcpy (two + sizeof bye - 1, bye, sizeof bye - 1);
    s_expect_decode_error (two, sizeof two, "protocol: 13 trailing bytes after message");
    /*  Reserved byte 0xc1. */
    s_expect_decode_error ("\x81\xc1\x01", 3, "protocol: malformed msgpack (byte 0xc1 at 1)");

    /*  Absurd declared sizes must be refused before anything is allocated. */
    s_expect_decode_error ("\xdf\xff\xff\xff\xff", 5, "protocol: truncated message");
    s_expect_decode_error ("\xdf\xff\xff\xff\xff\xa1v\x01", 8, "protocol: truncated message");
    s_expect_decode_error ("\x81\xa1v\xdd\xff\xff\xff\xff\x01\x02", 10,
                           "protocol: truncated message");
    s_expect_decode_error ("\x81\xa1v\xdb\xff\xff\xff\xff" "abc", 11,
                           "protocol: truncated message");
    s_expect_decode_error ("\x81\xa1v\xc9\xff\xff\xff\xff\x01", 9,
                           "protocol: truncated message");
    s_expect_decode_error ("\x81\xa1v\xc6\x00\x00\x00\x05" "ab", 10,
                           "protocol: truncated message");

    /*  Deep nesting, inside an ignored key. */
    char deep [64];
    size_t n = 0;
    memcpy (deep, "\x83\xa1v\x01\xa4type\xa3" "BYE\xa1x", 15);
    n = 15;
    while (n < sizeof deep - 1)
        deep [n++] = '\x91';
    deep [n++] = '\x01';
    s_expect_decode_error (deep, n, "protocol: nested too deeply (max 16)");

    /*  Too large, whatever it holds. */
    size_t big = 2u * 1024 * 1024 + 1;
    char *huge = xcalloc (1, big);
    s_expect_decode_error (huge, big, "protocol: message too large (2097153 bytes, max 2097152)");
    free (huge);
}

/*  Every way a field can be wrong, per kind of field. */
static const edit_t s_field_edits [] = {
    /*  HELLO: integers, names. */
    EDIT (s_hello_kvs, KI ("slots", 0), "protocol: HELLO.slots: expected positive integer"),
    EDIT (s_hello_kvs, KI ("slots", -4), "protocol: HELLO.slots: expected positive integer"),
    EDIT (s_hello_kvs, KS ("slots", "4"), "protocol: HELLO.slots: expected positive integer"),
    EDIT (s_hello_kvs, KN ("slots"), "protocol: HELLO.slots: expected positive integer"),
    EDIT (s_hello_kvs, KD ("slots", 4.0), "protocol: HELLO.slots: expected positive integer"),
    EDIT (s_hello_kvs, KI ("slots", 1LL << 31),
          "protocol: HELLO.slots: 2147483648 out of range (max 2147483647)"),
    EDIT (s_hello_kvs, KI ("pid", 0), "protocol: HELLO.pid: expected positive integer"),
    EDIT (s_hello_kvs, KS ("name", ""), "protocol: HELLO.name: expected non-empty string"),
    EDIT (s_hello_kvs, KI ("name", 5), "protocol: HELLO.name: expected non-empty string"),
    EDIT (s_hello_kvs, KN ("host"), "protocol: HELLO.host: expected non-empty string"),
    EDIT (s_hello_kvs, ((kv_t) { .key = "name", .kind = V_STR, .s = "w\0rker", .len = 6 }),
          "protocol: HELLO.name: string contains NUL"),
    EDIT (s_hello_kvs, ((kv_t) { .key = "build", .kind = V_BIN, .s = "0.1", .len = 3 }),
          "protocol: HELLO.build: expected non-empty string"),
    /*  Chunk identity and counts. */
    EDIT (s_progress_kvs, KI ("chunk_id", -1),
          "protocol: PROGRESS.chunk_id: expected non-negative integer"),
    EDIT (s_progress_kvs, KU ("chunk_id", (uint64_t) INT64_MAX + 1),
          "protocol: PROGRESS.chunk_id: 9223372036854775808 out of range (max 9223372036854775807)"),
    EDIT (s_assign_kvs, KI ("attempt", 0), "protocol: ASSIGN.attempt: expected positive integer"),
    EDIT (s_progress_kvs, KI ("rows", -5), "protocol: PROGRESS.rows: expected non-negative integer"),
    EDIT (s_progress_kvs, KI ("peak_rss_kb", -5),
          "protocol: PROGRESS.peak_rss_kb: expected non-negative integer"),
    /*  DONE. */
    EDIT (s_done_kvs, KX ("rows"), "protocol: DONE: missing field \"rows\""),
    EDIT (s_done_kvs, KX ("peak_rss_kb"), "protocol: DONE: missing field \"peak_rss_kb\""),
    EDIT (s_done_kvs, KI ("checksum", -1), "protocol: DONE.checksum: expected unsigned integer"),
    EDIT (s_done_kvs, KS ("checksum", "77"), "protocol: DONE.checksum: expected unsigned integer"),
    EDIT (s_done_kvs, KI ("retries", -1), "protocol: DONE.retries: expected non-negative integer"),
    /*  FAILED. */
    EDIT (s_failed_kvs, KS ("sqlstate", "123456"),
          "protocol: FAILED.sqlstate: expected 5-character SQLSTATE"),
    EDIT (s_failed_kvs, KS ("sqlstate", "0800"),
          "protocol: FAILED.sqlstate: expected 5-character SQLSTATE"),
    EDIT (s_failed_kvs, KS ("sqlstate", "08a06"),
          "protocol: FAILED.sqlstate: expected 5-character SQLSTATE"),
    EDIT (s_failed_kvs, ((kv_t) { .key = "sqlstate", .kind = V_STR, .s = "08\0" "06", .len = 5 }),
          "protocol: FAILED.sqlstate: expected 5-character SQLSTATE"),
    EDIT (s_failed_kvs, KI ("sqlstate", 8006),
          "protocol: FAILED.sqlstate: expected 5-character SQLSTATE"),
    EDIT (s_failed_kvs, KI ("retryable", 1), "protocol: FAILED.retryable: expected boolean"),
    EDIT (s_failed_kvs, KN ("message"), "protocol: FAILED.message: expected string"),
    /*  STOP. outcome is optional (a STOP from an older coordinator has
        none) and a string when present. */
    EDIT (s_stop_kvs, KI ("reason", 0), "protocol: STOP.reason: expected string"),
    EDIT (s_stop_kvs, KI ("outcome", 1), "protocol: STOP.outcome: expected string"),
};

/*  The edits above, then what decodes, with the value it decodes to. */
static void
test_field_errors (void **state)
{
    s_run_edits (s_field_edits, COUNT (s_field_edits));

    const kv_t *h = s_hello_kvs;
    size_t hn = COUNT (s_hello_kvs);
    kv_t k;
    protocol_msg_t msg;
    /*  A name of exactly the limit decodes; one byte more is refused. */
    char *long_name = xmalloc (128 * 1024 + 2);
    memset (long_name, 'n', 128 * 1024 + 1);
    long_name [128 * 1024 + 1] = '\0';
    k = (kv_t) KS ("name", long_name);
    s_expect (h, hn, "name", &k,
              "protocol: HELLO.name: string too long (131073 bytes, max 131072)");
    long_name [128 * 1024] = '\0';
    s_expect_ok (h, hn, "name", &k, &msg);
    assert_int_equal (strlen (msg.name), 128 * 1024);
    protocol_msg_reset (&msg);
    free (long_name);

    /*  Positive values in negative-int encodings are accepted. */
    k = (kv_t) { .key = "slots", .kind = V_RAW, .s = "\xd0\x05", .len = 2 };
    s_expect_ok (h, hn, "slots", &k, &msg);
    assert_int_equal (msg.slots, 5);
    protocol_msg_reset (&msg);
    k = (kv_t) { .key = "pid", .kind = V_RAW, .s = "\xd3\x00\x00\x00\x01\x00\x00\x00\x00", .len = 9 };
    s_expect_ok (h, hn, "pid", &k, &msg);
    assert_true (msg.pid == 1LL << 32);
    protocol_msg_reset (&msg);
    k = (kv_t) { .key = "slots", .kind = V_RAW, .s = "\xcf\0\0\0\0\0\0\0\x07", .len = 9 };
    s_expect_ok (h, hn, "slots", &k, &msg);
    assert_int_equal (msg.slots, 7);
    protocol_msg_reset (&msg);

    /*  Optional or empty values. */
    k = (kv_t) KN ("peak_rss_kb");
    s_expect_ok (s_progress_kvs, COUNT (s_progress_kvs), "peak_rss_kb", &k, &msg);
    assert_int_equal (msg.peak_rss_kb, 0);
    protocol_msg_reset (&msg);
    k = (kv_t) KU ("checksum", UINT64_MAX);
    s_expect_ok (s_done_kvs, COUNT (s_done_kvs), "checksum", &k, &msg);
    assert_true (msg.checksum == UINT64_MAX);
    protocol_msg_reset (&msg);
    const kv_t *f = s_failed_kvs;
    size_t fn = COUNT (s_failed_kvs);
    k = (kv_t) KS ("sqlstate", "");
    s_expect_ok (f, fn, "sqlstate", &k, &msg);
    assert_string_equal (msg.sqlstate, "");
    protocol_msg_reset (&msg);
    k = (kv_t) KN ("sqlstate");
    s_expect_ok (f, fn, "sqlstate", &k, &msg);
    assert_string_equal (msg.sqlstate, "");
    protocol_msg_reset (&msg);
    k = (kv_t) KS ("message", "");
    s_expect_ok (f, fn, "message", &k, &msg);
    assert_string_equal (msg.message, "");
    protocol_msg_reset (&msg);

    /*  STOP.outcome: any string decodes, so that a later outcome does not
        break older workers. */
    const kv_t *st = s_stop_kvs;
    size_t stn = COUNT (s_stop_kvs);
    s_expect_ok (st, stn, NULL, NULL, &msg);
    assert_null (msg.outcome);
    protocol_msg_reset (&msg);
    k = (kv_t) KS ("outcome", "failed");
    s_expect_ok (st, stn, NULL, &k, &msg);
    assert_string_equal (msg.outcome, PROTOCOL_OUTCOME_FAILED);
    protocol_msg_reset (&msg);
    k = (kv_t) KS ("outcome", "some-later-outcome");
    s_expect_ok (st, stn, NULL, &k, &msg);
    assert_string_equal (msg.outcome, "some-later-outcome");
    protocol_msg_reset (&msg);
}

static void
test_job_errors (void **state)
{
    const kv_t *j = s_job_msg_kvs;
    size_t jn = COUNT (s_job_msg_kvs);
    kv_t k;

    k = (kv_t) KS ("job", "{}");
    s_expect (j, jn, "job", &k, "protocol: JOB.job: expected map");
    k = (kv_t) KN ("job");
    s_expect (j, jn, "job", &k, "protocol: JOB.job: expected map");
    k = (kv_t) KS ("run_id", "a b");
    s_expect (j, jn, "run_id", &k,
              "protocol: JOB.run_id: expected run id (1 to 48 of A-Z a-z 0-9 _ -)");
    k = (kv_t) KS ("run_id", "");
    s_expect (j, jn, "run_id", &k,
              "protocol: JOB.run_id: expected run id (1 to 48 of A-Z a-z 0-9 _ -)");
    k = (kv_t) KI ("heartbeat_ms", 0);
    s_expect (j, jn, "heartbeat_ms", &k,
              "protocol: JOB.heartbeat_ms: expected integer in [1, 3600000]");
    k = (kv_t) KI ("heartbeat_ms", 3600001);
    s_expect (j, jn, "heartbeat_ms", &k,
              "protocol: JOB.heartbeat_ms: 3600001 out of range (max 3600000)");
    k = (kv_t) KI ("liveness", 0);
    s_expect (j, jn, "liveness", &k, "protocol: JOB.liveness: expected integer in [1, 1000]");

    /*  Fields inside the job: edit one entry of a copy of s_job_kvs. */
    struct {
        kv_t field;
        const char *expected;
    } cases [] = {
        { KS ("query", ""), "protocol: JOB.job.query: expected non-empty string" },
        { KN ("key"), "protocol: JOB.job: missing field \"key\"" },   /* nil reads as absent */
        { KI ("processors", 0), "protocol: JOB.job.processors: expected integer in [1, 64]" },
        /*  More threads than a pipeline has room for (issue 10, 12d). */
        { KI ("processors", 65), "protocol: JOB.job.processors: 65 out of range (max 64)" },
        { KI ("batch_size", -1), "protocol: JOB.job.batch_size: expected positive integer" },
        { KI ("max_retries", -1), "protocol: JOB.job.max_retries: expected non-negative integer" },
        { KD ("backoff", 0.5), "protocol: JOB.job.backoff: expected number in [1, 1e+09]" },
        { KD ("initial_delay", -1), "protocol: JOB.job.initial_delay: expected number in [0, 1e+09]" },
        { KD ("max_delay", NAN), "protocol: JOB.job.max_delay: expected number in [0, 1e+09]" },
        { KD ("max_delay", INFINITY), "protocol: JOB.job.max_delay: expected number in [0, 1e+09]" },
        { KS ("max_delay", "30"), "protocol: JOB.job.max_delay: expected number in [0, 1e+09]" },
        { KI ("source_conninfo", 1), "protocol: JOB.job.source_conninfo: expected string" },
        { KS ("split", "range"), "protocol: JOB.job.split: expected \"key\" or \"ctid\"" },
        { KI ("split", 1), "protocol: JOB.job.split: expected string" },
    };
    for (size_t i = 0; i < COUNT (cases); i++)
        s_expect_job_edit (s_job_kvs, COUNT (s_job_kvs), cases [i].field, cases [i].expected);

    /*  Numbers: integers and float32 are fine for doubles; nil conninfo is
        NULL. */
    kv_t sub [COUNT (s_job_kvs)];
    memcpy (sub, s_job_kvs, sizeof sub);
    for (size_t s = 0; s < COUNT (sub); s++) {
        if (strcmp (sub [s].key, "backoff") == 0)
            sub [s] = (kv_t) { .key = "backoff", .kind = V_FLOAT, .d = 1.5 };
        if (strcmp (sub [s].key, "max_delay") == 0)
            sub [s] = (kv_t) KI ("max_delay", 60);
        if (strcmp (sub [s].key, "source_conninfo") == 0)
            sub [s] = (kv_t) KN ("source_conninfo");
    }
    kv_t job = { .key = "job", .kind = V_MAP, .sub = sub, .nsub = COUNT (sub) };
    protocol_msg_t msg;
    s_expect_ok (j, jn, "job", &job, &msg);
    assert_true (msg.job->backoff == 1.5);
    assert_true (msg.job->max_delay == 60.0);
    assert_null (msg.job->source_conninfo);
    assert_string_equal (msg.job->split, "ctid");
    protocol_msg_reset (&msg);
}

/*  A csv JOB: format characters csv.c would assert on are refused by the
    decoder, so a worker never gets them (issue 10, 12b); the record limit
    has bounds, and 0 or absent means the default. */
static const kv_t s_csv_job_kvs [] = {
    KS ("source_kind", "csv"), KS ("copy_table", "s.t"), KS ("final_table", "t"),
    KI ("processors", 2), KI ("raw_queue_max", 20), KI ("processed_queue_max", 10),
    KI ("read_buffer", 4096), KI ("batch_size", 100), KI ("max_retries", 0),
    KD ("initial_delay", 1), KD ("backoff", 2), KD ("max_delay", 30),
    KI ("csv_delimiter", ','), KI ("csv_quote", '"'), KI ("csv_escape", '"'),
    KS ("csv_columns", "a\x1f" "b"), KI ("csv_max_record", 1048576),
};

static void
test_csv_job_checks (void **state)
{
    const kv_t *j = s_job_msg_kvs;
    size_t jn = COUNT (s_job_msg_kvs);
    struct {
        kv_t field;
        const char *expected;     /* NULL: accepted */
    } cases [] = {
        { KI ("csv_delimiter", '"'), "protocol: JOB.job.csv_quote: must differ from the delimiter" },
        { KI ("csv_delimiter", '\n'), "protocol: JOB.job.csv_delimiter: must not be a line break" },
        { KI ("csv_delimiter", '\r'), "protocol: JOB.job.csv_delimiter: must not be a line break" },
        { KI ("csv_delimiter", 0), "protocol: JOB.job: missing field \"csv_delimiter\"" },
        { KI ("csv_quote", '\n'), "protocol: JOB.job.csv_quote: must not be a line break" },
        { KI ("csv_quote", ','), "protocol: JOB.job.csv_quote: must differ from the delimiter" },
        { KI ("csv_escape", '\r'), "protocol: JOB.job.csv_escape: must not be a line break" },
        { KI ("csv_max_record", 1023),
          "protocol: JOB.job.csv_max_record: expected integer in [1024, 1073741824]" },
        { KI ("csv_max_record", 1073741825),
          "protocol: JOB.job.csv_max_record: 1073741825 out of range (max 1073741824)" },
        { KI ("processors", 65), "protocol: JOB.job.processors: 65 out of range (max 64)" },
        { KI ("csv_quote", 0), NULL },          /* no quoting */
        { KI ("csv_max_record", 0), NULL },     /* the default */
        { KI ("processors", 64), NULL },
        { KI ("csv_delimiter", '\t'), NULL },
    };
    for (size_t i = 0; i < COUNT (cases); i++)
        s_expect_job_edit (s_csv_job_kvs, COUNT (s_csv_job_kvs), cases [i].field,
                           cases [i].expected);

    /*  Round trip, and the encoder refuses what the decoder would. */
    kv_t job = KM ("job", s_csv_job_kvs);
    protocol_msg_t msg;
    s_expect_ok (j, jn, "job", &job, &msg);
    assert_int_equal (msg.job->csv_max_record, 1048576);
    assert_int_equal (msg.job->csv_delimiter, ',');
    char err [256];
    char *data = NULL;
    size_t size = 0;
    assert_int_equal (protocol_encode (&msg, &data, &size, err, sizeof err), 0);
    protocol_msg_t back;
    memset (&back, 0, sizeof back);
    assert_int_equal (protocol_decode (data, size, &back, err, sizeof err), 0);
    assert_int_equal (back.job->csv_max_record, 1048576);
    protocol_msg_reset (&back);
    free (data);
    msg.job->csv_quote = ',';
    s_expect_encode_error (&msg, "protocol: JOB.job.csv_quote: must differ from the delimiter");
    msg.job->csv_quote = '"';
    msg.job->csv_delimiter = '\n';
    s_expect_encode_error (&msg, "protocol: JOB.job.csv_delimiter: must not be a line break");
    msg.job->csv_delimiter = ',';
    msg.job->processors = 65;
    s_expect_encode_error (&msg, "protocol: JOB.job.processors: 65 out of range (max 64)");
    protocol_msg_reset (&msg);
}

static void
test_assign_ranges (void **state)
{
    const kv_t *a = s_assign_kvs;
    size_t an = COUNT (s_assign_kvs);
    const kv_t *af = s_assign_file_kvs;
    size_t afn = COUNT (s_assign_file_kvs);
    kv_t k;

    s_expect (a, an, "lo", NULL, "protocol: ASSIGN: missing field \"lo\"");
    s_expect (a, an, "hi", NULL, "protocol: ASSIGN: missing field \"hi\"");
    k = (kv_t) KI ("lo", 5);
    s_expect (a, an, "lo", &k, "protocol: ASSIGN.lo: expected string");
    k = (kv_t) KS ("path", "/x");
    s_expect (a, an, "path", &k, "protocol: ASSIGN: lo/hi and path are exclusive");
    k = (kv_t) KS ("hi", "z");
    s_expect (af, afn, "hi", &k, "protocol: ASSIGN: lo/hi and path are exclusive");
    k = (kv_t) KN ("hi");             /* nil lo/hi next to a path is fine */
    protocol_msg_t msg;
    s_expect_ok (af, afn, "hi", &k, &msg);
    assert_string_equal (msg.path, "/f.csv");
    assert_null (msg.hi);
    protocol_msg_reset (&msg);
    k = (kv_t) KN ("path");           /* nil path: a key range */
    s_expect_ok (a, an, "path", &k, &msg);
    assert_null (msg.path);
    assert_string_equal (msg.lo, "a");
    protocol_msg_reset (&msg);
    k = (kv_t) KS ("path", "");
    s_expect (af, afn, "path", &k, "protocol: ASSIGN.path: expected non-empty string");
    k = (kv_t) KI ("offset", -1);
    s_expect (af, afn, "offset", &k, "protocol: ASSIGN.offset: expected non-negative integer");
    s_expect (af, afn, "first_line", NULL, "protocol: ASSIGN: missing field \"first_line\"");

    /*  offset & co are ignored (and stay 0) on a key range. */
    k = (kv_t) KI ("offset", 99);
    s_expect_ok (a, an, "offset", &k, &msg);
    assert_int_equal (msg.offset, 0);
    protocol_msg_reset (&msg);
}

static void
test_duplicates_and_extras (void **state)
{
    /*  {"v":1,"type":"BYE","v":1} */
    static const char dup_v [] = "\x83\xa1v\x01\xa4type\xa3" "BYE\xa1v\x01";
    s_expect_decode_error (dup_v, sizeof dup_v - 1, "protocol: duplicate field \"v\"");
    static const char dup_type [] = "\x83\xa1v\x01\xa4type\xa3" "BYE\xa4type\xa3" "BYE";
    s_expect_decode_error (dup_type, sizeof dup_type - 1, "protocol: duplicate field \"type\"");
    kv_t dup = KI ("rows", 6);
    kv_t with_dup [COUNT (s_done_kvs) + 1];
    memcpy (with_dup, s_done_kvs, sizeof s_done_kvs);
    with_dup [COUNT (s_done_kvs)] = dup;
    s_expect (with_dup, COUNT (with_dup), NULL, NULL, "protocol: DONE: duplicate field \"rows\"");

    /*  Unknown keys of any shape are ignored, non-string keys too. */
    static const kv_t nested [] = { KI ("a", 1), KS ("b", "c") };
    kv_t extra [COUNT (s_hello_kvs) + 4];
    memcpy (extra, s_hello_kvs, sizeof s_hello_kvs);
    extra [COUNT (s_hello_kvs)] = (kv_t) KM ("future", nested);
    extra [COUNT (s_hello_kvs) + 1] = (kv_t) KD ("zone", 1.5);
    extra [COUNT (s_hello_kvs) + 2] = (kv_t) { .key = "blob", .kind = V_BIN, .s = "\0\1", .len = 2 };
    extra [COUNT (s_hello_kvs) + 3] = (kv_t) { .key = "nam", .kind = V_STR, .s = "x\0y", .len = 3 };
    protocol_msg_t msg;
    s_expect_ok (extra, COUNT (extra), NULL, NULL, &msg);
    assert_string_equal (msg.name, "w1");
    protocol_msg_reset (&msg);
    /*  {"v":1,"type":"BYE",1:2,nil:[]} */
    char err [256];
    static const char odd_keys [] = "\x84\xa1v\x01\xa4type\xa3" "BYE\x01\x02\xc0\x90";
    assert_int_equal (protocol_decode (odd_keys, sizeof odd_keys - 1, &msg, err, sizeof err), 0);
    assert_int_equal (msg.type, PROTO_MSG_BYE);
    protocol_msg_reset (&msg);
    /*  Keys are compared on their full length: "v\0" is not "v". */
    static const char nul_key [] = "\x83\xa1v\x01\xa4type\xa3" "BYE\xa2v\x00\x02";
    assert_int_equal (protocol_decode (nul_key, sizeof nul_key - 1, &msg, err, sizeof err), 0);
    assert_int_equal (msg.type, PROTO_MSG_BYE);
    protocol_msg_reset (&msg);
}

static void
test_err_buffer_handling (void **state)
{
    /*  NULL err and tiny err buffers are fine. */
    protocol_msg_t msg;
    assert_int_equal (protocol_decode ("\x01", 1, &msg, NULL, 0), -1);
    char tiny [8];
    memset (tiny, 'x', sizeof tiny);
    assert_int_equal (protocol_decode ("\x01", 1, &msg, tiny, sizeof tiny), -1);
    assert_string_equal (tiny, "protoco");
    char one [1] = { 'x' };
    assert_int_equal (protocol_decode ("\x01", 1, &msg, one, 1), -1);
    assert_int_equal (one [0], '\0');

    protocol_msg_init (&msg, PROTO_MSG_BYE);
    char *data;
    size_t size;
    assert_int_equal (protocol_encode (&msg, &data, &size, NULL, 0), 0);
    free (data);
}

/*  One edit of a sample before encoding: the member at `offset` of the
    message (of its job when in_job) set to s (a string member; NULL
    frees it), to i (an integer member of `width` bytes), to d, or to the
    6 raw bytes of s (E_RAW6: a sqlstate without its terminator). */
typedef struct {
    protocol_type_t type;
    int variant;
    bool in_job;
    enum { E_STR, E_INT, E_DBL, E_RAW6, E_NO_JOB } kind;
    size_t offset, width;
    const char *s;
    int64_t i;
    double d;
    const char *expected;
} encode_edit_t;

#define M_OF(f)  .offset = offsetof (protocol_msg_t, f), .width = sizeof (((protocol_msg_t *) 0)->f)
#define J_OF(f)  .in_job = true, .offset = offsetof (protocol_job_t, f), \
                 .width = sizeof (((protocol_job_t *) 0)->f)
#define E_S(t, v, of, str, exp) { t, v, .kind = E_STR, of, .s = (str), .expected = (exp) }
#define E_I(t, v, of, n, exp)   { t, v, .kind = E_INT, of, .i = (n), .expected = (exp) }

static const encode_edit_t s_encode_edits [] = {
    E_S (PROTO_MSG_HELLO, 0, M_OF (name), NULL, "protocol: HELLO: missing field \"name\""),
    E_S (PROTO_MSG_HELLO, 0, M_OF (name), "", "protocol: HELLO.name: expected non-empty string"),
    E_I (PROTO_MSG_HELLO, 0, M_OF (slots), 0, "protocol: HELLO.slots: expected positive integer"),
    E_I (PROTO_MSG_HELLO, 0, M_OF (pid), -1, "protocol: HELLO.pid: expected positive integer"),
    { PROTO_MSG_JOB, 0, .kind = E_NO_JOB, .expected = "protocol: JOB: missing field \"job\"" },
    E_S (PROTO_MSG_JOB, 0, J_OF (query), NULL, "protocol: JOB.job: missing field \"query\""),
    { PROTO_MSG_JOB, 0, .kind = E_DBL, J_OF (backoff), .d = 0.0,
      .expected = "protocol: JOB.job.backoff: expected number in [1, 1e+09]" },
    E_S (PROTO_MSG_JOB, 0, M_OF (run_id), "run;drop",
         "protocol: JOB.run_id: expected run id (1 to 48 of A-Z a-z 0-9 _ -)"),
    E_I (PROTO_MSG_JOB, 0, M_OF (heartbeat_ms), 0,
         "protocol: JOB.heartbeat_ms: expected integer in [1, 3600000]"),
    E_S (PROTO_MSG_ASSIGN, 4, M_OF (lo), "1", "protocol: ASSIGN: lo/hi and path are exclusive"),
    E_I (PROTO_MSG_ASSIGN, 4, M_OF (attempt), 0,
         "protocol: ASSIGN.attempt: expected positive integer"),
    E_I (PROTO_MSG_ASSIGN, 4, M_OF (chunk_id), -1,
         "protocol: ASSIGN.chunk_id: expected non-negative integer"),
    E_I (PROTO_MSG_ASSIGN, 4, M_OF (length), -1,
         "protocol: ASSIGN.length: expected non-negative integer"),
    { PROTO_MSG_FAILED, 0, .kind = E_RAW6, M_OF (sqlstate), .s = "ABCDEF",
      .expected = "protocol: FAILED.sqlstate: expected 5-character SQLSTATE" },
    { PROTO_MSG_FAILED, 0, .kind = E_RAW6, M_OF (sqlstate), .s = "abc\0\0",
      .expected = "protocol: FAILED.sqlstate: expected 5-character SQLSTATE" },
    E_S (PROTO_MSG_FAILED, 0, M_OF (message), NULL, "protocol: FAILED: missing field \"message\""),
    E_S (PROTO_MSG_STOP, 0, M_OF (reason), NULL, "protocol: STOP: missing field \"reason\""),
    E_I (PROTO_MSG_PROGRESS, 0, M_OF (peak_rss_kb), -1,
         "protocol: PROGRESS.peak_rss_kb: expected non-negative integer"),
    E_I (PROTO_MSG_HEARTBEAT, 0, M_OF (peak_rss_kb), -1,
         "protocol: HEARTBEAT.peak_rss_kb: expected non-negative integer"),
};

static void
s_apply_encode_edit (protocol_msg_t *msg, const encode_edit_t *e)
{
    if (e->kind == E_NO_JOB) {
        protocol_job_destroy (&msg->job);
        return;
    }
    char *base = e->in_job ? (char *) msg->job : (char *) msg;
    void *member = base + e->offset;
    switch (e->kind) {
    case E_STR:
        free (*(char **) member);
        *(char **) member = e->s ? xstrdup (e->s) : NULL;
        break;
    case E_INT:
        if (e->width == sizeof (int32_t))
            *(int32_t *) member = (int32_t) e->i;
        else
            *(int64_t *) member = e->i;
        break;
    case E_DBL:
        *(double *) member = e->d;
        break;
    case E_RAW6:
        memcpy (member, e->s, 6);
        break;
    case E_NO_JOB:
        break;
    }
}

/*  Whatever decode refuses, encode refuses too: each edit of a valid
    sample. */
static void
test_encode_refuses (void **state)
{
    protocol_msg_t msg;

    protocol_msg_init (&msg, PROTO_MSG_INVALID);
    s_expect_encode_error (&msg, "protocol: cannot encode message type 0");
    protocol_msg_init (&msg, PROTO_MSG_COUNT_);
    s_expect_encode_error (&msg, "protocol: cannot encode message type 13");

    for (size_t i = 0; i < COUNT (s_encode_edits); i++) {
        const encode_edit_t *e = &s_encode_edits [i];
        s_sample (&msg, e->type, e->variant);
        s_apply_encode_edit (&msg, e);
        s_expect_encode_error (&msg, e->expected);
        protocol_msg_reset (&msg);
    }

    /*  A string over the limit is refused on the way out as on the way in. */
    protocol_msg_init (&msg, PROTO_MSG_STOP);
    msg.reason = xmalloc (128 * 1024 + 2);
    memset (msg.reason, 'r', 128 * 1024 + 1);
    msg.reason [128 * 1024 + 1] = '\0';
    s_expect_encode_error (&msg, "protocol: STOP.reason: string too long (131073 bytes, max 131072)");
    protocol_msg_reset (&msg);
}

/*  The worker's figures (PROGRESS, HEARTBEAT) are optional: a message
    without them (an older worker, the samples' variant 1) decodes with
    zeros (test_roundtrip_every_sample); their bounds are checked. */
static void
test_worker_figures (void **state)
{
    (void) state;
    protocol_msg_t in;
    char err[256];
    char *data = NULL;
    size_t size = 0;
    protocol_msg_init (&in, PROTO_MSG_HEARTBEAT);
    in.raw_queued = -1;
    assert_int_equal (protocol_encode (&in, &data, &size, err, sizeof err), -1);
    assert_string_equal (err, "protocol: HEARTBEAT.raw_queued: expected non-negative integer");
    in.raw_queued = 0;
    in.pipelines = -3;
    assert_int_equal (protocol_encode (&in, &data, &size, err, sizeof err), -1);
    assert_string_equal (err, "protocol: HEARTBEAT.pipelines: expected non-negative integer");
}

static void
test_batch_hist_text (void **state)
{
    (void) state;
    uint64_t counts[PROTOCOL_BATCH_BOUNDS + 1] = { 0 }, back[PROTOCOL_BATCH_BOUNDS + 1];
    counts[0] = 5;
    counts[6] = 12;
    counts[PROTOCOL_BATCH_BOUNDS] = UINT64_C (1234567890123);
    char *text = protocol_batch_hist_format (counts);
    assert_string_equal (text, "5 0 0 0 0 0 12 0 0 0 0 0 1234567890123");
    assert_int_equal (protocol_batch_hist_parse (text, back), 0);
    assert_memory_equal (counts, back, sizeof counts);
    free (text);
    /*  Anything else is refused whole, leaving zeros. */
    const char *bad[] = { "", "1 2 3", "5 0 0 0 0 0 12 0 0 0 0 0 1 9",
                          "5 0 0 0 0 0 12 0 0 0 0 0 x", "5  0 0 0 0 0 12 0 0 0 0 0 1",
                          "-5 0 0 0 0 0 12 0 0 0 0 0 1", "5 0 0 0 0 0 12 0 0 0 0 0 1 " };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        back[0] = 99;
        assert_int_equal (protocol_batch_hist_parse (bad[i], back), -1);
        assert_int_equal (back[0], 0);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_roundtrip_every_sample),
        cmocka_unit_test (test_roundtrip_copies),
        cmocka_unit_test (test_roundtrip_job_omits_null_strings),
        cmocka_unit_test (test_bye_bytes),
        cmocka_unit_test (test_type_names),
        cmocka_unit_test (test_job_dup_destroy),
        cmocka_unit_test (test_every_truncation_fails),
        cmocka_unit_test (test_random_bytes),
        cmocka_unit_test (test_random_mutations),
        cmocka_unit_test (test_handbuilt_baselines_decode),
        cmocka_unit_test (test_every_missing_field),
        cmocka_unit_test (test_every_wrong_type),
        cmocka_unit_test (test_version_and_type),
        cmocka_unit_test (test_structure_errors),
        cmocka_unit_test (test_field_errors),
        cmocka_unit_test (test_job_errors),
        cmocka_unit_test (test_csv_job_checks),
        cmocka_unit_test (test_assign_ranges),
        cmocka_unit_test (test_duplicates_and_extras),
        cmocka_unit_test (test_err_buffer_handling),
        cmocka_unit_test (test_encode_refuses),
        cmocka_unit_test (test_worker_figures),
        cmocka_unit_test (test_batch_hist_text),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
