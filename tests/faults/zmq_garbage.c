/*  tests/faults/zmq_garbage.c: a misbehaving FERRY/1 peer for
    tests/faults/fault_garbage.sh.

        ferry_zmq_garbage ENDPOINT MODE [N]

    Connects one ZeroMQ DEALER to the coordinator's ROUTER at ENDPOINT and
    sends what MODE says, then closes. It never does any work.

        random-bytes [N]  N frames (default 300) of 0..600 random bytes
        bad-msgpack       malformed msgpack: reserved byte, truncated maps,
                          lengths past the end, trailing bytes, a non-map,
                          nesting past the limit, an empty frame
        wrong-version     well-formed HELLO maps whose "v" is 0, 2, 255, -1,
                          "1", nil, 1.0, missing; also an unknown type
        hello-flood [N]   N valid HELLOs (default 500) from one DEALER, 2 ms
                          apart, then silence for 2 s: a fake worker that
                          joins over and over and never runs a chunk (the
                          ASSIGNs it gets are read and dropped)
        multi-frame [N]   N messages (default 100) of 2..4 frames: a valid
                          HELLO followed by junk frames
        forge [MS]        a forged worker (name "forged", build "0.0-forged")
                          that knows no cluster secret: HELLO, then forged
                          PROGRESS and DONE for chunks 0..9 and a
                          HEARTBEAT, reading what comes for MS ms (default
                          3000)
        forge-wrong-proof [MS]
                          the same, but it answers CHALLENGE with AUTH made
                          from a wrong secret
        forge-done [MS]   an admitted liar (name "forger"): proves the
                          cluster secret of FERRY_CLUSTER_SECRET (or comes
                          in by CURVE), takes JOB, and answers every ASSIGN
                          with a DONE (50,000 rows, checksum 42) for work
                          it never did; prints "forged DONE: N"

    With FERRY_CURVE_KEY and FERRY_COORDINATOR_KEY set (certificate files,
    as for ferry-worker) the DEALER is a CURVE client with those keys.

    The forge modes print "received: N TYPE ..." (what the coordinator
    sent), "job-conninfo: yes|no" (a JOB carried a conninfo) and exit 0.

    Prints what it sent on stdout. Exit status: 0 when everything was sent,
    1 on a socket error, 2 on a bad command line. */
#include "auth.h"
#include "keygen.h"
#include "protocol.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t s_rng;

static uint64_t
s_rand (void)
{
    /*  xorshift64*: reproducible from the seed printed at start. */
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 0x2545F4914F6CDD1Dull;
}

/*  Sends one message of `count` frames; 0 or -1. */
static int
s_send_frames (zsock_t *sock, const void *const *data, const size_t *size, int count)
{
    zmsg_t *m = zmsg_new ();
    for (int i = 0; i < count; i++)
        zmsg_addmem (m, data[i], size[i]);
    int rc = zmsg_send (&m, sock);
    zmsg_destroy (&m);
    return rc;
}

static int
s_send_one (zsock_t *sock, const void *data, size_t size)
{
    const void *d[1] = { data };
    size_t s[1] = { size };
    return s_send_frames (sock, d, s, 1);
}

/*  Encodes m with the real codec, or exits. Caller frees. */
static char *
s_encode (protocol_msg_t *m, size_t *size)
{
    char *data = NULL;
    char err[256];
    if (protocol_encode (m, &data, size, err, sizeof err) != 0) {
        fprintf (stderr, "ferry_zmq_garbage: encoding %s: %s\n", protocol_type_name (m->type), err);
        exit (1);
    }
    return data;
}

/*  A valid HELLO, encoded by the real codec. Caller frees. */
static char *
s_hello_build (const char *name, int slots, const char *build, size_t *size)
{
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_HELLO);
    m.name = (char *) name;
    m.host = (char *) "garbage-host";
    m.pid = getpid ();
    m.slots = slots;
    m.build = (char *) build;
    return s_encode (&m, size);
}

static char *
s_hello (const char *name, int slots, size_t *size)
{
    return s_hello_build (name, slots, "garbage", size);
}

