/*  worker/stage.c: the choice of stages per kind of source; see stage.h. */
#include "stage.h"
#include "util.h"

#include <stdlib.h>

static const stage_set_t s_postgres = { &reader_pg, &processor_pg, &writer_pg };
static const stage_set_t s_file = { &reader_file, &processor_file, &writer_file };

const stage_set_t *
stage_choose (const copyjob_t *job)
{
    switch (job->kind) {
    case SOURCE_KIND_CSV:
        return &s_file;
    case SOURCE_KIND_POSTGRES:
    default:
        return &s_postgres;
    }
}

int64_t
stage_test_slow_process_ms (void)
{
    const char *v = getenv ("FERRY_TEST_SLOW_PROCESS_MS");
    int64_t ms = 0;
    if (!v || !*v || util_parse_int64 (v, 0, 60000, &ms) != 0)
        return 0;
    return ms;
}
