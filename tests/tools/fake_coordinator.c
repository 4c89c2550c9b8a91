/*  tests/tools/fake_coordinator.c: a coordinator that sends one hostile
    JOB, for tests/integration/worker_bad_job.sh.

        ferry_fake_coordinator MODE TARGET_CONNINFO TABLE CSV_PATH

    Creates schema ferry in the target (the ledger), binds a ROUTER to
    tcp://127.0.0.1:* and prints "endpoint tcp://..." on stdout. On the first HELLO it answers with a csv JOB for run "badjob"
    (COPY into TABLE, file columns a, b, target_conninfo given: the link
    is loopback), packed by hand so that protocol_encode's own checks
    cannot refuse it, then ASSIGNs chunk 0: the whole of CSV_PATH. MODE
    spoils the JOB:
        delim-eq-quote   csv_delimiter = csv_quote = '"'
        delim-newline    csv_delimiter = '\n'
        processors-65    processors = 65
        ok               nothing (a control)
    Every message from the worker is printed ("recv TYPE", and for FAILED
    "recv FAILED <sqlstate> <message>"). At the first DONE or FAILED it
    sends STOP and waits for BYE. Gives up after 30 s without an answer.
    Exit status: 0 when it got DONE or FAILED and then BYE; 1 otherwise
    (no worker, the worker vanished, no BYE); 2 on a bad command line. */
#include "pg.h"
#include "protocol.h"
#include "schema.h"
#include "util.h"

#include <czmq.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void
s_str (msgpack_packer *pk, const char *s)
{
    size_t n = strlen (s);
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, s, n);
}

static void
s_kv_str (msgpack_packer *pk, const char *k, const char *v)
{
    s_str (pk, k);
    s_str (pk, v);
}

static void
s_kv_int (msgpack_packer *pk, const char *k, int64_t v)
{
    s_str (pk, k);
    msgpack_pack_int64 (pk, v);
}

static void
s_kv_double (msgpack_packer *pk, const char *k, double v)
{
    s_str (pk, k);
    msgpack_pack_double (pk, v);
}

/*  Sends one FERRY/1 frame to the peer `id`. */
static int
s_send (zsock_t *router, zframe_t *id, msgpack_sbuffer *sb)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, zframe_data (id), zframe_size (id));
    zmsg_addmem (msg, sb->data, sb->size);
    int rc = zmsg_send (&msg, router);
    zmsg_destroy (&msg);
    return rc;
}

