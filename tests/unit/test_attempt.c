/*  tests/unit/test_attempt.c: the pure part of a worker's attempt
    (worker/attempt.c, worker/stage.c): setting one up, a group's member
    ranges, the first error wins and aborts the queues, the raw queue push
    and the reader's last batch, the choice of stages per kind of source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attempt.h"
#include "stage.h"

#include <stdlib.h>
#include <string.h>

static volatile int s_stop;

static void
test_init_single (void **state)
{
    (void) state;
    copyjob_t job;
    memset (&job, 0, sizeof job);
    slot_t slot;
    memset (&slot, 0, sizeof slot);
    chunk_spec_t spec = { .chunk_id = 5, .attempt = 2, .lo = "10", .hi = "20" };
    attempt_t a;
    memset (&a, 0x5a, sizeof a);        /* init must not rely on a zeroed struct */
    attempt_init (&a, &job, &slot, &spec, &s_stop, "0123456789abcdef", true);
    assert_ptr_equal (a.job, &job);
    assert_ptr_equal (a.slot, &slot);
    assert_ptr_equal (a.spec, &spec);
    assert_ptr_equal (a.stop, &s_stop);
    assert_string_equal (a.token, "0123456789abcdef");
    assert_true (a.careful);
    assert_int_equal (a.count, 1);      /* count 0: one chunk */
    assert_null (a.members);
    assert_int_equal (a.fd, -1);
    assert_int_equal (a.failed, 0);
    assert_false (a.already_committed);
    assert_false (a.refused);
    assert_null (a.raw);
    assert_null (a.processed);
    assert_int_equal (a.rows_read, 0);
    assert_int_equal (a.rows_committed, 0);
    assert_string_equal (a.err.message, "");
    attempt_release (&a);
}

static void
test_init_group (void **state)
{
    (void) state;
    copyjob_t job;
    memset (&job, 0, sizeof job);
    char *bounds[2] = { "20", "30" };
    chunk_spec_t spec = { .chunk_id = 5, .lo = "10", .hi = "40", .count = 3,
                          .bounds = bounds };
    attempt_t a;
    attempt_init (&a, &job, NULL, &spec, &s_stop, "t", false);
    assert_int_equal (a.count, 3);
    assert_non_null (a.members);
    for (int i = 0; i < 3; i++) {
        assert_int_equal (a.members[i].rows, 0);
        assert_int_equal (a.members[i].bytes, 0);
        assert_int_equal (a.members[i].checksum, 0);
    }
    /*  The caller may take the members (a committed group's result). */
    member_result_t *taken = a.members;
    a.members = NULL;
    attempt_release (&a);
    free (taken);
    /*  Or leave them to attempt_release (ASan checks they are freed). */
    attempt_init (&a, &job, NULL, &spec, &s_stop, "t", false);
    attempt_release (&a);
    assert_null (a.members);
}

static void
test_member_range (void **state)
{
    (void) state;
    const char *lo, *hi;
    /*  A single chunk: its own range, unbounded ends stay NULL. */
    chunk_spec_t one = { .lo = NULL, .hi = "100" };
    spec_member_range (&one, 0, &lo, &hi);
    assert_null (lo);
    assert_string_equal (hi, "100");
    chunk_spec_t also_one = { .lo = "a", .hi = "b", .count = 1 };
    spec_member_range (&also_one, 0, &lo, &hi);
    assert_string_equal (lo, "a");
    assert_string_equal (hi, "b");
    /*  A group of three: [lo, b0), [b0, b1), [b1, hi). */
    char *bounds[2] = { "20", "30" };
    chunk_spec_t group = { .lo = "10", .hi = NULL, .count = 3, .bounds = bounds };
    spec_member_range (&group, 0, &lo, &hi);
    assert_string_equal (lo, "10");
    assert_string_equal (hi, "20");
    spec_member_range (&group, 1, &lo, &hi);
    assert_string_equal (lo, "20");
    assert_string_equal (hi, "30");
    spec_member_range (&group, 2, &lo, &hi);
    assert_string_equal (lo, "30");
    assert_null (hi);
    /*  A group of two: one bound. */
    char *mid[1] = { "m" };
    chunk_spec_t two = { .lo = NULL, .hi = NULL, .count = 2, .bounds = mid };
    spec_member_range (&two, 0, &lo, &hi);
    assert_null (lo);
    assert_string_equal (hi, "m");
    spec_member_range (&two, 1, &lo, &hi);
    assert_string_equal (lo, "m");
    assert_null (hi);
}

static void
test_first_error_wins (void **state)
{
    (void) state;
    copyjob_t job;
    memset (&job, 0, sizeof job);
    chunk_spec_t spec = { .chunk_id = 1 };
    attempt_t a;
    attempt_init (&a, &job, NULL, &spec, &s_stop, "t", false);
    /*  No queues yet (connecting): recording alone. */
    attempt_fail (&a, "08006", true, "source: %s %d", "gone", 7);
    assert_int_equal (a.failed, 1);
    assert_string_equal (a.err.sqlstate, "08006");
    assert_true (a.err.retryable);
    assert_string_equal (a.err.message, "source: gone 7");
    /*  A later error is a consequence: ignored. */
    attempt_fail (&a, "XX001", false, "second");
    assert_string_equal (a.err.sqlstate, "08006");
    assert_true (a.err.retryable);
    assert_string_equal (a.err.message, "source: gone 7");
    attempt_release (&a);

    /*  No SQLSTATE: empty; an over-long message is cut, not overrun. */
    attempt_init (&a, &job, NULL, &spec, &s_stop, "t", false);
    char *big = malloc (4000);
    memset (big, 'm', 3999);
    big[3999] = 0;
    attempt_fail (&a, NULL, false, "%s", big);
    assert_string_equal (a.err.sqlstate, "");
    assert_false (a.err.retryable);
    assert_int_equal (strlen (a.err.message), sizeof a.err.message - 1);
    free (big);
    attempt_release (&a);
}

