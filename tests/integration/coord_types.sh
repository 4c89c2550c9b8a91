#!/usr/bin/env bash
# tests/integration/coord_types.sh: every common PostgreSQL type (the table
# of tests/lib/types.sh that worker_types.sh copies too: special values,
# unicode, COPY-special characters, zero bytes, arrays with NULLs, NULL in
# every nullable column) through
# ferry-coordinator run with 2 local workers and 6 chunks, merged into a
# final table with a primary key: final == source. Case 1: same types on
# both sides (binary COPY). Case 2: the final table re-types some columns
# (text COPY, the target casts). In both cases ferry-coordinator verify
# says the same rows (and finds one bytea changed afterwards). Any
# sanitizer report fails the test.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord_setup

# shellcheck source=../lib/types.sh
source "$(dirname "$0")/../lib/types.sh"
types_source_table 1200

# The data must really hold what this test is about, spread over chunks.
assert_eq 1200 "$(pg_psql src -Atc 'SELECT count(*) FROM t')" "source rows"
assert_eq t "$(pg_psql src -Atc "SELECT bool_and(x) FROM (VALUES
    ((SELECT count(*) FROM t WHERE i IS NULL AND tx IS NULL AND jb IS NULL AND ia IS NULL AND ip IS NULL) > 50),
    (EXISTS (SELECT FROM t WHERE n = 'NaN')),
    (EXISTS (SELECT FROM t WHERE r = '-Infinity')),
    (EXISTS (SELECT FROM t WHERE tstz = 'infinity')),
    (EXISTS (SELECT FROM t WHERE dt = '-infinity')),
    (EXISTS (SELECT FROM t WHERE position('\\x00'::bytea IN bin) > 0)),
    (EXISTS (SELECT FROM t WHERE tx LIKE '%😀%')),
    (EXISTS (SELECT FROM t WHERE tx = '')),
    (EXISTS (SELECT FROM t WHERE ia = '{}')),
    (EXISTS (SELECT FROM t WHERE array_position(ta, NULL) IS NOT NULL)),
    ((SELECT count(DISTINCT n) FROM t WHERE id > 1000) > 10)
  ) AS v(x)")" "the source holds every special value"

# run_job TAG TABLE: runs the coordinator (2 local workers, chunks of 200
# rows) loading t into TABLE; checks exit 0, no sanitizer report, the
# ledger and the report.
run_job() {
    local tag="$1" table="$2" job="$HARNESS_TMP/$1.yaml"
    coord_job "$job" "public.$table" "SELECT * FROM t ORDER BY id" id \
        "chunk_size: 200, min_rows_for_parallel: 500"
    run_expect 0 "$tag" "$coord" run "$job" --local-workers 2 --report "$HARNESS_TMP/$tag.json" --run-id "$tag"
    no_sanitizer_reports "$tag"
    assert_eq "6|1200" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows) FROM ferry.chunk_commits
        WHERE run_id = '$tag'")" "$tag: ledger (chunks, rows)"
    assert_eq "published 1200 1200 6" "$("$py" -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(r["status"], r["rows_source"], r["rows_loaded"], r["chunks_total"])' "$HARNESS_TMP/$tag.json")" \
        "$tag: report (status, rows_source, rows_loaded, chunks_total)"
}

# Case 1: identical types, binary COPY end to end.
pg_psql tgt -c "CREATE TABLE t ($columns)"
run_job types_same t
assert_contains "$(cat "$HARNESS_TMP/types_same.err")" "binary COPY" "case 1: binary COPY"
assert_same_rows src "SELECT * FROM t" tgt "SELECT * FROM t" "case 1: final == source"
assert_eq 1200 "$(pg_psql tgt -Atc 'SELECT count(*) FROM t')" "case 1: final rows"
# verify agrees, over every type, and finds one changed bytea.
run_expect 0 verify_same "$coord" verify "$HARNESS_TMP/types_same.yaml"
assert_contains "$(cat "$HARNESS_TMP/verify_same.out")" "verify: the same rows: source 1200 rows, target 1200" \
    "case 1: verify"
pg_psql tgt -c "UPDATE t SET bin = bin || '\\x00'::bytea WHERE id = 77"
run_expect 1 verify_bin "$coord" verify "$HARNESS_TMP/types_same.yaml"
assert_contains "$(cat "$HARNESS_TMP/verify_bin.out")" "different values (1): id 77" "case 1: verify finds the changed bytea"

# Case 2: the final table widens or re-types some columns; the server
# converts from text. Compare with the source values cast the same way.
pg_psql tgt -c "CREATE TABLE t2 (
  id bigint PRIMARY KEY, i bigint, s int, tx text, vc text,
  n numeric, r double precision, d double precision, tstz timestamptz, ts timestamp,
  dt date, tm time, iv interval, b bool, c3 text, u uuid, jb jsonb,
  js jsonb, bin bytea, ia bigint[], ta varchar[], ip inet)"
run_job types_cast t2
assert_contains "$(cat "$HARNESS_TMP/types_cast.err")" "text COPY" "case 2: text COPY"
# char(3) COPY output keeps its padding, which is what a text column gets;
# real -> double goes through the text form, hence r::text::float8.
assert_same_rows src "SELECT id, i, s, tx, vc, n, r::text::float8, d, tstz, ts, dt, tm, iv, b, c3,
        u, jb, js::jsonb, bin, ia, ta, ip FROM t" \
    tgt "SELECT * FROM t2" "case 2: final (re-typed) == source"
assert_eq 1200 "$(pg_psql tgt -Atc 'SELECT count(*) FROM t2')" "case 2: final rows"
# verify converts the re-typed columns as the load did (real -> double
# precision through its text, char(3) keeping its padding into text).
run_expect 0 verify_cast "$coord" verify "$HARNESS_TMP/types_cast.yaml"
assert_contains "$(cat "$HARNESS_TMP/verify_cast.out")" "verify: the same rows: source 1200 rows, target 1200" \
    "case 2: verify"
no_sanitizer_reports verify_same verify_bin verify_cast

echo "coord_types: OK"
