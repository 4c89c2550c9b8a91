/*  tests/unit/test_auth.c: common/auth: the proof is HMAC-SHA256 over
    NUL-separated parts (checked against a value computed with Python's
    hmac module), bound to the secret, the nonce, the worker name, host and
    pid; malformed proofs are refused; random hex is hex and fresh; the
    secret comes from FERRY_CLUSTER_SECRET before a file, files lose their
    trailing newline, and bad secrets are refused without echoing them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

#define SECRET "correct horse battery staple"
#define NONCE "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff"
/*  python3: hmac.new(SECRET, b"ferry-auth-1\0" + NONCE + b"\0w1\0host-a\0" b"4242\0",
    hashlib.sha256).hexdigest() */
#define PROOF "a36f9cedb42394ac4d765b3044f545b0d0b5dff36b68ca555946929709f8e768"

static void
test_proof_vector (void **state)
{
    (void) state;
    char out[AUTH_HEX_LEN + 1];
    auth_proof (SECRET, NONCE, "w1", "host-a", 4242, out);
    assert_string_equal (out, PROOF);
    assert_true (auth_proof_ok (SECRET, NONCE, "w1", "host-a", 4242, PROOF));
}

static void
test_proof_bound_to_inputs (void **state)
{
    (void) state;
    assert_false (auth_proof_ok ("correct horse battery stapler", NONCE, "w1", "host-a", 4242, PROOF));
    assert_false (auth_proof_ok (SECRET, "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00fe",
                                 "w1", "host-a", 4242, PROOF));
    assert_false (auth_proof_ok (SECRET, NONCE, "w2", "host-a", 4242, PROOF));
    assert_false (auth_proof_ok (SECRET, NONCE, "w1", "host-b", 4242, PROOF));
    assert_false (auth_proof_ok (SECRET, NONCE, "w1", "host-a", 4243, PROOF));
    /*  Parts are NUL-separated: moving a byte across a boundary changes it. */
    assert_false (auth_proof_ok (SECRET, NONCE, "w1h", "ost-a", 4242, PROOF));
    /*  Malformed proofs. */
    assert_false (auth_proof_ok (SECRET, NONCE, "w1", "host-a", 4242, NULL));
    assert_false (auth_proof_ok (SECRET, NONCE, "w1", "host-a", 4242, ""));
    assert_false (auth_proof_ok (SECRET, NONCE, "w1", "host-a", 4242,
                                 "a36f9cedb42394ac4d765b3044f545b0d0b5dff36b68ca555946929709f8e76"));
    assert_false (auth_proof_ok (SECRET, NONCE, "w1", "host-a", 4242, PROOF "0"));
    assert_false (auth_proof_ok (SECRET, NONCE, "w1", "host-a", 4242,
                                 "A36F9CEDB42394AC4D765B3044F545B0D0B5DFF36B68CA555946929709F8E768"));
}

static void
test_random_hex (void **state)
{
    (void) state;
    char a[AUTH_HEX_LEN + 1], b[AUTH_HEX_LEN + 1];
    assert_int_equal (auth_random_hex (a), 0);
    assert_int_equal (auth_random_hex (b), 0);
    assert_int_equal (strlen (a), AUTH_HEX_LEN);
    assert_int_equal (strspn (a, "0123456789abcdef"), AUTH_HEX_LEN);
    assert_string_not_equal (a, b);
}

static char *
s_write (const char *name, const void *data, size_t size)
{
    char *path = malloc (256);
    snprintf (path, 256, "%s/ferry-test-auth-%d-%s", getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp",
              (int) getpid (), name);
    FILE *f = fopen (path, "wb");
    assert_non_null (f);
    assert_int_equal (fwrite (data, 1, size, f), size);
    fclose (f);
    return path;
}

static void
test_secret_load (void **state)
{
    (void) state;
    char err[2048];
    char *secret = (char *) 1;
    unsetenv (AUTH_ENV);
    /*  Nothing configured. */
    assert_int_equal (auth_secret_load (NULL, &secret, err, sizeof err), 0);
    assert_null (secret);

    /*  A file: trailing newline and spaces go. */
    char *good = s_write ("good", "0123456789abcdef0123\r\n \n", 24);
    assert_int_equal (auth_secret_load (good, &secret, err, sizeof err), 1);
    assert_string_equal (secret, "0123456789abcdef0123");
    free (secret);
    assert_int_equal (auth_secret_read_file (good, &secret, err, sizeof err), 0);
    assert_string_equal (secret, "0123456789abcdef0123");
    free (secret);

    /*  The environment wins over the file. */
    setenv (AUTH_ENV, "from-the-environment-0123", 1);
    assert_int_equal (auth_secret_load (good, &secret, err, sizeof err), 1);
    assert_string_equal (secret, "from-the-environment-0123");
    free (secret);
    /*  Too short in the environment: refused, and not echoed. */
    setenv (AUTH_ENV, "short-secret", 1);
    assert_int_equal (auth_secret_load (good, &secret, err, sizeof err), -1);
    assert_null (secret);
    assert_non_null (strstr (err, "FERRY_CLUSTER_SECRET: the cluster secret must be 16..4096 bytes, got 12"));
    assert_null (strstr (err, "short-secret"));
    /*  Empty counts as unset. */
    setenv (AUTH_ENV, "", 1);
    assert_int_equal (auth_secret_load (NULL, &secret, err, sizeof err), 0);
    unsetenv (AUTH_ENV);

    /*  Bad files: missing, empty, a NUL, too long. */
    assert_int_equal (auth_secret_load ("/nonexistent/ferry-secret", &secret, err, sizeof err), -1);
    assert_non_null (strstr (err, "cluster secret file /nonexistent/ferry-secret: No such file"));
    char *empty = s_write ("empty", "\n", 1);
    assert_int_equal (auth_secret_load (empty, &secret, err, sizeof err), -1);
    assert_non_null (strstr (err, "must be 16..4096 bytes, got 0"));
    char *nul = s_write ("nul", "0123456789\0abcdef0123", 21);
    assert_int_equal (auth_secret_load (nul, &secret, err, sizeof err), -1);
    assert_non_null (strstr (err, "contains a NUL byte"));
    char *big = malloc (5000);
    memset (big, 'x', 5000);
    char *huge = s_write ("huge", big, 5000);
    assert_int_equal (auth_secret_read_file (huge, &secret, err, sizeof err), -1);
    assert_non_null (strstr (err, "must be 16..4096 bytes"));
    assert_null (secret);
    unlink (good); unlink (empty); unlink (nul); unlink (huge);
    free (good); free (empty); free (nul); free (huge); free (big);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_proof_vector),
        cmocka_unit_test (test_proof_bound_to_inputs),
        cmocka_unit_test (test_random_hex),
        cmocka_unit_test (test_secret_load),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
