/*  tests/unit/test_config_rules.c: the job file's rule tables
    (common/job/config_rules.c, common/job/config_alerts.c) as read by the one
    walker (common/job/config_walk.c, common/job/config_value.c).

    Table-driven, kind of rule by kind: accepted values with what they
    store in config_t, then wrong kinds and values out of bounds with the
    exact text of their message; sections (unknown and duplicate keys,
    cross-key checks); then a sweep of every rule of every table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "config_test.h"

typedef enum { T_INT, T_INT64, T_DOUBLE, T_BOOL, T_CHAR, T_STRING } t_type_t;

typedef struct {
    const char *text;           /* the whole job file */
    const char *error;          /* the exact message; NULL: accepted... */
    t_type_t type;              /* ...and the member of config_t that holds */
    size_t offset;
    int64_t i;                  /* T_INT (int, enum), T_INT64, T_BOOL, T_CHAR */
    double d;                   /* T_DOUBLE */
    const char *s;              /* T_STRING */
} case_t;

#define ACCEPT(text, t, f) text, NULL, t, offsetof (config_t, f)
#define OK_INT(text, f, v)    { ACCEPT (text, T_INT, f), .i = (v) }
#define OK_INT64(text, f, v)  { ACCEPT (text, T_INT64, f), .i = (v) }
#define OK_DOUBLE(text, f, v) { ACCEPT (text, T_DOUBLE, f), .d = (v) }
#define OK_BOOL(text, f, v)   { ACCEPT (text, T_BOOL, f), .i = (v) }
#define OK_CHAR(text, f, v)   { ACCEPT (text, T_CHAR, f), .i = (v) }
#define OK_STRING(text, f, v) { ACCEPT (text, T_STRING, f), .s = (v) }
#define REJECT(t, message) { .text = (t), .error = (message) }

#define CSV "source: { kind: csv, path: x, "
#define CSV_TARGET " }\ntarget: { conninfo: x, table: t, publish: direct }\n"
#define TARGET "target: { conninfo: x, table: t, "

static void
s_run_cases (const case_t *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const case_t *c = &cases[i];
        if (c->error) {
            s_expect_error (c->text, c->error);
            continue;
        }
        config_t *cfg = s_expect_ok (c->text);
        const void *member = (const char *) cfg + c->offset;
        switch (c->type) {
            case T_INT:
                assert_int_equal (*(const int *) member, c->i);
                break;
            case T_INT64:
                assert_int_equal (*(const int64_t *) member, c->i);
                break;
            case T_DOUBLE:
                assert_true (*(const double *) member == c->d);
                break;
            case T_BOOL:
                assert_int_equal (*(const bool *) member, c->i);
                break;
            case T_CHAR:
                assert_int_equal (*(const char *) member, c->i);
                break;
            case T_STRING:
                assert_string_equal (*(char *const *) member, c->s);
                break;
        }
        config_destroy (&cfg);
    }
}

#define RUN(cases) s_run_cases (cases, sizeof cases / sizeof cases[0])

