/*  common/exit_codes.h: the one table of process exit statuses.

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
#define EXIT_CODE_INTERNAL          12  /* bug: please report */

#endif
