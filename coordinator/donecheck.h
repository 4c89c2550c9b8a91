/*  coordinator/donecheck.h: a DONE counts only if the target's ledger
    holds what it claims.

    A worker commits a chunk's rows in one transaction with its row in
    ferry.chunk_commits (attempt, worker, rows, bytes, checksum,
    rejected), then says DONE with the same figures. Before a DONE marks
    its chunk done the coordinator reads that row (donecheck_read) and
    compares (donecheck_compare, pure): no row, another attempt's row, or
    other figures mean the worker reports work it did not commit, and the
    run fails without publishing (admit_done, coordinator/admit.c). */
#ifndef FERRY_COORDINATOR_DONECHECK_H
#define FERRY_COORDINATOR_DONECHECK_H

#include "pg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  What a DONE claims (borrowed strings). */
typedef struct {
    int64_t chunk_id;
    int32_t attempt;
    const char *worker;        /* the name the sender joined with */
    int64_t rows, bytes, rejected;
    uint64_t checksum;
} donecheck_claim_t;

/*  The chunk's ledger row, as read. */
typedef struct {
    bool found;                /* a committed row exists */
    int32_t attempt;
    char worker[256];
    int64_t rows, bytes, rejected;   /* -1: NULL in the ledger */
    char checksum[24];         /* 16 hex digits, "" for NULL */
} donecheck_row_t;

/*  0 when the row is the claimed commit (same attempt, worker, rows,
    bytes, checksum and rejected count), else -1 with what differs in why
    ("the ledger has no committed row for it", "rows 50000 claimed, 1000
    committed", ...). Pure; can't fail otherwise. */
int donecheck_compare (const donecheck_claim_t *claim, const donecheck_row_t *row,
                       char *why, size_t whylen);

/*  Reads the committed ledger row of (run_id, chunk_id) on `conn`
    (borrowed). 0 with *row filled (row->found false when there is none),
    or -1 when the query failed (pg_conn_error says why). */
int donecheck_read (pg_conn_t *conn, const char *run_id, int64_t chunk_id, donecheck_row_t *row);

#endif
