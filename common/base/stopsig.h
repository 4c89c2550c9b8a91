/*  common/base/stopsig.h: the stop flag of a process, raised by SIGINT and
    SIGTERM.

    The first SIGINT or SIGTERM sets stopsig_raised, which the loops of
    the process poll so that they can end cleanly (the exit status is then
    EXIT_CODE_INTERRUPTED); a second one exits at once with that status.
    SIGPIPE is ignored: a peer that goes away is an error return, not a
    death. */
#ifndef FERRY_STOPSIG_H
#define FERRY_STOPSIG_H

/*  0 until the first SIGINT or SIGTERM after stopsig_install. */
extern volatile int stopsig_raised;

/*  Installs the handlers (without SA_RESTART). Call once, early in main,
    after any library that installs its own (czmq: zsys_handler_set (NULL)
    first). */
void stopsig_install (void);

#endif
