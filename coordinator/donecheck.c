/*  coordinator/donecheck.c: see donecheck.h. */
#include "donecheck.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
donecheck_compare (const donecheck_claim_t *claim, const donecheck_row_t *row,
                   char *why, size_t whylen)
{
    if (!row->found) {
        snprintf (why, whylen, "the ledger has no committed row for it");
        return -1;
    }
    char sum[24];
    snprintf (sum, sizeof sum, "%016" PRIx64, claim->checksum);
    if (row->attempt != claim->attempt)
        snprintf (why, whylen, "attempt %d claimed, attempt %d committed", claim->attempt,
                  row->attempt);
    else if (strcmp (row->worker, claim->worker ? claim->worker : "") != 0)
        snprintf (why, whylen, "claimed by worker %s, committed by worker %s",
                  claim->worker ? claim->worker : "?", row->worker);
    else if (row->rows != claim->rows)
        snprintf (why, whylen, "%" PRId64 " rows claimed, %" PRId64 " committed", claim->rows,
                  row->rows);
    else if (row->bytes != claim->bytes)
        snprintf (why, whylen, "%" PRId64 " bytes claimed, %" PRId64 " committed", claim->bytes,
                  row->bytes);
    else if (strcmp (row->checksum, sum) != 0)
        snprintf (why, whylen, "checksum %s claimed, %s committed", sum,
                  row->checksum[0] ? row->checksum : "none");
    else if (row->rejected != claim->rejected)
        snprintf (why, whylen, "%" PRId64 " rejected records claimed, %" PRId64 " committed",
                  claim->rejected, row->rejected);
    else
        return 0;
    return -1;
}

static int64_t
s_int (PGresult *res, int col)
{
    return PQgetisnull (res, 0, col) ? -1 : strtoll (PQgetvalue (res, 0, col), NULL, 10);
}

int
donecheck_read (pg_conn_t *conn, const char *run_id, int64_t chunk_id, donecheck_row_t *row)
{
    memset (row, 0, sizeof *row);
    char chunk[24];
    snprintf (chunk, sizeof chunk, "%" PRId64, chunk_id);
    const char *params[2] = { run_id, chunk };
    PGresult *res = NULL;
    if (pg_exec_params (conn, "SELECT attempt, worker, rows, bytes, coalesce(checksum, ''), "
                        "rejected FROM ferry.chunk_commits WHERE run_id = $1 AND chunk_id = $2 "
                        "AND committed_at IS NOT NULL", 2, params, &res) != 0)
        return -1;
    if (PQntuples (res) == 1) {
        row->found = true;
        row->attempt = (int32_t) s_int (res, 0);
        snprintf (row->worker, sizeof row->worker, "%s", PQgetvalue (res, 0, 1));
        row->rows = s_int (res, 2);
        row->bytes = s_int (res, 3);
        snprintf (row->checksum, sizeof row->checksum, "%s", PQgetvalue (res, 0, 4));
        row->rejected = s_int (res, 5);
    }
    PQclear (res);
    return 0;
}