/*  Messages received from the coordinator, by type. */
static int s_received[PROTO_MSG_COUNT_];

/*  Reads and drops whatever the coordinator sent (JOB, ASSIGN, ...),
    counting it by type. Returns how many messages were read. */
static int
s_drain (zsock_t *sock)
{
    int n = 0;
    while (zsock_events (sock) & ZMQ_POLLIN) {
        zframe_t *f = zframe_recv (sock);
        if (!f)
            break;
        protocol_msg_t m;
        memset (&m, 0, sizeof m);
        char err[256];
        if (protocol_decode (zframe_data (f), zframe_size (f), &m, err, sizeof err) == 0) {
            s_received[m.type]++;
            protocol_msg_reset (&m);
        }
        else
            s_received[PROTO_MSG_INVALID]++;
        zframe_destroy (&f);
        n++;
    }
    return n;
}

static void
s_print_received (void)
{
    printf ("received:");
    for (int t = 0; t < PROTO_MSG_COUNT_; t++)
        if (s_received[t])
            printf (" %d %s", s_received[t], protocol_type_name ((protocol_type_t) t));
    printf ("\n");
}

static int
s_random_bytes (zsock_t *sock, int n)
{
    unsigned char buf[600];
    int unsent = 0;
    for (int i = 0; i < n; i++) {
        size_t len = (size_t) (s_rand () % (sizeof buf + 1));
        for (size_t j = 0; j < len; j++)
            buf[j] = (unsigned char) s_rand ();
        /*  Sometimes make it look like a map, to get past the first byte. */
        if (len > 0 && i % 3 == 0)
            buf[0] = (unsigned char) (0x80 | (s_rand () % 16));
        if (s_send_one (sock, buf, len) != 0) {
            if (zmq_errno () != EAGAIN)
                return -1;
            unsent++;           /* no link: refused at the handshake */
        }
    }
    printf ("sent %d random frames (%d found no link)\n", n - unsent, unsent);
    return 0;
}

