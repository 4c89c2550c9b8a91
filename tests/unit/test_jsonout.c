/*  tests/unit/test_jsonout.c: common/jsonout builds JSON members the way
    ferry prints them (strings UTF-8 sanitized, NULL as null, numbers with
    the precision asked for), and tune --json (coordinator/tune_report.c),
    built with it, parses and carries its keys: a sequential, a fixed and a
    failed configuration, the recommendation, and strings that need
    escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "tune_report.h"

static void
test_members (void **state)
{
    (void) state;
    json_object *o = json_object_new_object ();
    jsonout_str (o, "s", "caf\xe9 \"q\"");
    jsonout_str (o, "none", NULL);
    jsonout_num (o, "n", 1.5, 2);
    jsonout_num_g (o, "g", 25.0);
    jsonout_int (o, "i", -7);
    json_object_object_add (o, "p", jsonout_parsed (strdup ("{\"a\": [1, 2]}")));
    json_object_object_add (o, "bad", jsonout_parsed (strdup ("{not json")));
    char *text = jsonout_finish (o, 1);
    assert_string_equal (text, "{ \"s\": \"caf\xEF\xBF\xBD \\\"q\\\"\", \"none\": null, "
                         "\"n\": 1.50, \"g\": 25, \"i\": -7, \"p\": { \"a\": [ 1, 2 ] }, "
                         "\"bad\": null }\n");
    free (text);
}

static json_object *
s_get (json_object *o, const char *key)
{
    json_object *v = NULL;
    assert_true (json_object_object_get_ex (o, key, &v));
    return v;
}

static void
test_tune_json (void **state)
{
    (void) state;
    tune_config_t c[3];
    memset (c, 0, sizeof c);
    c[0].kind = TUNE_SEQUENTIAL;
    strcpy (c[0].label, "sequential");
    c[0].n = 1;
    c[0].walls[0] = 2.0;
    c[0].wall = 2.0;
    c[0].rows = 1000;
    c[1].kind = TUNE_FIXED;
    c[1].chunk_size = 500;
    c[1].workers = 2;
    c[1].slots = 2;
    strcpy (c[1].label, "500 x 2w x 2s");
    c[1].n = 2;
    c[1].walls[0] = 1.0;
    c[1].walls[1] = 1.25;
    c[1].wall = 1.125;
    c[1].rows = 1000;
    c[1].speedup = 1.78;
    c[1].efficiency = 0.44;
    c[1].best = true;
    c[2].kind = TUNE_AUTO;
    strcpy (c[2].label, "auto");
    c[2].failures = 1;
    tune_recommendation_t rec = { .chunk_size = 500, .writers = 2, .workers = 2,
                                  .concurrency = 0, .min_rows_for_parallel = 1000,
                                  .crossover_rows = -1, .bound = "target",
                                  .source_share = 0.1, .target_share = 0.8,
                                  .ferry_share = 0.1, .noise = 0.05 };
    tune_result_t r = { .job_path = "jobs/a \"b\".yaml", .job_hash = "abc", .table = "public.t",
                        .key = "id", .bound = NULL, .sample_rows = 1000, .repeat = 2,
                        .configs = c, .n = 3, .rec = &rec, .write_path = NULL };
    char *text = tune_report_json (&r);
    json_object *d = json_tokener_parse (text);
    assert_non_null (d);
    assert_string_equal (json_object_get_string (s_get (d, "job")), "jobs/a \"b\".yaml");
    assert_null (s_get (d, "written"));
    assert_null (s_get (s_get (d, "sample"), "below"));
    assert_int_equal (json_object_get_int64 (s_get (s_get (d, "sample"), "rows")), 1000);
    json_object *cs = s_get (d, "configurations");
    assert_int_equal (json_object_array_length (cs), 3);
    json_object *fixed = json_object_array_get_idx (cs, 1);
    assert_string_equal (json_object_get_string (s_get (fixed, "kind")), "fixed");
    assert_true (json_object_get_boolean (s_get (fixed, "best")));
    assert_int_equal (json_object_array_length (s_get (fixed, "walls")), 2);
    assert_true (json_object_get_double (s_get (fixed, "speedup")) > 1.7);
    assert_null (s_get (json_object_array_get_idx (cs, 0), "speedup"));
    json_object *failed = json_object_array_get_idx (cs, 2);
    assert_int_equal (json_object_get_int (s_get (failed, "failures")), 1);
    assert_false (json_object_object_get_ex (failed, "wall_seconds", NULL));
    json_object *ro = s_get (d, "recommendation");
    assert_string_equal (json_object_get_string (s_get (s_get (ro, "pipeline"), "concurrency")),
                         "auto");
    assert_null (s_get (ro, "crossover_rows"));
    assert_string_equal (json_object_get_string (s_get (ro, "bound")), "target");
    assert_non_null (strstr (text, "\"walls\": [ 1.000, 1.250 ]"));
    assert_int_equal (text[strlen (text) - 1], '\n');
    json_object_put (d);
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_members),
        cmocka_unit_test (test_tune_json),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
