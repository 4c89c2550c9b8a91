/*  common/base/error.c: see error.h. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
ferr_clear (ferr_t *e)
{
    if (!e)
        return;
    e->sqlstate[0] = 0;
    e->retryable = false;
    e->message[0] = 0;
}

bool
ferr_is_set (const ferr_t *e)
{
    return e && e->message[0] != 0;
}

/*  Ends a message that did not fit in `size` bytes: backs up to a UTF-8
    character boundary leaving room for the marker, then appends it. */
static void
s_mark_truncated (char *buf, size_t size)
{
    size_t keep = size - sizeof FERR_TRUNCATED;
    while (keep > 0 && ((unsigned char) buf[keep] & 0xC0) == 0x80)
        keep--;     /* buf[keep] is a continuation byte: cut before its lead byte */
    memcpy (buf + keep, FERR_TRUNCATED, sizeof FERR_TRUNCATED);
}

/*  vsnprintf into the message; marks a cut. */
static void
s_vformat (char *buf, size_t size, const char *format, va_list args)
{
    int n = vsnprintf (buf, size, format, args);
    if (n < 0)
        buf[0] = 0;
    else if ((size_t) n >= size)
        s_mark_truncated (buf, size);
}

/*  Newlines from a server's text would split a log line and a report cell. */
static void
s_one_line (char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

void
ferr_setv (ferr_t *e, const char *sqlstate, bool retryable, const char *format, va_list args)
{
    if (!e)
        return;
    /*  Built aside: e's own sqlstate or message may be among the
        arguments (a message reworded around itself). */
    char state[sizeof e->sqlstate];
    char message[sizeof e->message];
    snprintf (state, sizeof state, "%s", sqlstate ? sqlstate : "");
    s_vformat (message, sizeof message, format, args);
    memcpy (e->sqlstate, state, sizeof state);
    memcpy (e->message, message, sizeof message);
    e->retryable = retryable;
    s_one_line (e->message);
}

void
ferr_set (ferr_t *e, const char *sqlstate, bool retryable, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    ferr_setv (e, sqlstate, retryable, format, args);
    va_end (args);
}

void
ferr_set_server (ferr_t *e, const char *what, const char *sqlstate, const char *message,
                 const char *detail)
{
    bool d = detail && detail[0];
    ferr_set (e, sqlstate, ferr_sqlstate_is_retryable (sqlstate), "%s%s[%s] %s%s%s%s",
              what ? what : "", what ? ": " : "",
              sqlstate && sqlstate[0] ? sqlstate : "-----", message ? message : "",
              d ? " (" : "", d ? detail : "", d ? ")" : "");
}

/*  Puts the formatted text before (prefix: "TEXT: message") or after
    the message. Does nothing when no error is set. */
static void
s_join (ferr_t *e, bool prefix, const char *format, va_list args)
{
    if (!ferr_is_set (e))
        return;
    char text[FERR_MESSAGE_SIZE], old[FERR_MESSAGE_SIZE];
    s_vformat (text, sizeof text, format, args);
    memcpy (old, e->message, sizeof old);
    int n = prefix ? snprintf (e->message, sizeof e->message, "%s: %s", text, old)
                   : snprintf (e->message, sizeof e->message, "%s%s", old, text);
    if (n >= 0 && (size_t) n >= sizeof e->message)
        s_mark_truncated (e->message, sizeof e->message);
    s_one_line (e->message);
}

void
ferr_prefix (ferr_t *e, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_join (e, true, format, args);
    va_end (args);
}

void
ferr_append (ferr_t *e, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_join (e, false, format, args);
    va_end (args);
}

void
ferr_copy (ferr_t *dst, const ferr_t *src)
{
    if (dst && src && dst != src)
        memcpy (dst, src, sizeof *dst);
}

bool
ferr_sqlstate_is_retryable (const char *s)
{
    if (!s || strlen (s) != 5)
        return false;
    if (strncmp (s, "08", 2) == 0 || strncmp (s, "53", 2) == 0)
        return true;
    return strcmp (s, "40001") == 0 || strcmp (s, "40P01") == 0
        || strcmp (s, "57P01") == 0 || strcmp (s, "57P02") == 0
        || strcmp (s, "57P03") == 0;
}
