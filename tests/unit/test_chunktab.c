/*  tests/unit/test_chunktab.c: coordinator/chunktab's state machine with a
    driven clock: assign counts attempts; DONE accepted from any attempt
    until the chunk is done, duplicates ignored; retryable FAILED requeues
    after back-off and next_ready waits for it; permanent FAILED; attempts
    exhausted after max_retries + 1; worker_lost requeues only that
    worker's chunks; unassign (no free slot) burns no attempt; counts,
    all_done and retried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chunktab.h"

/*  1 s first retry, doubling, capped at 8 s: delays in ms are
    [500, 1000], [1000, 2000], [2000, 4000], ... */
static const retry_policy_t s_policy = {
    .max_retries = 3, .initial_delay = 1.0, .backoff = 2.0, .max_delay = 8.0
};

static chunktab_t *
s_table (size_t n, const retry_policy_t *policy)
{
    chunktab_t *tab = chunktab_new (policy, 42);
    assert_non_null (tab);
    for (size_t i = 0; i < n; i++) {
        char lo [16], hi [16];
        snprintf (lo, sizeof lo, "%zu", i * 100);
        snprintf (hi, sizeof hi, "%zu", (i + 1) * 100);
        chunktab_add (tab, i == 0 ? NULL : lo, i + 1 == n ? NULL : hi, 100);
    }
    assert_int_equal (chunktab_size (tab), n);
    return tab;
}

static void
test_add_get (void **state)
{
    chunktab_t *tab = chunktab_new (&s_policy, 1);
    assert_int_equal (chunktab_size (tab), 0);
    assert_null (chunktab_get (tab, 0));
    assert_null (chunktab_next_ready (tab, 0));
    /*  An empty table is trivially all done (nothing to wait for). */
    assert_true (chunktab_all_done (tab));

    char lo [] = "10", hi [] = "20";
    chunk_t *c0 = chunktab_add (tab, NULL, lo, 10);
    assert_int_equal (c0->id, 0);
    chunk_t *c1 = chunktab_add (tab, lo, hi, 11);
    assert_int_equal (c1->id, 1);
    chunk_t *c2 = chunktab_add (tab, hi, NULL, 12);
    assert_int_equal (c2->id, 2);
    /*  Strings are copied. */
    lo[0] = 'X';
    hi[0] = 'Y';
    c1 = chunktab_get (tab, 1);
    assert_string_equal (c1->lo, "10");
    assert_string_equal (c1->hi, "20");
    assert_ptr_not_equal (c1->lo, lo);
    assert_null (chunktab_get (tab, 0)->lo);
    assert_null (chunktab_get (tab, 2)->hi);

    for (int64_t id = 0; id < 3; id++) {
        chunk_t *c = chunktab_get (tab, id);
        assert_non_null (c);
        assert_int_equal (c->id, id);
        assert_int_equal (c->state, CHUNK_STATE_PLANNED);
        assert_int_equal (c->attempt, 0);
        assert_int_equal (c->worker, -1);
        assert_int_equal (c->done_by, -1);
        assert_int_equal (c->est_rows, 10 + id);
        assert_null (c->last_error);
    }
    assert_null (chunktab_get (tab, 3));
    assert_null (chunktab_get (tab, -1));
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_PLANNED), 3);
    assert_false (chunktab_all_done (tab));
    assert_int_equal (chunktab_retried (tab), 0);

    /*  Many chunks: ids stay the order of addition past any growth. */
    for (int i = 0; i < 1000; i++)
        chunktab_add (tab, "a", "b", 1);
    assert_int_equal (chunktab_size (tab), 1003);
    assert_int_equal (chunktab_get (tab, 1002)->id, 1002);
    assert_string_equal (chunktab_get (tab, 1)->lo, "10");

    chunktab_destroy (&tab);
    assert_null (tab);
    chunktab_destroy (&tab);
}