static int
s_bad_msgpack (zsock_t *sock)
{
    static const unsigned char reserved[] = { 0x82, 0xc1, 0x01 };
    /*  {"v": 1, "type": "BYE"} cut short. */
    static const unsigned char truncated[] = { 0x82, 0xa1, 0x76, 0x01, 0xa4, 0x74, 0x79, 0x70 };
    /*  A map32 that claims 4 billion entries. */
    static const unsigned char huge_map[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1 };
    /*  A str32 longer than the frame. */
    static const unsigned char huge_str[] = { 0x81, 0xdb, 0x7f, 0xff, 0xff, 0xff, 0x76 };
    /*  A valid BYE followed by 3 bytes. */
    static const unsigned char trailing[] = { 0x82, 0xa1, 0x76, 0x01, 0xa4, 0x74, 0x79, 0x70,
                                              0x65, 0xa3, 0x42, 0x59, 0x45, 0x01, 0x02, 0x03 };
    /*  Two maps back to back. */
    static const unsigned char two_maps[] = { 0x80, 0x80 };
    /*  Not a map: an array, a string, an int, nil. */
    static const unsigned char array[] = { 0x92, 0x01, 0x02 };
    static const unsigned char string[] = { 0xa5, 'H', 'E', 'L', 'L', 'O' };
    static const unsigned char integer[] = { 0x2a };
    static const unsigned char nil[] = { 0xc0 };
    /*  A bin where "type" should be a str. */
    static const unsigned char bin_type[] = { 0x82, 0xa1, 0x76, 0x01, 0xa4, 0x74, 0x79, 0x70,
                                              0x65, 0xc4, 0x03, 0x42, 0x59, 0x45 };
    /*  HELLO with a NUL in the name and slots = 2^32. */
    static const unsigned char bad_fields[] = {
        0x87, 0xa1, 0x76, 0x01, 0xa4, 't', 'y', 'p', 'e', 0xa5, 'H', 'E', 'L', 'L', 'O',
        0xa4, 'n', 'a', 'm', 'e', 0xa3, 'a', 0x00, 'b',
        0xa4, 'h', 'o', 's', 't', 0xa1, 'h',
        0xa3, 'p', 'i', 'd', 0x01,
        0xa5, 's', 'l', 'o', 't', 's', 0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0xa5, 'b', 'u', 'i', 'l', 'd', 0xa1, 'x' };
    /*  A duplicate "v". */
    static const unsigned char dup_key[] = { 0x83, 0xa1, 0x76, 0x01, 0xa1, 0x76, 0x01, 0xa4, 0x74,
                                             0x79, 0x70, 0x65, 0xa3, 0x42, 0x59, 0x45 };
    struct { const void *d; size_t n; } cases[] = {
        { reserved, sizeof reserved }, { truncated, sizeof truncated },
        { huge_map, sizeof huge_map }, { huge_str, sizeof huge_str },
        { trailing, sizeof trailing }, { two_maps, sizeof two_maps },
        { array, sizeof array }, { string, sizeof string }, { integer, sizeof integer },
        { nil, sizeof nil }, { bin_type, sizeof bin_type }, { bad_fields, sizeof bad_fields },
        { dup_key, sizeof dup_key }, { "", 0 },
    };
    int n = (int) (sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++)
        if (s_send_one (sock, cases[i].d, cases[i].n) != 0)
            return -1;
    /*  Nesting 64 deep: 64 x fixarray(1) around a nil. */
    unsigned char deep[66];
    deep[0] = 0x81;                    /* a map of one entry: key = the array */
    for (int i = 1; i < 65; i++)
        deep[i] = 0x91;
    deep[65] = 0xc0;
    if (s_send_one (sock, deep, sizeof deep) != 0)
        return -1;
    /*  An oversized frame (3 MiB of 0x80). */
    size_t big = 3u << 20;
    unsigned char *buf = malloc (big);
    if (!buf)
        return -1;
    memset (buf, 0x80, big);
    int rc = s_send_one (sock, buf, big);
    free (buf);
    if (rc != 0)
        return -1;
    printf ("sent %d malformed frames\n", n + 2);
    return 0;
}

static int
s_wrong_version (zsock_t *sock)
{
    /*  fixmap(2) {"v": <V>, "type": "HELLO"} for each bad V, plus a map
        without "v" and a v=1 map with an unknown type. */
    static const unsigned char versions[][10] = {
        { 1, 0x00 },                                 /* 0 */
        { 1, 0x02 },                                 /* 2 */
        { 2, 0xcc, 0xff },                           /* 255 */
        { 1, 0xff },                                 /* -1 */
        { 2, 0xa1, '1' },                            /* "1" */
        { 1, 0xc0 },                                 /* nil */
        { 9, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0 },   /* 1.0 */
        { 1, 0xc3 },                                 /* true */
        { 5, 0xce, 0x7f, 0xff, 0xff, 0xff },         /* 2^31-1 */
    };
    int sent = 0;
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        unsigned char buf[64];
        size_t n = 0;
        buf[n++] = 0x82;
        buf[n++] = 0xa1;
        buf[n++] = 'v';
        memcpy (buf + n, versions[i] + 1, versions[i][0]);
        n += versions[i][0];
        buf[n++] = 0xa4;
        memcpy (buf + n, "type", 4);
        n += 4;
        buf[n++] = 0xa5;
        memcpy (buf + n, "HELLO", 5);
        n += 5;
        if (s_send_one (sock, buf, n) != 0)
            return -1;
        sent++;
    }
    static const unsigned char no_v[] = { 0x81, 0xa4, 't', 'y', 'p', 'e', 0xa5, 'H', 'E', 'L', 'L', 'O' };
    static const unsigned char bad_type[] = { 0x82, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e',
                                              0xa4, 'H', 'E', 'L', 'O' };
    static const unsigned char lower_type[] = { 0x82, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e',
                                                0xa5, 'h', 'e', 'l', 'l', 'o' };
    if (s_send_one (sock, no_v, sizeof no_v) != 0
    ||  s_send_one (sock, bad_type, sizeof bad_type) != 0
    ||  s_send_one (sock, lower_type, sizeof lower_type) != 0)
        return -1;
    sent += 3;
    /*  A real HELLO re-stamped with v = 2: everything else is valid. */
    size_t size = 0;
    char *hello = s_hello ("garbage-v2", 2, &size);
    if (size > 4 && (unsigned char) hello[3] == 0x01) {
        hello[3] = 0x02;
        if (s_send_one (sock, hello, size) != 0) {
            free (hello);
            return -1;
        }
        sent++;
    }
    free (hello);
    printf ("sent %d wrong-version frames\n", sent);
    return 0;
}

