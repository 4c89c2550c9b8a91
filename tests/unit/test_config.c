/*  tests/unit/test_config.c: the job file parser (common/config.c).

    Valid files, defaults, source.key derivation from the query, and the
    exact text of every kind of error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "sqltext.h"

/*  Lines 1-2 of most test files: everything required, nothing else. */
#define BASE \
    "source: {conninfo: 'host=src', query: 'SELECT * FROM t ORDER BY id'}\n" \
    "target: {conninfo: 'host=tgt', table: t}\n"
#define BASE_SOURCE \
    "source: {conninfo: 'host=src', query: 'SELECT * FROM t ORDER BY id'}\n"

static config_t *
s_parse (const char *text, char *err, size_t errlen)
{
    return config_parse (text, strlen (text), "job.yaml", err, errlen);
}

/*  Parses text, which must fail with exactly `expected`. */
static void
s_expect_error (const char *text, const char *expected)
{
    char err [512];
    memset (err, 'x', sizeof err);
    config_t *cfg = s_parse (text, err, sizeof err);
    if (cfg || strcmp (err, expected) != 0)
        print_error ("input:\n%s\nexpected: %s\ngot:      %s\n", text, expected,
                     cfg ? "(success)" : err);
    assert_null (cfg);
    assert_string_equal (err, expected);
}

/*  Parses text, which must succeed. Caller destroys. */
static config_t *
s_expect_ok (const char *text)
{
    char err [512];
    config_t *cfg = s_parse (text, err, sizeof err);
    if (!cfg)
        print_error ("input:\n%s\nunexpected error: %s\n", text, err);
    assert_non_null (cfg);
    assert_string_equal (err, "");
    return cfg;
}

static int
s_setup (void **state)
{
    unsetenv ("FERRY_SOURCE_DSN");
    unsetenv ("FERRY_TARGET_DSN");
    return 0;
}

static void
test_new_defaults (void **state)
{
    config_t *cfg = config_new ();
    assert_int_equal (cfg->source.kind, SOURCE_KIND_POSTGRES);
    assert_null (cfg->source.conninfo);
    assert_null (cfg->source.query);
    assert_null (cfg->source.key);
    assert_int_equal (cfg->source.snapshot, SNAPSHOT_SHARED);
    assert_int_equal (cfg->source.split, SPLIT_AUTO);
    assert_null (cfg->target.table);
    assert_int_equal (cfg->target.merge_key_count, 0);
    assert_string_equal (cfg->cluster.bind, "tcp://127.0.0.1:5570");
    assert_int_equal (cfg->pipeline.writers, 2);
    config_destroy (&cfg);
    assert_null (cfg);
}

static void
test_full_file (void **state)
{
    config_t *cfg = s_expect_ok (
        "# every key, none at its default\n"
        "source:\n"
        "  kind: postgres\n"
        "  conninfo: \"host=src dbname=app\"\n"
        "  query: \"SELECT acct_id, name FROM accounts ORDER BY acct_id\"\n"
        "  key: acct_no\n"
        "  snapshot: none\n"
        "  split: key\n"
        "  path: /ignored/for/postgres.csv\n"
        "target:\n"
        "  conninfo: \"host=tgt dbname=dw\"\n"
        "  table: public.accounts\n"
        "  merge: { key: [acct_no, region], on_match: error }\n"
        "  publish: direct\n"
        "pipeline:\n"
        "  chunk_size: 1000\n"
        "  min_rows_for_parallel: 0\n"
        "  writers: 256\n"
        "  processors: 64\n"
        "  raw_queue_max: 10000\n"
        "  processed_queue_max: 1\n"
        "  batch_size: 1000000\n"
        "  read_buffer: 4096\n"
        "retry: { max_retries: 0, initial_delay: 0.25, backoff: 1.5, max_delay: 2.5e1 }\n"
        "cluster: { bind: \"tcp://*:6000\", heartbeat_ms: 10, liveness: 1000,\n"
        "           chunk_stall_timeout: 2.5, secret_file: /etc/ferry/secret,\n"
        "           metrics: \"127.0.0.1:9187\", metrics_linger: 5, insecure: true,\n"
        "           curve: { secret_key: /k/c_secret, authorized_keys: /k/auth } }\n");
    assert_string_equal (cfg->origin, "job.yaml");
    assert_int_equal (cfg->source.kind, SOURCE_KIND_POSTGRES);
    assert_string_equal (cfg->source.conninfo, "host=src dbname=app");
    assert_string_equal (cfg->source.query,
                         "SELECT acct_id, name FROM accounts ORDER BY acct_id");
    assert_string_equal (cfg->source.key, "acct_no");
    assert_int_equal (cfg->source.snapshot, SNAPSHOT_NONE);
    assert_int_equal (cfg->source.split, SPLIT_KEY);
    assert_string_equal (cfg->source.path, "/ignored/for/postgres.csv");
    assert_string_equal (cfg->target.conninfo, "host=tgt dbname=dw");
    assert_string_equal (cfg->target.table, "public.accounts");
    assert_int_equal (cfg->target.merge_key_count, 2);
    assert_string_equal (cfg->target.merge_key[0], "acct_no");
    assert_string_equal (cfg->target.merge_key[1], "region");
    assert_int_equal (cfg->target.on_match, ON_MATCH_ERROR);
    assert_int_equal (cfg->target.publish, PUBLISH_DIRECT);
    assert_int_equal (cfg->pipeline.chunk_size, 1000);
    assert_int_equal (cfg->pipeline.min_rows_for_parallel, 0);
    assert_int_equal (cfg->pipeline.writers, 256);
    assert_int_equal (cfg->pipeline.processors, 64);
    assert_int_equal (cfg->pipeline.raw_queue_max, 10000);
    assert_int_equal (cfg->pipeline.processed_queue_max, 1);
    assert_int_equal (cfg->pipeline.batch_size, 1000000);
    assert_int_equal (cfg->pipeline.read_buffer, 4096);
    assert_int_equal (cfg->retry.max_retries, 0);
    assert_true (cfg->retry.initial_delay == 0.25);
    assert_true (cfg->retry.backoff == 1.5);
    assert_true (cfg->retry.max_delay == 25.0);
    assert_string_equal (cfg->cluster.bind, "tcp://*:6000");
    assert_int_equal (cfg->cluster.heartbeat_ms, 10);
    assert_int_equal (cfg->cluster.liveness, 1000);
    assert_true (cfg->cluster.chunk_stall_timeout == 2.5);
    assert_string_equal (cfg->cluster.secret_file, "/etc/ferry/secret");
    assert_string_equal (cfg->cluster.metrics, "127.0.0.1:9187");
    assert_true (cfg->cluster.metrics_linger == 5);
    assert_true (cfg->cluster.insecure);
    assert_string_equal (cfg->cluster.curve_secret_key, "/k/c_secret");
    assert_string_equal (cfg->cluster.curve_authorized_keys, "/k/auth");
    config_destroy (&cfg);
    assert_null (cfg);
}

