/*  common/job/jobcheck.h: limits and checks a job must pass both as a job file
    (common/job/config.c) and as a JOB from the wire (common/wire/protocol.c), so
    that neither path lets through what a worker would assert on or fail
    every chunk with. Pure logic, no I/O. */
#ifndef FERRY_JOBCHECK_H
#define FERRY_JOBCHECK_H

#include <stdint.h>

/*  pipeline.processors: threads per chunk (worker/pipeline.c has room for
    this many). */
#define JOBCHECK_MAX_PROCESSORS 64

/*  source.format.max_record_bytes: the longest CSV record a worker holds;
    a longer one is rejected (its first bytes kept) without being read
    into memory whole. */
#define JOBCHECK_MAX_RECORD_DEFAULT (16 * 1024 * 1024)
#define JOBCHECK_MAX_RECORD_MIN     1024
#define JOBCHECK_MAX_RECORD_MAX     (1024 * 1024 * 1024)

/*  Of a rejected over-long record, this many bytes are kept (stored in
    ferry.rejects.raw). */
#define JOBCHECK_REJECT_PREFIX 4096

/*  Checks one-byte CSV format characters (0 = none: quote and escape
    only). Returns NULL when the format is usable, else a reason and in
    *field the name of the offending setting ("delimiter", "quote" or
    "escape"). The rules: the delimiter is set and is no line break; the
    quote is no line break and differs from the delimiter; the escape is
    no line break. Can't fail. */
const char *jobcheck_csv_format (int delimiter, int quote, int escape, const char **field);

#endif
