#!/usr/bin/env bash
# tests/integration/coord_errors.sh: how ferry-coordinator run fails, and
# the edge cases that must not fail. A source column the target table
# lacks fails before any data moves (exit 1, the column named, no ledger
# rows, no staging rows). An empty source publishes nothing and exits 0
# with rows_loaded 0. publish: direct is refused for a non-empty final
# table (unchanged) and loads an empty one (final == source, no staging).
# NULL keys with a multi-chunk plan are refused. Malformed job files exit 3
# with a message naming the key. Any sanitizer report fails the test.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord_setup

# write_job TAG TABLE QUERY [YAML_LINE...]: $HARNESS_TMP/TAG.yaml, key id,
# chunks of 300 rows from 500 rows on.
write_job() {
    local tag="$1" table="$2" query="$3"
    shift 3
    coord_job "$HARNESS_TMP/$tag.yaml" "public.$table" "$query" id \
        "chunk_size: 300, min_rows_for_parallel: 500" "$@"
}
# output TAG: stdout and stderr of run TAG.
output() {
    cat "$HARNESS_TMP/$1.out" "$HARNESS_TMP/$1.err"
}
# report FIELD TAG: one field of run TAG's JSON report.
report() {
    "$py" -c 'import json, sys; print(json.load(open(sys.argv[2]))[sys.argv[1]])' "$1" "$HARNESS_TMP/$2.json"
}
# ledger_rows: rows in ferry.chunk_commits (0 when it does not exist).
ledger_rows() {
    if [[ -z "$(pg_psql tgt -Atc "SELECT to_regclass('ferry.chunk_commits')")" ]]; then
        echo 0
    else
        pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits"
    fi
}
# staged_rows: rows in every ferry.stage_* table of the target (0 if none).
staged_rows() {
    local t n total=0
    for t in $(pg_psql tgt -Atc "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
            WHERE schemaname = 'ferry' AND tablename LIKE 'stage%'"); do
        n=$(pg_psql tgt -Atc "SELECT count(*) FROM $t")
        total=$((total + n))
    done
    echo "$total"
}

pg_psql src <<'EOF'
CREATE TABLE e (id int PRIMARY KEY, v text, extra int);
INSERT INTO e SELECT g, 'v' || g, g FROM generate_series(1, 1500) g;
CREATE TABLE empty_src (id int PRIMARY KEY, v text);
CREATE TABLE nk (id int, v text);
INSERT INTO nk SELECT CASE WHEN g % 100 = 0 THEN NULL ELSE g END, 'v' || g FROM generate_series(1, 1000) g;
ANALYZE;
EOF

# --- 1. A column of the query the target table lacks: fails before any
# data moves.
pg_psql tgt -c "CREATE TABLE e (id int PRIMARY KEY, v text)"
write_job missing_col e "SELECT id, v, extra FROM e ORDER BY id"
run_expect 1 missing_col "$coord" run "$HARNESS_TMP/missing_col.yaml" --local-workers 1 --run-id missing_col \
    --report "$HARNESS_TMP/missing_col.json"
no_sanitizer_reports missing_col
assert_contains "$(output missing_col)" 'column "extra" of the source query does not exist in target table public.e' \
    "missing column: message"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM e")" "missing column: final untouched"
assert_eq 0 "$(ledger_rows)" "missing column: no ledger rows"
assert_eq 0 "$(staged_rows)" "missing column: no staged rows"
# The workers were never needed: none joined.
if grep -q "joined" "$HARNESS_TMP/missing_col.err"; then
    fail "missing column: a worker joined although the run failed before planning: $(output missing_col)"
fi
# plan fails the same way.
run_expect 1 missing_col_plan "$coord" plan "$HARNESS_TMP/missing_col.yaml"
no_sanitizer_reports missing_col_plan
assert_contains "$(output missing_col_plan)" 'column "extra" of the source query does not exist in target table public.e' \
    "missing column (plan): message"

# --- 2. An empty source: nothing to publish, exit 0, rows_loaded 0.
pg_psql tgt -c "CREATE TABLE empty_tgt (id int PRIMARY KEY, v text)"
write_job empty empty_tgt "SELECT id, v FROM empty_src ORDER BY id"
run_expect 0 empty "$coord" run "$HARNESS_TMP/empty.yaml" --local-workers 2 --run-id empty \
    --report "$HARNESS_TMP/empty.json"
no_sanitizer_reports empty
assert_eq 0 "$(report rows_loaded empty)" "empty source: report rows_loaded"
assert_eq 0 "$(report rows_source empty)" "empty source: report rows_source"
assert_eq published "$(report status empty)" "empty source: report status"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM empty_tgt")" "empty source: final still empty"
assert_eq "published|0|0" "$(pg_psql tgt -Atc "SELECT status, rows_source, rows_loaded FROM ferry.runs
    WHERE run_id = 'empty'")" "empty source: ferry.runs"
assert_eq 0 "$(staged_rows)" "empty source: no staged rows"

# --- 3. publish: direct into a non-empty final table: refused, unchanged.
pg_psql tgt <<'EOF'
CREATE TABLE d_full (id int PRIMARY KEY, v text, extra int);
INSERT INTO d_full VALUES (1, 'already here', -1), (99999, 'also here', -2);
CREATE TABLE d_full_before AS SELECT * FROM d_full;
CREATE TABLE d_empty (id int PRIMARY KEY, v text, extra int);
EOF
write_job direct_full d_full "SELECT id, v, extra FROM e ORDER BY id"
sed -i '/^  table: /a\  publish: direct' "$HARNESS_TMP/direct_full.yaml"
run_expect 1 direct_full "$coord" run "$HARNESS_TMP/direct_full.yaml" --local-workers 2 --run-id direct_full \
    --report "$HARNESS_TMP/direct_full.json"
no_sanitizer_reports direct_full
assert_contains "$(output direct_full)" "not empty" "direct into a non-empty table: message"
assert_contains "$(output direct_full)" "public.d_full" "direct into a non-empty table: message names the table"
assert_same_rows tgt "SELECT * FROM d_full_before" tgt "SELECT * FROM d_full" "direct into a non-empty table: unchanged"
assert_eq failed "$(report status direct_full)" "direct into a non-empty table: report status"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = 'direct_full'")" \
    "direct into a non-empty table: no ledger rows"

# --- 4. publish: direct into an empty final table: loads it, no staging.
write_job direct_empty d_empty "SELECT id, v, extra FROM e ORDER BY id"
sed -i '/^  table: /a\  publish: direct' "$HARNESS_TMP/direct_empty.yaml"
run_expect 0 direct_empty "$coord" run "$HARNESS_TMP/direct_empty.yaml" --local-workers 2 --run-id direct_empty \
    --report "$HARNESS_TMP/direct_empty.json"
no_sanitizer_reports direct_empty
assert_same_rows src "SELECT * FROM e" tgt "SELECT * FROM d_empty" "direct into an empty table: final == source"
assert_eq "5|1500" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows) FROM ferry.chunk_commits
    WHERE run_id = 'direct_empty'")" "direct into an empty table: ledger (chunks, rows)"
