/*  common/base/stopsig.c: see stopsig.h. */
#include "stopsig.h"
#include "exit_codes.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

volatile int stopsig_raised = 0;

static void
s_on_signal (int sig)
{
    (void) sig;
    if (stopsig_raised)
        _exit (EXIT_CODE_INTERRUPTED);     /* second signal: abort at once */
    stopsig_raised = 1;
}

void
stopsig_install (void)
{
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
}
