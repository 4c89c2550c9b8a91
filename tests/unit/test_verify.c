/*  tests/unit/test_verify.c: coordinator/verify, the checks before
    publish: every chunk has a committed ledger row; reported rows and
    rejects equal the ledger's; chunks counted from the ledger take its
    figures; with an exact source count the ledger's sum must equal it;
    the messages name the chunk and both numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "verify.h"

/*  Three chunks done by worker 0 with 100, 200, 300 rows (rejects 0, 1, 2). */
static chunktab_t *
s_table (void)
{
    retry_policy_t policy = { .max_retries = 3, .initial_delay = 1, .backoff = 2, .max_delay = 30 };
    chunktab_t *t = chunktab_new (&policy, 1);
    for (int i = 0; i < 3; i++) {
        chunk_t *c = chunktab_add (t, NULL, NULL, 100);
        chunktab_assign (t, c, 0, 1000);
        assert_int_equal (chunktab_done (t, i, c->attempt, 0, 2000, 100 * (i + 1), 10, 0), 1);
        c->rejected = i;
    }
    return t;
}

static void
test_all_accounted (void **state)
{
    (void) state;
    chunktab_t *t = s_table ();
    int64_t rows[3] = { 100, 200, 300 }, rej[3] = { 0, 1, 2 }, loaded = -1, rejected = -1;
    ferr_t err = { 0 };
    assert_int_equal (verify_ledger (t, rows, rej, true, 600, &loaded, &rejected, &err), 0);
    assert_int_equal (loaded, 600);
    assert_int_equal (rejected, 3);
    /*  Without an exact count, any sum passes (resume, snapshot none). */
    assert_int_equal (verify_ledger (t, rows, rej, false, 12345, &loaded, &rejected, &err), 0);
    chunktab_destroy (&t);
}

static void
test_missing_ledger_row (void **state)
{
    (void) state;
    chunktab_t *t = s_table ();
    int64_t rows[3] = { 100, -1, 300 }, rej[3] = { 0, 0, 2 }, loaded = -1, rejected = -1;
    ferr_t err;
    assert_int_equal (verify_ledger (t, rows, rej, false, 0, &loaded, &rejected, &err), -1);
    assert_string_equal (err.message, "chunk 1 was reported done but has no committed ledger row");
    assert_int_equal (loaded, -1);            /* untouched on failure */
    chunktab_destroy (&t);
}

static void
test_worker_and_ledger_disagree (void **state)
{
    (void) state;
    chunktab_t *t = s_table ();
    int64_t rows[3] = { 100, 199, 300 }, rej[3] = { 0, 1, 2 }, loaded, rejected;
    ferr_t err;
    assert_int_equal (verify_ledger (t, rows, rej, false, 0, &loaded, &rejected, &err), -1);
    assert_string_equal (err.message, "chunk 1: worker reported 200 rows, ledger holds 199");
    int64_t rows2[3] = { 100, 200, 300 }, rej2[3] = { 0, 1, 5 };
    assert_int_equal (verify_ledger (t, rows2, rej2, false, 0, &loaded, &rejected, &err), -1);
    assert_string_equal (err.message, "chunk 2: worker reported 2 rejects, ledger holds 5");
    chunktab_destroy (&t);
}

static void
test_counted_from_ledger (void **state)
{
    (void) state;
    chunktab_t *t = s_table ();
    chunk_t *c = chunktab_get (t, 1);
    c->rows_from_ledger = true;               /* its DONE never arrived */
    c->rows = 0;
    int64_t rows[3] = { 100, 250, 300 }, rej[3] = { 0, 4, 2 }, loaded, rejected;
    ferr_t err;
    assert_int_equal (verify_ledger (t, rows, rej, false, 0, &loaded, &rejected, &err), 0);
    assert_int_equal (c->rows, 250);
    assert_int_equal (c->rejected, 4);
    assert_int_equal (loaded, 650);
    assert_int_equal (rejected, 6);
    chunktab_destroy (&t);
}

static void
test_snapshot_count_differs (void **state)
{
    (void) state;
    chunktab_t *t = s_table ();
    int64_t rows[3] = { 100, 200, 300 }, rej[3] = { 0, 1, 2 }, loaded, rejected;
    ferr_t err;
    assert_int_equal (verify_ledger (t, rows, rej, true, 601, &loaded, &rejected, &err), -1);
    assert_string_equal (err.message, "the source snapshot holds 601 rows but 600 were loaded");
    chunktab_destroy (&t);
}

/*  After the commits were made durable: a done chunk missing from the
    ledger is planned again only when the target restarted after its DONE
    (a crash undid a commit not yet on disk); without a restart, or done
    after it, it is left for verify_ledger to refuse. */
static void
test_lost_commits (void **state)
{
    (void) state;
    chunktab_t *t = s_table ();               /* done at 2000 */
    int64_t rows[3] = { 100, -1, -1 }, lost[2] = { -1, -1 };
    /*  No restart seen: nothing is explained. */
    assert_int_equal (verify_lost_commits (t, rows, 0, 5000, lost, 2), 0);
    /*  A restart at 1500, before the DONEs: not what lost them. */
    assert_int_equal (verify_lost_commits (t, rows, 1500, 5000, lost, 2), 0);
    assert_int_equal (chunktab_get (t, 1)->state, CHUNK_STATE_DONE);
    /*  A restart at 3000: chunks 1 and 2 go back to planned, chunk 0 stays. */
    assert_int_equal (verify_lost_commits (t, rows, 3000, 5000, lost, 2), 2);
    assert_int_equal (lost[0], 1);
    assert_int_equal (lost[1], 2);
    assert_int_equal (chunktab_get (t, 0)->state, CHUNK_STATE_DONE);
    assert_int_equal (chunktab_get (t, 1)->state, CHUNK_STATE_PLANNED);
    assert_int_equal (chunktab_get (t, 2)->state, CHUNK_STATE_PLANNED);
    assert_ptr_equal (chunktab_next_ready (t, 5000), chunktab_get (t, 1));
    /*  More than max: all planned again, the first max named. */
    chunktab_t *u = s_table ();
    int64_t none[3] = { -1, -1, -1 }, one[1] = { -1 };
    assert_int_equal (verify_lost_commits (u, none, 3000, 5000, one, 1), 3);
    assert_int_equal (one[0], 0);
    assert_int_equal (chunktab_count (u, CHUNK_STATE_PLANNED), 3);
    chunktab_destroy (&u);
    chunktab_destroy (&t);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_all_accounted),
        cmocka_unit_test (test_missing_ledger_row),
        cmocka_unit_test (test_worker_and_ledger_disagree),
        cmocka_unit_test (test_counted_from_ledger),
        cmocka_unit_test (test_snapshot_count_differs),
        cmocka_unit_test (test_lost_commits),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
