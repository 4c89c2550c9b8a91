/*  common/job/config.h: the job file (YAML) as a validated struct.

    config_load parses a job file with libyaml into config_t, fills every
    default of the job file reference (README, "Job file"), validates every
    value, and applies FERRY_SOURCE_DSN / FERRY_TARGET_DSN from the
    environment (the environment wins over the file). Errors name the key
    path and the problem, e.g.
        job.yaml: pipeline.writers: must be 1..256, got 0
        job.yaml:12: unknown key "pipline" (did you mean "pipeline"?)
    Unknown keys are errors. Strings in config_t are owned by the config_t.
    The parser's files: config.c (this API, loading, the checks after the
    walk), config_rules.c and config_alerts.c (every section as a rule
    table: kind, bounds, default), config_walk.c and config_value.c (the
    one walker, and a reader per kind of value); the query's text is read
    by common/job/sqltext.c.
*/
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SOURCE_KIND_POSTGRES = 0, SOURCE_KIND_CSV } source_kind_t;
typedef enum { SNAPSHOT_SHARED = 0, SNAPSHOT_NONE } snapshot_mode_t;
typedef enum { SPLIT_AUTO = 0, SPLIT_KEY, SPLIT_CTID } split_mode_t;
typedef enum { ON_MATCH_UPDATE = 0, ON_MATCH_IGNORE, ON_MATCH_ERROR } on_match_t;
typedef enum { PUBLISH_MERGE = 0, PUBLISH_DIRECT } publish_mode_t;

