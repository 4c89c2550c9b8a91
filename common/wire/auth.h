/*  common/wire/auth.h: the cluster secret and FERRY/1's challenge-response.

    Until the control link is encrypted (CURVE, a later issue), a worker
    proves that it belongs to the run by showing it knows the cluster
    secret, without sending it:

        W -> C  HELLO      name, host, pid, ...
        C -> W  CHALLENGE  nonce: 32 fresh random bytes, hex (one per HELLO)
        W -> C  AUTH       proof: hex HMAC-SHA256 (secret, "ferry-auth-1" NUL
                           nonce NUL name NUL host NUL pid-in-decimal)
        C -> W  JOB        only after a matching proof

    The secret comes from the coordinator's environment (a random one per
    run for the local workers it spawns, or FERRY_CLUSTER_SECRET /
    cluster.secret_file set by the operator for external workers), never
    from the network, argv or logs. This module is pure apart from the
    random source and the file read; docs/PROTOCOL.md, "Authentication". */
#ifndef FERRY_AUTH_H
#define FERRY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_HEX_LEN 64                     /* nonces, proofs, generated secrets */
#define AUTH_SECRET_MAX 4096                /* bytes of a configured secret */
#define AUTH_SECRET_MIN 16
#define AUTH_ENV "FERRY_CLUSTER_SECRET"

/*  Fills out with AUTH_HEX_LEN hex characters (32 random bytes from the
    kernel, getrandom) and a NUL. Returns 0, or -1 (errno set) if the
    kernel has no randomness to give. */
int auth_random_hex (char out[AUTH_HEX_LEN + 1]);

/*  The operator's secret: FERRY_CLUSTER_SECRET when set and non-empty,
    else the contents of `file` (may be NULL) without trailing newlines or
    spaces. Returns 1 with *secret (caller frees), 0 when neither is set,
    -1 on error (unreadable or empty file, a secret shorter than
    AUTH_SECRET_MIN or longer than AUTH_SECRET_MAX bytes, or holding NUL),
    the reason in err; the secret itself never appears in err. */
int auth_secret_load (const char *file, char **secret, char *err, size_t errlen);

/*  The secret in `file`, without trailing newlines or spaces, checked as
    above. 0 with *secret (caller frees), or -1 with the reason in err. */
int auth_secret_read_file (const char *file, char **secret, char *err, size_t errlen);

/*  The proof for one challenge, AUTH_HEX_LEN hex characters and a NUL.
    Can't fail. */
void auth_proof (const char *secret, const char *nonce, const char *name, const char *host,
                 int64_t pid, char out[AUTH_HEX_LEN + 1]);

/*  True when `proof` (untrusted, may be NULL) is the proof for these
    inputs; compares in constant time. */
bool auth_proof_ok (const char *secret, const char *nonce, const char *name, const char *host,
                    int64_t pid, const char *proof);

/*  Frees the calling thread's OpenSSL state (HMAC here; libpq's SCRAM
    and TLS use OpenSSL too). OpenSSL frees it by itself when a thread
    ends, but a thread whose end races the process's exit (a czmq actor
    signals its end before its thread is gone) could have that run during
    or after OPENSSL_cleanup: a leak or a double free. Threads that talked
    to a server call this last, before they signal that they ended. */
void auth_thread_done (void);

#endif
