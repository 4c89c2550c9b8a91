/*  common/job/config_rules.c: the job file's sections as rule tables (kinds,
    bounds, defaults: README "Job file" is the reference), read by
    config_walk (config_walk.c), and the checks across a section's keys.
    The alerts section has its own file (config_alerts.c).

    Each table lists its keys in the order an "unknown key" message names
    them. Defaults that depend on other keys are set after the walk
    (config.c): pipeline.chunk_size by source.kind, target.merge.key from
    source.key, source.key from the query.
*/
#include "config_int.h"
#include "jobcheck.h"

#include <stdint.h>

/*  Enum spellings, indexed by the enum value. */
static const char *const s_kind_names[] = { "postgres", "csv", NULL };
static const char *const s_snapshot_names[] = { "shared", "none", NULL };
static const char *const s_split_names[] = { "auto", "key", "ctid", NULL };
static const char *const s_on_match_names[] = { "update", "ignore", "error", NULL };
static const char *const s_publish_names[] = { "merge", "direct", NULL };


/* --------------------------------------------------------------------- */
/*  source                                                                */

/*  After source.format: escape defaults to the quote, and the same rules
    as a JOB from the wire (common/job/jobcheck.c). */
static int
s_format_finish (config_ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    if (!config_ctx_lookup (ctx, map, "escape"))
        cfg->source.format.escape = cfg->source.format.quote;
    const char *field = NULL;
    const char *what = jobcheck_csv_format ((unsigned char) cfg->source.format.delimiter,
                                            (unsigned char) cfg->source.format.quote,
                                            (unsigned char) cfg->source.format.escape, &field);
    if (what) {
        config_ctx_error (ctx, map, "source.format.%s: %s", field, what);
        return -1;
    }
    return 0;
}

static const config_rule_t s_format_rules[] = {
    { CONFIG_MEMBER ("delimiter", source.format.delimiter), .kind = CONFIG_CHAR, .def = ',' },
    { CONFIG_MEMBER ("quote", source.format.quote), .kind = CONFIG_CHAR, .empty = true,
      .def = '"' },
    { CONFIG_MEMBER ("escape", source.format.escape), .kind = CONFIG_CHAR, .def = '"' },
    CONFIG_R_BOOL ("header", source.format.header),
    /*  `null: ""` is the common case; a bare `null:` means the same. */
    { CONFIG_MEMBER ("null", source.format.null_marker), .kind = CONFIG_STRING, .empty = true,
      .sdef = "" },
    /*  It goes into COPY ... (ENCODING '<name>'): names only. */
    { CONFIG_MEMBER ("encoding", source.format.encoding), .kind = CONFIG_NAME,
      .hint = "an encoding name such as UTF8 or LATIN1", .sdef = "UTF8" },
    CONFIG_R_INT ("max_record_bytes", source.format.max_record_bytes, JOBCHECK_MAX_RECORD_MIN,
                  JOBCHECK_MAX_RECORD_MAX, JOBCHECK_MAX_RECORD_DEFAULT),
};
static const config_section_t s_format =
    CONFIG_SECTION_OF (s_format_rules, "source.format", s_format_finish);

static const config_rule_t s_source_rules[] = {
    CONFIG_R_ENUM ("kind", source.kind, s_kind_names),
    CONFIG_R_STRING ("conninfo", source.conninfo),
    CONFIG_R_STRING ("query", source.query),
    CONFIG_R_STRING ("key", source.key),
    CONFIG_R_ENUM ("snapshot", source.snapshot, s_snapshot_names),
    CONFIG_R_ENUM ("split", source.split, s_split_names),
    CONFIG_R_STRING ("path", source.path),
    CONFIG_R_SECTION ("format", s_format),
    /*  A target column per file column, "-" to skip one. */
    { CONFIG_MEMBER ("columns", source.columns), .kind = CONFIG_LIST,
      .count_offset = offsetof (config_t, source.column_count),
      .hint = "a list of target column names (\"-\" skips a file column)",
      .skip = "-", .skip_what = "file column",
      .dup_prefix = "column ", .dup_suffix = " is mapped twice" },
    CONFIG_R_STRING ("rejects_file", source.rejects_file),
    CONFIG_R_INT ("max_errors", source.max_errors, -1, INT64_MAX, -1),
    CONFIG_R_NUMBER ("max_error_rate", source.max_error_rate, 0.0, 1.0, 0.1),
    CONFIG_R_NUMBER ("connect_timeout", source.connect_timeout, 0, 3600, 30.0),
};
static const config_section_t s_source =
    CONFIG_SECTION_OF (s_source_rules, "source", NULL);


/* --------------------------------------------------------------------- */
/*  target                                                                */

static const config_rule_t s_merge_rules[] = {
    /*  A column name or a non-empty list of distinct ones. */
    { CONFIG_MEMBER ("key", target.merge_key), .kind = CONFIG_LIST,
      .count_offset = offsetof (config_t, target.merge_key_count),
      .hint = "a column name or a list of them", .one = true,
      .dup_prefix = "duplicate column ", .dup_suffix = "" },
    CONFIG_R_ENUM ("on_match", target.on_match, s_on_match_names),
};
static const config_section_t s_merge =
    CONFIG_SECTION_OF (s_merge_rules, "target.merge", NULL);

