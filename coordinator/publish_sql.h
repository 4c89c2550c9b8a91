/*  coordinator/publish_sql.h: the text of a merge publish's statements,
    from the plan (publish_plan.h), the tables and the columns. Pure: no
    connection; every column name is quoted here (pg_quote_ident), the
    table names come quoted (pg_quote_qualified).

    Staging is read as "s", the final table (in MERGE and the existence
    check) as "f". The columns written are the query's columns among
    staging's (in staging's order); the ones set on a match are those of
    them that are not merge key columns. */
#ifndef FERRY_COORDINATOR_PUBLISH_SQL_H
#define FERRY_COORDINATOR_PUBLISH_SQL_H

#include "config.h"
#include "publish_plan.h"

#include <stddef.h>

typedef struct {
    const char *final;              /* quoted final table */
    const char *staging;            /* quoted staging table */
    char *const *keys;              /* merge key column names, unquoted */
    size_t nkeys;
    char *const *cols;              /* the columns written, unquoted, in order */
    size_t ncols;
    on_match_t on_match;
} publish_sql_in_t;

/*  The statement's pieces, built once per publish by publish_sql_new.
    All owned. */
typedef struct {
    char *keys;                     /* "a", "b" */
    char *on;                       /* f."a" = s."a" AND f."b" = s."b" */
    char *ins;                      /* "a", "b", "c" */
    char *sel;                      /* s."a", s."b", s."c" */
    char *set;                      /* "c" = EXCLUDED."c" (ON CONFLICT DO UPDATE) */
    char *mset;                     /* "c" = s."c" (MERGE's UPDATE SET) */
    char *null_cond;                /* s."a" IS NULL OR s."b" IS NULL */
    int nset;                       /* columns set on a match */
    publish_sql_in_t in;            /* borrowed, as given */
} publish_sql_t;

/*  Builds the pieces (in's strings borrowed for the object's life).
    Can't fail. */
publish_sql_t *publish_sql_new (const publish_sql_in_t *in);
void publish_sql_destroy (publish_sql_t **self_p);

/*  The statements, each malloc'd (caller frees). Can't fail. */

/*  INSERT ... SELECT, INSERT ... ON CONFLICT (key) DO UPDATE SET / DO
    NOTHING, or MERGE INTO final f USING staging s ON (key) ..., as the
    plan says. */
char *publish_sql_statement (const publish_sql_t *self, const publish_plan_t *plan);

/*  Up to 3 duplicate merge keys of staging with their counts
    (plan.check_duplicates). */
char *publish_sql_duplicates (const publish_sql_t *self);

/*  How many staged rows match a row of the final table by key
    (plan.check_existing). */
char *publish_sql_existing (const publish_sql_t *self);

/*  How many staged rows have a NULL in a merge key column. */
char *publish_sql_null_keys (const publish_sql_t *self);

/*  count(*) of staging. */
char *publish_sql_count (const publish_sql_t *self);

#endif
