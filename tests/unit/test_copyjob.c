/*  tests/unit/test_copyjob.c: common/copyjob's JOB both ways: the JOB a
    coordinator builds from a job file (copyjob_to_protocol) carries the
    query, key, split, snapshot, tables, pipeline and retry settings, and
    conninfos only when asked (a loopback bind; never a file source's);
    a worker that decodes it (copyjob_from_protocol) gets the same job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "copyjob.h"

static config_t *
s_parse (const char *text)
{
    char err[1024];
    config_t *cfg = config_parse (text, strlen (text), "job.yaml", err, sizeof err);
    if (!cfg)
        fail_msg ("config_parse: %s", err);
    return cfg;
}

static const char *s_pg =
    "source: {conninfo: 'host=s password=p1', query: 'SELECT id, v FROM t ORDER BY id'}\n"
    "target: {conninfo: 'host=t password=p2', table: public.t}\n"
    "pipeline: {processors: 3, raw_queue_max: 7, processed_queue_max: 5, read_buffer: 8192}\n"
    "retry: {max_retries: 4, initial_delay: 0.5, backoff: 3, max_delay: 9}\n";

static void
test_postgres_round_trip (void **state)
{
    (void) state;
    unsetenv ("FERRY_SOURCE_DSN");
    unsetenv ("FERRY_TARGET_DSN");
    config_t *cfg = s_parse (s_pg);
    copyjob_t *job = copyjob_from_config (cfg, "r1", "coordinator", "ferry.\"stage_r1\"");
    job->ctid_split = true;
    protocol_job_t pj;
    char *owned = (char *) 1;
    copyjob_to_protocol (job, cfg, "ferry.\"stage_r1\"", "00000003-1", true, &pj, &owned);
    assert_null (owned);
    assert_null (pj.source_kind);
    assert_string_equal (pj.source_conninfo, "host=s password=p1");
    assert_string_equal (pj.target_conninfo, "host=t password=p2");
    assert_string_equal (pj.query, "SELECT id, v FROM t ORDER BY id");
    assert_string_equal (pj.key, "id");
    assert_string_equal (pj.split, "ctid");
    assert_string_equal (pj.snapshot, "00000003-1");
    assert_string_equal (pj.copy_table, "ferry.\"stage_r1\"");
    assert_string_equal (pj.final_table, "public.t");
    assert_int_equal (pj.processors, 3);
    assert_int_equal (pj.raw_queue_max, 7);
    assert_int_equal (pj.processed_queue_max, 5);
    assert_int_equal (pj.read_buffer, 8192);
    assert_int_equal (pj.max_retries, 4);
    assert_true (pj.initial_delay == 0.5 && pj.backoff == 3 && pj.max_delay == 9);

    char err[256];
    copyjob_t *back = copyjob_from_protocol (&pj, "r1", "w1", err, sizeof err);
    assert_non_null (back);
    assert_string_equal (back->key, "id");
    assert_true (back->ctid_split);
    assert_string_equal (back->snapshot, "00000003-1");
    assert_string_equal (back->copy_table, "ferry.\"stage_r1\"");
    assert_int_equal (back->processors, 3);
    copyjob_destroy (&back);
    copyjob_destroy (&job);
    config_destroy (&cfg);
}

static void
test_no_conninfos_off_loopback (void **state)
{
    (void) state;
    unsetenv ("FERRY_SOURCE_DSN");
    unsetenv ("FERRY_TARGET_DSN");
    config_t *cfg = s_parse (s_pg);
    copyjob_t *job = copyjob_from_config (cfg, "r1", "coordinator", "public.t");
    protocol_job_t pj;
    char *owned = NULL;
    copyjob_to_protocol (job, cfg, "public.t", NULL, false, &pj, &owned);
    assert_null (pj.source_conninfo);
    assert_null (pj.target_conninfo);
    assert_null (pj.split);
    assert_null (pj.snapshot);
    /*  A worker without its own DSNs says what to set. */
    char err[256];
    assert_null (copyjob_from_protocol (&pj, "r1", "w1", err, sizeof err));
    assert_non_null (strstr (err, "set FERRY_SOURCE_DSN on this worker"));
    copyjob_destroy (&job);
    config_destroy (&cfg);
}