static void
test_fail_aborts_queues (void **state)
{
    (void) state;
    copyjob_t job;
    memset (&job, 0, sizeof job);
    chunk_spec_t spec = { .chunk_id = 1 };
    attempt_t a;
    attempt_init (&a, &job, NULL, &spec, &s_stop, "t", false);
    a.raw = queue_new (4, 1, batch_free);
    a.processed = queue_new (4, 2, batch_free);
    assert_int_equal (attempt_push_raw (&a, batch_new (8)), 0);
    assert_int_equal (queue_size (a.raw), 1);
    attempt_fail (&a, "57014", false, "interrupted");
    assert_true (queue_is_aborted (a.raw));
    assert_true (queue_is_aborted (a.processed));
    /*  Every stage unwinds: pushes fail, pops end. */
    batch_t *b = batch_new (8);
    assert_int_not_equal (attempt_push_raw (&a, b), 0);
    batch_free (b);
    assert_null (queue_pop (a.processed));
    assert_true (a.read_blocked_ms >= 0);
    queue_destroy (&a.raw);
    queue_destroy (&a.processed);
    attempt_release (&a);
}

/*  The reader's last batch: pushed when it holds something and nothing
    failed; freed otherwise (ASan reports a leak if it is neither). */
static void
test_push_last (void **state)
{
    (void) state;
    copyjob_t job;
    memset (&job, 0, sizeof job);
    chunk_spec_t spec = { .chunk_id = 1 };
    attempt_t a;
    attempt_init (&a, &job, NULL, &spec, &s_stop, "t", false);
    a.raw = queue_new (4, 1, batch_free);
    batch_t *b = batch_new (8);
    b->len = 3;
    attempt_push_last (&a, &b);
    assert_null (b);
    assert_int_equal (queue_size (a.raw), 1);
    b = batch_new (8);                  /* empty: freed, not pushed */
    attempt_push_last (&a, &b);
    assert_null (b);
    assert_int_equal (queue_size (a.raw), 1);
    attempt_push_last (&a, &b);         /* NULL: nothing */
    attempt_fail (&a, "57014", false, "interrupted");
    b = batch_new (8);                  /* failed: freed, not pushed */
    b->len = 3;
    attempt_push_last (&a, &b);
    assert_null (b);
    queue_destroy (&a.raw);
    attempt_release (&a);
}

static void
test_already_committed (void **state)
{
    (void) state;
    copyjob_t job;
    memset (&job, 0, sizeof job);
    chunk_spec_t spec = { .chunk_id = 1 };
    attempt_t a;
    attempt_init (&a, &job, NULL, &spec, &s_stop, "t", false);
    attempt_set_already_committed (&a);
    assert_true (a.already_committed);
    assert_int_equal (a.failed, 0);     /* the caller fails it, with its reason */
    attempt_release (&a);
}

static void
test_stage_choose (void **state)
{
    (void) state;
    copyjob_t job;
    memset (&job, 0, sizeof job);
    job.kind = SOURCE_KIND_POSTGRES;
    const stage_set_t *pg = stage_choose (&job);
    assert_ptr_equal (pg->reader, &reader_pg);
    assert_ptr_equal (pg->processor, &processor_pg);
    assert_ptr_equal (pg->writer, &writer_pg);
    job.kind = SOURCE_KIND_CSV;
    const stage_set_t *file = stage_choose (&job);
    assert_ptr_equal (file->reader, &reader_file);
    assert_ptr_equal (file->processor, &processor_file);
    assert_ptr_equal (file->writer, &writer_file);
    /*  What pipeline.c calls unconditionally is there in every set. */
    const stage_set_t *sets[2] = { pg, file };
    for (int i = 0; i < 2; i++) {
        assert_non_null (sets[i]->reader->thread);
        assert_non_null (sets[i]->processor->thread);
        assert_non_null (sets[i]->writer->thread);
        assert_non_null (sets[i]->writer->end);
        assert_non_null (sets[i]->writer->abort);
        assert_non_null (sets[i]->writer->connect);
    }
    /*  Only a PostgreSQL source has a source connection to make. */
    assert_non_null (pg->reader->connect);
    assert_null (file->reader->connect);
}

static void
test_slow_process_hook (void **state)
{
    (void) state;
    unsetenv ("FERRY_TEST_SLOW_PROCESS_MS");
    assert_int_equal (stage_test_slow_process_ms (), 0);
    setenv ("FERRY_TEST_SLOW_PROCESS_MS", "25", 1);
    assert_int_equal (stage_test_slow_process_ms (), 25);
    setenv ("FERRY_TEST_SLOW_PROCESS_MS", "soon", 1);
    assert_int_equal (stage_test_slow_process_ms (), 0);
    setenv ("FERRY_TEST_SLOW_PROCESS_MS", "600000", 1);    /* over 60 s: invalid */
    assert_int_equal (stage_test_slow_process_ms (), 0);
    unsetenv ("FERRY_TEST_SLOW_PROCESS_MS");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_init_single),
        cmocka_unit_test (test_init_group),
        cmocka_unit_test (test_member_range),
        cmocka_unit_test (test_first_error_wins),
        cmocka_unit_test (test_fail_aborts_queues),
        cmocka_unit_test (test_push_last),
        cmocka_unit_test (test_already_committed),
        cmocka_unit_test (test_stage_choose),
        cmocka_unit_test (test_slow_process_hook),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