static const config_rule_t s_target_rules[] = {
    CONFIG_R_STRING ("conninfo", target.conninfo),
    CONFIG_R_STRING ("table", target.table),
    CONFIG_R_SECTION ("merge", s_merge),
    CONFIG_R_ENUM ("publish", target.publish, s_publish_names),
    CONFIG_R_NUMBER ("lock_timeout", target.lock_timeout, 0, 86400, 60.0),
    CONFIG_R_NUMBER ("connect_timeout", target.connect_timeout, 0, 3600, 30.0),
    CONFIG_R_NUMBER ("statement_timeout", target.statement_timeout, 0, 86400, 60.0),
    { CONFIG_MEMBER ("analyze", target.analyze), .kind = CONFIG_BOOL, .def = 1 },
};
static const config_section_t s_target =
    CONFIG_SECTION_OF (s_target_rules, "target", NULL);


/* --------------------------------------------------------------------- */
/*  pipeline, retry                                                       */

static const config_rule_t s_pipeline_rules[] = {
    /*  Default 0: set by source.kind after the walk (config.c). */
    CONFIG_R_INT ("chunk_size", pipeline.chunk_size, 1, 1000000000LL, 0),
    CONFIG_R_INT ("min_rows_for_parallel", pipeline.min_rows_for_parallel,
                  0, 1000000000000LL, 100000),
    CONFIG_R_INT ("writers", pipeline.writers, 1, 256, 2),
    CONFIG_R_INT ("processors", pipeline.processors, 1, JOBCHECK_MAX_PROCESSORS, 2),
    /*  "auto" (0, the default), or a whole number that pins it. */
    { CONFIG_MEMBER ("concurrency", pipeline.concurrency), .kind = CONFIG_INT,
      .min = 1, .max = 4096, .word = "auto" },
    CONFIG_R_INT ("group_rows", pipeline.group_rows, 0, 1000000000000LL, 500000),
    { CONFIG_MEMBER ("backups", pipeline.backups), .kind = CONFIG_BOOL, .def = 1 },
    CONFIG_R_INT ("raw_queue_max", pipeline.raw_queue_max, 1, 10000, 20),
    CONFIG_R_INT ("processed_queue_max", pipeline.processed_queue_max, 1, 10000, 10),
    CONFIG_R_INT ("batch_size", pipeline.batch_size, 1, 1000000, 5000),
    CONFIG_R_INT ("read_buffer", pipeline.read_buffer, 4096, 16777216, 65536),
};
static const config_section_t s_pipeline =
    CONFIG_SECTION_OF (s_pipeline_rules, "pipeline", NULL);

/*  max_delay >= initial_delay is checked after the walk (config.c), so
    that a missing required key is reported first. */
static const config_rule_t s_retry_rules[] = {
    CONFIG_R_INT ("max_retries", retry.max_retries, 0, 100, 3),
    CONFIG_R_NUMBER ("initial_delay", retry.initial_delay, 0, 3600, 1.0),
    CONFIG_R_NUMBER ("backoff", retry.backoff, 1, 100, 2.0),
    CONFIG_R_NUMBER ("max_delay", retry.max_delay, 0, 86400, 30.0),
};
static const config_section_t s_retry =
    CONFIG_SECTION_OF (s_retry_rules, "retry", NULL);


/* --------------------------------------------------------------------- */
/*  cluster                                                               */

/*  cluster.curve: both keys or neither (a CURVE server needs its secret
    certificate and the workers it lets in). */
static int
s_curve_finish (config_ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    if (!cfg->cluster.curve_secret_key != !cfg->cluster.curve_authorized_keys) {
        config_ctx_error (ctx, map, "cluster.curve: give both secret_key (the coordinator's "
                          "secret certificate) and authorized_keys (the directory of workers' "
                          "public certificates); make them with 'ferry-coordinator keygen DIR' "
                          "and 'ferry-worker keygen DIR'");
        return -1;
    }
    return 0;
}

static const config_rule_t s_curve_rules[] = {
    CONFIG_R_STRING ("secret_key", cluster.curve_secret_key),
    CONFIG_R_STRING ("authorized_keys", cluster.curve_authorized_keys),
};
static const config_section_t s_curve =
    CONFIG_SECTION_OF (s_curve_rules, "cluster.curve", s_curve_finish);

static const config_rule_t s_cluster_rules[] = {
    { CONFIG_MEMBER ("bind", cluster.bind), .kind = CONFIG_STRING,
      .sdef = "tcp://127.0.0.1:5570" },
    CONFIG_R_INT ("heartbeat_ms", cluster.heartbeat_ms, 10, 600000, 1000),
    CONFIG_R_INT ("liveness", cluster.liveness, 1, 1000, 5),
    /*  At least twice the workers' 1 s PROGRESS period, so a healthy
        chunk is never caught between two reports. */
    CONFIG_R_NUMBER ("chunk_stall_timeout", cluster.chunk_stall_timeout, 2, 604800, 300),
    CONFIG_R_STRING ("secret_file", cluster.secret_file),
    CONFIG_R_STRING ("metrics", cluster.metrics),
    CONFIG_R_NUMBER ("metrics_linger", cluster.metrics_linger, 0, 3600, 0),
    CONFIG_R_SECTION ("curve", s_curve),
    CONFIG_R_BOOL ("insecure", cluster.insecure),
};
static const config_section_t s_cluster =
    CONFIG_SECTION_OF (s_cluster_rules, "cluster", NULL);


/* --------------------------------------------------------------------- */
/*  The job file                                                          */

static const config_rule_t s_job_rules[] = {
    CONFIG_R_SECTION ("source", s_source),
    CONFIG_R_SECTION ("target", s_target),
    CONFIG_R_SECTION ("pipeline", s_pipeline),
    CONFIG_R_SECTION ("retry", s_retry),
    CONFIG_R_SECTION ("cluster", s_cluster),
    CONFIG_R_SECTION ("alerts", config_alerts_section),
};
const config_section_t config_job_section =
    CONFIG_SECTION_OF (s_job_rules, "", NULL);
