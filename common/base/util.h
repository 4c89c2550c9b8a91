/*  common/base/util.h: small helpers every module uses: allocation that aborts
    on OOM (czmq zmalloc style), monotonic clocks, process memory, and
    strict number parsing for user input. */
#ifndef FERRY_UTIL_H
#define FERRY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  malloc/calloc/realloc/strdup that abort with file:line on OOM. */
#define xmalloc(n)      util_xmalloc ((n), __FILE__, __LINE__)
#define xcalloc(n, s)   util_xcalloc ((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n)  util_xrealloc ((p), (n), __FILE__, __LINE__)
#define xstrdup(s)      util_xstrdup ((s), __FILE__, __LINE__)
void *util_xmalloc (size_t n, const char *file, int line);
void *util_xcalloc (size_t n, size_t size, const char *file, int line);
void *util_xrealloc (void *p, size_t n, const char *file, int line);
/*  NULL in, NULL out. */
char *util_xstrdup (const char *s, const char *file, int line);

/*  Appends text to the growable comma-separated list *list (", "
    between items; *len its length, *cap its allocation, both 0 with
    *list NULL at first). Aborts on OOM. */
void util_list_add (char **list, size_t *len, size_t *cap, const char *text);

/*  printf into a new string (caller frees). Aborts on OOM. */
char *util_strdupf (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

/*  Monotonic time in milliseconds / microseconds / seconds (fractional).
    Can't fail. */
int64_t util_now_ms (void);
int64_t util_now_us (void);
double util_now_s (void);

/*  Wall clock, ms since the epoch. */
int64_t util_wall_ms (void);

/*  Peak resident set size of this process in KiB (VmHWM), 0 if unknown. */
int64_t util_peak_rss_kb (void);

/*  Strict parsing: the whole string must be a number in [min, max].
    Returns 0 or -1. */
int util_parse_int64 (const char *text, int64_t min, int64_t max, int64_t *out);
int util_parse_double (const char *text, double min, double max, double *out);

/*  A duration: a non-negative number with an optional unit, ms, s, m or h
    (none: seconds): "600", "10m", "1.5h", "250ms". Into *out_ms, rounded
    to the millisecond, at most max_ms. Returns 0 or -1. */
int util_parse_duration_ms (const char *text, int64_t max_ms, int64_t *out_ms);

/*  Hostname (static buffer, never NULL). */
const char *util_hostname (void);

/*  True if s is a valid ferry run id: 1..48 chars of [A-Za-z0-9_-]. */
bool util_run_id_is_valid (const char *s);

/*  A new run id, "YYYYMMDD_HHMMSS_xxxx" (UTC, 4 random hex). Caller frees. */
char *util_run_id_new (void);

#endif