static void
test_assign_and_next_ready (void **state)
{
    chunktab_t *tab = s_table (3, &s_policy);
    int64_t now = 1000;

    chunk_t *c = chunktab_next_ready (tab, now);
    assert_non_null (c);
    assert_int_equal (c->id, 0);
    chunktab_assign (tab, c, 7, now);
    assert_int_equal (c->state, CHUNK_STATE_ASSIGNED);
    assert_int_equal (c->attempt, 1);
    assert_int_equal (c->worker, 7);
    assert_int_equal (c->assigned_ms, now);

    /*  The lowest planned id next. */
    c = chunktab_next_ready (tab, now);
    assert_int_equal (c->id, 1);
    chunktab_assign (tab, c, 8, now + 5);
    c = chunktab_next_ready (tab, now);
    assert_int_equal (c->id, 2);
    chunktab_assign (tab, c, 7, now + 10);
    assert_null (chunktab_next_ready (tab, now + 1000000));

    assert_int_equal (chunktab_count (tab, CHUNK_STATE_ASSIGNED), 3);
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_PLANNED), 0);
    assert_int_equal (chunktab_retried (tab), 0);
    chunktab_destroy (&tab);
}

static void
test_done (void **state)
{
    chunktab_t *tab = s_table (2, &s_policy);
    chunk_t *c = chunktab_next_ready (tab, 100);
    chunktab_assign (tab, c, 3, 100);

    assert_int_equal (chunktab_done (tab, 0, 1, 3, 350, 1234, 56789, 0xfeedu), 1);
    c = chunktab_get (tab, 0);
    assert_int_equal (c->state, CHUNK_STATE_DONE);
    assert_int_equal (c->rows, 1234);
    assert_int_equal (c->bytes, 56789);
    assert_int_equal (c->checksum, 0xfeedu);
    assert_int_equal (c->done_by, 3);
    assert_int_equal (c->busy_ms, 250);
    assert_int_equal (c->worker, -1);

    /*  A duplicate DONE is ignored and changes nothing. */
    assert_int_equal (chunktab_done (tab, 0, 1, 3, 900, 1, 1, 1), 0);
    assert_int_equal (c->rows, 1234);
    assert_int_equal (c->bytes, 56789);
    assert_int_equal (c->busy_ms, 250);
    assert_int_equal (c->state, CHUNK_STATE_DONE);

    /*  Unknown ids. */
    assert_int_equal (chunktab_done (tab, 2, 1, 3, 900, 1, 1, 1), -1);
    assert_int_equal (chunktab_done (tab, -1, 1, 3, 900, 1, 1, 1), -1);

    /*  A FAILED for a done chunk is ignored. */
    assert_int_equal (chunktab_fail (tab, 0, 1, true, "late", 1000), 0);
    assert_int_equal (c->state, CHUNK_STATE_DONE);

    assert_int_equal (chunktab_count (tab, CHUNK_STATE_DONE), 1);
    assert_false (chunktab_all_done (tab));
    c = chunktab_next_ready (tab, 1000);
    assert_int_equal (c->id, 1);
    chunktab_assign (tab, c, 4, 1000);
    assert_false (chunktab_all_done (tab));
    assert_int_equal (chunktab_done (tab, 1, 1, 4, 1001, 0, 0, 0), 1);
    assert_true (chunktab_all_done (tab));
    assert_int_equal (chunktab_retried (tab), 0);
    chunktab_destroy (&tab);
}

/*  The ledger fence lets exactly one attempt commit; a DONE from an older
    attempt is that commit, even when the chunk was reassigned since. */
static void
test_done_from_older_attempt (void **state)
{
    chunktab_t *tab = s_table (2, &s_policy);
    int64_t now = 0;
    chunk_t *c = chunktab_next_ready (tab, now);
    chunktab_assign (tab, c, 1, now);                     /* attempt 1 on worker 1 */
    assert_int_equal (chunktab_fail (tab, 0, 1, true, "connection reset", now), 1);
    now += 10000;                                         /* past any back-off */
    c = chunktab_next_ready (tab, now);
    assert_int_equal (c->id, 0);
    chunktab_assign (tab, c, 2, now);                     /* attempt 2 on worker 2 */
    assert_int_equal (c->attempt, 2);

    assert_int_equal (chunktab_done (tab, 0, 1, 1, now + 40, 500, 5000, 9), 1);
    assert_int_equal (c->state, CHUNK_STATE_DONE);
    assert_int_equal (c->done_by, 1);
    assert_int_equal (c->rows, 500);
    /*  The current attempt's DONE is now the duplicate. */
    assert_int_equal (chunktab_done (tab, 0, 2, 2, now + 50, 500, 5000, 9), 0);
    assert_int_equal (c->done_by, 1);
    /*  And its FAILED is ignored. */
    assert_int_equal (chunktab_fail (tab, 0, 2, true, "ledger row exists", now + 60), 0);
    assert_int_equal (c->state, CHUNK_STATE_DONE);

    /*  After a lost worker too: chunk 1 reassigned, the lost worker's
        DONE arrives late and is accepted. */
    c = chunktab_next_ready (tab, now);
    assert_int_equal (c->id, 1);
    chunktab_assign (tab, c, 5, now);
    assert_int_equal (chunktab_worker_lost (tab, 5, now + 1000, NULL), 1);
    c = chunktab_next_ready (tab, now + 1000);
    assert_int_equal (c->id, 1);
    chunktab_assign (tab, c, 6, now + 1000);
    assert_int_equal (chunktab_done (tab, 1, 1, 5, now + 1100, 77, 770, 1), 1);
    assert_int_equal (c->done_by, 5);
    assert_int_equal (c->worker, -1);
    assert_true (chunktab_all_done (tab));
    assert_int_equal (chunktab_retried (tab), 2);
    chunktab_destroy (&tab);
}