static void
test_minimal_defaults (void **state)
{
    config_t *cfg = s_expect_ok (
        "source:\n"
        "  conninfo: host=src\n"
        "  query: SELECT acct_id, name FROM accounts ORDER BY acct_id\n"
        "target:\n"
        "  conninfo: host=tgt\n"
        "  table: accounts\n");
    assert_int_equal (cfg->source.kind, SOURCE_KIND_POSTGRES);
    assert_string_equal (cfg->source.key, "acct_id");
    assert_int_equal (cfg->source.snapshot, SNAPSHOT_SHARED);
    assert_null (cfg->source.path);
    assert_int_equal (cfg->target.merge_key_count, 1);
    assert_string_equal (cfg->target.merge_key[0], "acct_id");
    assert_int_equal (cfg->target.on_match, ON_MATCH_UPDATE);
    assert_int_equal (cfg->target.publish, PUBLISH_MERGE);
    assert_true (cfg->target.lock_timeout == 60.0);
    assert_true (cfg->target.connect_timeout == 30.0);
    assert_true (cfg->target.statement_timeout == 60.0);
    assert_true (cfg->source.connect_timeout == 30.0);
    assert_true (cfg->source.max_error_rate == 0.1);
    assert_int_equal (cfg->pipeline.chunk_size, 500000);
    assert_int_equal (cfg->pipeline.min_rows_for_parallel, 100000);
    assert_int_equal (cfg->pipeline.writers, 2);
    assert_int_equal (cfg->pipeline.processors, 2);
    assert_int_equal (cfg->pipeline.raw_queue_max, 20);
    assert_int_equal (cfg->pipeline.processed_queue_max, 10);
    assert_int_equal (cfg->pipeline.batch_size, 5000);
    assert_int_equal (cfg->pipeline.read_buffer, 65536);
    assert_int_equal (cfg->pipeline.concurrency, 0);            /* auto */
    assert_int_equal (cfg->retry.max_retries, 3);
    assert_true (cfg->retry.initial_delay == 1.0);
    assert_true (cfg->retry.backoff == 2.0);
    assert_true (cfg->retry.max_delay == 30.0);
    assert_string_equal (cfg->cluster.bind, "tcp://127.0.0.1:5570");
    assert_int_equal (cfg->cluster.heartbeat_ms, 1000);
    assert_int_equal (cfg->cluster.liveness, 5);
    assert_true (cfg->cluster.chunk_stall_timeout == 300.0);
    assert_null (cfg->cluster.secret_file);
    assert_null (cfg->cluster.metrics);
    assert_true (cfg->cluster.metrics_linger == 0);
    assert_null (cfg->cluster.curve_secret_key);
    assert_false (cfg->cluster.insecure);
    config_destroy (&cfg);
}

/*  Empty sections (all commented out) mean all defaults. */
static void
test_empty_sections (void **state)
{
    config_t *cfg = s_expect_ok (BASE "pipeline:\nretry: ~\ncluster:\n");
    assert_int_equal (cfg->pipeline.writers, 2);
    assert_int_equal (cfg->retry.max_retries, 3);
    config_destroy (&cfg);
}

static void
test_csv_source (void **state)
{
    config_t *cfg = s_expect_ok (
        "source: {kind: csv, path: '/data/*.csv'}\n"
        "target: {conninfo: 'host=tgt', table: t, publish: direct}\n");
    assert_int_equal (cfg->source.kind, SOURCE_KIND_CSV);
    assert_string_equal (cfg->source.path, "/data/*.csv");
    assert_null (cfg->source.key);
    assert_null (cfg->source.conninfo);
    assert_int_equal (cfg->target.merge_key_count, 0);
    assert_null (cfg->target.merge_key);
    assert_int_equal (cfg->pipeline.chunk_size, 2000000);   /* the csv default */
    config_destroy (&cfg);

    cfg = s_expect_ok (
        "source: {kind: csv, path: a.csv, key: id}\n"
        "target: {conninfo: 'host=tgt', table: t, merge: {key: code}}\n"
        "pipeline: {chunk_size: 500000}\n");
    assert_string_equal (cfg->source.key, "id");
    assert_int_equal (cfg->pipeline.chunk_size, 500000);    /* set: kept */
    assert_int_equal (cfg->target.merge_key_count, 1);
    assert_string_equal (cfg->target.merge_key[0], "code");
    config_destroy (&cfg);

    s_expect_error ("source: {kind: csv}\ntarget: {conninfo: x, table: t}\n",
                    "job.yaml: source.path: required for kind csv");
    /*  A merge with no key to match on is refused before any data moves
        (it used to load everything, then fail to publish). */
    s_expect_error ("source: {kind: csv, path: a.csv}\ntarget: {conninfo: x, table: t}\n",
                    "job.yaml: target.merge.key: required for publish: merge when source.key is "
                    "not set (the merge matches rows by key): set target.merge.key (or "
                    "source.key) to the column(s) that identify a row, or use publish: direct "
                    "to load into an empty table");
}

/*  The key derived from `query`, or NULL (then `err` holds the message). */
static char *
s_derive (const char *query, char *err, size_t errlen)
{
    char text [1024];
    char quoted [900];
    /*  single-quoted YAML: double the quotes */
    size_t n = 0;
    for (const char *p = query; *p && n + 2 < sizeof quoted; p++) {
        if (*p == '\'')
            quoted[n++] = '\'';
        quoted[n++] = *p;
    }
    quoted[n] = '\0';
    snprintf (text, sizeof text,
              "source: {conninfo: x, query: '%s'}\ntarget: {conninfo: y, table: t}\n",
              quoted);
    config_t *cfg = s_parse (text, err, errlen);
    if (!cfg)
        return NULL;
    char *key = strdup (cfg->source.key);
    assert_int_equal (cfg->target.merge_key_count, 1);
    assert_string_equal (cfg->target.merge_key[0], key);
    config_destroy (&cfg);
    return key;
}