/*  CONFIG_INT: plain integers only, within the rule's bounds. */
static void
test_rule_int (void **state)
{
    static const case_t cases[] = {
        OK_INT (BASE "pipeline: {writers: 256}\n", pipeline.writers, 256),
        OK_INT (BASE "pipeline: {writers: '7'}\n", pipeline.writers, 7),
        OK_INT64 (BASE "pipeline: {chunk_size: 1000}\n", pipeline.chunk_size, 1000),
        OK_INT64 (CSV "max_errors: 10" CSV_TARGET, source.max_errors, 10),
        OK_INT64 (CSV "max_errors: -1" CSV_TARGET, source.max_errors, -1),
        OK_INT64 (BASE "pipeline: {group_rows: 0}\n", pipeline.group_rows, 0),
        OK_INT (CSV "format: { max_record_bytes: 1048576 }" CSV_TARGET,
                source.format.max_record_bytes, 1048576),
        /*  wrong kinds */
        REJECT (BASE "pipeline:\n  writers: 2.5\n",
                "job.yaml:4: pipeline.writers: must be an integer, got \"2.5\""),
        REJECT (BASE "pipeline:\n  writers: abc\n",
                "job.yaml:4: pipeline.writers: must be an integer, got \"abc\""),
        REJECT (BASE "pipeline:\n  writers: 1e3\n",
                "job.yaml:4: pipeline.writers: must be an integer, got \"1e3\""),
        REJECT (BASE "pipeline:\n  writers: ' 2'\n",
                "job.yaml:4: pipeline.writers: must be an integer, got \" 2\""),
        REJECT (BASE "pipeline:\n  writers: 0x10\n",
                "job.yaml:4: pipeline.writers: must be an integer, got \"0x10\""),
        REJECT (BASE "pipeline:\n  writers:\n",
                "job.yaml:4: pipeline.writers: must be an integer, got null"),
        REJECT (BASE "pipeline:\n  writers: [1]\n",
                "job.yaml:4: pipeline.writers: must be an integer, got a sequence"),
        REJECT (BASE "pipeline:\n  writers: \"1\\0\"\n",
                "job.yaml:4: pipeline.writers: must not contain NUL characters"),
        /*  out of bounds */
        REJECT (BASE "pipeline:\n  writers: 0\n",
                "job.yaml:4: pipeline.writers: must be 1..256, got 0"),
        REJECT (BASE "pipeline:\n  writers: 257\n",
                "job.yaml:4: pipeline.writers: must be 1..256, got 257"),
        REJECT (BASE "pipeline: {chunk_size: 0}\n",
                "job.yaml:3: pipeline.chunk_size: must be 1..1000000000, got 0"),
        REJECT (BASE "pipeline: {chunk_size: 99999999999999999999999}\n",
                "job.yaml:3: pipeline.chunk_size: must be 1..1000000000, got 99999999999999999999999"),
        REJECT (BASE "pipeline: {min_rows_for_parallel: -1}\n",
                "job.yaml:3: pipeline.min_rows_for_parallel: must be 0..1000000000000, got -1"),
        REJECT (BASE "pipeline: {processors: 65}\n",
                "job.yaml:3: pipeline.processors: must be 1..64, got 65"),
        REJECT (BASE "pipeline: {raw_queue_max: 10001}\n",
                "job.yaml:3: pipeline.raw_queue_max: must be 1..10000, got 10001"),
        REJECT (BASE "pipeline: {processed_queue_max: 0}\n",
                "job.yaml:3: pipeline.processed_queue_max: must be 1..10000, got 0"),
        REJECT (BASE "pipeline: {batch_size: 1000001}\n",
                "job.yaml:3: pipeline.batch_size: must be 1..1000000, got 1000001"),
        REJECT (BASE "pipeline: {read_buffer: 4095}\n",
                "job.yaml:3: pipeline.read_buffer: must be 4096..16777216, got 4095"),
        REJECT (BASE "retry: {max_retries: 101}\n",
                "job.yaml:3: retry.max_retries: must be 0..100, got 101"),
        REJECT (BASE "cluster: {heartbeat_ms: 9}\n",
                "job.yaml:3: cluster.heartbeat_ms: must be 10..600000, got 9"),
        REJECT (BASE "cluster: {liveness: 0}\n",
                "job.yaml:3: cluster.liveness: must be 1..1000, got 0"),
        REJECT ("source: {max_errors: -2}\n",
                "job.yaml:1: source.max_errors: must be -1..9223372036854775807, got -2"),
        REJECT (CSV "format: { max_record_bytes: 1023 }" CSV_TARGET,
                "job.yaml:1: source.format.max_record_bytes: must be 1024..1073741824, got 1023"),
        REJECT (CSV "format: { max_record_bytes: 1073741825 }" CSV_TARGET,
                "job.yaml:1: source.format.max_record_bytes: must be 1024..1073741824, got 1073741825"),
    };
    RUN (cases);
}

/*  CONFIG_INT with a word: pipeline.concurrency is "auto" (0) or 1..4096,
    and its messages name the word. */
static void
test_rule_int_word (void **state)
{
    static const case_t cases[] = {
        OK_INT (BASE "pipeline: {concurrency: 8}\n", pipeline.concurrency, 8),
        OK_INT (BASE "pipeline: {concurrency: auto}\n", pipeline.concurrency, 0),
        OK_INT (BASE "pipeline: {concurrency: 'auto'}\n", pipeline.concurrency, 0),
        OK_INT (BASE "pipeline: {concurrency: 4096}\n", pipeline.concurrency, 4096),
        REJECT (BASE "pipeline: {concurrency: 0}\n",
                "job.yaml:3: pipeline.concurrency: must be auto or 1..4096, got 0"),
        REJECT (BASE "pipeline: {concurrency: 4097}\n",
                "job.yaml:3: pipeline.concurrency: must be auto or 1..4096, got 4097"),
        REJECT (BASE "pipeline: {concurrency: fast}\n",
                "job.yaml:3: pipeline.concurrency: must be auto or an integer, got \"fast\""),
        REJECT (BASE "pipeline: {concurrency: AUTO}\n",
                "job.yaml:3: pipeline.concurrency: must be auto or an integer, got \"AUTO\""),
        REJECT (BASE "pipeline: {concurrency: ~}\n",
                "job.yaml:3: pipeline.concurrency: must be auto or an integer, got null"),
        REJECT (BASE "pipeline: {concurrency: [auto]}\n",
                "job.yaml:3: pipeline.concurrency: must be auto or an integer, got a sequence"),
    };
    RUN (cases);
}

