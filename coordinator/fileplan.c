/*  coordinator/fileplan.c: see fileplan.h. Owns the file descriptors it
    opens while planning (one at a time). */
#include "fileplan.h"
#include "plan.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t
s_read (void *arg, char *buf, size_t size)
{
    int fd = *(int *) arg;
    for (;;) {
        ssize_t n = read (fd, buf, size);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

void
fileplan_destroy (fileplan_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        fileplan_t *self = *self_p;
        for (size_t i = 0; i < self->count; i++)
            free (self->ranges[i].path);
        free (self->ranges);
        for (int i = 0; i < self->header_count; i++)
            free (self->header[i]);
        free (self->header);
        free (self);
        *self_p = NULL;
    }
}

static void
s_add (fileplan_t *self, size_t *cap, const char *path, int64_t offset, int64_t length,
       int64_t line, int64_t est)
{
    if (length <= 0)
        return;
    if (self->count == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        self->ranges = xrealloc (self->ranges, *cap * sizeof *self->ranges);
    }
    fileplan_range_t *r = &self->ranges[self->count++];
    r->path = xstrdup (path);
    r->offset = offset;
    r->length = length;
    r->first_line = line;
    r->est_rows = est > 0 ? est : 1;
}

/*  The header fields and the bytes per line of the first megabyte. */
static int
s_sample (const char *path, const csv_format_t *fmt, fileplan_t *self, double *bytes_per_line,
          char *err, size_t errlen)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf (err, errlen, "source.path: cannot open %s: %s", path, strerror (errno));
        return -1;
    }
    size_t cap = 1 << 20;
    char *buf = xmalloc (cap);
    ssize_t n = pread (fd, buf, cap, 0);
    close (fd);
    if (n < 0) {
        snprintf (err, errlen, "source.path: cannot read %s: %s", path, strerror (errno));
        free (buf);
        return -1;
    }
    int64_t lines = 0;
    for (ssize_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    *bytes_per_line = lines > 0 ? (double) n / (double) lines : (double) (n > 0 ? n : 1);
    int rc = 0;
    if (fmt->header && n > 0) {
        size_t bom = csv_bom_len (buf, (size_t) n), consumed = 0;
        csv_record_t *rec = csv_record_new ();
        char perr[256];
        int pr = csv_parse_record (fmt, buf + bom, (size_t) n - bom, (size_t) n < cap, rec,
                                   &consumed, perr, sizeof perr);
        if (pr != 1) {
            snprintf (err, errlen, "source.format.header: cannot read the header of %s: %s", path,
                      pr == 0 ? "its first record is longer than 1 MiB"
                              : pr == 2 ? "the first line is blank" : perr);
            rc = -1;
        }
        else {
            self->header_count = csv_record_nfields (rec);
            self->header = xcalloc ((size_t) self->header_count + 1, sizeof *self->header);
            for (int i = 0; i < self->header_count; i++) {
                const char *f = csv_record_field (rec, i, NULL);
                self->header[i] = xstrdup (f ? f : "");
            }
        }
        csv_record_destroy (&rec);
    }
    free (buf);
    return rc;
}

fileplan_t *
fileplan_build (const char *pattern, const csv_format_t *fmt, int64_t chunk_size,
                int64_t min_rows_for_parallel, bool sequential, int slots, char *err,
                size_t errlen)
{
    glob_t g;
    memset (&g, 0, sizeof g);
    int grc = glob (pattern, GLOB_ERR, NULL, &g);
    if (grc != 0) {
        snprintf (err, errlen, "source.path: %s: %s", pattern,
                  grc == GLOB_NOMATCH ? "no file matches" : "cannot list the directory");
        globfree (&g);
        return NULL;
    }
    fileplan_t *self = xcalloc (1, sizeof *self);
    self->files = g.gl_pathc;
    double bytes_per_line = 100;
    if (s_sample (g.gl_pathv[0], fmt, self, &bytes_per_line, err, errlen) != 0) {
        globfree (&g);
        fileplan_destroy (&self);
        return NULL;
    }
    /*  Equal ranges, as many as chunk_size asks (rounded up to a multiple
        of the known slots): no short last chunk running alone. */
    int64_t chunk_bytes = (int64_t) (bytes_per_line * (double) chunk_size);
    int64_t all_bytes = 0;
    for (size_t f = 0; f < g.gl_pathc; f++) {
        struct stat st;
        if (stat (g.gl_pathv[f], &st) == 0)
            all_bytes += (int64_t) st.st_size;
    }
    int64_t n = plan_file_ranges (all_bytes, chunk_bytes, slots);
    if (n > 1)
        chunk_bytes = all_bytes / n + (all_bytes % n != 0);
    if (chunk_bytes < 65536)
        chunk_bytes = 65536;
    size_t cap = 0;
    size_t *first_of_file = xcalloc (g.gl_pathc + 1, sizeof *first_of_file);
    for (size_t f = 0; f < g.gl_pathc; f++) {
        const char *path = g.gl_pathv[f];
        int fd = open (path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            snprintf (err, errlen, "source.path: cannot open %s: %s", path, strerror (errno));
            goto fail;
        }
        posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        csv_boundary_t *b = NULL;
        size_t nb = 0;
        int64_t bytes = 0, lines = 0;
        char serr[256];
        int rc = csv_split (s_read, &fd, fmt, chunk_bytes, &b, &nb, &bytes, &lines,
                            serr, sizeof serr);
        close (fd);
        if (rc != 0) {
            snprintf (err, errlen, "source.path: %s: %s", path, serr);
            free (b);
            goto fail;
        }
        first_of_file[f] = self->count;
        for (size_t i = 0; i < nb; i++) {
            int64_t next_off = i + 1 < nb ? b[i + 1].offset : bytes;
            int64_t next_line = i + 1 < nb ? b[i + 1].line : lines + 1;
            s_add (self, &cap, path, b[i].offset, next_off - b[i].offset, b[i].line,
                   next_line - b[i].line);
        }
        self->total_bytes += bytes;
        self->total_lines += lines;
        free (b);
    }
    first_of_file[g.gl_pathc] = self->count;
    if (sequential || self->total_lines < min_rows_for_parallel) {
        /*  One range per file: merge each file's ranges. */
        size_t out = 0;
        for (size_t f = 0; f < g.gl_pathc; f++) {
            size_t lo = first_of_file[f], hi = first_of_file[f + 1];
            if (lo == hi)
                continue;
            fileplan_range_t merged = self->ranges[lo];
            for (size_t i = lo + 1; i < hi; i++) {
                merged.length += self->ranges[i].length;
                merged.est_rows += self->ranges[i].est_rows;
                free (self->ranges[i].path);
            }
            self->ranges[out++] = merged;
        }
        self->count = out;
    }
    free (first_of_file);
    globfree (&g);
    return self;

fail:
    free (first_of_file);
    globfree (&g);
    fileplan_destroy (&self);
    return NULL;
}