static int
s_send_job (zsock_t *router, zframe_t *id, const char *mode, const char *conninfo,
            const char *table)
{
    int delimiter = ',', quote = '"', processors = 2;
    if (strcmp (mode, "delim-eq-quote") == 0)
        delimiter = '"';
    else if (strcmp (mode, "delim-newline") == 0)
        delimiter = '\n';
    else if (strcmp (mode, "processors-65") == 0)
        processors = 65;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    s_kv_int (&pk, "v", 1);
    s_kv_str (&pk, "type", "JOB");
    s_kv_str (&pk, "run_id", "badjob");
    s_str (&pk, "job");
    msgpack_pack_map (&pk, 18);
    s_kv_str (&pk, "source_kind", "csv");
    s_kv_str (&pk, "target_conninfo", conninfo);
    s_kv_str (&pk, "copy_table", table);
    s_kv_str (&pk, "final_table", table);
    s_kv_int (&pk, "processors", processors);
    s_kv_int (&pk, "raw_queue_max", 4);
    s_kv_int (&pk, "processed_queue_max", 4);
    s_kv_int (&pk, "read_buffer", 65536);
    s_kv_int (&pk, "batch_size", 100);
    s_kv_int (&pk, "max_retries", 0);
    s_kv_double (&pk, "initial_delay", 0.1);
    s_kv_double (&pk, "backoff", 2);
    s_kv_double (&pk, "max_delay", 1);
    s_kv_int (&pk, "csv_delimiter", delimiter);
    s_kv_int (&pk, "csv_quote", quote);
    s_kv_int (&pk, "csv_escape", quote);
    s_kv_str (&pk, "csv_columns", "a\x1f" "b");
    s_kv_str (&pk, "csv_encoding", "UTF8");
    s_kv_int (&pk, "heartbeat_ms", 500);
    s_kv_int (&pk, "liveness", 10);
    int rc = s_send (router, id, &sb);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

static int
s_send_simple (zsock_t *router, zframe_t *id, const protocol_msg_t *m)
{
    char *data = NULL;
    size_t size = 0;
    char err[256];
    if (protocol_encode (m, &data, &size, err, sizeof err) != 0) {
        fprintf (stderr, "fake coordinator: %s\n", err);
        return -1;
    }
    msgpack_sbuffer sb = { .size = size, .data = data, .alloc = size };
    int rc = s_send (router, id, &sb);
    free (data);
    return rc;
}

int
main (int argc, char **argv)
{
    if (argc != 5) {
        fprintf (stderr, "usage: ferry_fake_coordinator MODE TARGET_CONNINFO TABLE CSV_PATH\n");
        return 2;
    }
    const char *mode = argv[1], *conninfo = argv[2], *table = argv[3], *path = argv[4];
    struct stat st;
    if (stat (path, &st) != 0) {
        fprintf (stderr, "fake coordinator: cannot stat %s\n", path);
        return 2;
    }
    /*  The ledger a worker looks in before it reads a byte. */
    pg_conn_t *conn = pg_conn_new (conninfo, "target");
    int src = pg_connect (conn, NULL, NULL) == 0 ? schema_ensure (conn) : -1;
    pg_conn_destroy (&conn);
    if (src != 0) {
        fprintf (stderr, "fake coordinator: cannot create schema ferry in the target\n");
        return 1;
    }
    zsys_handler_set (NULL);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = router ? zsock_bind (router, "tcp://127.0.0.1:*") : -1;
    if (port < 0) {
        fprintf (stderr, "fake coordinator: cannot bind\n");
        zsock_destroy (&router);
        return 1;
    }
    printf ("endpoint tcp://127.0.0.1:%d\n", port);
    fflush (stdout);
    zframe_t *peer = NULL;
    bool answered = false, bye = false;
    int64_t deadline = util_now_ms () + 30000;
    zpoller_t *poller = zpoller_new (router, NULL);
    while (!bye && util_now_ms () < deadline) {
        if (!zpoller_wait (poller, 200))
            continue;
        zmsg_t *msg = zmsg_recv (router);
        if (!msg)
            break;
        zframe_t *id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        protocol_msg_t m;
        memset (&m, 0, sizeof m);
        char err[256];
        if (id && body
        &&  protocol_decode (zframe_data (body), zframe_size (body), &m, err, sizeof err) == 0) {
            if (m.type == PROTO_MSG_FAILED)
                printf ("recv FAILED %s %s\n", m.sqlstate, m.message ? m.message : "");
            else
                printf ("recv %s\n", protocol_type_name (m.type));
            fflush (stdout);
            if (m.type == PROTO_MSG_HELLO && !peer) {
                peer = zframe_dup (id);
                protocol_msg_t a;
                protocol_msg_init (&a, PROTO_MSG_ASSIGN);
                a.chunk_id = 0;
                a.attempt = 1;
                a.path = (char *) path;
                a.offset = 0;
                a.length = (int64_t) st.st_size;
                a.first_line = 1;
                if (s_send_job (router, peer, mode, conninfo, table) != 0
                ||  s_send_simple (router, peer, &a) != 0)
                    fprintf (stderr, "fake coordinator: send failed\n");
                deadline = util_now_ms () + 30000;
            }
            else if ((m.type == PROTO_MSG_DONE || m.type == PROTO_MSG_FAILED) && peer && !answered) {
                answered = true;
                protocol_msg_t s;
                protocol_msg_init (&s, PROTO_MSG_STOP);
                s.reason = (char *) "test over";
                if (s_send_simple (router, peer, &s) != 0)
                    fprintf (stderr, "fake coordinator: send failed\n");
            }
            else if (m.type == PROTO_MSG_BYE)
                bye = true;
            protocol_msg_reset (&m);
        }
        else if (id && body)
            printf ("recv undecodable: %s\n", err);
        zframe_destroy (&id);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zframe_destroy (&peer);
    zsock_destroy (&router);
    printf ("%s\n", answered && bye ? "over" : "gave up");
    return answered && bye ? 0 : 1;
}
