/*  tests/unit/test_endpoint.c: coordinator/endpoint: which binds are
    loopback (conninfos may travel in JOB only then: never for a wildcard,
    a routable address or a host name that merely starts with "127."), and
    the endpoint local workers connect to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "endpoint.h"

static void
test_is_local (void **state)
{
    (void) state;
    assert_true (endpoint_is_local ("tcp://127.0.0.1:5570"));
    assert_true (endpoint_is_local ("tcp://127.0.0.1:*"));
    assert_true (endpoint_is_local ("tcp://127.1.2.3:1"));
    assert_true (endpoint_is_local ("tcp://localhost:5570"));
    assert_true (endpoint_is_local ("tcp://[::1]:5570"));
    assert_true (endpoint_is_local ("ipc:///tmp/ferry.sock"));
    assert_true (endpoint_is_local ("inproc://x"));
    assert_false (endpoint_is_local ("tcp://0.0.0.0:5570"));       /* wildcard */
    assert_false (endpoint_is_local ("tcp://*:5570"));
    assert_false (endpoint_is_local ("tcp://10.0.0.5:5570"));
    assert_false (endpoint_is_local ("tcp://127.example.com:5570")); /* a host name */
    assert_false (endpoint_is_local ("tcp://localhost.evil.net:5570"));
    assert_false (endpoint_is_local ("tcp://[::]:5570"));
    assert_false (endpoint_is_local ("udp://127.0.0.1:1"));
    assert_false (endpoint_is_local (""));
}

static void
test_policy (void **state)
{
    (void) state;
    char err[1024] = "";
    bool send = false;
    /*  Loopback: conninfos travel. */
    assert_int_equal (endpoint_policy ("tcp://127.0.0.1:5570", false, false, &send, err,
                                       sizeof err), 0);
    assert_true (send);
    /*  Remote without CURVE: refused, naming both ways out. */
    send = true;
    assert_int_equal (endpoint_policy ("tcp://0.0.0.0:5570", false, false, &send, err,
                                       sizeof err), -1);
    assert_false (send);
    assert_non_null (strstr (err, "cluster.curve.secret_key"));
    assert_non_null (strstr (err, "cluster.insecure: true"));
    assert_non_null (strstr (err, "tcp://0.0.0.0:5570"));
    /*  Remote, insecure: allowed, but no conninfo ever travels. */
    send = true;
    assert_int_equal (endpoint_policy ("tcp://10.0.0.5:5570", false, true, &send, err,
                                       sizeof err), 0);
    assert_false (send);
    /*  CURVE: any bind, conninfos travel (encrypted, authenticated peers). */
    assert_int_equal (endpoint_policy ("tcp://*:5570", true, false, &send, err, sizeof err), 0);
    assert_true (send);
    assert_int_equal (endpoint_policy ("tcp://10.0.0.5:5570", true, true, &send, err,
                                       sizeof err), 0);
    assert_true (send);
}

static void
s_expect (const char *bind, int port, const char *want)
{
    char *got = endpoint_for_local_workers (bind, port);
    assert_string_equal (got, want);
    free (got);
}

static void
test_for_local_workers (void **state)
{
    (void) state;
    s_expect ("tcp://0.0.0.0:5570", 5570, "tcp://127.0.0.1:5570");
    s_expect ("tcp://*:*", 40123, "tcp://127.0.0.1:40123");
    s_expect ("tcp://127.0.0.1:*", 40123, "tcp://127.0.0.1:40123");
    s_expect ("tcp://10.0.0.5:5570", 5570, "tcp://10.0.0.5:5570");
    s_expect ("ipc:///tmp/f.sock", 0, "ipc:///tmp/f.sock");
}

/*  Which conninfos name servers on this host (the adaptive concurrency
    then watches this host's CPU). */
static void
test_pg_is_local (void **state)
{
    (void) state;
    assert_true (endpoint_pg_is_local ("dbname=x"));                  /* the default socket */
    assert_true (endpoint_pg_is_local ("host=/tmp port=5432"));
    assert_true (endpoint_pg_is_local ("host=localhost"));
    assert_true (endpoint_pg_is_local ("host=127.0.0.1 port=1"));
    assert_true (endpoint_pg_is_local ("host=::1"));
    assert_true (endpoint_pg_is_local ("postgresql://postgres@127.0.0.1:5433/postgres"));
    assert_true (endpoint_pg_is_local ("host=localhost,127.0.0.2"));
    assert_true (endpoint_pg_is_local ("host=db.example.org hostaddr=127.0.0.1"));
    assert_false (endpoint_pg_is_local ("host=10.0.0.5"));
    assert_false (endpoint_pg_is_local ("host=localhost,10.0.0.5"));
    assert_false (endpoint_pg_is_local ("postgresql://u:secret@db.example.org/x"));
    assert_false (endpoint_pg_is_local ("host=127.example.org"));
    assert_false (endpoint_pg_is_local ("host=localhost hostaddr=192.168.1.2"));
    assert_false (endpoint_pg_is_local ("this is = not 'a conninfo"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_pg_is_local),
        cmocka_unit_test (test_is_local),
        cmocka_unit_test (test_policy),
        cmocka_unit_test (test_for_local_workers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
