/*  tests/fuzz/replay_main.c: a main() for libFuzzer targets in normal
    builds. Runs LLVMFuzzerTestOneInput once over every regular file in
    each directory (or file) named on the command line, in name order, so
    that the seed corpus and every crash reproducer we commit are checked
    by ctest under the build's sanitizers. Fails if it found no input at
    all: an empty or missing corpus must not pass silently. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/*  Reads a whole file into a heap buffer of exactly its size, so ASan sees
    any read past the end. Returns 0 or -1 (reason printed). */
static int
s_run_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        fprintf (stderr, "replay: %s: %s\n", path, strerror (errno));
        return -1;
    }
    size_t size = 0, alloc = 4096;
    uint8_t *data = malloc (alloc);
    size_t n;
    while (data && (n = fread (data + size, 1, alloc - size, f)) > 0) {
        size += n;
        if (size == alloc) {
            uint8_t *bigger = realloc (data, alloc * 2);
            if (!bigger) {
                free (data);
                data = NULL;
                break;
            }
            data = bigger;
            alloc *= 2;
        }
    }
    int failed = !data || ferror (f);
    fclose (f);
    if (failed) {
        fprintf (stderr, "replay: %s: read failed\n", path);
        free (data);
        return -1;
    }
    uint8_t *exact = malloc (size ? size : 1);
    if (!exact) {
        free (data);
        return -1;
    }
    memcpy (exact, data, size);
    free (data);
    LLVMFuzzerTestOneInput (exact, size);
    free (exact);
    return 0;
}

static int
s_is_regular (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISREG (st.st_mode);
}

int
main (int argc, char *argv [])
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv [0]);
        return 2;
    }
    size_t runs = 0;
    for (int a = 1; a < argc; a++) {
        if (s_is_regular (argv [a])) {
            if (s_run_file (argv [a]))
                return 1;
            runs++;
            continue;
        }
        struct dirent **names = NULL;
        int count = scandir (argv [a], &names, NULL, alphasort);
        if (count < 0) {
            fprintf (stderr, "replay: %s: %s\n", argv [a], strerror (errno));
            return 1;
        }
        int rc = 0;
        for (int i = 0; i < count; i++) {
            char path [4096];
            snprintf (path, sizeof path, "%s/%s", argv [a], names [i]->d_name);
            if (rc == 0 && s_is_regular (path)) {
                if (s_run_file (path))
                    rc = 1;
                else
                    runs++;
            }
            free (names [i]);
        }
        free (names);
        if (rc)
            return 1;
    }
    printf ("replay: %zu inputs, no failure\n", runs);
    if (runs == 0) {
        fprintf (stderr, "replay: no input found\n");
        return 1;
    }
    return 0;
}