static void
test_key_derivation (void **state)
{
    struct { const char *query; const char *key; } cases[] = {
        { "SELECT * FROM t ORDER BY acct_id", "acct_id" },
        { "SELECT * FROM accounts a ORDER BY a.acct_id, x", "acct_id" },
        { "SELECT * FROM t ORDER BY \"Acct Id\" DESC", "Acct Id" },
        { "SELECT * FROM t ORDER BY s.t.\"Say \"\"Hi\"\"\"", "Say \"Hi\"" },
        { "SELECT * FROM t ORDER BY Acct_ID", "acct_id" },
        { "select * from t order\n  by id asc nulls last", "id" },
        { "SELECT * FROM (SELECT * FROM t ORDER BY inner_col) s ORDER BY outer_col",
          "outer_col" },
        { "SELECT id, row_number() OVER (ORDER BY x) FROM t ORDER BY id", "id" },
        { "SELECT * FROM t ORDER BY a LIMIT 10 UNION ALL SELECT * FROM u ORDER BY b",
          "b" },
        { "SELECT 'ORDER BY nope', id FROM t ORDER BY id;", "id" },
        { "SELECT id FROM t ORDER BY id -- ORDER BY nope\n", "id" },
        { "SELECT id FROM t /* ORDER BY /* nested */ nope */ ORDER BY /* c */ k", "k" },
        { "SELECT $$ ORDER BY nope $$, $x$ ) $x$ FROM t ORDER BY id", "id" },
        { "SELECT E'it\\'s ORDER BY nope', id FROM t ORDER BY t.id", "id" },
        { "SELECT \"ORDER BY nope\" FROM t ORDER BY id COLLATE \"C\"", "id" },
        { "SELECT * FROM reorder ORDER BY id FOR UPDATE", "id" },
        { "SELECT * FROM t WHERE x = $1 ORDER BY id OFFSET 5", "id" },
    };
    char err [512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *key = s_derive (cases[i].query, err, sizeof err);
        if (!key || strcmp (key, cases[i].key) != 0)
            print_error ("query: %s\nexpected: %s\ngot: %s (%s)\n", cases[i].query,
                         cases[i].key, key ? key : "NULL", key ? "" : err);
        assert_non_null (key);
        assert_string_equal (key, cases[i].key);
        free (key);
    }

    const char *no_order_by[] = {
        "SELECT * FROM t",
        "SELECT * FROM (SELECT * FROM t ORDER BY id) s",
        "SELECT 'ORDER BY id' FROM t",
        "SELECT \"order\" FROM t -- ORDER BY id",
        "SELECT id, row_number() OVER (ORDER BY x) FROM t",
    };
    for (size_t i = 0; i < sizeof no_order_by / sizeof no_order_by[0]; i++) {
        char *key = s_derive (no_order_by[i], err, sizeof err);
        if (key)
            print_error ("query: %s derived %s\n", no_order_by[i], key);
        assert_null (key);
        assert_string_equal (err,
            "job.yaml: source.key: required (the query has no ORDER BY to derive it from)");
    }

    const char *not_plain[] = {
        "SELECT * FROM t ORDER BY lower(name)",
        "SELECT * FROM t ORDER BY 1",
        "SELECT * FROM t ORDER BY a + b",
        "SELECT * FROM t ORDER BY t.*",
        "SELECT * FROM t ORDER BY x::text",
        "SELECT * FROM t ORDER BY \"\"",
        "SELECT * FROM t ORDER BY",
    };
    for (size_t i = 0; i < sizeof not_plain / sizeof not_plain[0]; i++) {
        char *key = s_derive (not_plain[i], err, sizeof err);
        if (key)
            print_error ("query: %s derived %s\n", not_plain[i], key);
        assert_null (key);
        assert_string_equal (err,
            "job.yaml: source.key: required (the query's ORDER BY does not start with a plain column)");
    }

    /*  An explicit key needs no ORDER BY. */
    config_t *cfg = s_expect_ok (
        "source: {conninfo: x, query: 'SELECT * FROM t', key: id}\n"
        "target: {conninfo: y, table: t}\n");
    assert_string_equal (cfg->source.key, "id");
    assert_string_equal (cfg->target.merge_key[0], "id");
    config_destroy (&cfg);
}

static void
test_integer_errors (void **state)
{
    s_expect_error (BASE "pipeline:\n  writers: 0\n",
                    "job.yaml:4: pipeline.writers: must be 1..256, got 0");
    s_expect_error (BASE "pipeline:\n  writers: 257\n",
                    "job.yaml:4: pipeline.writers: must be 1..256, got 257");
    s_expect_error (BASE "pipeline:\n  writers: 2.5\n",
                    "job.yaml:4: pipeline.writers: must be an integer, got \"2.5\"");
    s_expect_error (BASE "pipeline:\n  writers: abc\n",
                    "job.yaml:4: pipeline.writers: must be an integer, got \"abc\"");
    s_expect_error (BASE "pipeline:\n  writers: 1e3\n",
                    "job.yaml:4: pipeline.writers: must be an integer, got \"1e3\"");
    s_expect_error (BASE "pipeline:\n  writers: ' 2'\n",
                    "job.yaml:4: pipeline.writers: must be an integer, got \" 2\"");
    s_expect_error (BASE "pipeline:\n  writers: 0x10\n",
                    "job.yaml:4: pipeline.writers: must be an integer, got \"0x10\"");
    s_expect_error (BASE "pipeline:\n  writers:\n",
                    "job.yaml:4: pipeline.writers: must be an integer, got null");
    s_expect_error (BASE "pipeline:\n  writers: [1]\n",
                    "job.yaml:4: pipeline.writers: must be an integer, got a sequence");
    s_expect_error (BASE "pipeline: {chunk_size: 0}\n",
                    "job.yaml:3: pipeline.chunk_size: must be 1..1000000000, got 0");
    s_expect_error (BASE "pipeline: {chunk_size: 99999999999999999999999}\n",
                    "job.yaml:3: pipeline.chunk_size: must be 1..1000000000, got 99999999999999999999999");
    s_expect_error (BASE "pipeline: {min_rows_for_parallel: -1}\n",
                    "job.yaml:3: pipeline.min_rows_for_parallel: must be 0..1000000000000, got -1");
    s_expect_error (BASE "pipeline: {concurrency: 0}\n",
                    "job.yaml:3: pipeline.concurrency: must be auto or 1..4096, got 0");
    s_expect_error (BASE "pipeline: {concurrency: fast}\n",
                    "job.yaml:3: pipeline.concurrency: must be auto or an integer, got \"fast\"");
    {
        char err[512];
        config_t *c = config_parse (BASE "pipeline: {concurrency: 8}\n",
                                    strlen (BASE "pipeline: {concurrency: 8}\n"), "job.yaml",
                                    err, sizeof err);
        assert_non_null (c);
        assert_int_equal (c->pipeline.concurrency, 8);
        config_destroy (&c);
        c = config_parse (BASE "pipeline: {concurrency: auto}\n",
                          strlen (BASE "pipeline: {concurrency: auto}\n"), "job.yaml", err,
                          sizeof err);
        assert_non_null (c);
        assert_int_equal (c->pipeline.concurrency, 0);
        config_destroy (&c);
    }
    s_expect_error (BASE "pipeline: {processors: 65}\n",
                    "job.yaml:3: pipeline.processors: must be 1..64, got 65");
    s_expect_error (BASE "pipeline: {raw_queue_max: 10001}\n",
                    "job.yaml:3: pipeline.raw_queue_max: must be 1..10000, got 10001");
    s_expect_error (BASE "pipeline: {processed_queue_max: 0}\n",
                    "job.yaml:3: pipeline.processed_queue_max: must be 1..10000, got 0");
    s_expect_error (BASE "pipeline: {batch_size: 1000001}\n",
                    "job.yaml:3: pipeline.batch_size: must be 1..1000000, got 1000001");
    s_expect_error (BASE "pipeline: {read_buffer: 4095}\n",
                    "job.yaml:3: pipeline.read_buffer: must be 4096..16777216, got 4095");
    s_expect_error (BASE "retry: {max_retries: 101}\n",
                    "job.yaml:3: retry.max_retries: must be 0..100, got 101");
    s_expect_error (BASE "cluster: {heartbeat_ms: 9}\n",
                    "job.yaml:3: cluster.heartbeat_ms: must be 10..600000, got 9");
    s_expect_error (BASE "cluster: {liveness: 0}\n",
                    "job.yaml:3: cluster.liveness: must be 1..1000, got 0");
    s_expect_error (BASE "cluster: {chunk_stall_timeout: 1}\n",
                    "job.yaml:3: cluster.chunk_stall_timeout: must be 2..604800, got 1");
    s_expect_error (BASE "cluster: {chunk_stall_timeout: 5m}\n",
                    "job.yaml:3: cluster.chunk_stall_timeout: must be a number, got \"5m\"");
    s_expect_error (BASE "cluster: {curve: {secret_key: /k/c_secret}}\n",
                    "job.yaml:3: cluster.curve: give both secret_key (the coordinator's secret "
                    "certificate) and authorized_keys (the directory of workers' public "
                    "certificates); make them with 'ferry-coordinator keygen DIR' and "
                    "'ferry-worker keygen DIR'");
    s_expect_error (BASE "cluster: {curve: {secret_key: /k/c_secret, authorised_keys: /k/a}}\n",
                    "job.yaml:3: cluster.curve: unknown key \"authorised_keys\" (did you mean \"authorized_keys\"?)");
    s_expect_error (BASE "cluster: {insecure: maybe}\n",
                    "job.yaml:3: cluster.insecure: must be true or false, got \"maybe\"");
    s_expect_error (BASE "cluster: {secret_file: [a]}\n",
                    "job.yaml:3: cluster.secret_file: must be a string, got a sequence");
}