/*  CONFIG_NUMBER: plain decimal numbers (no nan, inf, units), in bounds. */
static void
test_rule_number (void **state)
{
    static const case_t cases[] = {
        OK_DOUBLE (BASE "retry: {backoff: 1}\n", retry.backoff, 1.0),
        OK_DOUBLE (BASE "retry: {max_delay: 2.5e1}\n", retry.max_delay, 25.0),
        OK_DOUBLE (BASE "retry: {initial_delay: .25}\n", retry.initial_delay, 0.25),
        OK_DOUBLE (BASE "retry: {max_delay: 2.}\n", retry.max_delay, 2.0),
        OK_DOUBLE (BASE_SOURCE TARGET "lock_timeout: 1.5 }\n", target.lock_timeout, 1.5),
        OK_DOUBLE (BASE_SOURCE TARGET "lock_timeout: 0 }\n", target.lock_timeout, 0),
        OK_DOUBLE (BASE_SOURCE TARGET "connect_timeout: 5 }\n", target.connect_timeout, 5),
        OK_DOUBLE (BASE_SOURCE TARGET "statement_timeout: 0 }\n", target.statement_timeout, 0),
        OK_DOUBLE (CSV "max_error_rate: 0.5" CSV_TARGET, source.max_error_rate, 0.5),
        OK_DOUBLE (BASE "alerts: {wall_ratio: 3}\n", alerts.wall_ratio, 3.0),
        OK_DOUBLE (BASE "alerts: {throughput_ratio: 0}\n", alerts.throughput_ratio, 0),
        /*  wrong kinds */
        REJECT (BASE "retry: {backoff: abc}\n",
                "job.yaml:3: retry.backoff: must be a number, got \"abc\""),
        REJECT (BASE "retry: {backoff: nan}\n",
                "job.yaml:3: retry.backoff: must be a number, got \"nan\""),
        REJECT (BASE "retry: {backoff: .inf}\n",
                "job.yaml:3: retry.backoff: must be a number, got \".inf\""),
        REJECT (BASE "retry: {max_delay: {a: 1}}\n",
                "job.yaml:3: retry.max_delay: must be a number, got a mapping"),
        REJECT (BASE "cluster: {chunk_stall_timeout: 5m}\n",
                "job.yaml:3: cluster.chunk_stall_timeout: must be a number, got \"5m\""),
        REJECT (BASE_SOURCE TARGET "lock_timeout: soon }\n",
                "job.yaml:2: target.lock_timeout: must be a number, got \"soon\""),
        /*  out of bounds */
        REJECT (BASE "retry: {initial_delay: -1}\n",
                "job.yaml:3: retry.initial_delay: must be 0..3600, got -1"),
        REJECT (BASE "retry: {backoff: 0.5}\n",
                "job.yaml:3: retry.backoff: must be 1..100, got 0.5"),
        REJECT (BASE "retry: {max_delay: 86401}\n",
                "job.yaml:3: retry.max_delay: must be 0..86400, got 86401"),
        REJECT (BASE "cluster: {chunk_stall_timeout: 1}\n",
                "job.yaml:3: cluster.chunk_stall_timeout: must be 2..604800, got 1"),
        REJECT (BASE_SOURCE TARGET "lock_timeout: -1 }\n",
                "job.yaml:2: target.lock_timeout: must be 0..86400, got -1"),
        REJECT (BASE_SOURCE TARGET "lock_timeout: 90000 }\n",
                "job.yaml:2: target.lock_timeout: must be 0..86400, got 90000"),
        REJECT (BASE_SOURCE TARGET "connect_timeout: 4000 }\n",
                "job.yaml:2: target.connect_timeout: must be 0..3600, got 4000"),
        REJECT (BASE_SOURCE TARGET "statement_timeout: -1 }\n",
                "job.yaml:2: target.statement_timeout: must be 0..86400, got -1"),
        REJECT ("source: { kind: csv, path: x, max_error_rate: 2 }\n"
                "target: { conninfo: x, table: t }\n",
                "job.yaml:1: source.max_error_rate: must be 0..1, got 2"),
        REJECT (BASE "alerts: { connections: 1.5 }\n",
                "job.yaml:3: alerts.connections: must be 0..1, got 1.5"),
        REJECT (BASE "alerts: { wall_ratio: 1001 }\n",
                "job.yaml:3: alerts.wall_ratio: must be 0..1000, got 1001"),
        /*  across keys, after the walk: the line of max_delay, else of
            initial_delay (max_delay left at its default, 30) */
        REJECT (BASE "retry:\n  initial_delay: 5\n  max_delay: 2\n",
                "job.yaml:5: retry.max_delay: must be >= retry.initial_delay (5), got 2"),
        REJECT (BASE "retry:\n  initial_delay: 60\n",
                "job.yaml:4: retry.max_delay: must be >= retry.initial_delay (60), got 30"),
    };
    RUN (cases);
}