static int
s_hello_flood (zsock_t *sock, int n)
{
    size_t size = 0;
    char *hello = s_hello ("fake-flood", 4, &size);
    int dropped = 0, unsent = 0;
    for (int i = 0; i < n; i++) {
        if (s_send_one (sock, hello, size) != 0) {
            if (zmq_errno () == EAGAIN) {
                unsent++;       /* no link: refused at the handshake (CURVE) */
                continue;
            }
            free (hello);
            return -1;
        }
        dropped += s_drain (sock);
        zclock_sleep (2);
    }
    free (hello);
    /*  Silence, still connected: the coordinator must notice on its own. */
    int64_t until = zclock_mono () + 2000;
    while (zclock_mono () < until) {
        dropped += s_drain (sock);
        zclock_sleep (20);
    }
    printf ("sent %d HELLOs (%d found no link), ignored %d coordinator messages\n", n - unsent,
            unsent, dropped);
    s_print_received ();
    return 0;
}

static int
s_multi_frame (zsock_t *sock, int n)
{
    size_t size = 0;
    char *hello = s_hello ("garbage-multi", 2, &size);
    unsigned char junk[32];
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < sizeof junk; j++)
            junk[j] = (unsigned char) s_rand ();
        int frames = 2 + i % 3;
        const void *d[4] = { hello, junk, junk, "" };
        size_t s[4] = { size, sizeof junk, (size_t) (s_rand () % sizeof junk), 0 };
        if (i % 5 == 4) {                 /* junk first, the HELLO last */
            d[0] = junk;
            s[0] = sizeof junk;
            d[frames - 1] = hello;
            s[frames - 1] = size;
        }
        if (s_send_frames (sock, d, s, frames) != 0) {
            free (hello);
            return -1;
        }
        s_drain (sock);
    }
    free (hello);
    printf ("sent %d multi-frame messages\n", n);
    return 0;
}

/*  A forged worker: HELLO, forged reports, and with `answer` an AUTH made
    from a wrong secret for each CHALLENGE. Reads for ms milliseconds. */
