/*  common/wire/keygen.h: CURVE certificates for FERRY/1's control link, in
    czmq's zcert format (docs/PROTOCOL.md, "Security").

    A pair is two files: DIR/NAME, the public certificate (give it to the
    other side), and DIR/NAME_secret, the secret one (mode 0600, never
    leaves the host). `keygen DIR [--name NAME]` writes one pair; loading
    checks that a secret certificate holds a secret key and is not
    readable by everybody. Knows nothing of roles: the caller names the
    program and the default name. */
#ifndef FERRY_KEYGEN_H
#define FERRY_KEYGEN_H

#include <czmq.h>
#include <stddef.h>

/*  The `keygen` subcommand: argv[0] is "keygen". Parses DIR and --name,
    writes the pair, prints both paths and the public key. `prog` names
    the program in messages and help, `default_name` is the name without
    --name. Returns an exit code (0, 2 usage, 1 cannot write). */
int keygen_main (const char *prog, const char *default_name, int argc, char **argv);

/*  Writes DIR/NAME and DIR/NAME_secret (DIR and its parents are created
    when missing, DIR with mode 0700). Refuses to overwrite either file. 0, or -1 with the reason
    in err. */
int keygen_write (const char *dir, const char *name, char *err, size_t errlen);

/*  A secret certificate: the file must exist, hold a public and a secret
    key, and not be readable or writable by others than its owner and
    group. Returns the certificate (caller destroys) or NULL with the
    reason in err (which never holds the key). `what` names the option or
    key in messages. */
zcert_t *keygen_load_secret (const char *path, const char *what, char *err, size_t errlen);

/*  A public certificate (a secret one also works: only its public key is
    used). NULL with the reason in err. */
zcert_t *keygen_load_public (const char *path, const char *what, char *err, size_t errlen);

#endif