static void
test_double_errors (void **state)
{
    s_expect_error (BASE "retry: {initial_delay: -1}\n",
                    "job.yaml:3: retry.initial_delay: must be 0..3600, got -1");
    s_expect_error (BASE "retry: {backoff: 0.5}\n",
                    "job.yaml:3: retry.backoff: must be 1..100, got 0.5");
    s_expect_error (BASE "retry: {backoff: abc}\n",
                    "job.yaml:3: retry.backoff: must be a number, got \"abc\"");
    s_expect_error (BASE "retry: {backoff: nan}\n",
                    "job.yaml:3: retry.backoff: must be a number, got \"nan\"");
    s_expect_error (BASE "retry: {backoff: .inf}\n",
                    "job.yaml:3: retry.backoff: must be a number, got \".inf\"");
    s_expect_error (BASE "retry: {max_delay: 86401}\n",
                    "job.yaml:3: retry.max_delay: must be 0..86400, got 86401");
    s_expect_error (BASE "retry: {max_delay: {a: 1}}\n",
                    "job.yaml:3: retry.max_delay: must be a number, got a mapping");
    s_expect_error (BASE "retry:\n  initial_delay: 5\n  max_delay: 2\n",
                    "job.yaml:5: retry.max_delay: must be >= retry.initial_delay (5), got 2");
    /*  max_delay left at its default (30): the line is initial_delay's */
    s_expect_error (BASE "retry:\n  initial_delay: 60\n",
                    "job.yaml:4: retry.max_delay: must be >= retry.initial_delay (60), got 30");

    config_t *cfg = s_expect_ok (BASE "retry: {initial_delay: 2, backoff: 1, max_delay: 2.}\n");
    assert_true (cfg->retry.initial_delay == 2.0);
    assert_true (cfg->retry.backoff == 1.0);
    assert_true (cfg->retry.max_delay == 2.0);
    config_destroy (&cfg);
}