assert_eq "published 1500 5" "$("$py" -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(r["status"], r["rows_loaded"], r["chunks_total"])' "$HARNESS_TMP/direct_empty.json")" \
    "direct into an empty table: report"
assert_eq "" "$(pg_psql tgt -Atc "SELECT to_regclass('ferry.\"stage_direct_empty\"')")" \
    "direct into an empty table: no staging table"

# --- 5. NULL keys cannot be split into key ranges: refused with a reason.
pg_psql tgt -c "CREATE TABLE nk (id int, v text)"
write_job null_keys nk "SELECT id, v FROM nk ORDER BY id"
run_expect 1 null_keys "$coord" run "$HARNESS_TMP/null_keys.yaml" --local-workers 1 --run-id null_keys
no_sanitizer_reports null_keys
assert_contains "$(output null_keys)" "10 rows have a NULL id" "NULL keys: message"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM nk")" "NULL keys: nothing published"

# --- 6. Malformed job files: exit 3, the key path named. No database
# is touched, so no run id is recorded.
# bad_job TAG NEEDLE: job file $HARNESS_TMP/TAG.yaml must fail with exit 3
# and a message holding NEEDLE, from run and from plan.
bad_job() {
    local tag="$1" needle="$2"
    run_expect 3 "$tag" "$coord" run "$HARNESS_TMP/$tag.yaml" --local-workers 1 --run-id "$tag"
    no_sanitizer_reports "$tag"
    assert_contains "$(output "$tag")" "$needle" "$tag: message"
    run_expect 3 "${tag}_plan" "$coord" plan "$HARNESS_TMP/$tag.yaml"
    no_sanitizer_reports "${tag}_plan"
    assert_contains "$(output "${tag}_plan")" "$needle" "$tag (plan): message"
}
write_job bad_writers e "SELECT id, v FROM e ORDER BY id"
sed -i 's/^pipeline: { chunk_size: 300, /pipeline: { writers: 0, chunk_size: 300, /' "$HARNESS_TMP/bad_writers.yaml"
bad_job bad_writers "pipeline.writers: must be 1..256, got 0"
write_job bad_unknown e "SELECT id, v FROM e ORDER BY id" "pipline: { chunk_size: 10 }"
bad_job bad_unknown 'unknown key "pipline"'
write_job bad_on_match e "SELECT id, v FROM e ORDER BY id"
sed -i '/^  table: /a\  merge: { on_match: sometimes }' "$HARNESS_TMP/bad_on_match.yaml"
bad_job bad_on_match "target.merge.on_match"
write_job bad_no_query e "SELECT id, v FROM e ORDER BY id"
sed -i '/^  query: /d' "$HARNESS_TMP/bad_no_query.yaml"
bad_job bad_no_query "source.query"
printf 'source: [unclosed\n' >"$HARNESS_TMP/bad_yaml.yaml"
bad_job bad_yaml "bad_yaml.yaml"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.runs WHERE run_id LIKE 'bad%'")" \
    "malformed job files: no run recorded"
# A job file that does not exist is not a crash either.
run_expect 3 bad_missing_file "$coord" run "$HARNESS_TMP/no_such_job.yaml" --local-workers 1
no_sanitizer_reports bad_missing_file
assert_contains "$(output bad_missing_file)" "no_such_job.yaml" "missing job file: message"

echo "coord_errors: OK"