static void
test_csv (void **state)
{
    (void) state;
    config_t *cfg = s_parse ("source: {kind: csv, path: /d/a.csv, key: id, format: {delimiter: ';', "
                             "header: true, max_record_bytes: 4096}}\n"
                             "target: {conninfo: 'host=t password=p2', table: t}\n");
    copyjob_t *job = copyjob_from_config (cfg, "r2", "coordinator", "ferry.\"stage_r2\"");
    char *targets[3] = { "id", NULL, "v" };
    copyjob_set_file_columns (job, targets, 3);
    protocol_job_t pj;
    char *owned = NULL;
    copyjob_to_protocol (job, cfg, "ferry.\"stage_r2\"", "ignored-for-files", true, &pj, &owned);
    assert_string_equal (pj.source_kind, "csv");
    assert_null (pj.source_conninfo);          /* a file source needs none */
    assert_string_equal (pj.target_conninfo, "host=t password=p2");
    assert_null (pj.query);
    assert_null (pj.key);
    assert_null (pj.snapshot);
    assert_int_equal (pj.csv_delimiter, ';');
    assert_true (pj.csv_header);
    assert_int_equal (pj.csv_max_record, 4096);
    assert_non_null (owned);
    assert_ptr_equal (pj.csv_columns, owned);
    free (owned);
    copyjob_destroy (&job);
    config_destroy (&cfg);
}

/*  The binary/text decision per column, table-driven: (source OID,
    target OID, their categories) -> mode. 20 int4, 23 int4... the OIDs
    are PostgreSQL's built-in ones; 16384 and up are user types. */
static void
test_column_mode (void **state)
{
    (void) state;
    static const struct {
        unsigned s, t;
        char sc, tc;
        copyjob_column_t want;
    } cases[] = {
        { 23, 23, 'N', 'N', COPYJOB_COLUMN_BINARY },      /* int4 -> int4 */
        { 25, 25, 'S', 'S', COPYJOB_COLUMN_BINARY },      /* text -> text */
        { 20, 23, 'N', 'N', COPYJOB_COLUMN_TEXT },        /* int8 -> int4: the server casts */
        { 25, 1043, 'S', 'S', COPYJOB_COLUMN_TEXT },      /* text -> varchar */
        { 1114, 25, 'D', 'S', COPYJOB_COLUMN_TEXT },      /* timestamp -> text */
        { 25, 1700, 'S', 'N', COPYJOB_COLUMN_TEXT },      /* text -> numeric */
        { 16384, 16384, 'E', 'E', COPYJOB_COLUMN_TEXT },  /* the same user enum: OIDs differ per cluster */
        { 16400, 25, 'U', 'S', COPYJOB_COLUMN_TEXT },     /* a user type into text */
        { 3802, 16500, 'U', 'U', COPYJOB_COLUMN_TEXT },   /* unknown to us: the server judges */
        { 23, 1114, 'N', 'D', COPYJOB_COLUMN_REFUSED },   /* int4 -> timestamp */
        { 16, 23, 'B', 'N', COPYJOB_COLUMN_REFUSED },     /* bool -> int4 */
        { 1700, 1082, 'N', 'D', COPYJOB_COLUMN_REFUSED }, /* numeric -> date */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        copyjob_column_t got = copyjob_column_mode (cases[i].s, cases[i].t, cases[i].sc, cases[i].tc);
        if (got != cases[i].want)
            fail_msg ("case %zu (%u %c -> %u %c): got %d, want %d", i, cases[i].s, cases[i].sc,
                      cases[i].t, cases[i].tc, (int) got, (int) cases[i].want);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_postgres_round_trip),
        cmocka_unit_test (test_no_conninfos_off_loopback),
        cmocka_unit_test (test_csv),
        cmocka_unit_test (test_column_mode),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
