/*  tests/unit/test_jobprint.c: common/jobprint: the fingerprint changes
    with every key that decides the data (and names exactly that key), not
    with conninfos or tuning; job_keys text round-trips; a stored text that
    is not a job_keys text is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jobprint.h"

static const char *s_pg_job =
    "source:\n"
    "  conninfo: host=a dbname=src password=secret1\n"
    "  query: SELECT id, name FROM accounts ORDER BY id\n"
    "target:\n"
    "  conninfo: host=b dbname=dst\n"
    "  table: public.accounts\n";

static config_t *
s_parse (const char *text)
{
    char err[1024];
    config_t *cfg = config_parse (text, strlen (text), "job.yaml", err, sizeof err);
    if (!cfg)
        fail_msg ("config_parse: %s", err);
    return cfg;
}

/*  Parses base with `from` replaced by `to`, diffs against base's
    fingerprint, and checks exactly `key` changed (NULL: nothing). */
static void
s_expect_change (const char *base, const char *from, const char *to, const char *key)
{
    config_t *a = s_parse (base);
    const char *at = strstr (base, from);
    assert_non_null (at);
    size_t n = strlen (base) - strlen (from) + strlen (to) + 1;
    char *edited = malloc (n);
    snprintf (edited, n, "%.*s%s%s", (int) (at - base), base, to, at + strlen (from));
    config_t *b = s_parse (edited);
    jobprint_t pa, pb;
    jobprint_compute (a, &pa);
    jobprint_compute (b, &pb);
    char *stored = jobprint_keys_text (&pa);
    char changed[256];
    int d = jobprint_diff (stored, &pb, changed, sizeof changed);
    if (key) {
        assert_int_equal (d, 1);
        assert_string_equal (changed, key);
        assert_string_not_equal (pa.hash, pb.hash);
    }
    else {
        assert_int_equal (d, 0);
        assert_string_equal (changed, "");
        assert_string_equal (pa.hash, pb.hash);
    }
    free (stored);
    free (edited);
    config_destroy (&a);
    config_destroy (&b);
}

static void
test_same_job_same_print (void **state)
{
    (void) state;
    s_expect_change (s_pg_job, "accounts\n", "accounts\n", NULL);
}

static void
test_data_keys_change_print (void **state)
{
    (void) state;
    s_expect_change (s_pg_job, "SELECT id, name", "SELECT id, NULL AS name", "source.query");
    s_expect_change (s_pg_job, "  table: public.accounts\n",
                     "  table: public.accounts2\n", "target.table");
    s_expect_change (s_pg_job, "  table: public.accounts\n",
                     "  table: public.accounts\n  publish: direct\n", "target.publish");
    s_expect_change (s_pg_job, "  table: public.accounts\n",
                     "  table: public.accounts\n  merge:\n    on_match: ignore\n",
                     "target.merge.on_match");
    s_expect_change (s_pg_job, "  table: public.accounts\n",
                     "  table: public.accounts\n  merge:\n    key: [id, name]\n",
                     "target.merge.key");
    s_expect_change (s_pg_job, "ORDER BY id\n", "ORDER BY id\n  split: key\n", "source.split");
}

static void
test_how_keys_do_not (void **state)
{
    (void) state;
    /*  Conninfos (a rotated password), tuning and cluster settings. */
    s_expect_change (s_pg_job, "password=secret1", "password=secret2", NULL);
    s_expect_change (s_pg_job, "host=b dbname=dst", "host=c dbname=dst", NULL);
    s_expect_change (s_pg_job, "  table: public.accounts\n",
                     "  table: public.accounts\npipeline:\n  chunk_size: 1000\n  writers: 4\n"
                     "retry:\n  max_retries: 9\ncluster:\n  heartbeat_ms: 500\n", NULL);
}

static const char *s_csv_job =
    "source:\n"
    "  kind: csv\n"
    "  path: /data/a.csv\n"
    "  key: id\n"
    "  format:\n"
    "    delimiter: \",\"\n"
    "    header: true\n"
    "target:\n"
    "  conninfo: host=b dbname=dst\n"
    "  table: t\n";

static void
test_csv_keys (void **state)
{
    (void) state;
    s_expect_change (s_csv_job, "/data/a.csv", "/data/b.csv", "source.path");
    s_expect_change (s_csv_job, "delimiter: \",\"", "delimiter: \";\"", "source.format");
    s_expect_change (s_csv_job, "header: true", "header: false", "source.format");
    s_expect_change (s_csv_job, "  key: id\n", "  key: id\n  columns: [id, name]\n",
                     "source.columns");
}

static void
test_kind_change_names_both_sides (void **state)
{
    (void) state;
    config_t *a = s_parse (s_pg_job), *b = s_parse (s_csv_job);
    jobprint_t pa, pb;
    jobprint_compute (a, &pa);
    jobprint_compute (b, &pb);
    char *stored = jobprint_keys_text (&pa);
    char changed[512];
    int d = jobprint_diff (stored, &pb, changed, sizeof changed);
    assert_true (d >= 4);
    assert_non_null (strstr (changed, "source.kind"));
    assert_non_null (strstr (changed, "source.path"));    /* only the csv side has it */
    assert_non_null (strstr (changed, "source.query"));   /* only the stored side has it */
    free (stored);
    config_destroy (&a);
    config_destroy (&b);
}

static void
test_bad_stored_text (void **state)
{
    (void) state;
    config_t *a = s_parse (s_pg_job);
    jobprint_t p;
    jobprint_compute (a, &p);
    char changed[64];
    assert_int_equal (jobprint_diff (NULL, &p, changed, sizeof changed), -1);
    assert_int_equal (jobprint_diff ("", &p, changed, sizeof changed), -1);
    assert_int_equal (jobprint_diff ("0123456789abcdef", &p, changed, sizeof changed), -1);
    assert_int_equal (jobprint_diff ("source.kind=12", &p, changed, sizeof changed), -1);
    /*  A short buffer still ends with NUL. */
    char *stored = jobprint_keys_text (&p);
    stored[strlen ("source.kind=") + 3] ^= 1;   /* one hash digit off */
    char tiny[4];
    assert_int_equal (jobprint_diff (stored, &p, tiny, sizeof tiny), 1);
    assert_int_equal (strlen (tiny), 3);
    free (stored);
    config_destroy (&a);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_same_job_same_print),
        cmocka_unit_test (test_data_keys_change_print),
        cmocka_unit_test (test_how_keys_do_not),
        cmocka_unit_test (test_csv_keys),
        cmocka_unit_test (test_kind_change_names_both_sides),
        cmocka_unit_test (test_bad_stored_text),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
