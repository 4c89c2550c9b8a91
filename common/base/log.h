/*  common/base/log.h: leveled logging for every ferry process.

    Every line names the role ("coordinator", "worker"), the process ident
    (worker name), the chunk the calling thread works on (if any), the level,
    the message and the source file:line. Lines go to stderr in one write(2)
    each, so threads never interleave within a line. SQL text and row data
    belong at debug level only (they can be customer data).

    Two formats: text (the default) and JSON (FERRY_LOG_FORMAT=json or
    log_set_format): one object per line, {"time", "level", "role",
    "run_id", "worker", "chunk", "sqlstate", "message", "source"}, written
    with json-c; every string is made valid UTF-8 first (common/base/utf8.h).

    The status line: on a terminal (text format) a process may keep one
    line of status (the coordinator's progress) at the bottom of stderr.
    Every log line then clears the terminal line, prints itself and redraws
    the status line, in one write under one lock, so a log line never
    shares a line with the status. Every log line on a terminal starts by
    clearing the line, so the lines of another process writing to the same
    terminal (local workers) do not land on the status line either.
*/
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO  = 1,
    LOG_LEVEL_WARN  = 2,
    LOG_LEVEL_ERROR = 3
} log_level_t;

/*  Sets the role and ident printed on every line (both copied). Call once
    from main before other threads start. Can't fail. */
void log_init (const char *role, const char *ident);

/*  Changes the process ident (e.g. once the worker knows its name). */
void log_set_ident (const char *ident);

/*  The run id and the worker name of the JSON fields "run_id" and
    "worker" (copied; NULL or "" leaves the field null). */
void log_set_run (const char *run_id);
void log_set_worker (const char *worker);

typedef enum {
    LOG_FORMAT_TEXT = 0,
    LOG_FORMAT_JSON = 1
} log_format_t;

/*  The line format. FERRY_LOG_FORMAT (text|json) is read by log_init.
    log_format_parse returns -1 on anything but "text" or "json". */
void log_set_format (log_format_t format);
log_format_t log_get_format (void);
int log_format_parse (const char *text, log_format_t *format);

/*  --log-format VALUE of the binary `prog`: sets the format, and
    FERRY_LOG_FORMAT so that the processes it starts log alike. Returns 0,
    or -1 with a message on stderr. */
int log_cli_format (const char *prog, const char *value);

/*  The status line (see above). log_status_live is true when stderr is a
    terminal and the format is text: only then is the line drawn;
    otherwise log_status_set does nothing (print the status as log lines).
    log_status_set (NULL) erases it; log_status_end leaves the last status
    on the screen and moves to a new line. */
bool log_status_live (void);
void log_status_set (const char *line);
void log_status_end (void);

/*  Sets the minimum level printed. FERRY_LOG_LEVEL (debug|info|warn|error)
    in the environment is read by log_init and overrides the default (info). */
void log_set_level (log_level_t level);
log_level_t log_get_level (void);

/*  Parses "debug", "info", "warn", "error"; returns -1 on anything else. */
int log_level_parse (const char *text, log_level_t *level);

/*  The chunk id shown on this thread's lines; -1 hides it. Thread-local. */
void log_set_chunk (int64_t chunk_id);

/*  The first ERROR message (without the line's prefix) logged by any thread
    since the last reset, or "" when none was; always NUL-terminated. Lets a
    reason logged where it happened reach the run's record. */
void log_first_error_reset (void);
void log_first_error (char *buf, size_t size);

/*  Emits one line. Use the macros below instead. */
void log_emit (log_level_t level, const char *file, int line,
               const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

/*  Emits one line with context of its own: chunk (-1: the thread's,
    see log_set_chunk) and SQLSTATE (NULL or "": none). Use the _ctx
    macros below. */
void log_emit_ctx (log_level_t level, const char *file, int line, int64_t chunk,
                   const char *sqlstate, const char *format, ...)
    __attribute__ ((format (printf, 6, 7)));

/*  Emits a possibly multi-line text (PQerrorMessage) as one line per line,
    each prefixed by `prefix`. */
void log_emit_lines (log_level_t level, const char *file, int line,
                     const char *prefix, const char *text);

#define log_debug(...) log_emit (LOG_LEVEL_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_emit (LOG_LEVEL_INFO,  __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_emit (LOG_LEVEL_WARN,  __FILE__, __LINE__, __VA_ARGS__)
#define log_error(...) log_emit (LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)

/*  With a chunk id (-1: the thread's) and a SQLSTATE (NULL: none). */
#define log_info_ctx(chunk, state, ...) \
    log_emit_ctx (LOG_LEVEL_INFO, __FILE__, __LINE__, (chunk), (state), __VA_ARGS__)
#define log_warn_ctx(chunk, state, ...) \
    log_emit_ctx (LOG_LEVEL_WARN, __FILE__, __LINE__, (chunk), (state), __VA_ARGS__)
#define log_error_ctx(chunk, state, ...) \
    log_emit_ctx (LOG_LEVEL_ERROR, __FILE__, __LINE__, (chunk), (state), __VA_ARGS__)

/*  An assert that never compiles out (Redis serverAssert): programmer errors
    only, never input. */
#define FERRY_ASSERT(cond) \
    ((cond) ? (void) 0 : ferry_assert_fail (#cond, __FILE__, __LINE__))
void ferry_assert_fail (const char *expr, const char *file, int line)
    __attribute__ ((noreturn));

#endif