static void
test_retryable_fail_backoff (void **state)
{
    chunktab_t *tab = s_table (2, &s_policy);
    int64_t now = 5000;
    chunk_t *c = chunktab_next_ready (tab, now);
    chunktab_assign (tab, c, 1, now);

    /*  Stale or wrong-attempt FAILED: ignored. */
    assert_int_equal (chunktab_fail (tab, 0, 0, true, "x", now), 0);
    assert_int_equal (chunktab_fail (tab, 0, 2, true, "x", now), 0);
    assert_int_equal (chunktab_fail (tab, 5, 1, true, "x", now), 0);
    /*  FAILED for a chunk that is not assigned: ignored. */
    assert_int_equal (chunktab_fail (tab, 1, 0, true, "x", now), 0);
    assert_int_equal (chunktab_fail (tab, 1, 1, true, "x", now), 0);
    assert_int_equal (chunktab_get (tab, 1)->state, CHUNK_STATE_PLANNED);
    assert_int_equal (c->state, CHUNK_STATE_ASSIGNED);
    assert_null (c->last_error);

    char msg [] = "could not connect to server";
    assert_int_equal (chunktab_fail (tab, 0, 1, true, msg, now), 1);
    msg[0] = 'X';
    assert_int_equal (c->state, CHUNK_STATE_PLANNED);
    assert_int_equal (c->worker, -1);
    assert_int_equal (c->attempt, 1);
    assert_string_equal (c->last_error, "could not connect to server");
    /*  First retry: 1 s x [0.5, 1]. */
    int64_t wait = c->not_before_ms - now;
    assert_true (wait >= 500 && wait <= 1000);

    /*  Not ready before not_before (chunk 1 is, being planned with no
        back-off; take it out of the way first). */
    chunk_t *other = chunktab_next_ready (tab, now);
    assert_int_equal (other->id, 1);
    chunktab_assign (tab, other, 2, now);
    assert_null (chunktab_next_ready (tab, now));
    assert_null (chunktab_next_ready (tab, c->not_before_ms - 1));
    assert_ptr_equal (chunktab_next_ready (tab, c->not_before_ms), c);
    assert_ptr_equal (chunktab_next_ready (tab, c->not_before_ms + 100000), c);

    /*  Second retry waits longer: 2 s x [0.5, 1]. */
    now = c->not_before_ms;
    chunktab_assign (tab, c, 1, now);
    assert_int_equal (c->attempt, 2);
    assert_int_equal (chunktab_fail (tab, 0, 2, true, "again", now), 1);
    wait = c->not_before_ms - now;
    assert_true (wait >= 1000 && wait <= 2000);
    assert_string_equal (c->last_error, "again");
    assert_null (chunktab_next_ready (tab, c->not_before_ms - 1));
    assert_ptr_equal (chunktab_next_ready (tab, c->not_before_ms), c);

    /*  retried counts chunks, not attempts. */
    assert_int_equal (chunktab_retried (tab), 1);
    chunktab_assign (tab, c, 3, c->not_before_ms);
    assert_int_equal (c->attempt, 3);
    assert_int_equal (chunktab_retried (tab), 1);
    chunktab_destroy (&tab);
}