/*  CONFIG_BOOL: true/false/yes/no/on/off in any case. */
static void
test_rule_bool (void **state)
{
    static const case_t cases[] = {
        OK_BOOL (BASE "cluster: {insecure: true}\n", cluster.insecure, true),
        OK_BOOL (BASE_SOURCE TARGET "analyze: false }\n", target.analyze, false),
        OK_BOOL (BASE_SOURCE TARGET "analyze: on }\n", target.analyze, true),
        OK_BOOL (BASE "pipeline: {backups: false}\n", pipeline.backups, false),
        OK_BOOL (BASE "pipeline: {writers: 2}\n", pipeline.backups, true),
        OK_BOOL (BASE "cluster: {insecure: Yes}\n", cluster.insecure, true),
        OK_BOOL (BASE "cluster: {insecure: ON}\n", cluster.insecure, true),
        OK_BOOL (BASE "cluster: {insecure: off}\n", cluster.insecure, false),
        OK_BOOL (BASE "alerts: {fail_run: true}\n", alerts.fail_run, true),
        OK_BOOL (CSV "format: { header: yes }" CSV_TARGET, source.format.header, true),
        REJECT (BASE "cluster: {insecure: maybe}\n",
                "job.yaml:3: cluster.insecure: must be true or false, got \"maybe\""),
        REJECT (BASE "cluster: {insecure: 1}\n",
                "job.yaml:3: cluster.insecure: must be true or false, got \"1\""),
        REJECT (BASE "cluster: {insecure: ~}\n",
                "job.yaml:3: cluster.insecure: must be a boolean, got null"),
        REJECT (BASE "alerts: { fail_run: maybe }\n",
                "job.yaml:3: alerts.fail_run: must be true or false, got \"maybe\""),
        REJECT ("source: { kind: csv, path: x, format: { header: maybe } }\n"
                "target: { conninfo: x, table: t }\n",
                "job.yaml:1: source.format.header: must be true or false, got \"maybe\""),
    };
    RUN (cases);
}

/*  CONFIG_ENUM: case-sensitive spellings; values shown escaped, bounded. */
static void
test_rule_enum (void **state)
{
    static const case_t cases[] = {
        OK_INT (BASE_SOURCE TARGET "publish: direct }\n", target.publish, PUBLISH_DIRECT),
        OK_INT (BASE_SOURCE TARGET "merge: {on_match: ignore} }\n",
                target.on_match, ON_MATCH_IGNORE),
        OK_INT ("source: {conninfo: x, query: 'SELECT 1 ORDER BY a', split: ctid}\n"
                "target: {conninfo: y, table: t}\n", source.split, SPLIT_CTID),
        OK_INT ("source: {kind: csv, path: x, key: a}\ntarget: {conninfo: y, table: t}\n",
                source.kind, SOURCE_KIND_CSV),
        REJECT ("source: {kind: mysql}\n",
                "job.yaml:1: source.kind: must be one of postgres, csv; got \"mysql\""),
        REJECT ("source: {kind: Postgres}\n",
                "job.yaml:1: source.kind: must be one of postgres, csv; got \"Postgres\""),
        REJECT ("source: {kind: [csv]}\n",
                "job.yaml:1: source.kind: must be one of postgres, csv; got a sequence"),
        REJECT ("source: {kind: }\n",
                "job.yaml:1: source.kind: must be one of postgres, csv; got null"),
        REJECT ("source: {snapshot: always}\n",
                "job.yaml:1: source.snapshot: must be one of shared, none; got \"always\""),
        REJECT ("source: {split: blocks}\n",
                "job.yaml:1: source.split: must be one of auto, key, ctid; got \"blocks\""),
        REJECT ("target:\n  merge:\n    on_match: replace\n",
                "job.yaml:3: target.merge.on_match: must be one of update, ignore, error; got \"replace\""),
        REJECT ("target: {publish: swap}\n",
                "job.yaml:1: target.publish: must be one of merge, direct; got \"swap\""),
        REJECT ("target: {publish: \"a\\\"b\\nc\"}\n",
                "job.yaml:1: target.publish: must be one of merge, direct; got \"a\\\"b\\x0ac\""),
        REJECT ("target: {publish: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n",
                "job.yaml:1: target.publish: must be one of merge, direct; got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\""),
    };
    RUN (cases);
}

