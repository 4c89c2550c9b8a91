/*  worker/session.c: placeholder until the coordinator issue lands. */
#include "session.h"
#include "exit_codes.h"
#include "log.h"

int
session_run (const char *endpoint, const char *name, int slots, volatile int *stop)
{
    (void) name; (void) slots; (void) stop;
    log_error ("--coordinator %s: coordinated mode is not built yet", endpoint);
    return EXIT_CODE_USAGE;
}
