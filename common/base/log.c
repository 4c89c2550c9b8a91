/*  common/base/log.c: stderr backend for log.h.

    Each line is formatted into a buffer and written with one write(2)
    under s_out_lock, which keeps lines whole when several threads log at
    once and lets the status line be cleared and redrawn around them. */
#include "log.h"
#include "utf8.h"

#include <json-c/json.h>
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
static char s_run[64] = "";
static char s_worker[64] = "";
static log_level_t s_level = LOG_LEVEL_INFO;
static log_format_t s_format = LOG_FORMAT_TEXT;
static bool s_tty = false;
static _Thread_local int64_t s_chunk = -1;

static const char *s_level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
static const char *s_level_json[] = { "debug", "info", "warn", "error" };

/*  The first ERROR message since log_first_error_reset, so that a reason
    logged deep down still reaches the run's record (ferry.runs.message). */
static pthread_mutex_t s_first_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_first_error[1024] = "";

/*  Output and the status line drawn at the bottom of a terminal. */
static pthread_mutex_t s_out_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_status[512] = "";

#define S_CLEAR "\r\033[K"              /* to column 0, erase the line */

void
log_init (const char *role, const char *ident)
{
    snprintf (s_role, sizeof s_role, "%s", role ? role : "ferry");
    log_set_ident (ident);
    s_tty = isatty (STDERR_FILENO) == 1;
    const char *env = getenv ("FERRY_LOG_LEVEL");
    log_level_t level;
    if (env && log_level_parse (env, &level) == 0)
        s_level = level;
    env = getenv ("FERRY_LOG_FORMAT");
    log_format_t format;
    if (env && *env) {
        if (log_format_parse (env, &format) == 0)
            s_format = format;
        else
            log_warn ("FERRY_LOG_FORMAT=%s: expected text or json; logging as text", env);
    }
}

void
log_set_ident (const char *ident)
{
    snprintf (s_ident, sizeof s_ident, "%s", ident ? ident : "");
}

/*  The run id and worker name change while other threads log (a worker
    learns its run from the JOB): copied in and out under a lock. */
static pthread_mutex_t s_ctx_lock = PTHREAD_MUTEX_INITIALIZER;

void
log_set_run (const char *run_id)
{
    pthread_mutex_lock (&s_ctx_lock);
    snprintf (s_run, sizeof s_run, "%s", run_id ? run_id : "");
    pthread_mutex_unlock (&s_ctx_lock);
}

void
log_set_worker (const char *worker)
{
    pthread_mutex_lock (&s_ctx_lock);
    snprintf (s_worker, sizeof s_worker, "%s", worker ? worker : "");
    pthread_mutex_unlock (&s_ctx_lock);
}

void
log_set_format (log_format_t format)
{
    s_format = format;
}

log_format_t
log_get_format (void)
{
    return s_format;
}