/*  CONFIG_STRING and CONFIG_NAME: never empty (unless the rule says),
    never echoed (a conninfo is a string too). */
static void
test_rule_string (void **state)
{
    static const case_t cases[] = {
        OK_STRING (BASE "cluster: {bind: 'tcp://*:6000'}\n", cluster.bind, "tcp://*:6000"),
        OK_STRING (BASE "cluster: {metrics: 127.0.0.1:9187}\n", cluster.metrics,
                   "127.0.0.1:9187"),
        OK_STRING (CSV "rejects_file: /tmp/r.txt" CSV_TARGET, source.rejects_file, "/tmp/r.txt"),
        /*  source.format.null may be empty, and a bare null is "" */
        OK_STRING (CSV "format: { null: \"\\\\N\" }" CSV_TARGET, source.format.null_marker,
                   "\\N"),
        OK_STRING (CSV "format: { null: \"\" }" CSV_TARGET, source.format.null_marker, ""),
        OK_STRING (CSV "format: { null: }" CSV_TARGET, source.format.null_marker, ""),
        OK_STRING (CSV "format: { encoding: LATIN1 }" CSV_TARGET, source.format.encoding,
                   "LATIN1"),
        OK_STRING (CSV "format: { encoding: win-1252_x }" CSV_TARGET, source.format.encoding,
                   "win-1252_x"),
        REJECT ("source: {query: {a: 1}}\n",
                "job.yaml:1: source.query: must be a string, got a mapping"),
        REJECT ("source:\n  query: \"\"\n",
                "job.yaml:2: source.query: must not be empty"),
        REJECT ("source:\n  key: \"a\\0b\"\n",
                "job.yaml:2: source.key: must not contain NUL characters"),
        REJECT ("target: {table: ~}\n",
                "job.yaml:1: target.table: must be a string, got null"),
        REJECT ("cluster: {bind: []}\n",
                "job.yaml:1: cluster.bind: must be a string, got a sequence"),
        REJECT ("source: {path: [a, b]}\n",
                "job.yaml:1: source.path: must be a string, got a sequence"),
        REJECT (BASE "cluster: {secret_file: [a]}\n",
                "job.yaml:3: cluster.secret_file: must be a string, got a sequence"),
        REJECT (CSV "format: { null: [a] }" CSV_TARGET,
                "job.yaml:1: source.format.null: must be a string, got a sequence"),
        REJECT (CSV "format: { encoding: \"UTF 8\" }" CSV_TARGET,
                "job.yaml:1: source.format.encoding: must be an encoding name such as UTF8 or LATIN1"),
        REJECT (CSV "format: { encoding: \"x'; DROP\" }" CSV_TARGET,
                "job.yaml:1: source.format.encoding: must be an encoding name such as UTF8 or LATIN1"),
        REJECT (CSV "format: { encoding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa }" CSV_TARGET,
                "job.yaml:1: source.format.encoding: must be an encoding name such as UTF8 or LATIN1"),
        REJECT (CSV "format: { encoding: \"\" }" CSV_TARGET,
                "job.yaml:1: source.format.encoding: must not be empty"),
        REJECT ("source: {conninfo: {password: hunter2}}\n",
                "job.yaml:1: source.conninfo: must be a string, got a mapping"),
        REJECT ("target: {conninfo: ''}\n",
                "job.yaml:1: target.conninfo: must not be empty"),
    };
    RUN (cases);
}

/*  CONFIG_CHAR: one byte; source.format.quote may be "" (none). Then the
    section's own check: escape defaults to the quote, and the format
    characters follow the rules of a JOB from the wire (common/job/jobcheck.c;
    what csv.c would assert on never gets past the job file). */
