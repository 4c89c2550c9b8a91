/*  coordinator/compare_ranges.h: one key range of `verify`
    (coordinator/cmd_verify.c) compared on both servers: the statements,
    sent to the source and the target at once, and the report of a range
    that differs.

    Per range, each server counts the rows and sums a 60-bit hash of each
    row's text (md5 of ROW(...)::text, ferry's session settings on both).
    A range whose count or sum differs is read again as (key, md5) pairs
    on both sides (at most 2,000,000 a side) and matched by compare_rows
    (compare.h), which names the keys missing, extra or different. The
    source's statements read the job's query, the target's the final
    table, both under the alias ferry_q. */
#ifndef FERRY_COORDINATOR_COMPARE_RANGES_H
#define FERRY_COORDINATOR_COMPARE_RANGES_H

#include "compare.h"
#include "copyjob.h"
#include "pg.h"
#include "plan.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    /*  Set by the caller (borrowed). */
    pg_conn_t *src, *tgt;      /* each inside its one snapshot */
    const copyjob_t *job;      /* prepared (copyjob_prepare) */
    const char *final_q;       /* the target table, quoted */
    const char *table;         /* the same, as the job names it (messages) */
    const char *run_id;        /* the ranges are this run's chunks, or NULL */
    int64_t show;              /* keys listed per range and kind */
    json_object *ranges_json;  /* differing ranges are added here; NULL: text on stdout */
    /*  Filled here. */
    char *src_exprs, *tgt_exprs;   /* the compared columns, in the query's order */
    char *tgt_key_type;
    int64_t rows_source, rows_target, ranges_differing;
    int64_t unexplained;       /* differing ranges the same key by key (a volatile query) */
    compare_counts_t total;
    bool undetailed;           /* a differing range too big to read key by key */
    char err[2048];            /* why the last call failed */
} rangecmp_t;

/*  The compared columns: the query's, by name; on the source, one whose
    type differs from its target column's is converted as the load's text
    COPY converts it (format('%s', col)::<target type>: its output
    function's text read by the target type's input function). 0, or -1
    (err). */
int rangecmp_columns (rangecmp_t *self);

/*  Compares range `id` on both servers; a difference is counted and
    reported (stdout, or ranges_json). 0, or -1 when a statement failed
    (err). */
int rangecmp_range (rangecmp_t *self, size_t id, const plan_range_t *range);

/*  Frees what rangecmp_columns filled. */
void rangecmp_free (rangecmp_t *self);

#endif
