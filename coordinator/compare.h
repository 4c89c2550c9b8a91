/*  coordinator/compare.h: the pure parts of `ferry-coordinator verify`
    (coordinator/cmd_verify.c): which rows differ between two lists of
    (key, row hash) read from the same key range of source and target, and
    the WHERE clause that cuts a key range the same way on both servers.

    A row hash is the md5 of the row's text (ROW(...)::text) as each
    server prints it with ferry's session settings; two rows are the same
    row when their keys and hashes are equal. Keys are compared as the
    text each server printed; a NULL key is NULL here. */
#ifndef FERRY_COORDINATOR_COMPARE_H
#define FERRY_COORDINATOR_COMPARE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *key;                 /* owned by the caller; NULL: a NULL key */
    char hash[33];             /* md5, hex */
} compare_row_t;

typedef enum {
    COMPARE_MISSING,           /* in the source, not in the target */
    COMPARE_EXTRA,             /* in the target, not in the source (or once more) */
    COMPARE_DIFFERS            /* the key in both, the row's text not the same */
} compare_kind_t;

typedef struct {
    compare_kind_t kind;
    const char *key;           /* borrowed from the rows; NULL: a NULL key */
} compare_diff_t;

typedef struct {
    int64_t missing, extra, differs;
} compare_counts_t;

/*  Sorts both lists (by key, then hash) and matches them: under one key,
    equal hashes pair off; a source row left over pairs with a target row
    left over as one DIFFERS; what is left is MISSING (source) or EXTRA
    (target): a row the target holds twice is one EXTRA. Fills *counts and
    returns the differences in key order (*out, caller frees; NULL when
    there are none). Returns how many. Can't fail. */
size_t compare_rows (compare_row_t *src, size_t nsrc, compare_row_t *tgt, size_t ntgt,
                     compare_diff_t **out, compare_counts_t *counts);

/*  The WHERE clause (with its leading " WHERE", or "" for a range unbounded
    on both sides) for the key range [lo, hi) over the alias ferry_q: key
    is the quoted column, type the key's type on that server, elo/ehi the
    bounds already quoted as literals (NULL: unbounded). The first range
    (no lo) also holds the NULL keys, so that the ranges of a plan cover
    every row of a table. Caller frees. Can't fail. */
char *compare_where (const char *key, const char *type, const char *elo, const char *ehi);

/*  The kind as a word for reports: "missing", "extra", "differs". */
const char *compare_kind_name (compare_kind_t kind);

#endif