static void
test_enum_errors (void **state)
{
    s_expect_error ("source: {kind: mysql}\n",
                    "job.yaml:1: source.kind: must be one of postgres, csv; got \"mysql\"");
    s_expect_error ("source: {kind: Postgres}\n",
                    "job.yaml:1: source.kind: must be one of postgres, csv; got \"Postgres\"");
    s_expect_error ("source: {kind: [csv]}\n",
                    "job.yaml:1: source.kind: must be one of postgres, csv; got a sequence");
    s_expect_error ("source: {snapshot: always}\n",
                    "job.yaml:1: source.snapshot: must be one of shared, none; got \"always\"");
    s_expect_error ("source: {split: blocks}\n",
                    "job.yaml:1: source.split: must be one of auto, key, ctid; got \"blocks\"");
    s_expect_error ("target:\n  merge:\n    on_match: replace\n",
                    "job.yaml:3: target.merge.on_match: must be one of update, ignore, error; got \"replace\"");
    s_expect_error ("target: {publish: swap}\n",
                    "job.yaml:1: target.publish: must be one of merge, direct; got \"swap\"");
    /*  Values are shown escaped and bounded. */
    s_expect_error ("target: {publish: \"a\\\"b\\nc\"}\n",
                    "job.yaml:1: target.publish: must be one of merge, direct; got \"a\\\"b\\x0ac\"");
    s_expect_error ("target: {publish: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n",
                    "job.yaml:1: target.publish: must be one of merge, direct; got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
}

static void
test_string_errors (void **state)
{
    s_expect_error ("source: {query: {a: 1}}\n",
                    "job.yaml:1: source.query: must be a string, got a mapping");
    s_expect_error ("source:\n  query: \"\"\n",
                    "job.yaml:2: source.query: must not be empty");
    s_expect_error ("source:\n  key: \"a\\0b\"\n",
                    "job.yaml:2: source.key: must not contain NUL characters");
    s_expect_error ("target: {table: ~}\n",
                    "job.yaml:1: target.table: must be a string, got null");
    s_expect_error ("cluster: {bind: []}\n",
                    "job.yaml:1: cluster.bind: must be a string, got a sequence");
    s_expect_error ("source: {path: [a, b]}\n",
                    "job.yaml:1: source.path: must be a string, got a sequence");
}

/*  A conninfo may carry a password: it never appears in a message. */
static void
test_conninfo_never_echoed (void **state)
{
    char err [512];
    const char *bad[] = {
        "source: {conninfo: {password: hunter2}}\n",
        "source: {conninfo: [password=hunter2]}\n",
        "target: {conninfo: [password=hunter2]}\n",
        "source: {conninfo: 'password=hunter2', query: 'SELECT 1'}\n"
            "target: {conninfo: 'password=hunter2', table: t}\n",
        "source: {conninfo: 'password=hunter2', query: 'SELECT 1 ORDER BY a'}\n"
            "target: {conninfo: 'password=hunter2'}\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        config_t *cfg = s_parse (bad[i], err, sizeof err);
        assert_null (cfg);
        assert_true (strlen (err) > 0);
        assert_null (strstr (err, "hunter2"));
    }
    s_expect_error ("source: {conninfo: {password: hunter2}}\n",
                    "job.yaml:1: source.conninfo: must be a string, got a mapping");
    s_expect_error ("target: {conninfo: ''}\n",
                    "job.yaml:1: target.conninfo: must not be empty");
}

static void
test_merge_key_errors (void **state)
{
    s_expect_error (BASE "target: {}\n",
                    "job.yaml:3: duplicate key \"target\" (first at line 2)");
    const char *head =
        "source: {conninfo: x, query: 'SELECT 1 ORDER BY a'}\n"
        "target:\n"
        "  conninfo: y\n"
        "  table: t\n"
        "  merge:\n";
    char text [512];
    snprintf (text, sizeof text, "%s    key: []\n", head);
    s_expect_error (text, "job.yaml:6: target.merge.key: must not be empty");
    snprintf (text, sizeof text, "%s    key: [a, {b: 1}]\n", head);
    s_expect_error (text, "job.yaml:6: target.merge.key[1]: must be a string, got a mapping");
    snprintf (text, sizeof text, "%s    key:\n      - a\n      - b\n      - a\n", head);
    s_expect_error (text, "job.yaml:9: target.merge.key[2]: duplicate column \"a\"");
    snprintf (text, sizeof text, "%s    key: {a: 1}\n", head);
    s_expect_error (text,
                    "job.yaml:6: target.merge.key: must be a column name or a list of them, got a mapping");
    snprintf (text, sizeof text, "%s    key: ~\n", head);
    s_expect_error (text,
                    "job.yaml:6: target.merge.key: must be a column name or a list of them, got null");
    snprintf (text, sizeof text, "%s    - key\n", head);
    s_expect_error (text, "job.yaml:6: target.merge: must be a mapping, got a sequence");

    /*  a single string is a one-column key; the source key is not used */
    snprintf (text, sizeof text, "%s    key: \"Acct Id\"\n", head);
    config_t *cfg = s_expect_ok (text);
    assert_string_equal (cfg->source.key, "a");
    assert_int_equal (cfg->target.merge_key_count, 1);
    assert_string_equal (cfg->target.merge_key[0], "Acct Id");
    config_destroy (&cfg);
}

static void
test_required (void **state)
{
    s_expect_error ("source: {query: 'SELECT 1 ORDER BY a'}\ntarget: {conninfo: y, table: t}\n",
                    "job.yaml: source.conninfo: required (or set FERRY_SOURCE_DSN)");
    s_expect_error ("source: {conninfo: x}\ntarget: {conninfo: y, table: t}\n",
                    "job.yaml: source.query: required for kind postgres");
    s_expect_error ("source: {conninfo: x, query: 'SELECT 1 ORDER BY a'}\ntarget: {table: t}\n",
                    "job.yaml: target.conninfo: required (or set FERRY_TARGET_DSN)");
    s_expect_error ("source: {conninfo: x, query: 'SELECT 1 ORDER BY a'}\ntarget: {conninfo: y}\n",
                    "job.yaml: target.table: required");
    s_expect_error ("source: {conninfo: x, query: 'SELECT 1 ORDER BY a'}\n",
                    "job.yaml: target.conninfo: required (or set FERRY_TARGET_DSN)");
    s_expect_error ("pipeline: {writers: 3}\n",
                    "job.yaml: source.conninfo: required (or set FERRY_SOURCE_DSN)");
    /*  The ctid split needs the shared snapshot. */
    s_expect_error ("source: {conninfo: x, query: 'SELECT 1 ORDER BY a', snapshot: none, split: ctid}\n"
                    "target: {conninfo: y, table: t}\n",
                    "job.yaml: source.split: ctid needs source.snapshot: shared (without one "
                    "snapshot, a row updated while chunks read could move between block "
                    "ranges and be missed or read twice)");
}

static void
test_unknown_keys (void **state)
{
    s_expect_error (BASE "pipline:\n  writers: 2\n",
                    "job.yaml:3: unknown key \"pipline\" (did you mean \"pipeline\"?)");
    s_expect_error (BASE "Source: {}\n",
                    "job.yaml:3: unknown key \"Source\" (did you mean \"source\"?)");
    s_expect_error ("source:\n  conninfo: x\n  qeury: SELECT 1\n",
                    "job.yaml:3: source: unknown key \"qeury\" (did you mean \"query\"?)");
    s_expect_error ("target:\n  merge: {keys: [a]}\n",
                    "job.yaml:2: target.merge: unknown key \"keys\" (did you mean \"key\"?)");
    s_expect_error (BASE "pipeline: {writer: 2}\n",
                    "job.yaml:3: pipeline: unknown key \"writer\" (did you mean \"writers\"?)");
    s_expect_error ("source: {zzzzzz: 1}\n",
                    "job.yaml:1: source: unknown key \"zzzzzz\" (valid keys: kind, conninfo, query, key, snapshot, split, path, format, columns, rejects_file, max_errors, max_error_rate, connect_timeout)");
    s_expect_error ("logging: {level: debug}\n",
                    "job.yaml:1: unknown key \"logging\" (valid keys: source, target, pipeline, retry, cluster, alerts)");
    s_expect_error ("? [a, b]\n: c\n",
                    "job.yaml:1: keys must be names, got a sequence");
    s_expect_error ("retry:\n  ? {a: 1}\n  : 2\n",
                    "job.yaml:2: retry: keys must be names, got a mapping");
}

static void
test_duplicate_keys (void **state)
{
    s_expect_error (BASE "source: {}\n",
                    "job.yaml:3: duplicate key \"source\" (first at line 1)");
    s_expect_error (BASE "pipeline:\n  writers: 2\n  processors: 2\n  writers: 3\n",
                    "job.yaml:6: pipeline: duplicate key \"writers\" (first at line 4)");
    s_expect_error ("source: {key: a, 'key': b}\n",
                    "job.yaml:1: source: duplicate key \"key\" (first at line 1)");
}

static void
test_wrong_kinds (void **state)
{
    s_expect_error ("- source\n- target\n",
                    "job.yaml:1: the job file must be a mapping of sections, got a sequence");
    s_expect_error ("just some text\n",
                    "job.yaml:1: the job file must be a mapping of sections, got a scalar");
    s_expect_error (BASE "pipeline: [1, 2]\n",
                    "job.yaml:3: pipeline: must be a mapping, got a sequence");
    s_expect_error (BASE "retry: 5\n",
                    "job.yaml:3: retry: must be a mapping, got a scalar");
    s_expect_error ("source: 'host=x password=hunter2'\n",
                    "job.yaml:1: source: must be a mapping, got a scalar");
}

static void
test_empty_file (void **state)
{
    s_expect_error ("", "job.yaml: empty job file");
    s_expect_error ("# nothing but a comment\n\n", "job.yaml: empty job file");
    s_expect_error ("---\n", "job.yaml: empty job file");
    s_expect_error ("~\n", "job.yaml: empty job file");
    char err [64];
    assert_null (config_parse (NULL, 0, NULL, err, sizeof err));
    assert_string_equal (err, "<string>: empty job file");
}

static void
test_syntax_errors (void **state)
{
    s_expect_error ("source: {kind: csv\n",
                    "job.yaml:2:1: YAML syntax error: did not find expected ',' or '}' "
                    "(while parsing a flow mapping at line 1)");
    s_expect_error ("source:\n  kind: csv\n kind: postgres\n",
                    "job.yaml:3:2: YAML syntax error: did not find expected key "
                    "(while parsing a block mapping at line 1)");
    s_expect_error ("source:\n\tkind: csv\n",
                    "job.yaml:2:1: YAML syntax error: found character that cannot start any token "
                    "(while scanning for the next token at line 2)");
    s_expect_error ("source: *nowhere\n",
                    "job.yaml:1:9: YAML syntax error: found undefined alias");
    s_expect_error (BASE "---\nsource: {}\n",
                    "job.yaml:4: only one YAML document is allowed");
    s_expect_error (BASE "---\n[: :\n",
                    "job.yaml:4:2: YAML syntax error: did not find expected node content "
                    "(while parsing a flow node at line 4)");
    /*  invalid UTF-8 */
    s_expect_error ("source: {kind: \xff\xfe\xfd}\n",
                    "job.yaml: YAML error at byte 15: invalid leading UTF-8 octet");
}

/*  Anchors and aliases are plain YAML: they work. */
static void
test_aliases (void **state)
{
    config_t *cfg = s_expect_ok (
        "source: {conninfo: &dsn 'host=one', query: 'SELECT 1 ORDER BY a'}\n"
        "target: {conninfo: *dsn, table: t}\n");
    assert_string_equal (cfg->target.conninfo, "host=one");
    config_destroy (&cfg);

    /*  A self-referencing alias must not send the walk into a loop. */
    char err [512];
    cfg = s_parse ("source: &s {kind: csv, path: x, query: *s}\n", err, sizeof err);
    assert_null (cfg);
    assert_string_equal (err, "job.yaml:1: source.query: must be a string, got a mapping");
}

static void
test_env_override (void **state)
{
    setenv ("FERRY_SOURCE_DSN", "host=env-src", 1);
    setenv ("FERRY_TARGET_DSN", "host=env-tgt", 1);
    config_t *cfg = s_expect_ok (BASE);
    assert_string_equal (cfg->source.conninfo, "host=env-src");
    assert_string_equal (cfg->target.conninfo, "host=env-tgt");
    config_destroy (&cfg);

    /*  the environment supplies what the file lacks */
    cfg = s_expect_ok ("source: {query: 'SELECT 1 ORDER BY a'}\ntarget: {table: t}\n");
    assert_string_equal (cfg->source.conninfo, "host=env-src");
    assert_string_equal (cfg->target.conninfo, "host=env-tgt");
    config_destroy (&cfg);

    /*  empty means unset */
    setenv ("FERRY_SOURCE_DSN", "", 1);
    unsetenv ("FERRY_TARGET_DSN");
    cfg = s_expect_ok (BASE);
    assert_string_equal (cfg->source.conninfo, "host=src");
    assert_string_equal (cfg->target.conninfo, "host=tgt");
    config_destroy (&cfg);
    s_expect_error ("source: {query: 'SELECT 1 ORDER BY a'}\ntarget: {table: t}\n",
                    "job.yaml: source.conninfo: required (or set FERRY_SOURCE_DSN)");

    /*  a badly typed conninfo in the file stays an error */
    setenv ("FERRY_SOURCE_DSN", "host=env-src", 1);
    s_expect_error ("source: {conninfo: [a]}\n",
                    "job.yaml:1: source.conninfo: must be a string, got a sequence");
    unsetenv ("FERRY_SOURCE_DSN");
}

static void
test_load (void **state)
{
    char path [] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    const char *text = BASE "pipeline:\n  writers: 4\n";
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);

    char err [512];
    config_t *cfg = config_load (path, err, sizeof err);
    assert_non_null (cfg);
    assert_string_equal (cfg->origin, path);
    assert_int_equal (cfg->pipeline.writers, 4);
    assert_string_equal (cfg->source.key, "id");
    config_destroy (&cfg);

    /*  errors name the file */
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (BASE "pipeline:\n  writers: 0\n", f);
    fclose (f);
    assert_null (config_load (path, err, sizeof err));
    char expected [600];
    snprintf (expected, sizeof expected, "%s:4: pipeline.writers: must be 1..256, got 0", path);
    assert_string_equal (err, expected);
    unlink (path);

    assert_null (config_load ("/nonexistent/ferry/job.yaml", err, sizeof err));
    assert_string_equal (err,
        "/nonexistent/ferry/job.yaml: cannot open job file: No such file or directory");

    assert_null (config_load ("/tmp", err, sizeof err));
    assert_string_equal (err, "/tmp: cannot read job file: Is a directory");

    /*  a file without a trailing newline, larger than one read buffer */
    strcpy (path, "/tmp/test_config_XXXXXX");
    fd = mkstemp (path);
    assert_true (fd >= 0);
    f = fdopen (fd, "w");
    fputs (BASE, f);
    for (int i = 0; i < 1000; i++)
        fputs ("# padding padding padding padding padding padding\n", f);
    fputs ("cluster: {liveness: 7}", f);
    fclose (f);
    cfg = config_load (path, err, sizeof err);
    assert_non_null (cfg);
    assert_int_equal (cfg->cluster.liveness, 7);
    config_destroy (&cfg);
    unlink (path);
}