static void
test_permanent_fail (void **state)
{
    chunktab_t *tab = s_table (2, &s_policy);
    chunk_t *c = chunktab_next_ready (tab, 0);
    chunktab_assign (tab, c, 1, 0);
    assert_int_equal (chunktab_fail (tab, 0, 1, false, "invalid input syntax for type integer", 10), 2);
    assert_int_equal (c->state, CHUNK_STATE_FAILED);
    assert_int_equal (c->worker, -1);
    assert_string_equal (c->last_error, "invalid input syntax for type integer");
    /*  Never handed out again. */
    c = chunktab_next_ready (tab, 1000000);
    assert_int_equal (c->id, 1);
    chunktab_assign (tab, c, 1, 0);
    assert_null (chunktab_next_ready (tab, 1000000));
    /*  Further FAILED for it: ignored. */
    assert_int_equal (chunktab_fail (tab, 0, 1, true, "x", 20), 0);
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_FAILED), 1);
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_ASSIGNED), 1);
    assert_false (chunktab_all_done (tab));
    chunktab_destroy (&tab);
}

static void
test_attempts_exhausted (void **state)
{
    /*  max_retries 2: at most 3 assignments. */
    retry_policy_t policy = { .max_retries = 2, .initial_delay = 0.1, .backoff = 2.0, .max_delay = 1.0 };
    chunktab_t *tab = s_table (1, &policy);
    int64_t now = 0;
    for (int attempt = 1; attempt <= 3; attempt++) {
        chunk_t *c = chunktab_next_ready (tab, now);
        assert_non_null (c);
        chunktab_assign (tab, c, attempt, now);
        assert_int_equal (c->attempt, attempt);
        int rc = chunktab_fail (tab, 0, attempt, true, "timeout", now);
        if (attempt < 3) {
            assert_int_equal (rc, 1);
            assert_int_equal (c->state, CHUNK_STATE_PLANNED);
            now = c->not_before_ms;
        }
        else {
            assert_int_equal (rc, 2);
            assert_int_equal (c->state, CHUNK_STATE_FAILED);
            assert_string_equal (c->last_error, "timeout");
        }
    }
    assert_null (chunktab_next_ready (tab, now + 1000000));
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_FAILED), 1);
    assert_int_equal (chunktab_retried (tab), 1);

    /*  max_retries 0: the first retryable failure is final. */
    policy.max_retries = 0;
    chunktab_t *tab0 = s_table (1, &policy);
    chunk_t *c = chunktab_next_ready (tab0, 0);
    chunktab_assign (tab0, c, 1, 0);
    assert_int_equal (chunktab_fail (tab0, 0, 1, true, "timeout", 0), 2);
    assert_int_equal (c->state, CHUNK_STATE_FAILED);
    chunktab_destroy (&tab0);

    /*  Exhausted through lost workers: the last attempt's loss fails it. */
    policy.max_retries = 1;
    chunktab_t *tab1 = s_table (2, &policy);
    c = chunktab_next_ready (tab1, 0);
    chunktab_assign (tab1, c, 1, 0);
    chunk_t *failed = (chunk_t *) 1;
    assert_int_equal (chunktab_worker_lost (tab1, 1, 100, &failed), 1);
    assert_null (failed);
    c = chunktab_next_ready (tab1, 100);
    assert_int_equal (c->id, 0);
    chunktab_assign (tab1, c, 2, 100);
    assert_int_equal (c->attempt, 2);
    chunk_t *other = chunktab_next_ready (tab1, 100);
    chunktab_assign (tab1, other, 2, 100);
    /*  Worker 2 holds chunk 0 (last attempt) and chunk 1 (first): chunk 1
        is requeued, chunk 0 fails and is reported. */
    assert_int_equal (chunktab_worker_lost (tab1, 2, 200, &failed), 1);
    assert_ptr_equal (failed, c);
    assert_int_equal (c->state, CHUNK_STATE_FAILED);
    assert_non_null (c->last_error);
    assert_int_equal (other->state, CHUNK_STATE_PLANNED);
    assert_int_equal (chunktab_count (tab1, CHUNK_STATE_FAILED), 1);
    chunktab_destroy (&tab1);
    chunktab_destroy (&tab);
}

