/*  common/wire/auth.c: see auth.h. */
#include "auth.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void
s_hex (const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = 0;
}

int
auth_random_hex (char out[AUTH_HEX_LEN + 1])
{
    unsigned char bytes[AUTH_HEX_LEN / 2];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom (bytes + got, sizeof bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t) n;
    }
    s_hex (bytes, sizeof bytes, out);
    return 0;
}

static int
s_check (const char *secret, size_t len, const char *where, char *err, size_t errlen)
{
    if (len < AUTH_SECRET_MIN || len > AUTH_SECRET_MAX) {
        char got[32];
        if (len > AUTH_SECRET_MAX)
            snprintf (got, sizeof got, "more than %d", AUTH_SECRET_MAX);
        else
            snprintf (got, sizeof got, "%zu", len);
        snprintf (err, errlen, "%s: the cluster secret must be %d..%d bytes, got %s "
                  "(e.g. make one with: openssl rand -hex 32)", where, AUTH_SECRET_MIN,
                  AUTH_SECRET_MAX, got);
        return -1;
    }
    if (strlen (secret) != len) {
        snprintf (err, errlen, "%s: the cluster secret contains a NUL byte", where);
        return -1;
    }
    return 0;
}

int
auth_secret_load (const char *file, char **secret, char *err, size_t errlen)
{
    *secret = NULL;
    const char *env = getenv (AUTH_ENV);
    if (env && *env) {
        if (s_check (env, strlen (env), AUTH_ENV, err, errlen) != 0)
            return -1;
        *secret = xstrdup (env);
        return 1;
    }
    if (!file)
        return 0;
    return auth_secret_read_file (file, secret, err, errlen) == 0 ? 1 : -1;
}

int
auth_secret_read_file (const char *file, char **secret, char *err, size_t errlen)
{
    *secret = NULL;
    FILE *f = fopen (file, "rb");
    if (!f) {
        snprintf (err, errlen, "cluster secret file %s: %s", file, strerror (errno));
        return -1;
    }
    char *buf = xmalloc (AUTH_SECRET_MAX + 2);
    size_t len = fread (buf, 1, AUTH_SECRET_MAX + 2, f);
    bool bad = ferror (f);
    fclose (f);
    if (bad) {
        snprintf (err, errlen, "cluster secret file %s: read error", file);
        free (buf);
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '
                    || buf[len - 1] == '\t'))
        len--;
    buf[len < AUTH_SECRET_MAX + 1 ? len : AUTH_SECRET_MAX + 1] = 0;
    char where[1100];
    snprintf (where, sizeof where, "cluster secret file %s", file);
    if (s_check (buf, len, where, err, errlen) != 0) {
        explicit_bzero (buf, AUTH_SECRET_MAX + 2);
        free (buf);
        return -1;
    }
    *secret = xstrdup (buf);
    explicit_bzero (buf, AUTH_SECRET_MAX + 2);
    free (buf);
    return 0;
}

void
auth_proof (const char *secret, const char *nonce, const char *name, const char *host,
            int64_t pid, char out[AUTH_HEX_LEN + 1])
{
    char pidtext[24];
    snprintf (pidtext, sizeof pidtext, "%" PRId64, pid);
    /*  Each part NUL-terminated, so ("ab", "c") and ("a", "bc") differ. */
    const char *parts[] = { "ferry-auth-1", nonce, name, host, pidtext };
    size_t total = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        total += strlen (parts[i]) + 1;
    unsigned char *data = xmalloc (total);
    size_t o = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t n = strlen (parts[i]) + 1;
        memcpy (data + o, parts[i], n);
        o += n;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    unsigned char *r = HMAC (EVP_sha256 (), secret, (int) strlen (secret), data, total,
                             mac, &maclen);
    FERRY_ASSERT (r && maclen == AUTH_HEX_LEN / 2);
    s_hex (mac, maclen, out);
    free (data);
}

bool
auth_proof_ok (const char *secret, const char *nonce, const char *name, const char *host,
               int64_t pid, const char *proof)
{
    if (!proof || strlen (proof) != AUTH_HEX_LEN)
        return false;
    char want[AUTH_HEX_LEN + 1];
    auth_proof (secret, nonce, name, host, pid, want);
    return CRYPTO_memcmp (want, proof, AUTH_HEX_LEN) == 0;
}

void
auth_thread_done (void)
{
    OPENSSL_thread_stop ();
}
