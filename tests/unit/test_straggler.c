/*  tests/unit/test_straggler.c: coordinator/straggler, backup attempts at
    the tail: the median rate needs STRAGGLER_MIN_DONE chunks; an attempt
    is backed up only once it has run max(5 s, 2 x a fresh attempt) and
    still needs more than 2 x a fresh attempt at its own pace; a silent
    one (no rows yet) counts as never ending; of several, the one that
    would end last; and after a commit, the attempt that lost the race
    is the one to cancel. Also chunktab_backup's bookkeeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chunktab.h"
#include "straggler.h"

static void
test_rate (void **state)
{
    (void) state;
    int64_t rows[] = { 1000, 1000, 1000, 0, 1000 };
    int64_t ms[] = { 100, 200, 400, 50, 0 };
    /*  10, 5 and 2.5 rows/ms count (no rows, no time: left out). */
    assert_true (straggler_rate (rows, ms, 5) == 5.0);
    assert_true (straggler_rate (rows, ms, 2) == 0.0);           /* fewer than 3 */
    int64_t r4[] = { 100, 100, 100, 100 }, m4[] = { 10, 20, 40, 50 };
    assert_true (straggler_rate (r4, m4, 4) == (5.0 + 2.5) / 2.0);
}

static void
test_pick (void **state)
{
    (void) state;
    /*  10 rows/ms: a fresh attempt of 10,000 rows takes 1 s; of 100,000
        rows 10 s. */
    straggler_chunk_t c[] = {
        { .elapsed_ms = 4000, .rows = 0, .est_rows = 10000, .eligible = true },   /* under 5 s */
        { .elapsed_ms = 6000, .rows = 9000, .est_rows = 10000, .eligible = true }, /* ends soon */
        { .elapsed_ms = 6000, .rows = 1000, .est_rows = 10000, .eligible = true }, /* 54 s left */
        { .elapsed_ms = 9000, .rows = 0, .est_rows = 100000, .eligible = true },  /* under 2 x 10 s */
    };
    int64_t left = 0;
    assert_int_equal (straggler_pick (c, 4, 10.0, &left), 2);
    assert_int_equal (left, 54000);
    assert_int_equal (straggler_pick (c, 4, 0.0, &left), -1);      /* no rate yet */
    /*  Silent for 6 s: never ending, picked before one with 54 s left. */
    c[0].elapsed_ms = 6000;
    assert_int_equal (straggler_pick (c, 4, 10.0, &left), 0);
    assert_int_equal (left, INT64_MAX);
    /*  Not eligible (grouped, or backed up already): skipped. */
    c[0].eligible = false;
    c[2].eligible = false;
    assert_int_equal (straggler_pick (c, 4, 10.0, NULL), -1);
    /*  The big one after 2 x its fresh time, still silent. */
    c[3].elapsed_ms = 20001;
    assert_int_equal (straggler_pick (c, 4, 10.0, NULL), 3);
    /*  Exactly 2 x fresh left is not enough. */
    straggler_chunk_t edge = { .elapsed_ms = 10000, .rows = 5000, .est_rows = 6000,
                               .eligible = true };   /* 2 s left, fresh 0.6 s: 1.2 s */
    assert_int_equal (straggler_pick (&edge, 1, 10.0, NULL), 0);
    edge.rows = 5500;                                  /* 0.9 s left */
    assert_int_equal (straggler_pick (&edge, 1, 10.0, NULL), -1);
}

static void
test_loser (void **state)
{
    (void) state;
    int w = -9;
    int32_t a = -9;
    /*  The backup (3) committed: the prior (2 on worker 0) loses. */
    assert_true (straggler_loser (3, 0, 2, 1, 3, &w, &a));
    assert_int_equal (w, 0);
    assert_int_equal (a, 2);
    /*  The prior committed: the backup (3 on worker 1) loses. */
    assert_true (straggler_loser (2, 0, 2, 1, 3, &w, &a));
    assert_int_equal (w, 1);
    assert_int_equal (a, 3);
    /*  The prior already ended, the backup committed: nothing to cancel. */
    assert_false (straggler_loser (3, -1, 0, 1, 3, &w, &a));
    /*  The prior committed after the backup failed (no current attempt). */
    assert_false (straggler_loser (2, 0, 2, -1, 3, &w, &a));
}