static void
test_worker_lost (void **state)
{
    chunktab_t *tab = s_table (6, &s_policy);
    int64_t now = 1000;
    /*  Chunks 0, 2, 4 on worker 10; 1, 3 on worker 20; 5 stays planned. */
    for (int64_t id = 0; id < 5; id++) {
        chunk_t *c = chunktab_next_ready (tab, now);
        assert_int_equal (c->id, id);
        chunktab_assign (tab, c, id % 2 ? 20 : 10, now);
    }
    /*  Chunk 2 finishes before the worker dies. */
    assert_int_equal (chunktab_done (tab, 2, 1, 10, now + 10, 100, 1000, 0), 1);

    chunk_t *failed = (chunk_t *) 1;
    assert_int_equal (chunktab_worker_lost (tab, 10, now + 5000, &failed), 2);
    assert_null (failed);
    int64_t later = now + 5000;
    for (int64_t id = 0; id < 6; id++) {
        chunk_t *c = chunktab_get (tab, id);
        switch (id) {
            case 0: case 4:
                assert_int_equal (c->state, CHUNK_STATE_PLANNED);
                assert_int_equal (c->worker, -1);
                assert_int_equal (c->attempt, 1);
                assert_non_null (c->last_error);
                /*  Requeued at once: no back-off after a lost worker. */
                assert_true (c->not_before_ms <= later);
                break;
            case 2:
                assert_int_equal (c->state, CHUNK_STATE_DONE);
                assert_int_equal (c->done_by, 10);
                assert_null (c->last_error);
                break;
            case 1: case 3:
                assert_int_equal (c->state, CHUNK_STATE_ASSIGNED);
                assert_int_equal (c->worker, 20);
                assert_null (c->last_error);
                break;
            default:
                assert_int_equal (c->state, CHUNK_STATE_PLANNED);
                assert_int_equal (c->attempt, 0);
        }
    }
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_PLANNED), 3);
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_ASSIGNED), 2);
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_DONE), 1);
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_FAILED), 0);
    /*  Ready at once, lowest id first. */
    chunk_t *c = chunktab_next_ready (tab, later);
    assert_int_equal (c->id, 0);

    /*  A worker with nothing assigned, or unknown: nothing happens. */
    assert_int_equal (chunktab_worker_lost (tab, 10, later, NULL), 0);
    assert_int_equal (chunktab_worker_lost (tab, 99, later, NULL), 0);
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_ASSIGNED), 2);

    /*  The requeued chunks run to the end; retried counts them. */
    while ((c = chunktab_next_ready (tab, later)) != NULL)
        chunktab_assign (tab, c, 30, later);
    for (int64_t id = 0; id < 6; id++) {
        c = chunktab_get (tab, id);
        if (c->state == CHUNK_STATE_ASSIGNED)
            assert_int_equal (chunktab_done (tab, id, c->attempt, c->worker, later + 1, 100, 1000, 0), 1);
    }
    assert_true (chunktab_all_done (tab));
    assert_int_equal (chunktab_count (tab, CHUNK_STATE_DONE), 6);
    assert_int_equal (chunktab_retried (tab), 2);
    assert_int_equal (chunktab_get (tab, 0)->attempt, 2);
    assert_int_equal (chunktab_get (tab, 5)->attempt, 1);
    chunktab_destroy (&tab);
}

/*  A worker with no free slot hands the chunk back (FR002): planned again
    after the given delay, and the attempt does not count. */
static void
test_unassign (void **state)
{
    retry_policy_t policy = { .max_retries = 0, .initial_delay = 1.0, .backoff = 2.0, .max_delay = 8.0 };
    chunktab_t *tab = s_table (2, &policy);
    int64_t now = 1000;
    chunk_t *c = chunktab_next_ready (tab, now);
    chunktab_assign (tab, c, 4, now);
    assert_int_equal (c->attempt, 1);

    /*  Not the current attempt, unknown id, a chunk not assigned: no-ops. */
    assert_int_equal (chunktab_unassign (tab, 0, 2, now, 300), 0);
    assert_int_equal (chunktab_unassign (tab, 0, 0, now, 300), 0);
    assert_int_equal (chunktab_unassign (tab, 9, 1, now, 300), 0);
    assert_int_equal (chunktab_unassign (tab, 1, 0, now, 300), 0);
    assert_int_equal (chunktab_get (tab, 1)->state, CHUNK_STATE_PLANNED);
    assert_int_equal (c->state, CHUNK_STATE_ASSIGNED);

    assert_int_equal (chunktab_unassign (tab, 0, 1, now, 300), 1);
    assert_int_equal (c->state, CHUNK_STATE_PLANNED);
    assert_int_equal (c->attempt, 1);      /* spent, never handed out again */
    assert_int_equal (c->tries, 0);
    assert_int_equal (c->worker, -1);
    assert_int_equal (c->not_before_ms, now + 300);
    /*  Twice is a no-op. */
    assert_int_equal (chunktab_unassign (tab, 0, 1, now, 300), 0);

    /*  Chunk 1 is ready now; chunk 0 only after the delay. */
    assert_int_equal (chunktab_next_ready (tab, now)->id, 1);
    chunktab_assign (tab, chunktab_get (tab, 1), 5, now);
    assert_null (chunktab_next_ready (tab, now + 299));
    assert_ptr_equal (chunktab_next_ready (tab, now + 300), c);

    /*  The attempt was not burned: with max_retries 0 the chunk still has
        its one real try, and is not "retried". Its number is new (2):
        attempt numbers are never reused. */
    chunktab_assign (tab, c, 5, now + 300);
    assert_int_equal (c->attempt, 2);
    assert_int_equal (c->tries, 1);
    assert_int_equal (chunktab_retried (tab), 0);
    assert_int_equal (chunktab_fail (tab, 0, 1, true, "stale", now + 400), 0);
    assert_int_equal (chunktab_fail (tab, 0, 2, true, "timeout", now + 400), 2);
    assert_int_equal (c->state, CHUNK_STATE_FAILED);
    /*  A failed or done chunk is not handed back either. */
    assert_int_equal (chunktab_unassign (tab, 0, 1, now + 500, 0), 0);
    assert_int_equal (c->state, CHUNK_STATE_FAILED);
    assert_int_equal (chunktab_done (tab, 1, 1, 5, now + 500, 10, 100, 0), 1);
    assert_int_equal (chunktab_unassign (tab, 1, 1, now + 500, 0), 0);
    assert_int_equal (chunktab_unassign (tab, 0, 2, now + 500, 0), 0);
    assert_int_equal (chunktab_get (tab, 1)->state, CHUNK_STATE_DONE);
    chunktab_destroy (&tab);
}

