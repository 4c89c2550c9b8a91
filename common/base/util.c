/*  common/base/util.c: see util.h. */
#include "util.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void __attribute__ ((noreturn))
s_oom (size_t n, const char *file, int line)
{
    log_emit (LOG_LEVEL_ERROR, file, line, "out of memory allocating %zu bytes", n);
    abort ();
}

void *
util_xmalloc (size_t n, const char *file, int line)
{
    void *p = malloc (n ? n : 1);
    if (!p)
        s_oom (n, file, line);
    return p;
}

void *
util_xcalloc (size_t n, size_t size, const char *file, int line)
{
    void *p = calloc (n ? n : 1, size ? size : 1);
    if (!p)
        s_oom (n * size, file, line);
    return p;
}

void *
util_xrealloc (void *p, size_t n, const char *file, int line)
{
    void *q = realloc (p, n ? n : 1);
    if (!q)
        s_oom (n, file, line);
    return q;
}

char *
util_xstrdup (const char *s, const char *file, int line)
{
    if (!s)
        return NULL;
    char *d = strdup (s);
    if (!d)
        s_oom (strlen (s) + 1, file, line);
    return d;
}

void
util_list_add (char **list, size_t *len, size_t *cap, const char *text)
{
    size_t need = strlen (text) + 4;
    if (!*list || *len + need >= *cap)
        *list = xrealloc (*list, *cap = (*len + need) * 2);
    *len += (size_t) snprintf (*list + *len, *cap - *len, "%s%s", *len ? ", " : "", text);
}

char *
util_strdupf (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *out = NULL;
    int n = vasprintf (&out, format, args);
    va_end (args);
    if (n < 0)
        s_oom (0, __FILE__, __LINE__);
    return out;
}

/*  The clock's time in units of 1/per second, rounded down. */
static int64_t
s_clock (clockid_t clock, int64_t per)
{
    struct timespec ts;
    clock_gettime (clock, &ts);
    return (int64_t) ts.tv_sec * per + ts.tv_nsec / (1000000000 / per);
}

int64_t
util_now_ms (void)
{
    return s_clock (CLOCK_MONOTONIC, 1000);
}

int64_t
util_now_us (void)
{
    return s_clock (CLOCK_MONOTONIC, 1000000);
}

double
util_now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int64_t
util_wall_ms (void)
{
    return s_clock (CLOCK_REALTIME, 1000);
}

int64_t
util_peak_rss_kb (void)
{
    FILE *f = fopen ("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    int64_t kb = 0;
    while (fgets (line, sizeof line, f))
        if (strncmp (line, "VmHWM:", 6) == 0) {
            kb = strtoll (line + 6, NULL, 10);
            break;
        }
    fclose (f);
    return kb;
}

int
util_parse_int64 (const char *text, int64_t min, int64_t max, int64_t *out)
{
    if (!text || !*text)
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll (text, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (int64_t) v;
    return 0;
}

int
util_parse_double (const char *text, double min, double max, double *out)
{
    if (!text || !*text)
        return -1;
    errno = 0;
    char *end = NULL;
    double v = strtod (text, &end);
    if (errno || *end || !isfinite (v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
util_parse_duration_ms (const char *text, int64_t max_ms, int64_t *out_ms)
{
    if (!text || !*text || !(isdigit ((unsigned char) *text) || *text == '.'))
        return -1;
    errno = 0;
    char *end = NULL;
    double v = strtod (text, &end);
    /*  Plain decimal digits only: no sign, exponent or hex. */
    if (errno || end == text || (size_t) (end - text) != strspn (text, "0123456789.")
    ||  !isfinite (v) || v < 0)
        return -1;
    double scale;
    if (strcmp (end, "") == 0 || strcmp (end, "s") == 0)
        scale = 1000.0;
    else if (strcmp (end, "ms") == 0)
        scale = 1.0;
    else if (strcmp (end, "m") == 0)
        scale = 60000.0;
    else if (strcmp (end, "h") == 0)
        scale = 3600000.0;
    else
        return -1;
    double ms = v * scale;
    if (ms > (double) max_ms)
        return -1;
    *out_ms = (int64_t) (ms + 0.5);
    return 0;
}

const char *
util_hostname (void)
{
    static char name[256];
    if (!name[0] && gethostname (name, sizeof name - 1) != 0)
        snprintf (name, sizeof name, "localhost");
    return name;
}

bool
util_run_id_is_valid (const char *s)
{
    if (!s)
        return false;
    size_t n = strlen (s);
    if (n < 1 || n > 48)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        ||    (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

char *
util_run_id_new (void)
{
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    unsigned r = (unsigned) (ts.tv_nsec ^ (getpid () << 8)) & 0xffff;
    return util_strdupf ("%04d%02d%02d_%02d%02d%02d_%04x",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec, r);
}