static int
s_forge (zsock_t *sock, bool answer, int ms)
{
    size_t size = 0;
    char *hello = s_hello_build ("forged", 4, "0.0-forged", &size);
    int rc = s_send_one (sock, hello, size);
    free (hello);
    bool conninfo = false;
    int64_t start = zclock_mono (), until = start + ms;
    bool reported = false;
    while (rc == 0 && zclock_mono () < until) {
        if (!reported && zclock_mono () - start > 300) {
            /*  Claims: every chunk it could name is done, with rows. */
            reported = true;
            for (int id = 0; id < 10 && rc == 0; id++) {
                protocol_msg_t m;
                protocol_msg_init (&m, PROTO_MSG_PROGRESS);
                m.chunk_id = id;
                m.attempt = 1;
                m.rows = 999;
                m.bytes = 999;
                char *d = s_encode (&m, &size);
                rc = s_send_one (sock, d, size);
                free (d);
                protocol_msg_init (&m, PROTO_MSG_DONE);
                m.chunk_id = id;
                m.attempt = 1;
                m.rows = 50000;
                m.checksum = 42;
                d = s_encode (&m, &size);
                if (rc == 0)
                    rc = s_send_one (sock, d, size);
                free (d);
            }
            protocol_msg_t hb;
            protocol_msg_init (&hb, PROTO_MSG_HEARTBEAT);
            char *d = s_encode (&hb, &size);
            if (rc == 0)
                rc = s_send_one (sock, d, size);
            free (d);
        }
        if (!(zsock_events (sock) & ZMQ_POLLIN)) {
            zclock_sleep (10);
            continue;
        }
        zframe_t *f = zframe_recv (sock);
        if (!f)
            break;
        protocol_msg_t m;
        memset (&m, 0, sizeof m);
        char err[256];
        if (protocol_decode (zframe_data (f), zframe_size (f), &m, err, sizeof err) != 0) {
            s_received[PROTO_MSG_INVALID]++;
            zframe_destroy (&f);
            continue;
        }
        s_received[m.type]++;
        if (m.type == PROTO_MSG_JOB && (m.job->source_conninfo || m.job->target_conninfo))
            conninfo = true;
        if (m.type == PROTO_MSG_CHALLENGE && answer) {
            protocol_msg_t a;
            protocol_msg_init (&a, PROTO_MSG_AUTH);
            char proof[AUTH_HEX_LEN + 1];
            auth_proof ("not-the-cluster-secret-at-all", m.nonce, "forged", "garbage-host",
                        getpid (), proof);
            a.proof = proof;
            char *d = s_encode (&a, &size);
            rc = s_send_one (sock, d, size);
            free (d);
        }
        protocol_msg_reset (&m);
        zframe_destroy (&f);
    }
    printf ("forged worker: %s\n", answer ? "answered with a wrong proof" : "no proof");
    s_print_received ();
    printf ("job-conninfo: %s\n", conninfo ? "yes" : "no");
    return rc;
}

/*  forge-done: admitted, then a DONE for every ASSIGN, never a commit. */
static int
s_forge_done (zsock_t *sock, int ms)
{
    size_t size = 0;
    char *hello = s_hello_build ("forger", 2, "0.0-forger", &size);
    int rc = s_send_one (sock, hello, size);
    free (hello);
    const char *secret = getenv (AUTH_ENV);
    int forged = 0;
    int64_t until = zclock_mono () + ms;
    while (rc == 0 && zclock_mono () < until) {
        if (!(zsock_events (sock) & ZMQ_POLLIN)) {
            zclock_sleep (10);
            continue;
        }
        zframe_t *f = zframe_recv (sock);
        if (!f)
            break;
        protocol_msg_t m;
        memset (&m, 0, sizeof m);
        char err[256];
        if (protocol_decode (zframe_data (f), zframe_size (f), &m, err, sizeof err) != 0) {
            s_received[PROTO_MSG_INVALID]++;
            zframe_destroy (&f);
            continue;
        }
        s_received[m.type]++;
        protocol_msg_t a;
        if (m.type == PROTO_MSG_CHALLENGE && secret) {
            protocol_msg_init (&a, PROTO_MSG_AUTH);
            char proof[AUTH_HEX_LEN + 1];
            auth_proof (secret, m.nonce, "forger", "garbage-host", getpid (), proof);
            a.proof = proof;
            char *d = s_encode (&a, &size);
            rc = s_send_one (sock, d, size);
            free (d);
        }
        else if (m.type == PROTO_MSG_ASSIGN) {
            protocol_msg_init (&a, PROTO_MSG_DONE);
            a.chunk_id = m.chunk_id;
            a.attempt = m.attempt;
            a.rows = 50000;
            a.bytes = 1000000;
            a.checksum = 42;
            char *d = s_encode (&a, &size);
            rc = s_send_one (sock, d, size);
            free (d);
            forged++;
        }
        protocol_msg_reset (&m);
        zframe_destroy (&f);
    }
    s_print_received ();
    printf ("forged DONE: %d\n", forged);
    return rc;
}

