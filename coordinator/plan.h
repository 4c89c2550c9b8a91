/*  coordinator/plan.h: splitting a key domain into chunks, pure logic.

    The planner asks the source for the row count and for every
    chunk_size-th key in key order (row_number() OVER (ORDER BY key)),
    then plan_build turns those samples into half-open ranges [lo, hi)
    equal by ROW COUNT, not by key width. The first range has no low
    bound and the last no high bound, so no row falls outside the plan.
    Samples whose key repeats the previous sample are merged (a key value
    never spans two chunks). No I/O here: source.c runs the queries. */
#ifndef FERRY_COORDINATOR_PLAN_H
#define FERRY_COORDINATOR_PLAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *lo;                  /* NULL = unbounded */
    char *hi;                  /* NULL = unbounded */
    int64_t est_rows;          /* rows by row number (exact for distinct keys) */
} plan_range_t;

typedef struct {
    plan_range_t *ranges;
    size_t count;
    int64_t total_rows;
} plan_t;

/*  One boundary sample: the key (as text) at row number rn (1-based). */
typedef struct {
    const char *key;
    int64_t rn;
} plan_sample_t;

/*  Builds the plan from `total_rows` and the samples (ascending rn, keys
    in key order; sample rn values are chunk starts, so rn = 1 is never a
    sample). With no samples the plan is one unbounded chunk. Can't fail;
    caller owns the result (plan_destroy). */
plan_t *plan_build (int64_t total_rows, const plan_sample_t *samples, size_t nsamples);

/*  Splits a table's heap of `nblocks` blocks, holding about `est_rows`
    rows, into ranges of whole blocks of about chunk_size rows each (the
    ctid split): bounds are tids "(block,0)", before every tuple of that
    block. The first range has no low bound and the last no high bound, so
    a block added after planning still belongs to a chunk. One unbounded
    range below min_rows_for_parallel or when the heap is too small to
    split; never more ranges than blocks. Rows per range are estimated from
    the blocks it covers. Can't fail; caller owns the result. */
plan_t *plan_blocks (int64_t nblocks, int64_t est_rows, int64_t chunk_size,
                     int64_t min_rows_for_parallel);

/*  A tid bound's text for block b: "(b,0)". Caller frees. */
char *plan_block_tid (int64_t block);

/*  A plan of one unbounded chunk of total_rows. */
plan_t *plan_single (int64_t total_rows);

void plan_destroy (plan_t **self_p);

/*  Whether the ranges cover the whole key space once: at least one, the
    first without a low bound, the last without a high bound, each range's
    high bound the next one's low bound (the same text). Returns 0, or -1
    with the first gap or overlap in why ("range 3 ends at '40' but range
    4 starts at '41'"). */
int plan_covers (const plan_t *plan, char *why, size_t whylen);

/*  How many chunks to aim for: ceil (total / chunk_size), 1 below
    min_rows_for_parallel or when sequential. */
int64_t plan_chunk_count (int64_t total_rows, int64_t chunk_size,
                          int64_t min_rows_for_parallel, int sequential);

/*  How many byte ranges to cut files of total_bytes into, for chunks of
    about chunk_bytes: ceil (total_bytes / chunk_bytes), at least 1, then
    rounded up to a multiple of slots when slots > 1, so that every slot of
    a run whose slots are known (local workers) has work and they end
    together instead of leaving one slot with the last chunk alone. (The
    caller still merges the ranges of a file too small to be worth it:
    min_rows_for_parallel, and 64 KiB at least per range.) */
int64_t plan_file_ranges (int64_t total_bytes, int64_t chunk_bytes, int slots);

/*  Rows one COPY should carry at least, when chunks are smaller: below
    that, the target's fixed cost per COPY statement shows (bench/RESULTS.md,
    issue 11: ~40-55 ms per 50,000-row COPY on the reference table). */
#define PLAN_GROUP_ROWS 500000

/*  How many adjacent chunks of about chunk_rows each to hand out as one
    group (one COPY, one transaction, one ledger row per chunk):
    enough for group_rows rows, but no more than ready / slots rounded up,
    so that every slot offered still gets work; at least 1. group_rows 0
    (pipeline.group_rows: 0) turns grouping off. */
int plan_group_size (int64_t chunk_rows, int64_t group_rows, int64_t ready, int slots);

#endif