static void
test_err_buffer (void **state)
{
    /*  no buffer at all */
    assert_null (config_parse ("x: 1", 4, "job.yaml", NULL, 0));
    /*  a short buffer is truncated but terminated */
    char err [12];
    assert_null (config_parse ("pipeline: {writers: 0}", 22, "job.yaml", err, sizeof err));
    assert_string_equal (err, "job.yaml:1:");
    /*  success clears it */
    char big [128] = "stale";
    config_t *cfg = config_parse (BASE, strlen (BASE), "x", big, sizeof big);
    assert_non_null (cfg);
    assert_string_equal (big, "");
    assert_string_equal (cfg->origin, "x");
    config_destroy (&cfg);
    /*  len bounds the text: the rest is never read */
    const char *text = BASE "pipeline: {writers: 0}\n";
    cfg = config_parse (text, strlen (BASE), "x", big, sizeof big);
    assert_non_null (cfg);
    config_destroy (&cfg);
}

static void
test_destroy (void **state)
{
    config_destroy (NULL);
    config_t *cfg = NULL;
    config_destroy (&cfg);
    assert_null (cfg);
    cfg = config_new ();
    config_destroy (&cfg);
    assert_null (cfg);
}


static void
test_csv_format (void **state)
{
    (void) state;
    config_t *cfg = s_expect_ok (
        "source: { kind: csv, path: /tmp/x.csv, key: a,\n"
        "          format: { delimiter: \"\\t\", quote: \"\", header: yes, null: \"\\\\N\" },\n"
        "          columns: [a, \"-\", b], max_errors: 10, max_error_rate: 0.01,\n"
        "          rejects_file: /tmp/rejects.txt }\n"
        "target: { conninfo: x, table: t }\n");
    assert_int_equal (cfg->source.kind, SOURCE_KIND_CSV);
    assert_int_equal (cfg->source.format.delimiter, '\t');
    assert_int_equal (cfg->source.format.quote, 0);
    assert_int_equal (cfg->source.format.escape, 0);
    assert_true (cfg->source.format.header);
    assert_string_equal (cfg->source.format.null_marker, "\\N");
    assert_string_equal (cfg->source.format.encoding, "UTF8");
    assert_int_equal (cfg->source.column_count, 3);
    assert_string_equal (cfg->source.columns[0], "a");
    assert_null (cfg->source.columns[1]);
    assert_string_equal (cfg->source.columns[2], "b");
    assert_int_equal (cfg->source.max_errors, 10);
    assert_true (cfg->source.max_error_rate > 0.0099 && cfg->source.max_error_rate < 0.0101);
    assert_string_equal (cfg->source.rejects_file, "/tmp/rejects.txt");
    config_destroy (&cfg);

    cfg = s_expect_ok ("source: { kind: csv, path: /tmp/x.csv }\n"
                       "target: { conninfo: x, table: t, publish: direct }\n");
    assert_int_equal (cfg->source.format.delimiter, ',');
    assert_int_equal (cfg->source.format.quote, '"');
    assert_int_equal (cfg->source.format.escape, '"');
    assert_false (cfg->source.format.header);
    assert_string_equal (cfg->source.format.null_marker, "");
    assert_int_equal (cfg->source.max_errors, -1);
    assert_int_equal (cfg->source.column_count, 0);
    config_destroy (&cfg);

    s_expect_error ("source: { kind: csv, path: x, format: { delimiter: \";;\" } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.delimiter: must be one character, got \";;\"");
    s_expect_error ("source: { kind: csv, path: x, format: { header: maybe } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.header: must be true or false, got \"maybe\"");
    s_expect_error ("source: { kind: csv, path: x, columns: [a, a] }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.columns[1]: column \"a\" is mapped twice");
    s_expect_error ("source: { kind: csv, path: x, format: { quote: \",\" } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.quote: must differ from the delimiter");
    /*  What csv.c would assert on never gets past the job file (issue 10,
        12b): the same rules as a JOB from the wire (common/jobcheck.c). */
    s_expect_error ("source: { kind: csv, path: x, format: { delimiter: \"\\n\" } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.delimiter: must not be a line break");
    s_expect_error ("source: { kind: csv, path: x, format: { delimiter: \"\\r\" } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.delimiter: must not be a line break");
    s_expect_error ("source: { kind: csv, path: x, format: { delimiter: '\"' } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.quote: must differ from the delimiter");
    s_expect_error ("source: { kind: csv, path: x, format: { quote: \"\\n\" } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.quote: must not be a line break");
    s_expect_error ("source: { kind: csv, path: x, format: { escape: \"\\r\" } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.escape: must not be a line break");
    /*  source.format.max_record_bytes (issue 10, item 9). */
    cfg = s_expect_ok ("source: { kind: csv, path: x, format: { max_record_bytes: 1048576 } }\n"
                       "target: { conninfo: x, table: t, publish: direct }\n");
    assert_int_equal (cfg->source.format.max_record_bytes, 1048576);
    config_destroy (&cfg);
    cfg = s_expect_ok ("source: { kind: csv, path: x }\n"
                       "target: { conninfo: x, table: t, publish: direct }\n");
    assert_int_equal (cfg->source.format.max_record_bytes, 16 * 1024 * 1024);
    config_destroy (&cfg);
    s_expect_error ("source: { kind: csv, path: x, format: { max_record_bytes: 1023 } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.max_record_bytes: must be 1024..1073741824, got 1023");
    s_expect_error ("source: { kind: csv, path: x, format: { max_record_bytes: 1073741825 } }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.format.max_record_bytes: must be 1024..1073741824, got 1073741825");
    s_expect_error ("source: { kind: csv, path: x, max_error_rate: 2 }\n"
                    "target: { conninfo: x, table: t }\n",
                    "job.yaml:1: source.max_error_rate: must be 0..1, got 2");
}

