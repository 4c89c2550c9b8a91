/*  tests/unit/test_donecheck.c: coordinator/donecheck: a DONE counts only
    when the chunk's ledger row holds exactly what it claims (attempt,
    worker, rows, bytes, checksum, rejected); each difference is refused
    and named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "donecheck.h"

static donecheck_row_t
s_row (void)
{
    donecheck_row_t row;
    memset (&row, 0, sizeof row);
    row.found = true;
    row.attempt = 2;
    snprintf (row.worker, sizeof row.worker, "w1");
    row.rows = 1000;
    row.bytes = 65536;
    row.rejected = 0;
    snprintf (row.checksum, sizeof row.checksum, "00000000deadbeef");
    return row;
}

static donecheck_claim_t
s_claim (void)
{
    donecheck_claim_t c = { .chunk_id = 7, .attempt = 2, .worker = "w1", .rows = 1000,
                            .bytes = 65536, .rejected = 0, .checksum = 0xdeadbeefull };
    return c;
}

static void
s_refused (donecheck_claim_t claim, donecheck_row_t row, const char *want)
{
    char why[512] = "";
    assert_int_equal (donecheck_compare (&claim, &row, why, sizeof why), -1);
    if (!strstr (why, want))
        fail_msg ("expected '%s' in '%s'", want, why);
}

static void
test_match (void **state)
{
    (void) state;
    donecheck_claim_t c = s_claim ();
    donecheck_row_t r = s_row ();
    char why[512] = "";
    assert_int_equal (donecheck_compare (&c, &r, why, sizeof why), 0);
    assert_string_equal (why, "");
}

static void
test_mismatch (void **state)
{
    (void) state;
    donecheck_claim_t c;
    donecheck_row_t r = s_row ();
    r.found = false;
    s_refused (s_claim (), r, "the ledger has no committed row for it");

    c = s_claim ();
    c.rows = 50000;
    s_refused (c, s_row (), "50000 rows claimed, 1000 committed");

    c = s_claim ();
    c.checksum = 0x1234;
    s_refused (c, s_row (), "checksum 0000000000001234 claimed, 00000000deadbeef committed");

    c = s_claim ();
    c.bytes = 1;
    s_refused (c, s_row (), "1 bytes claimed, 65536 committed");

    c = s_claim ();
    c.attempt = 3;
    s_refused (c, s_row (), "attempt 3 claimed, attempt 2 committed");

    c = s_claim ();
    c.worker = "forged";
    s_refused (c, s_row (), "claimed by worker forged, committed by worker w1");

    c = s_claim ();
    c.rejected = 4;
    s_refused (c, s_row (), "4 rejected records claimed, 0 committed");

    /*  A ledger row with NULL figures never matches a claim. */
    r = s_row ();
    r.bytes = -1;
    r.checksum[0] = 0;
    s_refused (s_claim (), r, "bytes claimed");
    r = s_row ();
    r.checksum[0] = 0;
    s_refused (s_claim (), r, "none committed");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_match),
        cmocka_unit_test (test_mismatch),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