/*  Issue 10 item 12a: a worker reconnects (same name and pid) while its
    chunk runs; the chunk is released without cost and handed out again,
    perhaps to the same process. The old link's late FAILED carries the
    old attempt number and must not fail (or requeue) the new assignment. */
static void
test_stale_failed_after_reassign (void **state)
{
    retry_policy_t policy = { .max_retries = 0, .initial_delay = 1.0, .backoff = 2.0, .max_delay = 8.0 };
    chunktab_t *tab = s_table (1, &policy);
    int64_t now = 1000;
    chunk_t *c = chunktab_next_ready (tab, now);
    chunktab_assign (tab, c, 0, now);                 /* old link */
    int32_t old = c->attempt;
    assert_int_equal (chunktab_worker_released (tab, 0, now + 10), 1);
    chunktab_assign (tab, chunktab_next_ready (tab, now + 10), 1, now + 10);   /* new link */
    assert_true (c->attempt != old);
    assert_int_equal (c->tries, 1);
    /*  The old link's FAILED (permanent or retryable) and FR002 unassign:
        all ignored, the new assignment stands. */
    assert_int_equal (chunktab_fail (tab, 0, old, false, "late", now + 20), 0);
    assert_int_equal (chunktab_fail (tab, 0, old, true, "late", now + 20), 0);
    assert_int_equal (chunktab_unassign (tab, 0, old, now + 20, 0), 0);
    assert_int_equal (c->state, CHUNK_STATE_ASSIGNED);
    assert_int_equal (c->worker, 1);
    assert_null (c->last_error);
    /*  Many FR002 round trips never bring an old number back either. */
    for (int i = 0; i < 5; i++) {
        int32_t a = c->attempt;
        assert_int_equal (chunktab_unassign (tab, 0, a, now + 30, 0), 1);
        chunktab_assign (tab, c, 1, now + 30);
        assert_int_equal (c->attempt, a + 1);
        assert_int_equal (chunktab_fail (tab, 0, a, false, "late", now + 30), 0);
    }
    assert_int_equal (c->tries, 1);
    assert_int_equal (chunktab_done (tab, 0, c->attempt, 1, now + 40, 5, 50, 0), 1);
    chunktab_destroy (&tab);
}

/*  A chunk whose rows and bytes stop advancing for stall_ms is found,
    requeued at once to another worker with a new attempt, and counts a
    try; PROGRESS of an old attempt neither feeds nor resets the clock. */
