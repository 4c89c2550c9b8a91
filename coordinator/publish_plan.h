/*  coordinator/publish_plan.h: how a merge publish writes, decided from
    what it found under its lock. Pure.

    The fastest statement with MERGE's result: a plain INSERT when no match
    is possible (empty final table with a unique index on the merge key;
    or no such index and either an empty table or on_match: error, whose
    existence check then proved there is none); INSERT ... ON CONFLICT
    when the unique index exists (DO UPDATE for on_match: update with
    columns to set, else DO NOTHING); MERGE otherwise. Plus the checks the
    statement does not make by itself. */
#ifndef FERRY_COORDINATOR_PUBLISH_PLAN_H
#define FERRY_COORDINATOR_PUBLISH_PLAN_H

#include "config.h"

#include <stdbool.h>

typedef enum {
    PUBLISH_SQL_INSERT,            /* INSERT ... SELECT */
    PUBLISH_SQL_UPSERT,            /* INSERT ... ON CONFLICT DO UPDATE */
    PUBLISH_SQL_INSERT_IGNORE,     /* INSERT ... ON CONFLICT DO NOTHING */
    PUBLISH_SQL_MERGE          /* MERGE ... WHEN MATCHED ... WHEN NOT MATCHED INSERT */
} publish_statement_t;

typedef struct {
    publish_statement_t statement;
    const char *name;          /* "insert", "upsert", "insert-ignore", "merge" */
    bool check_duplicates;     /* GROUP BY key HAVING count(*) > 1 over staging first */
    bool check_existing;       /* on_match: error on a non-empty table: count matches first */
    bool counts_all;           /* the statement's row count covers every staged row */
} publish_plan_t;

/*  unique: a unique, non-partial, non-expression index whose columns are
    exactly the merge key; empty: the final table has no rows; nset: the
    columns an update would set (non-key query columns). */
publish_plan_t publish_plan (bool unique, bool empty, on_match_t on_match, int nset);

#endif
