/*  common/base/error.h: one error type that carries a failure's reason upward.

    An ferr_t is what a phase returns besides -1: the SQLSTATE (when the
    cause is a server's error), whether retrying can help, and one line
    of text that says what failed, on what, and why. It is built where the
    failure happens (ferr_set, or pg_ferr from a server's error), gains
    context on its way up (ferr_prefix), and is logged once at the top and
    stored as is (ferry.runs.message, the report's message).

    The message is a fixed buffer of FERR_MESSAGE_SIZE bytes: text that
    does not fit is cut at a character boundary and ends with
    FERR_TRUNCATED, so a reader sees that something is missing.

    A server's error reads "WHAT: [SQLSTATE] message (detail)", formatted
    by ferr_set_server only; "-----" stands for a missing SQLSTATE.

    Pure: no I/O, no libpq. Can't fail anywhere. */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define FERR_MESSAGE_SIZE 2600
#define FERR_TRUNCATED "...[truncated]"

typedef struct {
    char sqlstate[6];                   /* "" when the cause is not a server's error */
    bool retryable;                     /* trying again may succeed */
    char message[FERR_MESSAGE_SIZE];    /* "" when no error is set */
} ferr_t;

/*  Forgets the error (no message, no SQLSTATE). Accepts NULL. */
void ferr_clear (ferr_t *e);

/*  True when an error is set (it has a message). */
bool ferr_is_set (const ferr_t *e);

/*  Sets the error: sqlstate (NULL or "": none), retryable, and the
    message from a printf format. e's own fields may be among the
    arguments (e.g. ferr_set (e, e->sqlstate, e->retryable, "chunk 3: %s",
    e->message)). Accepts e NULL (does nothing). */
void ferr_set (ferr_t *e, const char *sqlstate, bool retryable, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

/*  The same with a va_list (for a variadic wrapper of one's own). */
void ferr_setv (ferr_t *e, const char *sqlstate, bool retryable, const char *format,
                va_list args) __attribute__ ((format (printf, 4, 0)));

/*  Sets the error from a server's error: "WHAT: [SQLSTATE] message
    (detail)" (what NULL: no "WHAT: "; detail NULL or "": no
    parentheses); retryable per ferr_sqlstate_is_retryable. */
void ferr_set_server (ferr_t *e, const char *what, const char *sqlstate, const char *message,
                      const char *detail);

/*  Puts context before the message: "CONTEXT: message". Keeps the
    SQLSTATE and retryable. Does nothing when no error is set. */
void ferr_prefix (ferr_t *e, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  Adds text after the message (e.g. "; nothing was published"). Does
    nothing when no error is set. */
void ferr_append (ferr_t *e, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  Copies src into dst (a phase taking over a callee's error). */
void ferr_copy (ferr_t *dst, const ferr_t *src);

/*  The SQLSTATEs worth retrying: class 08 (connection), 40001
    (serialization), 40P01 (deadlock), class 53 (resources), 57P01-57P03
    (shutdown, crash, starting). NULL or "" is not. */
bool ferr_sqlstate_is_retryable (const char *sqlstate);

#endif