static void
test_rule_char (void **state)
{
    static const case_t cases[] = {
        OK_CHAR (CSV "format: { delimiter: \"\\t\" }" CSV_TARGET, source.format.delimiter, '\t'),
        OK_CHAR (CSV "format: { delimiter: ';' }" CSV_TARGET, source.format.delimiter, ';'),
        OK_CHAR (CSV "format: { quote: \"\" }" CSV_TARGET, source.format.quote, 0),
        OK_CHAR (CSV "format: { quote: \"\" }" CSV_TARGET, source.format.escape, 0),
        OK_CHAR (CSV "format: { quote: \"'\" }" CSV_TARGET, source.format.escape, '\''),
        OK_CHAR (CSV "format: { quote: \"'\", escape: \"\\\\\" }" CSV_TARGET,
                 source.format.escape, '\\'),
        OK_CHAR (CSV "format: { header: true }" CSV_TARGET, source.format.escape, '"'),
        REJECT (CSV "format: { delimiter: \";;\" }" CSV_TARGET,
                "job.yaml:1: source.format.delimiter: must be one character, got \";;\""),
        REJECT (CSV "format: { delimiter: \"\" }" CSV_TARGET,
                "job.yaml:1: source.format.delimiter: must be one character, got \"\""),
        REJECT (CSV "format: { quote: \"ab\" }" CSV_TARGET,
                "job.yaml:1: source.format.quote: must be one character (or \"\" for none), got \"ab\""),
        REJECT (CSV "format: { escape: [a] }" CSV_TARGET,
                "job.yaml:1: source.format.escape: must be one character, got a sequence"),
        REJECT ("source: { kind: csv, path: x, format: { quote: \",\" } }\n"
                "target: { conninfo: x, table: t }\n",
                "job.yaml:1: source.format.quote: must differ from the delimiter"),
        REJECT (CSV "format: { delimiter: \"\\n\" }" CSV_TARGET,
                "job.yaml:1: source.format.delimiter: must not be a line break"),
        REJECT (CSV "format: { delimiter: \"\\r\" }" CSV_TARGET,
                "job.yaml:1: source.format.delimiter: must not be a line break"),
        REJECT (CSV "format: { delimiter: '\"' }" CSV_TARGET,
                "job.yaml:1: source.format.quote: must differ from the delimiter"),
        REJECT (CSV "format: { quote: \"\\n\" }" CSV_TARGET,
                "job.yaml:1: source.format.quote: must not be a line break"),
        REJECT (CSV "format: { escape: \"\\r\" }" CSV_TARGET,
                "job.yaml:1: source.format.escape: must not be a line break"),
    };
    RUN (cases);
}

/*  CONFIG_LIST: source.columns (a list, "-" skips a file column) and
    target.merge.key (a name or a list of distinct names). */
static void
test_rule_list (void **state)
{
    const char *head =
        "source: {conninfo: x, query: 'SELECT 1 ORDER BY a'}\n"
        "target:\n"
        "  conninfo: y\n"
        "  table: t\n"
        "  merge:\n";
    struct { const char *merge; const char *error; } merge_cases[] = {
        { "    key: []\n", "job.yaml:6: target.merge.key: must not be empty" },
        { "    key: [a, {b: 1}]\n",
          "job.yaml:6: target.merge.key[1]: must be a string, got a mapping" },
        { "    key:\n      - a\n      - b\n      - a\n",
          "job.yaml:9: target.merge.key[2]: duplicate column \"a\"" },
        { "    key: {a: 1}\n",
          "job.yaml:6: target.merge.key: must be a column name or a list of them, got a mapping" },
        { "    key: ~\n",
          "job.yaml:6: target.merge.key: must be a column name or a list of them, got null" },
        { "    key: ''\n", "job.yaml:6: target.merge.key: must not be empty" },
        { "    - key\n", "job.yaml:6: target.merge: must be a mapping, got a sequence" },
    };
    for (size_t i = 0; i < sizeof merge_cases / sizeof merge_cases[0]; i++) {
        char text [512];
        snprintf (text, sizeof text, "%s%s", head, merge_cases[i].merge);
        s_expect_error (text, merge_cases[i].error);
    }
    /*  a single string is a one-column key; the source key is not used */
    char text [512];
    snprintf (text, sizeof text, "%s    key: \"Acct Id\"\n", head);
    config_t *cfg = s_expect_ok (text);
    assert_string_equal (cfg->source.key, "a");
    assert_int_equal (cfg->target.merge_key_count, 1);
    assert_string_equal (cfg->target.merge_key[0], "Acct Id");
    config_destroy (&cfg);

    cfg = s_expect_ok (CSV "key: a, columns: [a, \"-\", b]" CSV_TARGET);
    assert_int_equal (cfg->source.column_count, 3);
    assert_string_equal (cfg->source.columns[0], "a");
    assert_null (cfg->source.columns[1]);
    assert_string_equal (cfg->source.columns[2], "b");
    config_destroy (&cfg);

    static const case_t cases[] = {
        REJECT ("source: { kind: csv, path: x, columns: [a, a] }\n"
                "target: { conninfo: x, table: t }\n",
                "job.yaml:1: source.columns[1]: column \"a\" is mapped twice"),
        REJECT (CSV "columns: [a, \"-\", a]" CSV_TARGET,
                "job.yaml:1: source.columns[2]: column \"a\" is mapped twice"),
        REJECT (CSV "columns: [\"-\", \"-\"]" CSV_TARGET,
                "job.yaml:1: source.columns: skips every file column"),
        REJECT (CSV "columns: []" CSV_TARGET, "job.yaml:1: source.columns: must not be empty"),
        REJECT (CSV "columns: a" CSV_TARGET,
                "job.yaml:1: source.columns: must be a list of target column names (\"-\" "
                "skips a file column), got a scalar"),
        REJECT (CSV "columns: [a, '']" CSV_TARGET,
                "job.yaml:1: source.columns[1]: must not be empty"),
    };
    RUN (cases);
}