int
log_format_parse (const char *text, log_format_t *format)
{
    if (strcasecmp (text, "text") == 0)
        *format = LOG_FORMAT_TEXT;
    else if (strcasecmp (text, "json") == 0)
        *format = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

int
log_cli_format (const char *prog, const char *value)
{
    log_format_t format;
    if (log_format_parse (value, &format) != 0) {
        fprintf (stderr, "%s: --log-format: expected text or json, got '%s'\n", prog, value);
        return -1;
    }
    s_format = format;
    setenv ("FERRY_LOG_FORMAT", format == LOG_FORMAT_JSON ? "json" : "text", 1);
    return 0;
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

bool
log_status_live (void)
{
    return s_tty && s_format == LOG_FORMAT_TEXT;
}

static void
s_write_all (const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write (STDERR_FILENO, buf, len);
        if (n <= 0)
            return;                     /* stderr gone: nothing to do */
        buf += n;
        len -= (size_t) n;
    }
}

void
log_status_set (const char *line)
{
    if (!log_status_live ())
        return;
    pthread_mutex_lock (&s_out_lock);
    snprintf (s_status, sizeof s_status, "%s", line ? line : "");
    char buf[sizeof s_status + 8];
    int n = snprintf (buf, sizeof buf, S_CLEAR "%s", s_status);
    s_write_all (buf, (size_t) n);
    pthread_mutex_unlock (&s_out_lock);
}

void
log_status_end (void)
{
    if (!log_status_live ())
        return;
    pthread_mutex_lock (&s_out_lock);
    if (s_status[0])
        s_write_all ("\n", 1);
    s_status[0] = 0;
    pthread_mutex_unlock (&s_out_lock);
}

/*  Writes one finished line (without its newline): on a terminal, clear
    the line first and redraw the status after it. */
static void
s_output (const char *line, size_t len)
{
    pthread_mutex_lock (&s_out_lock);
    bool live = log_status_live ();
    size_t cap = len + sizeof s_status + 16;
    char *buf = malloc (cap);
    if (!buf) {
        pthread_mutex_unlock (&s_out_lock);
        return;
    }
    size_t n = 0;
    if (s_tty) {
        memcpy (buf, S_CLEAR, strlen (S_CLEAR));
        n += strlen (S_CLEAR);
    }
    memcpy (buf + n, line, len);
    n += len;
    buf[n++] = '\n';
    if (live && s_status[0]) {
        size_t sl = strlen (s_status);
        memcpy (buf + n, s_status, sl);
        n += sl;
    }
    s_write_all (buf, n);
    free (buf);
    pthread_mutex_unlock (&s_out_lock);
}

static void
s_json_add_str (json_object *o, const char *key, const char *value)
{
    if (!value || !*value) {
        json_object_object_add (o, key, NULL);
        return;
    }
    char *clean = utf8_sanitize (value);
    json_object_object_add (o, key, json_object_new_string (clean));
    free (clean);
}

static void
s_emit_json (log_level_t level, const char *when, const char *base, int line,
             int64_t chunk, const char *sqlstate, const char *message)
{
    json_object *o = json_object_new_object ();
    json_object_object_add (o, "time", json_object_new_string (when));
    json_object_object_add (o, "level", json_object_new_string (s_level_json[level]));
    char run[sizeof s_run], worker[sizeof s_worker];
    pthread_mutex_lock (&s_ctx_lock);
    memcpy (run, s_run, sizeof run);
    memcpy (worker, s_worker, sizeof worker);
    pthread_mutex_unlock (&s_ctx_lock);
    s_json_add_str (o, "role", s_role);
    s_json_add_str (o, "run_id", run);
    s_json_add_str (o, "worker", worker);
    json_object_object_add (o, "chunk", chunk >= 0 ? json_object_new_int64 (chunk) : NULL);
    if (sqlstate && *sqlstate)
        s_json_add_str (o, "sqlstate", sqlstate);
    s_json_add_str (o, "message", message);
    char src[160];
    snprintf (src, sizeof src, "%s:%d", base, line);
    s_json_add_str (o, "source", src);
    const char *text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN
                                                          | JSON_C_TO_STRING_NOSLASHESCAPE);
    s_output (text, strlen (text));
    json_object_put (o);
}

static void s_vemit (log_level_t level, const char *file, int line, int64_t chunk,
                     const char *sqlstate, const char *format, va_list args)
    __attribute__ ((format (printf, 6, 0)));

static void
s_vemit (log_level_t level, const char *file, int line, int64_t chunk,
         const char *sqlstate, const char *format, va_list args)
{
    char msg[4096];
    vsnprintf (msg, sizeof msg, format, args);
    if (level == LOG_LEVEL_ERROR) {
        pthread_mutex_lock (&s_first_lock);
        if (!s_first_error[0])
            snprintf (s_first_error, sizeof s_first_error, "%.1023s", msg);
        pthread_mutex_unlock (&s_first_lock);
    }
    if (chunk < 0)
        chunk = s_chunk;
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    char when[40];
    int ms = (int) (ts.tv_nsec / 1000000L) % 1000;
    snprintf (when, sizeof when, "%04d-%02d-%02d%c%02d:%02d:%02d.%03dZ",
              (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
              s_format == LOG_FORMAT_JSON ? 'T' : ' ', tm.tm_hour % 100, tm.tm_min % 100,
              tm.tm_sec % 100, ms);
    const char *base = strrchr (file, '/');
    base = base ? base + 1 : file;
    if (s_format == LOG_FORMAT_JSON) {
        s_emit_json (level, when, base, line, chunk, sqlstate, msg);
        return;
    }
    char buf[4400];
    int n = snprintf (buf, sizeof buf, "%s %s%s%s%s", when, s_role, *s_ident ? "[" : "",
                      s_ident, *s_ident ? "]" : "");
    if (chunk >= 0 && n < (int) sizeof buf)
        n += snprintf (buf + n, sizeof buf - n, " chunk %lld", (long long) chunk);
    if (n < (int) sizeof buf)
        n += snprintf (buf + n, sizeof buf - n, " %s: %s", s_level_names[level], msg);
    if (n < (int) sizeof buf && level != LOG_LEVEL_INFO)
        n += snprintf (buf + n, sizeof buf - n, " (%s:%d)", base, line);
    if (n >= (int) sizeof buf)
        n = (int) sizeof buf - 1;          /* truncated */
    s_output (buf, (size_t) n);
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
    s_vemit (level, file, line, -1, NULL, format, args);
    va_end (args);
}

void
log_emit_ctx (log_level_t level, const char *file, int line, int64_t chunk,
              const char *sqlstate, const char *format, ...)
{
    if (level < s_level)
        return;
    va_list args;
    va_start (args, format);
    s_vemit (level, file, line, chunk, sqlstate, format, args);
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
            log_emit (level, file, line, "%s%.*s", prefix ? prefix : "", len, p);
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
