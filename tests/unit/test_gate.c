/*  tests/unit/test_gate.c: coordinator/gate: a HELLO gets a fresh nonce;
    only the proof for that nonce, name, host and pid passes; a wrong
    proof rejects the link for good (no second try on it); AUTH without
    HELLO, a proof for an older nonce (replay) or for another name fail;
    expiry reports an unanswered challenge once and a late right proof
    still counts; "logged" survives a HELLO again; the table is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gate.h"

#define SECRET "0123456789abcdef-the-cluster-secret"

static protocol_msg_t
s_hello (const char *name, int64_t pid)
{
    protocol_msg_t m;
    protocol_msg_init (&m, PROTO_MSG_HELLO);
    m.name = (char *) name;
    m.host = (char *) "host-a";
    m.pid = pid;
    m.slots = 3;
    m.build = (char *) "0.1.0";
    return m;           /* borrowed strings: never reset */
}

static void
s_proof (const char *secret, const gate_peer_t *p, const char *name, char *out)
{
    auth_proof (secret, p->nonce, name, "host-a", p->pid, out);
}

static void
test_prove (void **state)
{
    (void) state;
    gate_t *g = gate_new (SECRET);
    protocol_msg_t h = s_hello ("w1", 77);
    gate_peer_t *p = gate_hello (g, "\0\1\2\3\4", 5, &h, "10.0.0.9", 1000);
    assert_non_null (p);
    assert_int_equal (p->state, GATE_CHALLENGED);
    assert_int_equal (strlen (p->nonce), AUTH_HEX_LEN);
    assert_string_equal (p->addr, "10.0.0.9");
    char proof[AUTH_HEX_LEN + 1];
    s_proof (SECRET, p, "w1", proof);

    /*  Another link cannot use this link's challenge. */
    protocol_msg_t out;
    gate_peer_t *peer = (gate_peer_t *) 1;
    assert_int_equal (gate_auth (g, "\0\1\2\3\5", 5, proof, &out, &peer), 0);
    assert_null (peer);

    assert_int_equal (gate_auth (g, "\0\1\2\3\4", 5, proof, &out, &peer), 1);
    assert_string_equal (out.name, "w1");
    assert_string_equal (out.host, "host-a");
    assert_string_equal (out.build, "0.1.0");
    assert_int_equal (out.pid, 77);
    assert_int_equal (out.slots, 3);
    protocol_msg_reset (&out);
    assert_int_equal (gate_size (g), 0);
    /*  Proven once: the same proof again has nothing to answer. */
    assert_int_equal (gate_auth (g, "\0\1\2\3\4", 5, proof, &out, NULL), 0);
    gate_destroy (&g);
    assert_null (g);
}

static void
test_wrong_and_replay (void **state)
{
    (void) state;
    gate_t *g = gate_new (SECRET);
    protocol_msg_t h = s_hello ("w1", 77);
    protocol_msg_t out;
    char proof[AUTH_HEX_LEN + 1];

    /*  A wrong secret: rejected, and the link gets no second try. */
    gate_peer_t *p = gate_hello (g, "A", 1, &h, NULL, 0);
    s_proof ("not the secret at all", p, "w1", proof);
    gate_peer_t *peer = NULL;
    assert_int_equal (gate_auth (g, "A", 1, proof, &out, &peer), -1);
    assert_ptr_equal (peer, p);
    assert_int_equal (p->state, GATE_REJECTED);
    s_proof (SECRET, p, "w1", proof);
    assert_int_equal (gate_auth (g, "A", 1, proof, &out, &peer), 0);
    assert_ptr_equal (peer, p);
    peer->logged = true;

    /*  HELLO again on that link: a new nonce; the logged mark stays; a
        proof for the old nonce (a replay) fails. */
    char old[AUTH_HEX_LEN + 1];
    memcpy (old, p->nonce, sizeof old);
    p = gate_hello (g, "A", 1, &h, NULL, 10);
    assert_string_not_equal (p->nonce, old);
    assert_true (p->logged);
    assert_int_equal (gate_auth (g, "A", 1, proof, &out, NULL), -1);

    /*  A proof made for another name (or of the right form but forged)
        fails too. */
    p = gate_hello (g, "B", 1, &h, NULL, 20);
    s_proof (SECRET, p, "w2", proof);
    assert_int_equal (gate_auth (g, "B", 1, proof, &out, NULL), -1);
    p = gate_hello (g, "C", 1, &h, NULL, 20);
    assert_int_equal (gate_auth (g, "C", 1, "zz", &out, NULL), -1);
    p = gate_hello (g, "D", 1, &h, NULL, 20);
    assert_int_equal (gate_auth (g, "D", 1, NULL, &out, NULL), -1);
    /*  AUTH without HELLO. */
    assert_int_equal (gate_auth (g, "E", 1, proof, &out, NULL), 0);
    assert_null (gate_find (g, "E", 1));
    gate_forget (g, "A", 1);
    assert_null (gate_find (g, "A", 1));
    gate_destroy (&g);
}

static void
test_expire_and_bound (void **state)
{
    (void) state;
    gate_t *g = gate_new (SECRET);
    protocol_msg_t h = s_hello ("slow", 5);
    gate_peer_t *p = gate_hello (g, "S", 1, &h, NULL, 1000);
    assert_null (gate_expire (g, 1500, 1000));
    assert_ptr_equal (gate_expire (g, 2001, 1000), p);
    assert_null (gate_expire (g, 5000, 1000));          /* once */
    char proof[AUTH_HEX_LEN + 1];
    s_proof (SECRET, p, "slow", proof);
    protocol_msg_t out;
    assert_int_equal (gate_auth (g, "S", 1, proof, &out, NULL), 1);   /* late but right */
    protocol_msg_reset (&out);

    /*  Many links: bounded; rejected records go first. */
    unsigned char id[4] = { 1, 0, 0, 0 };
    for (int i = 0; i < 3 * GATE_MAX; i++) {
        memcpy (id + 1, &i, 3);
        p = gate_hello (g, id, sizeof id, &h, "x", i);
        assert_non_null (p);
        if (i == 0)
            assert_int_equal (gate_auth (g, id, sizeof id, "bad", &out, NULL), -1);
        assert_true (gate_size (g) <= GATE_MAX);
    }
    assert_int_equal (gate_size (g), GATE_MAX);
    /*  An oversized routing id is refused. */
    unsigned char big[300] = { 0 };
    assert_null (gate_hello (g, big, sizeof big, &h, NULL, 0));
    gate_destroy (&g);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_prove),
        cmocka_unit_test (test_wrong_and_replay),
        cmocka_unit_test (test_expire_and_bound),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
