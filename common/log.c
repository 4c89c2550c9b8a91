/*  common/log.c: stderr backend for log.h.

    Each line is formatted into a stack buffer and written with one write(2),
    which keeps lines whole when several threads log at once. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char s_role[32] = "ferry";
static char s_ident[64] = "";
static log_level_t s_level = LOG_LEVEL_INFO;
static _Thread_local int64_t s_chunk = -1;

static const char *s_level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

/*  The first ERROR message since log_first_error_reset, so that a reason
    logged deep down still reaches the run's record (ferry.runs.message). */
static pthread_mutex_t s_first_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_first_error[1024] = "";

void
log_init (const char *role, const char *ident)
{
    snprintf (s_role, sizeof s_role, "%s", role ? role : "ferry");
    log_set_ident (ident);
    const char *env = getenv ("FERRY_LOG_LEVEL");
    log_level_t level;
    if (env && log_level_parse (env, &level) == 0)
        s_level = level;
}

void
log_set_ident (const char *ident)
{
    snprintf (s_ident, sizeof s_ident, "%s", ident ? ident : "");
}

void
log_set_level (log_level_t level)
{
    s_level = level;
}

log_level_t
log_get_level (void)
{
    return s_level;
}

int
log_level_parse (const char *text, log_level_t *level)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp (text, s_level_names[i]) == 0
        ||  (i == 2 && strcasecmp (text, "warning") == 0)) {
            *level = (log_level_t) i;
            return 0;
        }
    return -1;
}

void
log_set_chunk (int64_t chunk_id)
{
    s_chunk = chunk_id;
}

static void s_vemit (log_level_t level, const char *file, int line,
                     const char *format, va_list args)
    __attribute__ ((format (printf, 4, 0)));

static void
s_vemit (log_level_t level, const char *file, int line,
         const char *format, va_list args)
{
    char buf[4096];
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    const char *base = strrchr (file, '/');
    base = base ? base + 1 : file;

    int n = snprintf (buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03ldZ %s%s%s",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                      s_role, *s_ident ? "[" : "", s_ident);
    if (*s_ident && n < (int) sizeof buf)
        n += snprintf (buf + n, sizeof buf - n, "]");
    if (s_chunk >= 0 && n < (int) sizeof buf)
        n += snprintf (buf + n, sizeof buf - n, " chunk %lld", (long long) s_chunk);
    if (n < (int) sizeof buf)
        n += snprintf (buf + n, sizeof buf - n, " %s: ", s_level_names[level]);
    int msg_at = n;
    if (n < (int) sizeof buf)
        n += vsnprintf (buf + n, sizeof buf - n, format, args);
    if (level == LOG_LEVEL_ERROR && msg_at < (int) sizeof buf) {
        pthread_mutex_lock (&s_first_lock);
        if (!s_first_error[0])
            snprintf (s_first_error, sizeof s_first_error, "%s", buf + msg_at);
        pthread_mutex_unlock (&s_first_lock);
    }
    if (n < (int) sizeof buf && level != LOG_LEVEL_INFO)
        n += snprintf (buf + n, sizeof buf - n, " (%s:%d)", base, line);
    if (n >= (int) sizeof buf - 1)
        n = (int) sizeof buf - 2;          /* truncated: keep the newline */
    buf[n++] = '\n';
    ssize_t ignored = write (STDERR_FILENO, buf, (size_t) n);
    (void) ignored;
}

void
log_first_error_reset (void)
{
    pthread_mutex_lock (&s_first_lock);
    s_first_error[0] = 0;
    pthread_mutex_unlock (&s_first_lock);
}

void
log_first_error (char *buf, size_t size)
{
    pthread_mutex_lock (&s_first_lock);
    snprintf (buf, size, "%s", s_first_error);
    pthread_mutex_unlock (&s_first_lock);
}

void
log_emit (log_level_t level, const char *file, int line, const char *format, ...)
{
    if (level < s_level)
        return;
    va_list args;
    va_start (args, format);
    s_vemit (level, file, line, format, args);
    va_end (args);
}

static void s_emit_one (log_level_t level, const char *file, int line, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
s_emit_one (log_level_t level, const char *file, int line, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_vemit (level, file, line, format, args);
    va_end (args);
}

void
log_emit_lines (log_level_t level, const char *file, int line,
                const char *prefix, const char *text)
{
    if (level < s_level || !text)
        return;
    const char *p = text;
    while (*p) {
        const char *nl = strchr (p, '\n');
        int len = nl ? (int) (nl - p) : (int) strlen (p);
        if (len > 0)
            s_emit_one (level, file, line, "%s%.*s", prefix ? prefix : "", len, p);
        if (!nl)
            break;
        p = nl + 1;
    }
}

void
ferry_assert_fail (const char *expr, const char *file, int line)
{
    log_emit (LOG_LEVEL_ERROR, file, line, "assertion failed: %s (a bug: please report it)", expr);
    abort ();
}