static void
test_chunktab_backup (void **state)
{
    (void) state;
    retry_policy_t policy = { .max_retries = 3, .initial_delay = 1, .backoff = 2, .max_delay = 30 };
    chunktab_t *t = chunktab_new (&policy, 1);
    chunk_t *c = chunktab_add (t, "1", "2", 100);
    assert_int_equal (chunktab_backup (t, c, 1, 0), 0);            /* not assigned */
    chunktab_assign (t, c, 0, 1000);
    assert_int_equal (chunktab_backup (t, c, 0, 2000), 0);         /* the same worker */
    assert_int_equal (chunktab_backup (t, c, 1, 7000), 2);
    assert_int_equal (c->tries, 1);                                /* not a retry */
    assert_int_equal (c->prior_worker, 0);
    assert_int_equal (c->prior_attempt, 1);
    assert_int_equal (c->worker, 1);
    assert_int_equal (chunktab_backup (t, c, 2, 8000), 0);         /* once */
    /*  A FAILED of the prior ends it and changes nothing else. */
    assert_int_equal (chunktab_fail (t, c->id, 1, true, "x", 8000), 0);
    assert_true (chunktab_prior_ended (t, c, 1));
    assert_int_equal (c->prior_worker, -1);
    assert_false (chunktab_prior_ended (t, c, 1));
    assert_int_equal (c->state, CHUNK_STATE_ASSIGNED);
    /*  The backup commits: it won. */
    assert_int_equal (chunktab_done (t, c->id, 2, 1, 9000, 100, 10, 0), 1);
    int64_t started = 0, won = 0;
    chunktab_backups (t, &started, &won);
    assert_int_equal (started, 1);
    assert_int_equal (won, 1);
    assert_int_equal (chunktab_retried (t), 0);
    /*  Another chunk: the prior commits first (its busy time is its own). */
    chunk_t *d = chunktab_add (t, "2", "3", 100);
    chunktab_assign (t, d, 0, 1000);
    assert_int_equal (chunktab_backup (t, d, 1, 7000), 2);
    assert_int_equal (chunktab_done (t, d->id, 1, 0, 9000, 100, 10, 0), 1);
    assert_int_equal (d->busy_ms, 8000);
    chunktab_backups (t, &started, &won);
    assert_int_equal (started, 2);
    assert_int_equal (won, 1);
    /*  A group is backed up whole, by its lead, while no member has
        reported; each side's slot closes with its own last report. */
    chunk_t *e = chunktab_add (t, "3", "4", 100);
    chunk_t *e2 = chunktab_add (t, "4", "5", 100);
    chunktab_assign_group (t, e, 2, 0, 1000);
    assert_int_equal (chunktab_backup (t, e2, 1, 9000), 0);        /* not the lead */
    assert_int_equal (chunktab_backup (t, e, 1, 9000), 2);
    assert_int_equal (e2->attempt, 2);
    assert_int_equal (e2->worker, 1);
    assert_int_equal (e2->prior_attempt, 1);
    assert_false (chunktab_report_closes (t, e, 1));               /* prior, 1 of 2 */
    assert_true (chunktab_report_closes (t, e2, 1));               /* prior, 2 of 2 */
    assert_false (chunktab_report_closes (t, e, 2));               /* backup, 1 of 2 */
    assert_true (chunktab_report_closes (t, e2, 2));               /* backup, 2 of 2 */
    chunktab_backups (t, &started, &won);
    assert_int_equal (started, 3);                                 /* the group once */
    /*  A group with a member that reported already is left alone. */
    chunk_t *g = chunktab_add (t, "10", "11", 100);
    chunktab_add (t, "11", "12", 100);
    chunktab_assign_group (t, g, 2, 0, 1000);
    assert_false (chunktab_report_closes (t, g, 1));
    assert_int_equal (chunktab_backup (t, g, 1, 9000), 0);
    /*  The prior's worker is lost: the prior no longer runs. */
    chunk_t *f = chunktab_add (t, "5", "6", 100);
    chunktab_assign (t, f, 0, 1000);
    assert_int_equal (chunktab_backup (t, f, 1, 7000), 2);
    chunktab_worker_lost (t, 0, 8000, NULL);
    assert_int_equal (f->prior_worker, -1);
    assert_int_equal (f->state, CHUNK_STATE_ASSIGNED);             /* the backup goes on */
    chunktab_destroy (&t);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_rate),
        cmocka_unit_test (test_pick),
        cmocka_unit_test (test_loser),
        cmocka_unit_test (test_chunktab_backup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
