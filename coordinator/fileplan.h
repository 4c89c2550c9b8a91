/*  coordinator/fileplan.h: planning a file source.

    Expands source.path (a file or a glob) into files in name order, reads
    the header of the first file when there is one, and cuts every file
    into byte ranges that start and end on record boundaries (one pass per
    file with common/format/csv_split.c csv_split, which tracks quotes, so a quoted
    newline never splits a record), each carrying the line it starts at.
    Ranges hold about chunk_size records, estimated from the first
    megabyte's bytes per line. One range per file below
    min_rows_for_parallel lines in all, or with sequential. A file with no
    records gives no range. */
#ifndef FERRY_COORDINATOR_FILEPLAN_H
#define FERRY_COORDINATOR_FILEPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv.h"

typedef struct {
    char *path;
    int64_t offset;
    int64_t length;
    int64_t first_line;
    int64_t est_rows;          /* physical lines in the range */
} fileplan_range_t;

typedef struct {
    fileplan_range_t *ranges;
    size_t count;
    size_t files;
    int64_t total_bytes;
    int64_t total_lines;
    char **header;             /* the first file's header fields, or NULL */
    int header_count;
} fileplan_t;

/*  Plans `pattern`. Returns the plan, or NULL with a message naming the
    file in err (no match, unreadable, a header that cannot be parsed). */
fileplan_t *fileplan_build (const char *pattern, const csv_format_t *fmt, int64_t chunk_size,
                            int64_t min_rows_for_parallel, bool sequential, int slots,
                            char *err, size_t errlen);

void fileplan_destroy (fileplan_t **self_p);

#endif
