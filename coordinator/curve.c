/*  coordinator/curve.c: see curve.h. */
#include "curve.h"
#include "endpoint.h"
#include "run.h"
#include "handshake.h"
#include "keygen.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct curve_t {
    zcert_t *cert;             /* the coordinator's, with its secret key */
    zactor_t *auth;            /* zauth */
    handshake_t *watch;
    char *tmpdir;              /* local workers' keys, or NULL */
    char *local_key;           /* tmpdir/local-workers_secret */
    char *coord_public;        /* tmpdir/coordinator */
    char *auth_dir;            /* tmpdir/authorized: what zauth reads then */
};

static int
s_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

/*  Copies every regular file of `from` into `to`. 0, or -1 with err. */
static int
s_copy_dir (const char *from, const char *to, char *err, size_t errlen)
{
    DIR *d = opendir (from);
    if (!d) {
        snprintf (err, errlen, "cluster.curve.authorized_keys %s: %s", from, strerror (errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir (d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *src = util_strdupf ("%s/%s", from, e->d_name);
        char *dst = util_strdupf ("%s/%s", to, e->d_name);
        struct stat st;
        zfile_t *f = NULL;
        if (stat (src, &st) == 0 && S_ISREG (st.st_mode)) {
            f = zfile_new (NULL, src);
            if (!f || zfile_input (f) != 0)
                rc = -1;
            else {
                zchunk_t *data = zfile_read (f, (size_t) st.st_size, 0);
                FILE *out = fopen (dst, "w");
                if (!out || !data || fwrite (zchunk_data (data), 1, zchunk_size (data), out)
                                     != zchunk_size (data))
                    rc = -1;
                if (out && fclose (out) != 0)
                    rc = -1;
                zchunk_destroy (&data);
            }
            if (rc)
                snprintf (err, errlen, "cannot copy %s for the local workers: %s", src,
                          strerror (errno));
        }
        zfile_destroy (&f);
        free (src);
        free (dst);
    }
    closedir (d);
    return rc;
}

/*  The run's key pair for local workers, and the authorized directory
    zauth reads: a copy of authorized_keys plus their public key. Returns
    that directory (borrowed, lives as long as self), or NULL with err. */
static const char *
s_local_keys (curve_t *self, const char *authorized, char *err, size_t errlen)
{
    const char *base = getenv ("TMPDIR");
    char *templ = util_strdupf ("%s/ferry-curve-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp (templ)) {
        snprintf (err, errlen, "cannot make a private directory for the local workers' keys "
                  "(%s): %s", templ, strerror (errno));
        free (templ);
        return NULL;
    }
    self->tmpdir = templ;
    char *auth_dir = self->auth_dir = util_strdupf ("%s/authorized", templ);
    char *local_pub = util_strdupf ("%s/local-workers", auth_dir);
    self->local_key = util_strdupf ("%s/local-workers_secret", templ);
    self->coord_public = util_strdupf ("%s/coordinator", templ);
    zcert_t *local = zcert_new ();
    int rc = -1;
    if (mkdir (auth_dir, 0700) != 0)
        snprintf (err, errlen, "%s: %s", auth_dir, strerror (errno));
    else if (s_copy_dir (authorized, auth_dir, err, errlen) != 0)
        ;
    else if (!local || zcert_save_public (local, local_pub) != 0
         ||  zcert_save_secret (local, self->local_key) != 0 || chmod (self->local_key, 0600) != 0
         ||  zcert_save_public (self->cert, self->coord_public) != 0)
        snprintf (err, errlen, "cannot write the local workers' keys in %s: %s", templ,
                  strerror (errno));
    else
        rc = 0;
    zcert_destroy (&local);
    free (local_pub);
    return rc == 0 ? auth_dir : NULL;
}

curve_t *
curve_new (const char *secret_key, const char *authorized_keys, bool local_workers,
           char *err, size_t errlen)
{
    if (!zsys_has_curve ()) {
        snprintf (err, errlen, "cluster.curve: this libzmq was built without CURVE support");
        return NULL;
    }
    curve_t *self = xcalloc (1, sizeof *self);
    self->cert = keygen_load_secret (secret_key, "cluster.curve.secret_key", err, errlen);
    if (!self->cert) {
        curve_destroy (&self);
        return NULL;
    }
    struct stat st;
    int found = stat (authorized_keys, &st);
    if (found != 0 || !S_ISDIR (st.st_mode)) {
        snprintf (err, errlen, "cluster.curve.authorized_keys %s: %s (a directory of the "
                  "workers' public certificates)", authorized_keys,
                  found != 0 ? strerror (errno) : "not a directory");
        curve_destroy (&self);
        return NULL;
    }
    const char *location = authorized_keys;
    if (local_workers && !(location = s_local_keys (self, authorized_keys, err, errlen))) {
        curve_destroy (&self);
        return NULL;
    }
    self->auth = zactor_new (zauth, NULL);
    if (!self->auth || zstr_sendx (self->auth, "CURVE", location, NULL) != 0
    ||  zsock_wait (self->auth) != 0) {
        snprintf (err, errlen, "cannot start the ZAP handler (zauth)");
        curve_destroy (&self);
        return NULL;
    }
    log_info ("CURVE on: the control link is encrypted; workers are authorized by their key "
              "in %s", authorized_keys);
    return self;
}

int
curve_serve (curve_t *self, zsock_t *router, char *err, size_t errlen)
{
    zsock_set_zap_domain (router, "ferry");
    zcert_apply (self->cert, router);
    zsock_set_curve_server (router, 1);
    self->watch = handshake_new (router);
    if (!self->watch) {
        snprintf (err, errlen, "cannot watch the handshakes of the ROUTER socket");
        return -1;
    }
    return 0;
}

const char *
curve_local_key (curve_t *self)
{
    return self->local_key;
}

const char *
curve_coordinator_public (curve_t *self)
{
    return self->coord_public;
}

void
curve_destroy (curve_t **self_p)
{
    if (*self_p) {
        curve_t *self = *self_p;
        handshake_destroy (&self->watch);
        zactor_destroy (&self->auth);
        zcert_destroy (&self->cert);
        if (self->tmpdir)
            nftw (self->tmpdir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
        free (self->tmpdir);
        free (self->local_key);
        free (self->coord_public);
        free (self->auth_dir);
        free (self);
        *self_p = NULL;
    }
}

int
curve_run_setup (run_t *r, char *message, size_t size)
{
    const char *key = r->cfg->cluster.curve_secret_key;
    if (endpoint_policy (r->cfg->cluster.bind, key != NULL, r->cfg->cluster.insecure,
                         &r->send_conninfo, message, size) != 0) {
        log_error ("%s", message);
        return -1;
    }
    if (!key)
        return 0;
    r->curve = curve_new (key, r->cfg->cluster.curve_authorized_keys,
                          r->args->local_workers > 0, message, size);
    if (!r->curve || curve_serve (r->curve, r->router, message, size) != 0) {
        log_error ("%s", message);
        return -1;
    }
    return 0;
}