/*  CONFIG_SECTION: a mapping of known keys, each once; null keeps the
    defaults; the section's own cross-key check. */
static void
test_rule_section (void **state)
{
    static const case_t cases[] = {
        OK_INT (BASE "pipeline:\nretry: ~\ncluster:\n", pipeline.writers, 2),
        OK_INT (BASE "pipeline:\nretry: ~\ncluster:\n", retry.max_retries, 3),
        OK_DOUBLE (BASE "alerts:\n", alerts.connections, 0.8),
        OK_STRING (BASE "cluster: {curve: {secret_key: /k/s, authorized_keys: /k/a}}\n",
                   cluster.curve_authorized_keys, "/k/a"),
        /*  unknown keys: the nearest one, or the list */
        REJECT (BASE "pipline:\n  writers: 2\n",
                "job.yaml:3: unknown key \"pipline\" (did you mean \"pipeline\"?)"),
        REJECT (BASE "Source: {}\n",
                "job.yaml:3: unknown key \"Source\" (did you mean \"source\"?)"),
        REJECT ("source:\n  conninfo: x\n  qeury: SELECT 1\n",
                "job.yaml:3: source: unknown key \"qeury\" (did you mean \"query\"?)"),
        REJECT ("target:\n  merge: {keys: [a]}\n",
                "job.yaml:2: target.merge: unknown key \"keys\" (did you mean \"key\"?)"),
        REJECT (BASE "pipeline: {writer: 2}\n",
                "job.yaml:3: pipeline: unknown key \"writer\" (did you mean \"writers\"?)"),
        REJECT (BASE "cluster: {curve: {secret_key: /k/c_secret, authorised_keys: /k/a}}\n",
                "job.yaml:3: cluster.curve: unknown key \"authorised_keys\" (did you mean \"authorized_keys\"?)"),
        REJECT (BASE "alerts: { memroy: 0.9 }\n",
                "job.yaml:3: alerts: unknown key \"memroy\" (did you mean \"memory\"?)"),
        REJECT ("source: {zzzzzz: 1}\n",
                "job.yaml:1: source: unknown key \"zzzzzz\" (valid keys: kind, conninfo, query, key, snapshot, split, path, format, columns, rejects_file, max_errors, max_error_rate, connect_timeout)"),
        REJECT ("source: {format: {nul: x}}\n",
                "job.yaml:1: source.format: unknown key \"nul\" (did you mean \"null\"?)"),
        REJECT ("source: {format: {zzzzzz: x}}\n",
                "job.yaml:1: source.format: unknown key \"zzzzzz\" (valid keys: delimiter, quote, escape, header, null, encoding, max_record_bytes)"),
        REJECT ("retry: {zzzzzz: 1}\n",
                "job.yaml:1: retry: unknown key \"zzzzzz\" (valid keys: max_retries, initial_delay, backoff, max_delay)"),
        REJECT ("logging: {level: debug}\n",
                "job.yaml:1: unknown key \"logging\" (valid keys: source, target, pipeline, retry, cluster, alerts)"),
        REJECT ("? [a, b]\n: c\n",
                "job.yaml:1: keys must be names, got a sequence"),
        REJECT ("retry:\n  ? {a: 1}\n  : 2\n",
                "job.yaml:2: retry: keys must be names, got a mapping"),
        /*  duplicate keys */
        REJECT (BASE "source: {}\n",
                "job.yaml:3: duplicate key \"source\" (first at line 1)"),
        REJECT (BASE "target: {}\n",
                "job.yaml:3: duplicate key \"target\" (first at line 2)"),
        REJECT (BASE "pipeline:\n  writers: 2\n  processors: 2\n  writers: 3\n",
                "job.yaml:6: pipeline: duplicate key \"writers\" (first at line 4)"),
        REJECT ("source: {key: a, 'key': b}\n",
                "job.yaml:1: source: duplicate key \"key\" (first at line 1)"),
        /*  wrong kinds */
        REJECT ("source: {format: [a]}\n",
                "job.yaml:1: source.format: must be a mapping, got a sequence"),
        REJECT (BASE "cluster: {curve: x}\n",
                "job.yaml:3: cluster.curve: must be a mapping, got a scalar"),
        /*  the section's check: cluster.curve takes both keys or neither */
        REJECT (BASE "cluster: {curve: {secret_key: /k/c_secret}}\n",
                "job.yaml:3: cluster.curve: give both secret_key (the coordinator's secret "
                "certificate) and authorized_keys (the directory of workers' public "
                "certificates); make them with 'ferry-coordinator keygen DIR' and "
                "'ferry-worker keygen DIR'"),
    };
    RUN (cases);
}

