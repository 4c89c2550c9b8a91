/*  common/base/exit_codes.h: the one table of process exit statuses.

    Both binaries map their outcome to one of these in main; README and
    docs/OPERATIONS.md document them. Values are stable: scripts depend on
    them. */
#ifndef FERRY_EXIT_CODES_H
#define FERRY_EXIT_CODES_H

#define EXIT_CODE_OK                 0  /* chunk committed / run published */
#define EXIT_CODE_FAILED             1  /* permanent failure (data, schema, SQLSTATE) */
#define EXIT_CODE_USAGE              2  /* bad command line */
#define EXIT_CODE_BAD_CONFIG         3  /* job file invalid */
#define EXIT_CODE_SOURCE             4  /* source unreachable after retries */
#define EXIT_CODE_TARGET             5  /* target unreachable after retries */
#define EXIT_CODE_ALREADY_COMMITTED  6  /* chunk already in the ledger */
#define EXIT_CODE_RETRIES_EXHAUSTED  7  /* retryable errors past max_retries */
#define EXIT_CODE_INTERRUPTED        8  /* SIGINT/SIGTERM; resumable */
#define EXIT_CODE_NO_RESOURCES       9  /* cannot start threads or sockets (ulimit -v/-u/-n) */
/*  A coordinated worker's status says how the run it served ended, as
    its coordinator's STOP told it (STOP.outcome, docs/PROTOCOL.md):
    published is EXIT_CODE_OK; a STOP without an outcome (an older
    coordinator) is EXIT_CODE_OK too, as before. */
#define EXIT_CODE_RUN_FAILED        10  /* worker: the run failed; nothing published */
#define EXIT_CODE_RUN_CANCELLED     11  /* worker: the coordinator was interrupted; resumable */
#define EXIT_CODE_INTERNAL          12  /* bug: please report */
#define EXIT_CODE_NO_COORDINATOR    13  /* worker: no coordinator for --give-up-after */

#endif