static void
test_stall (void **state)
{
    retry_policy_t policy = { .max_retries = 1, .initial_delay = 1.0, .backoff = 2.0, .max_delay = 8.0 };
    chunktab_t *tab = s_table (2, &policy);
    int64_t now = 1000;
    chunk_t *c = chunktab_next_ready (tab, now);
    chunktab_assign (tab, c, 7, now);
    chunktab_assign (tab, chunktab_next_ready (tab, now), 8, now);
    assert_null (chunktab_next_stalled (tab, now + 500, 500));
    assert_null (chunktab_next_stalled (tab, now + 10000, 0));
    /*  Chunk 1 advances, chunk 0 reports the same numbers (still counts
        as silence). */
    assert_int_equal (chunktab_progress (tab, 1, 1, 10, 100, now + 400), 1);
    assert_int_equal (chunktab_progress (tab, 0, 1, 0, 0, now + 400), 1);
    assert_int_equal (chunktab_progress (tab, 0, 9, 99, 99, now + 400), 0);   /* not current */
    assert_ptr_equal (chunktab_next_stalled (tab, now + 501, 500), c);
    assert_int_equal (chunktab_stalled (tab, c, "no progress", now + 501), 1);
    assert_int_equal (c->state, CHUNK_STATE_PLANNED);
    assert_int_equal (c->worker, -1);
    assert_string_equal (c->last_error, "no progress");
    assert_true (c->not_before_ms <= now + 501);              /* at once */
    assert_null (chunktab_next_stalled (tab, now + 800, 500)); /* chunk 1 advanced at 400 */
    assert_int_equal (chunktab_stalled (tab, c, "x", now + 501), 0);  /* not assigned */
    /*  Reassigned: a new attempt; the stalled attempt's PROGRESS is ignored. */
    chunktab_assign (tab, chunktab_next_ready (tab, now + 501), 8, now + 501);
    assert_int_equal (c->attempt, 2);
    assert_int_equal (chunktab_progress (tab, 0, 1, 50, 500, now + 600), 0);
    assert_int_equal (c->progress_rows, 0);
    /*  Stalled again: out of tries (max_retries 1), it fails. */
    assert_int_equal (chunktab_stalled (tab, chunktab_next_stalled (tab, now + 1100, 500),
                                        "no progress", now + 1100), 2);
    assert_int_equal (c->state, CHUNK_STATE_FAILED);
    chunktab_destroy (&tab);
}

/*  A seeded table draws its jitter from its own state: two tables with the
    same seed requeue at the same times. */
static void
test_seeded_backoff_reproducible (void **state)
{
    chunktab_t *a = s_table (1, &s_policy);
    chunktab_t *b = s_table (1, &s_policy);
    chunk_t *ca = chunktab_next_ready (a, 0), *cb = chunktab_next_ready (b, 0);
    for (int attempt = 1; attempt <= 3; attempt++) {
        chunktab_assign (a, ca, 1, ca->not_before_ms);
        chunktab_assign (b, cb, 1, cb->not_before_ms);
        int64_t t = ca->not_before_ms;
        assert_int_equal (chunktab_fail (a, 0, attempt, true, "x", t), 1);
        assert_int_equal (chunktab_fail (b, 0, attempt, true, "x", t), 1);
        assert_int_equal (ca->not_before_ms, cb->not_before_ms);
        assert_true (ca->not_before_ms > t);
    }
    chunktab_destroy (&a);
    chunktab_destroy (&b);
}

/*  Groups: adjacent, ready, never-tried chunks go out together; a
    member's report closes the slot only when it is the group's last; the
    lead's PROGRESS moves the members' stall clocks; a failed member is
    not grouped again. */
