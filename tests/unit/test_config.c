/*  tests/unit/test_config.c: the job file parser (common/job/config.c): valid
    files, defaults, source.key derivation from the query, required keys,
    the file as a whole (its kind, YAML syntax, one document), the
    environment, loading from a file, the error buffer. Values key by key,
    kind of rule by kind, are in test_config_rules.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "config_test.h"

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
    assert_true (cfg->target.analyze);
    assert_true (cfg->source.connect_timeout == 30.0);
    assert_true (cfg->source.max_error_rate == 0.1);
    assert_int_equal (cfg->pipeline.chunk_size, 50000);
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
    assert_true (cfg->alerts.wall_ratio == 2.0);
    assert_true (cfg->alerts.throughput_ratio == 0.5);
    assert_true (cfg->alerts.error_rate == 0.05);
    assert_true (cfg->alerts.connections == 0.8);
    assert_true (cfg->alerts.memory == 0.8);
    assert_false (cfg->alerts.fail_run);
    assert_int_equal (cfg->source.max_errors, -1);
    assert_int_equal (cfg->source.format.delimiter, ',');
    assert_int_equal (cfg->source.format.quote, '"');
    assert_int_equal (cfg->source.format.escape, '"');
    assert_false (cfg->source.format.header);
    assert_string_equal (cfg->source.format.null_marker, "");
    assert_string_equal (cfg->source.format.encoding, "UTF8");
    assert_int_equal (cfg->source.format.max_record_bytes, 16 * 1024 * 1024);
    assert_int_equal (cfg->pipeline.group_rows, 500000);
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

/*  source.key from the query's ORDER BY (the scanner's own cases are in
    test_sqltext.c): the key, or the message when there is none. */
static void
test_key_derivation (void **state)
{
    static const char no_order_by[] =
        "job.yaml: source.key: required (the query has no ORDER BY to derive it from)";
    static const char not_plain[] =
        "job.yaml: source.key: required (the query's ORDER BY does not start with a plain column)";
    struct { const char *query; const char *key; const char *error; } cases[] = {
        { "SELECT * FROM t ORDER BY acct_id", "acct_id", NULL },
        { "SELECT * FROM accounts a ORDER BY a.acct_id, x", "acct_id", NULL },
        { "SELECT * FROM t ORDER BY \"Acct Id\" DESC", "Acct Id", NULL },
        { "SELECT * FROM t ORDER BY Acct_ID", "acct_id", NULL },
        { "SELECT * FROM (SELECT * FROM t ORDER BY inner_col) s ORDER BY outer_col",
          "outer_col", NULL },
        { "SELECT 'ORDER BY nope', id FROM t ORDER BY id;", "id", NULL },
        { "SELECT $$ ORDER BY nope $$, $x$ ) $x$ FROM t ORDER BY id", "id", NULL },
        { "SELECT * FROM t", NULL, no_order_by },
        { "SELECT * FROM (SELECT * FROM t ORDER BY id) s", NULL, no_order_by },
        { "SELECT \"order\" FROM t -- ORDER BY id", NULL, no_order_by },
        { "SELECT * FROM t ORDER BY lower(name)", NULL, not_plain },
        { "SELECT * FROM t ORDER BY 1", NULL, not_plain },
        { "SELECT * FROM t ORDER BY", NULL, not_plain },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err [512] = "";
        char *key = s_derive (cases[i].query, err, sizeof err);
        if (!cases[i].key != !key || (key && strcmp (key, cases[i].key) != 0)
        ||  (!key && strcmp (err, cases[i].error) != 0))
            print_error ("query: %s\nexpected: %s\ngot: %s (%s)\n", cases[i].query,
                         cases[i].key ? cases[i].key : cases[i].error,
                         key ? key : "NULL", err);
        if (cases[i].key)
            assert_string_equal (key, cases[i].key);
        else {
            assert_null (key);
            assert_string_equal (err, cases[i].error);
        }
        free (key);
    }

    /*  An explicit key needs no ORDER BY. */
    config_t *cfg = s_expect_ok (
        "source: {conninfo: x, query: 'SELECT * FROM t', key: id}\n"
        "target: {conninfo: y, table: t}\n");
    assert_string_equal (cfg->source.key, "id");
    assert_string_equal (cfg->target.merge_key[0], "id");
    config_destroy (&cfg);
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
        cmocka_unit_test_setup (test_csv_format, s_setup),
        cmocka_unit_test_setup (test_key_derivation, s_setup),
        cmocka_unit_test_setup (test_conninfo_never_echoed, s_setup),
        cmocka_unit_test_setup (test_required, s_setup),
        cmocka_unit_test_setup (test_wrong_kinds, s_setup),
        cmocka_unit_test_setup (test_empty_file, s_setup),
        cmocka_unit_test_setup (test_syntax_errors, s_setup),
        cmocka_unit_test_setup (test_aliases, s_setup),
        cmocka_unit_test_setup (test_env_override, s_setup),
        cmocka_unit_test_setup (test_load, s_setup),
        cmocka_unit_test_setup (test_err_buffer, s_setup),
        cmocka_unit_test_setup (test_destroy, s_setup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