/*  Every rule of every table (config_int.h): a value of the wrong kind
    is refused with a message that names the rule's key path, and a key
    one letter off is suggested back. */
static void
s_sweep (const config_section_t *section)
{
    for (size_t i = 0; i < section->count; i++) {
        const config_rule_t *rule = &section->rules[i];
        char path [128], text [512], expected [256], err [512];
        snprintf (path, sizeof path, "%s%s%s", section->path, *section->path ? "." : "",
                  rule->key);
        if (rule->kind == CONFIG_SECTION) {
            s_sweep (rule->section);
            continue;
        }
        /*  "a.b.c" as nested flow mappings: {a: {b: {c: VALUE}}} */
        char nested [256] = "";
        size_t depth = 0, n = 0;
        for (const char *p = path; *p; p++) {
            if (*p == '.') {
                n += (size_t) snprintf (nested + n, sizeof nested - n, ": {");
                depth++;
            }
            else
                nested[n++] = *p;
            nested[n] = '\0';
        }
        const char *wrong = rule->kind == CONFIG_LIST ? "{a: 1}" : "{a: [1]}";
        snprintf (text, sizeof text, "%s: %s", nested, wrong);
        for (size_t d = 0; d < depth; d++)
            strcat (text, "}");
        strcat (text, "\n");
        config_t *cfg = s_parse (text, err, sizeof err);
        snprintf (expected, sizeof expected, "job.yaml:1: %s: must be ", path);
        if (cfg || strncmp (err, expected, strlen (expected)) != 0)
            print_error ("input: %sexpected: %s...\ngot:      %s\n", text, expected, err);
        assert_null (cfg);
        assert_int_equal (strncmp (err, expected, strlen (expected)), 0);
        assert_non_null (strstr (err, "got a mapping"));

        /*  the key with its last letter doubled */
        snprintf (text, sizeof text, "%s%s: 1", nested, rule->key + strlen (rule->key) - 1);
        for (size_t d = 0; d < depth; d++)
            strcat (text, "}");
        strcat (text, "\n");
        cfg = s_parse (text, err, sizeof err);
        snprintf (expected, sizeof expected, "(did you mean \"%s\"?)", rule->key);
        if (cfg || !strstr (err, expected))
            print_error ("input: %sexpected: ...%s\ngot:      %s\n", text, expected, err);
        assert_null (cfg);
        assert_non_null (strstr (err, expected));
    }
}

static void
test_every_rule (void **state)
{
    s_sweep (&config_job_section);

    /*  No two rules write the same member; every member lies in config_t. */
    const config_section_t *sections[32];
    size_t count = 0, rules = 0;
    sections[count++] = &config_job_section;
    size_t offsets[128];
    for (size_t s = 0; s < count; s++)
        for (size_t i = 0; i < sections[s]->count; i++) {
            const config_rule_t *rule = &sections[s]->rules[i];
            if (rule->kind == CONFIG_SECTION) {
                assert_true (count < 32);
                sections[count++] = rule->section;
                continue;
            }
            assert_true (rule->offset + rule->width <= sizeof (config_t));
            for (size_t j = 0; j < rules; j++)
                assert_true (offsets[j] != rule->offset);
            assert_true (rules < 128);
            offsets[rules++] = rule->offset;
        }
    assert_int_equal (count, 10);       /* the top level and 9 sections */
    assert_int_equal (rules, 59);       /* a row each in README "Job file" */
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_rule_int, s_setup),
        cmocka_unit_test_setup (test_rule_int_word, s_setup),
        cmocka_unit_test_setup (test_rule_number, s_setup),
        cmocka_unit_test_setup (test_rule_bool, s_setup),
        cmocka_unit_test_setup (test_rule_enum, s_setup),
        cmocka_unit_test_setup (test_rule_string, s_setup),
        cmocka_unit_test_setup (test_rule_char, s_setup),
        cmocka_unit_test_setup (test_rule_list, s_setup),
        cmocka_unit_test_setup (test_rule_section, s_setup),
        cmocka_unit_test_setup (test_every_rule, s_setup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
