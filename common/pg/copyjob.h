/*  common/pg/copyjob.h: what a worker knows about one run, prepared once.

    A copyjob_t is built from a job file (standalone) or a JOB message, then
    prepared against both servers: the source query is described (column
    names and types, the key's type), the table the chunks COPY into is
    described, and every query column is matched by name. When every column
    has the same built-in type on both sides, chunks move as binary COPY
    passthrough; otherwise as text COPY (the target server casts), and a
    pair that cannot convert (e.g. jsonb into integer) is an error naming the
    column. Pure data plus copyjob_prepare, which owns no connection. */
#ifndef FERRY_COPYJOB_H
#define FERRY_COPYJOB_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "csv.h"
#include "pg.h"
#include "protocol.h"
#include "retry.h"
#include "validate.h"

typedef struct {
    /* what to do (owned strings) */
    source_kind_t kind;
    char *run_id;
    char *worker;              /* this worker's name (ledger column) */
    char *source_conninfo;
    char *target_conninfo;
    int source_connect_timeout; /* seconds, libpq connect_timeout; 0 = libpq's default */
    int target_connect_timeout;
    char *query;
    char *read_query;          /* query without a trailing ORDER BY when that is
                                  safe (sqltext_unordered): what chunks
                                  and the planner read */
    char *key;                 /* key column name, unquoted */
    char *snapshot;            /* exported snapshot id or NULL */
    bool ctid_split;           /* chunk bounds are tids of heap blocks (the
                                  coordinator checked that read_query scans one
                                  table whole), else key values */
    char *copy_table;          /* quoted, qualified: where chunks COPY into */
    char *final_table;         /* user text */
    int processors;
    int raw_queue_max;
    int processed_queue_max;
    int read_buffer;
    retry_policy_t retry;

    /* filled by copyjob_prepare */
    bool prepared;
    bool binary;               /* binary passthrough, else text COPY */
    int nfields;
    char *key_quoted;          /* "acct_id" */
    char *key_type;            /* format_type of the key, e.g. bigint */
    char *column_list;         /* quoted query columns: "a", "b" */
    char *text_columns;        /* for messages: columns that go as text */

    /* csv sources */
    csv_format_t csv;          /* csv.null_marker points at csv_null */
    char *csv_null;
    char *encoding;            /* the file's encoding, for COPY (ENCODING) */
    int nfile_columns;         /* fields every record must have */
    char **file_targets;       /* per file column: target column, NULL = skip */
    validate_column_t *validators;   /* per file column (prepared) */
    int batch_size;            /* rows per COPY group (savepoint) */
    int max_record_bytes;      /* a longer record is rejected, never held whole */
} copyjob_t;

/*  From a loaded job file; run_id and worker are copied. Can't fail. */
copyjob_t *copyjob_from_config (const config_t *cfg, const char *run_id,
                                const char *worker, const char *copy_table);

/*  From a JOB message; conninfos missing in the message come from
    FERRY_SOURCE_DSN / FERRY_TARGET_DSN. Returns NULL (reason in err) when
    a conninfo is missing from both. */
copyjob_t *copyjob_from_protocol (const protocol_job_t *job, const char *run_id,
                                  const char *worker, char *err, size_t errlen);

/*  The JOB message for the workers of a run (the inverse of
    copyjob_from_protocol): from the job file (cfg), the prepared job (key,
    split, file columns), the table chunks copy into and the exported
    snapshot (or NULL). Conninfos go in only when with_conninfos (a
    loopback bind; never a file source's). The strings are borrowed from
    cfg and self, except *owned (the joined file columns, or NULL), which
    the caller frees once the JOB is no longer sent. Can't fail. */
void copyjob_to_protocol (const copyjob_t *self, const config_t *cfg, const char *copy_table,
                          const char *snapshot, bool with_conninfos, protocol_job_t *pj,
                          char **owned);

void copyjob_destroy (copyjob_t **self_p);

/*  Sets a csv job's file columns: targets[i] is the target column of file
    column i, NULL to skip it (copied). */
void copyjob_set_file_columns (copyjob_t *self, char *const *targets, int count);

/*  The file columns joined for a JOB message (protocol.h,
    PROTOCOL_COLUMN_SEP). Caller frees. */
char *copyjob_file_columns_joined (const copyjob_t *self);

/*  csv: describes the final table on `target`, checks every mapped column
    exists (an error names it), sets up a validator per file column from
    the final table's types and NOT NULL flags, builds the COPY column
    list. Returns 0, or -1 with err; *retryable as for copyjob_prepare. */
int copyjob_prepare_csv (copyjob_t *self, pg_conn_t *target, char *err, size_t errlen,
                         bool *retryable);

/*  How one query column moves into its target column, from the two types
    (OIDs, pg_type.typcategory): binary when both are the same built-in
    type; text when the categories convert (the same category, either side
    a string, or a user/unknown type the server will judge); else refused.
    A job is binary only when every column is. Pure. */
typedef enum {
    COPYJOB_COLUMN_BINARY,
    COPYJOB_COLUMN_TEXT,
    COPYJOB_COLUMN_REFUSED
} copyjob_column_t;
copyjob_column_t copyjob_column_mode (unsigned src_oid, unsigned tgt_oid, char src_cat,
                                      char tgt_cat);

/*  Describes the query on `source` and the copy table on `target`, decides
    binary or text, builds the column list. Returns 0, or -1 with a message
    naming the column/key/table in err; *retryable tells whether the
    failure was a connection problem worth retrying. */
int copyjob_prepare (copyjob_t *self, pg_conn_t *source, pg_conn_t *target,
                     char *err, size_t errlen, bool *retryable);

/*  The COPY ... TO STDOUT statement for [lo, hi) (NULL = unbounded), with
    the bounds escaped as literals on `conn` and cast to the key type (to
    tid, compared with the table's ctid, when ctid_split).
    Caller frees. NULL if escaping failed (error kept in conn). */
char *copyjob_copy_out_sql (const copyjob_t *self, pg_conn_t *conn,
                            const char *lo, const char *hi);

/*  The COPY ... FROM STDIN statement (csv jobs: text format of the rows
    the processors encode). Caller frees. */
char *copyjob_copy_in_sql (const copyjob_t *self);

#endif