/*  FERRY_CURVE_KEY / FERRY_COORDINATOR_KEY: a CURVE client. 0, or -1. */
static int
s_curve (zsock_t *sock)
{
    const char *key = getenv ("FERRY_CURVE_KEY"), *server = getenv ("FERRY_COORDINATOR_KEY");
    if (!key || !server)
        return 0;
    char err[1024];
    zcert_t *cert = keygen_load_secret (key, "FERRY_CURVE_KEY", err, sizeof err);
    zcert_t *srv = cert ? keygen_load_public (server, "FERRY_COORDINATOR_KEY", err, sizeof err) : NULL;
    if (srv) {
        zcert_apply (cert, sock);
        zsock_set_curve_serverkey (sock, zcert_public_txt (srv));
        /*  A refused key leaves no link to send on: don't block for ever. */
        zsock_set_sndtimeo (sock, 10);
        printf ("CURVE client, key %s\n", zcert_public_txt (cert));
    }
    else
        fprintf (stderr, "ferry_zmq_garbage: %s\n", err);
    zcert_destroy (&cert);
    int rc = srv ? 0 : -1;
    zcert_destroy (&srv);
    return rc;
}

int
main (int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf (stderr, "usage: ferry_zmq_garbage ENDPOINT random-bytes|bad-msgpack|wrong-version|"
                 "hello-flood|multi-frame|forge|forge-wrong-proof|forge-done [N]\n");
        return 2;
    }
    const char *endpoint = argv[1], *mode = argv[2];
    int n = argc == 4 ? atoi (argv[3]) : 0;
    if (argc == 4 && n <= 0) {
        fprintf (stderr, "ferry_zmq_garbage: N must be a positive integer, got '%s'\n", argv[3]);
        return 2;
    }
    const char *seed_env = getenv ("FERRY_GARBAGE_SEED");
    s_rng = seed_env ? strtoull (seed_env, NULL, 10) : (uint64_t) zclock_time () ^ (uint64_t) getpid ();
    if (s_rng == 0)
        s_rng = 0x9E3779B97F4A7C15ull;
    printf ("ferry_zmq_garbage %s %s (seed %llu)\n", endpoint, mode, (unsigned long long) s_rng);

    zsys_handler_set (NULL);
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock || s_curve (sock) != 0 || zsock_connect (sock, "%s", endpoint) != 0) {
        fprintf (stderr, "ferry_zmq_garbage: cannot connect to %s\n", endpoint);
        zsock_destroy (&sock);
        return 1;
    }
    /*  Let queued frames go out before the socket closes, but never hang:
        a send that finds no link (a plain DEALER refused by a CURVE
        coordinator, whose link libzmq drops and dials again) gives up
        after 2 s instead of waiting for ever. */
    zsock_set_linger (sock, 2000);
    if (zsock_sndtimeo (sock) < 0)
        zsock_set_sndtimeo (sock, 2000);
    int rc;
    if (streq (mode, "random-bytes"))
        rc = s_random_bytes (sock, n ? n : 300);
    else if (streq (mode, "bad-msgpack"))
        rc = s_bad_msgpack (sock);
    else if (streq (mode, "wrong-version"))
        rc = s_wrong_version (sock);
    else if (streq (mode, "hello-flood"))
        rc = s_hello_flood (sock, n ? n : 500);
    else if (streq (mode, "multi-frame"))
        rc = s_multi_frame (sock, n ? n : 100);
    else if (streq (mode, "forge"))
        rc = s_forge (sock, false, n ? n : 3000);
    else if (streq (mode, "forge-wrong-proof"))
        rc = s_forge (sock, true, n ? n : 3000);
    else if (streq (mode, "forge-done"))
        rc = s_forge_done (sock, n ? n : 3000);
    else {
        fprintf (stderr, "ferry_zmq_garbage: unknown mode '%s'\n", mode);
        zsock_destroy (&sock);
        return 2;
    }
    if (rc != 0)
        fprintf (stderr, "ferry_zmq_garbage: %s: send failed: %s\n", mode, zmq_strerror (zmq_errno ()));
    /*  Give the last frames time to leave before closing. */
    zclock_sleep (200);
    zsock_destroy (&sock);
    zsys_shutdown ();
    return rc == 0 ? 0 : 1;
}