static void
test_groups (void **state)
{
    (void) state;
    chunktab_t *tab = s_table (6, &s_policy);
    int64_t now = 1000;
    chunk_t *c0 = chunktab_next_ready (tab, now);
    assert_int_equal (chunktab_ready_run (tab, c0, 4, now), 4);
    assert_int_equal (chunktab_ready_run (tab, c0, 100, now), 6);
    assert_int_equal (chunktab_ready_run (tab, c0, 1, now), 1);
    chunktab_assign_group (tab, c0, 3, 7, now);
    for (int i = 0; i < 3; i++) {
        chunk_t *c = chunktab_get (tab, i);
        assert_int_equal (c->state, CHUNK_STATE_ASSIGNED);
        assert_int_equal (c->attempt, 1);
        assert_int_equal (c->worker, 7);
        assert_int_equal (c->group_lead, 0);
    }
    assert_int_equal (c0->group_size, 3);
    assert_int_equal (chunktab_get (tab, 3)->state, CHUNK_STATE_PLANNED);
    assert_int_equal (chunktab_get (tab, 3)->group_lead, -1);

    /*  The lead's progress is every member's. */
    assert_int_equal (chunktab_progress (tab, 0, 1, 50, 500, now + 900), 1);
    chunktab_group_progress (tab, 0, 1);
    assert_int_equal (chunktab_get (tab, 2)->progress_ms, now + 900);
    chunktab_group_progress (tab, 0, 2);        /* another attempt: ignored */

    /*  Reports: a stale attempt never closes; the third member closes. */
    assert_false (chunktab_report_closes (tab, chunktab_get (tab, 1), 2));
    assert_false (chunktab_report_closes (tab, c0, 1));
    assert_false (chunktab_report_closes (tab, chunktab_get (tab, 2), 1));
    assert_true (chunktab_report_closes (tab, chunktab_get (tab, 1), 1));
    /*  A late duplicate after the group closed: treated as a lone report. */
    assert_true (chunktab_report_closes (tab, chunktab_get (tab, 1), 1));

    /*  Chunk 3 failed once: it goes alone, and stops a run from chunk 2. */
    chunk_t *c3 = chunktab_get (tab, 3);
    chunktab_assign (tab, c3, 7, now);
    assert_int_equal (chunktab_fail (tab, 3, 1, true, "boom", now), 1);
    chunk_t *c4 = chunktab_get (tab, 4);
    assert_int_equal (chunktab_ready_run (tab, c4, 10, now), 2);
    int64_t later = c3->not_before_ms;
    assert_ptr_equal (chunktab_next_ready (tab, later), c3);
    assert_int_equal (chunktab_ready_run (tab, c3, 10, later), 1);
    /*  A lone chunk's report always closes. */
    chunktab_assign (tab, c3, 7, later);
    assert_true (chunktab_report_closes (tab, c3, c3->attempt));
    chunktab_destroy (&tab);
}

/*  A done chunk whose commit a target crash undid: planned again at once,
    its figures cleared, the lost attempt not counted, its attempt number
    still spent; a chunk not done is left alone. */
static void
test_redo (void **state)
{
    (void) state;
    retry_policy_t policy = { .max_retries = 0, .initial_delay = 1.0, .backoff = 2.0, .max_delay = 8.0 };
    chunktab_t *tab = s_table (2, &policy);
    chunk_t *c = chunktab_get (tab, 0);
    chunktab_assign (tab, c, 3, 1000);
    assert_int_equal (chunktab_done (tab, 0, c->attempt, 3, 1500, 700, 9000, 77), 1);
    assert_true (chunktab_all_done (tab) == false);
    /*  Not done (planned), unknown: no-ops. */
    assert_int_equal (chunktab_redo (tab, 1, 2000), 0);
    assert_int_equal (chunktab_redo (tab, 9, 2000), 0);

    assert_int_equal (chunktab_redo (tab, 0, 2000), 1);
    assert_int_equal (c->state, CHUNK_STATE_PLANNED);
    assert_int_equal (c->rows, 0);
    assert_int_equal (c->bytes, 0);
    assert_int_equal (c->done_ms, 0);
    assert_int_equal (c->done_by, -1);
    assert_int_equal (c->tries, 0);           /* max_retries 0: it may still be tried */
    assert_int_equal (c->attempt, 1);
    assert_string_equal (c->last_error,
                         "its commit was lost: the target restarted before it reached disk");
    assert_int_equal (chunktab_redo (tab, 0, 2000), 0);     /* twice: no-op */
    assert_ptr_equal (chunktab_next_ready (tab, 2000), c);
    chunktab_assign (tab, c, 4, 2000);
    assert_int_equal (c->attempt, 2);
    assert_int_equal (chunktab_done (tab, 0, 2, 4, 2600, 700, 9000, 77), 1);
    assert_int_equal (c->done_by, 4);
    chunktab_destroy (&tab);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_add_get),
        cmocka_unit_test (test_assign_and_next_ready),
        cmocka_unit_test (test_done),
        cmocka_unit_test (test_done_from_older_attempt),
        cmocka_unit_test (test_retryable_fail_backoff),
        cmocka_unit_test (test_permanent_fail),
        cmocka_unit_test (test_attempts_exhausted),
        cmocka_unit_test (test_worker_lost),
        cmocka_unit_test (test_unassign),
        cmocka_unit_test (test_redo),
        cmocka_unit_test (test_seeded_backoff_reproducible),
        cmocka_unit_test (test_stale_failed_after_reassign),
        cmocka_unit_test (test_stall),
        cmocka_unit_test (test_groups),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