/*  target.lock_timeout: seconds, 0 (no limit) .. 86400, default 60. */
static void
test_lock_timeout (void **state)
{
    (void) state;
    config_t *cfg = s_expect_ok (BASE_SOURCE "target: { conninfo: x, table: t, lock_timeout: 1.5 }\n");
    assert_true (cfg->target.lock_timeout == 1.5);
    config_destroy (&cfg);
    cfg = s_expect_ok (BASE_SOURCE "target: { conninfo: x, table: t, lock_timeout: 0 }\n");
    assert_true (cfg->target.lock_timeout == 0);
    config_destroy (&cfg);
    s_expect_error (BASE_SOURCE "target: { conninfo: x, table: t, lock_timeout: -1 }\n",
                    "job.yaml:2: target.lock_timeout: must be 0..86400, got -1");
    s_expect_error (BASE_SOURCE "target: { conninfo: x, table: t, lock_timeout: 90000 }\n",
                    "job.yaml:2: target.lock_timeout: must be 0..86400, got 90000");
    s_expect_error (BASE_SOURCE "target: { conninfo: x, table: t, lock_timeout: soon }\n",
                    "job.yaml:2: target.lock_timeout: must be a number, got \"soon\"");
    cfg = s_expect_ok (BASE_SOURCE "target: { conninfo: x, table: t, connect_timeout: 5, "
                       "statement_timeout: 0 }\n");
    assert_true (cfg->target.connect_timeout == 5.0);
    assert_true (cfg->target.statement_timeout == 0);
    config_destroy (&cfg);
    s_expect_error (BASE_SOURCE "target: { conninfo: x, table: t, connect_timeout: 4000 }\n",
                    "job.yaml:2: target.connect_timeout: must be 0..3600, got 4000");
    s_expect_error (BASE_SOURCE "target: { conninfo: x, table: t, statement_timeout: -1 }\n",
                    "job.yaml:2: target.statement_timeout: must be 0..86400, got -1");
}