typedef struct {
    struct {
        source_kind_t kind;          /* source.kind: postgres (default) | csv */
        char *conninfo;              /* source.conninfo (postgres); env FERRY_SOURCE_DSN wins */
        char *query;                 /* source.query (postgres, required) */
        char *key;                   /* source.key; default: the query's last ORDER BY column */
        snapshot_mode_t snapshot;    /* source.snapshot: shared (default) | none */
        split_mode_t split;          /* source.split: auto (default) | key | ctid:
                                        ctid = ranges of heap blocks, for a query
                                        that scans one table whole */
        char *path;                  /* source.path (csv, required): file or glob */
        struct {                     /* source.format (csv) */
            char delimiter;          /* ',' ; one character ("\t" for TSV) */
            char quote;              /* '"' ; "" = no quoting */
            char escape;             /* default: the quote character */
            bool header;             /* false */
            char *null_marker;       /* "" : an unquoted empty field is NULL */
            char *encoding;          /* "UTF8": the file's encoding (server converts) */
            int max_record_bytes;    /* 16 MiB, 1024..1 GiB: a longer record is rejected */
        } format;
        char **columns;              /* source.columns (csv): target column per file
                                        column, in file order; NULL entries ("-")
                                        skip that file column. Default: the header's
                                        names, or the target's columns in order */
        size_t column_count;
        char *rejects_file;          /* source.rejects_file: also write rejects there */
        int64_t max_errors;          /* source.max_errors: -1 (default) = no limit */
        double max_error_rate;       /* source.max_error_rate: 0..1, default 0.1 */
        double connect_timeout;      /* source.connect_timeout: seconds, 0..3600, default
                                        30 (libpq connect_timeout; 0 = wait for ever) */
    } source;
    struct {
        char *conninfo;              /* target.conninfo (required); env FERRY_TARGET_DSN wins */
        char *table;                 /* target.table (required), may be schema-qualified */
        char **merge_key;            /* target.merge.key; default: [source.key] */
        size_t merge_key_count;
        on_match_t on_match;         /* target.merge.on_match: update (default) | ignore | error */
        publish_mode_t publish;      /* target.publish: merge (default) | direct */
        double lock_timeout;         /* target.lock_timeout: seconds the publish waits for
                                        a lock, 0..86400, default 60; 0 = no limit */
        double connect_timeout;      /* target.connect_timeout: seconds, 0..3600, default
                                        30 (libpq connect_timeout; 0 = wait for ever) */
        double statement_timeout;    /* target.statement_timeout: seconds, 0..86400,
                                        default 60, for ferry's control statements on
                                        the target (never the data COPY, the publish or
                                        ANALYZE); 0 = no limit */
        bool analyze;                /* target.analyze: ANALYZE the final table after
                                        the load (default true) */
    } target;
    struct {
        int64_t chunk_size;          /* 50000 (csv: 2000000), 1..1e9 */
        int64_t min_rows_for_parallel; /* 100000, 0..1e12 */
        int64_t group_rows;          /* 500000, 0..1e12: smaller adjacent chunks go out
                                        together, one COPY for about this many rows;
                                        0 = one COPY per chunk */
        int writers;                 /* 2, 1..256: chunks in flight per worker */
        int processors;              /* 2, 1..64 */
        int raw_queue_max;           /* 20, 1..10000 */
        int processed_queue_max;     /* 10, 1..10000 */
        int batch_size;              /* 5000, 1..1000000 (file sources) */
        int read_buffer;             /* 65536, 4096..16777216 bytes */
        bool backups;                /* true: a slow chunk at the tail of a merge run
                                        gets a backup attempt (coordinator/straggler.h) */
        int concurrency;             /* chunks in flight across all slots: 0 = auto
                                        (default: measured, coordinator/concurrency.h),
                                        1..4096 pins it (never above the slots offered) */
    } pipeline;
    struct {
        int max_retries;             /* 3, 0..100 */
        double initial_delay;        /* 1.0 s, 0..3600 */
        double backoff;              /* 2.0, 1..100 */
        double max_delay;            /* 30 s, 0..86400, >= initial_delay */
    } retry;
    struct {
        char *bind;                  /* "tcp://127.0.0.1:5570" */
        int heartbeat_ms;            /* 1000, 10..600000 */
        int liveness;                /* 5, 1..1000 */
        double chunk_stall_timeout;  /* 300 s, 2..604800: a chunk whose rows and
                                        bytes do not advance that long is requeued */
        char *secret_file;           /* NULL: FERRY_CLUSTER_SECRET or a per-run secret */
        char *metrics;               /* NULL: no endpoint; "HOST:PORT" of /metrics,
                                        /healthz, /readyz (--metrics overrides) */
        double metrics_linger;       /* 0 s, 0..3600: keep serving after the run */
        char *curve_secret_key;      /* cluster.curve.secret_key: the coordinator's secret
                                        certificate (zcert); NULL: no CURVE */
        char *curve_authorized_keys; /* cluster.curve.authorized_keys: directory of the
                                        workers' public certificates */
        bool insecure;               /* cluster.insecure: a non-loopback bind without CURVE */
    } cluster;
    struct {                         /* alerts (common/job/config_alerts.c); 0 turns a check off */
        double wall_ratio;           /* 2.0: wall > ratio x the job's baseline wall */
        double throughput_ratio;     /* 0.5: rows/s < ratio x the baseline's rows/s */
        double error_rate;           /* 0.05: rejected / read (files), failed attempts /
                                        attempts (chunks) above this */
        double connections;          /* 0.8: connections in use / max_connections above
                                        this, on either server */
        double memory;               /* 0.8: a worker's peak RSS / its memory limit above */
        bool fail_run;               /* false: an alert changes the exit status (1) */
    } alerts;
    char *origin;                    /* file name the config came from (for messages) */
} config_t;

/*  Creates a config holding every default (required strings NULL).
    Can't fail (aborts on OOM). */
config_t *config_new (void);

/*  Reads and validates a job file. On error returns NULL and writes one
    message naming the file, line (where known), key path and problem into
    err (always NUL-terminated). Applies the environment overrides. */
config_t *config_load (const char *path, char *err, size_t errlen);

/*  Same as config_load, from a string; `origin` names it in messages. */
config_t *config_parse (const char *text, size_t len, const char *origin,
                        char *err, size_t errlen);

/*  Destroys the config and nulls the caller's pointer; accepts NULL. */
void config_destroy (config_t **self_p);

#endif
