/*  common/job/jobcheck.c: see jobcheck.h. */
#include "jobcheck.h"

#include <stddef.h>

static int
s_is_line_break (int c)
{
    return c == '\n' || c == '\r';
}

const char *
jobcheck_csv_format (int delimiter, int quote, int escape, const char **field)
{
    const char *unused;
    if (!field)
        field = &unused;
    *field = "delimiter";
    if (delimiter == 0)
        return "must be set";
    if (s_is_line_break (delimiter))
        return "must not be a line break";
    *field = "quote";
    if (quote && quote == delimiter)
        return "must differ from the delimiter";
    if (s_is_line_break (quote))
        return "must not be a line break";
    *field = "escape";
    if (s_is_line_break (escape))
        return "must not be a line break";
    *field = NULL;
    return NULL;
}