/*  alerts: the issue 14 defaults, overrides, 0 turns a check off, ranges. */
static void
test_alerts (void **state)
{
    (void) state;
    config_t *cfg = s_expect_ok (BASE_SOURCE "target: { conninfo: x, table: t }\n");
    assert_true (cfg->alerts.wall_ratio == 2.0);
    assert_true (cfg->alerts.throughput_ratio == 0.5);
    assert_true (cfg->alerts.error_rate == 0.05);
    assert_true (cfg->alerts.connections == 0.8);
    assert_true (cfg->alerts.memory == 0.8);
    assert_false (cfg->alerts.fail_run);
    config_destroy (&cfg);
    cfg = s_expect_ok (BASE_SOURCE "target: { conninfo: x, table: t }\n"
                       "alerts: { wall_ratio: 3, throughput_ratio: 0, fail_run: true }\n");
    assert_true (cfg->alerts.wall_ratio == 3.0);
    assert_true (cfg->alerts.throughput_ratio == 0);
    assert_true (cfg->alerts.fail_run);
    config_destroy (&cfg);
    cfg = s_expect_ok (BASE_SOURCE "target: { conninfo: x, table: t }\nalerts:\n");
    assert_true (cfg->alerts.connections == 0.8);
    config_destroy (&cfg);
    s_expect_error (BASE_SOURCE "target: { conninfo: x, table: t }\nalerts: { connections: 1.5 }\n",
                    "job.yaml:3: alerts.connections: must be 0..1, got 1.5");
    s_expect_error (BASE_SOURCE "target: { conninfo: x, table: t }\nalerts: { fail_run: maybe }\n",
                    "job.yaml:3: alerts.fail_run: must be true or false, got \"maybe\"");
    s_expect_error (BASE_SOURCE "target: { conninfo: x, table: t }\nalerts: { memroy: 0.9 }\n",
                    "job.yaml:3: alerts: unknown key \"memroy\" (did you mean \"memory\"?)");
}

static void
s_expect_unordered (const char *query, const char *expected)
{
    char *got = sqltext_unordered (query);
    if (expected) {
        assert_non_null (got);
        assert_string_equal (got, expected);
    }
    else
        assert_null (got);
    free (got);
}

static void
test_query_unordered (void **state)
{
    (void) state;
    s_expect_unordered ("SELECT * FROM accounts ORDER BY acct_id", "SELECT * FROM accounts");
    s_expect_unordered ("SELECT a, b FROM t ORDER BY a DESC NULLS LAST, b;", "SELECT a, b FROM t");
    s_expect_unordered ("select * from t\n  order by 1\n", "select * from t");
    /*  ORDER BY inside a subquery or a window is not the query's */
    s_expect_unordered ("SELECT * FROM (SELECT * FROM t ORDER BY a) s", NULL);
    s_expect_unordered ("SELECT a, row_number() OVER (ORDER BY b) FROM t ORDER BY a",
                        "SELECT a, row_number() OVER (ORDER BY b) FROM t");
    /*  in strings and comments it is text */
    s_expect_unordered ("SELECT 'x ORDER BY y' AS c FROM t -- ORDER BY c", NULL);
    s_expect_unordered ("SELECT \"order\" FROM t ORDER BY \"order\"", "SELECT \"order\" FROM t");
    /*  where the order decides which rows come out, keep it */
    s_expect_unordered ("SELECT * FROM t ORDER BY a LIMIT 10", NULL);
    s_expect_unordered ("SELECT * FROM t ORDER BY a OFFSET 5", NULL);
    s_expect_unordered ("SELECT * FROM t ORDER BY a FETCH FIRST 3 ROWS ONLY", NULL);
    s_expect_unordered ("SELECT * FROM t ORDER BY a FOR UPDATE", NULL);
    s_expect_unordered ("SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b DESC", NULL);
    s_expect_unordered ("SELECT * FROM t", NULL);
    s_expect_unordered ("ORDER BY a", NULL);
    s_expect_unordered (NULL, NULL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_new_defaults, s_setup),
        cmocka_unit_test_setup (test_full_file, s_setup),
        cmocka_unit_test_setup (test_minimal_defaults, s_setup),
        cmocka_unit_test_setup (test_empty_sections, s_setup),
        cmocka_unit_test_setup (test_csv_source, s_setup),
        cmocka_unit_test_setup (test_key_derivation, s_setup),
        cmocka_unit_test_setup (test_integer_errors, s_setup),
        cmocka_unit_test_setup (test_double_errors, s_setup),
        cmocka_unit_test_setup (test_enum_errors, s_setup),
        cmocka_unit_test_setup (test_string_errors, s_setup),
        cmocka_unit_test_setup (test_conninfo_never_echoed, s_setup),
        cmocka_unit_test_setup (test_merge_key_errors, s_setup),
        cmocka_unit_test_setup (test_required, s_setup),
        cmocka_unit_test_setup (test_unknown_keys, s_setup),
        cmocka_unit_test_setup (test_duplicate_keys, s_setup),
        cmocka_unit_test_setup (test_wrong_kinds, s_setup),
        cmocka_unit_test_setup (test_empty_file, s_setup),
        cmocka_unit_test_setup (test_syntax_errors, s_setup),
        cmocka_unit_test_setup (test_aliases, s_setup),
        cmocka_unit_test_setup (test_env_override, s_setup),
        cmocka_unit_test_setup (test_load, s_setup),
        cmocka_unit_test_setup (test_err_buffer, s_setup),
        cmocka_unit_test_setup (test_destroy, s_setup),
        cmocka_unit_test_setup (test_csv_format, s_setup),
        cmocka_unit_test_setup (test_lock_timeout, s_setup),
        cmocka_unit_test_setup (test_alerts, s_setup),
        cmocka_unit_test (test_query_unordered),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
