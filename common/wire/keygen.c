/*  common/wire/keygen.c: see keygen.h. */
#include "keygen.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static bool
s_name_ok (const char *name)
{
    size_t n = strlen (name);
    if (n == 0 || n > 64 || name[0] == '.')
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
           || *p == '-' || *p == '_' || *p == '.'))
            return false;
    return n < 7 || strcmp (name + n - 7, "_secret") != 0;
}

static bool
s_zero_key (const char *z85)
{
    return !z85 || strspn (z85, "0") == strlen (z85);
}

int
keygen_write (const char *dir, const char *name, char *err, size_t errlen)
{
    if (!s_name_ok (name)) {
        snprintf (err, errlen, "--name '%s': use 1..64 characters of A-Z a-z 0-9 . _ - "
                  "(not starting with '.', not ending in _secret)", name);
        return -1;
    }
    struct stat st;
    if (stat (dir, &st) != 0) {
        if (errno != ENOENT || zsys_dir_create ("%s", dir) != 0 || chmod (dir, 0700) != 0) {
            snprintf (err, errlen, "%s: cannot create the directory: %s", dir, strerror (errno));
            return -1;
        }
    }
    else if (!S_ISDIR (st.st_mode)) {
        snprintf (err, errlen, "%s: not a directory", dir);
        return -1;
    }
    char *pub = util_strdupf ("%s/%s", dir, name);
    char *sec = util_strdupf ("%s/%s_secret", dir, name);
    int rc = -1;
    zcert_t *cert = NULL;
    if (stat (pub, &st) == 0 || stat (sec, &st) == 0) {
        snprintf (err, errlen, "%s or %s already exists; keys are never overwritten (remove "
                  "them first, or choose another --name)", pub, sec);
        goto cleanup;
    }
    cert = zcert_new ();
    if (!cert) {
        snprintf (err, errlen, "cannot make a CURVE key pair (libzmq without CURVE support?)");
        goto cleanup;
    }
    zcert_set_meta (cert, "name", "%s", name);
    zcert_set_meta (cert, "created-by", "ferry %s keygen", FERRY_VERSION);
    /*  The secret file is created 0600 (zcert_save_secret uses the private
        file mode); chmod again in case the umask or czmq differs. */
    if (zcert_save_secret (cert, sec) != 0 || chmod (sec, 0600) != 0) {
        snprintf (err, errlen, "%s: cannot write the secret certificate: %s", sec, strerror (errno));
        goto cleanup;
    }
    if (zcert_save_public (cert, pub) != 0) {
        snprintf (err, errlen, "%s: cannot write the public certificate: %s", pub, strerror (errno));
        remove (sec);
        goto cleanup;
    }
    chmod (pub, 0644);
    rc = 0;
cleanup:
    zcert_destroy (&cert);
    free (pub);
    free (sec);
    return rc;
}

static zcert_t *
s_load (const char *path, const char *what, char *err, size_t errlen)
{
    struct stat st;
    if (stat (path, &st) != 0) {
        snprintf (err, errlen, "%s %s: %s", what, path, strerror (errno));
        return NULL;
    }
    if (!S_ISREG (st.st_mode)) {
        snprintf (err, errlen, "%s %s: not a regular file", what, path);
        return NULL;
    }
    zcert_t *cert = zcert_load (path);
    if (!cert || s_zero_key (zcert_public_txt (cert))) {
        snprintf (err, errlen, "%s %s: not a CURVE certificate (make one with 'keygen DIR')",
                  what, path);
        zcert_destroy (&cert);
        return NULL;
    }
    return cert;
}

zcert_t *
keygen_load_secret (const char *path, const char *what, char *err, size_t errlen)
{
    zcert_t *cert = s_load (path, what, err, errlen);
    if (!cert)
        return NULL;
    struct stat st;
    if (stat (path, &st) == 0 && (st.st_mode & 0007)) {
        snprintf (err, errlen, "%s %s: the secret certificate is accessible to every user "
                  "(mode %03o); chmod 600 it", what, path, (unsigned) (st.st_mode & 0777));
        zcert_destroy (&cert);
        return NULL;
    }
    if (s_zero_key (zcert_secret_txt (cert))) {
        snprintf (err, errlen, "%s %s: holds no secret key (this is a public certificate; "
                  "give the NAME_secret file)", what, path);
        zcert_destroy (&cert);
        return NULL;
    }
    return cert;
}

zcert_t *
keygen_load_public (const char *path, const char *what, char *err, size_t errlen)
{
    return s_load (path, what, err, errlen);
}

static void
s_usage (FILE *out, const char *prog, const char *default_name)
{
    fprintf (out,
"Usage: %s keygen DIR [--name NAME]\n"
"\n"
"Writes a CURVE certificate pair for FERRY/1's encrypted control link, in\n"
"czmq's zcert format:\n"
"  DIR/NAME          the public certificate: give it to the other side\n"
"  DIR/NAME_secret   the secret certificate (mode 0600): keep it on this host\n"
"DIR is created (mode 0700) when missing; existing files are never overwritten.\n"
"\n"
"  --name NAME   the pair's name (default %s)\n"
"  -h, --help    this help\n"
"\n"
"The coordinator's job names its secret certificate (cluster.curve.secret_key)\n"
"and a directory holding the workers' public certificates\n"
"(cluster.curve.authorized_keys); each worker gets its own secret certificate\n"
"(--curve-key) and the coordinator's public one (--coordinator-key).\n",
             prog, default_name);
}

int
keygen_main (const char *prog, const char *default_name, int argc, char **argv)
{
    static struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "name", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 }
    };
    const char *name = default_name;
    optind = 1;
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': s_usage (stdout, prog, default_name); return 0;
        case 'n': name = optarg; break;
        default:
            fprintf (stderr, "Try '%s keygen --help'.\n", prog);
            return 2;
        }
    }
    if (argc - optind != 1) {
        fprintf (stderr, "%s keygen: expected one directory\nTry '%s keygen --help'.\n", prog, prog);
        return 2;
    }
    const char *dir = argv[optind];
    char err[1024];
    if (keygen_write (dir, name, err, sizeof err) != 0) {
        fprintf (stderr, "%s keygen: %s\n", prog, err);
        return strncmp (err, "--name", 6) == 0 ? 2 : 1;
    }
    char *path = util_strdupf ("%s/%s", dir, name);
    zcert_t *cert = zcert_load (path);
    printf ("public certificate: %s\nsecret certificate: %s_secret (mode 0600)\npublic key: %s\n",
            path, path, cert ? zcert_public_txt (cert) : "?");
    zcert_destroy (&cert);
    free (path);
    return 0;
}
