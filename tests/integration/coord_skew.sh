#!/usr/bin/env bash
# tests/integration/coord_skew.sh: the coordinator plans chunks equal by
# ROW COUNT, not by key width. A bigint key with 90% of the rows in 1% of
# its range: `ferry-coordinator plan` gives chunks of 750..1250 rows (all
# but the last), the run loads final == source, and the rows each chunk
# really committed match the source's count inside its bounds. Then text,
# uuid, date (repeated keys, merge key != chunk key), timestamptz (with
# +-infinity) and numeric keys: each plans into several chunks whose
# bounds (from ferry.chunks) cover every source row exactly once, loads
# with 2 workers, and final == source. Any sanitizer report fails.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord_setup

# write_job TAG TABLE QUERY KEY CHUNK_SIZE [YAML_LINE...]: $HARNESS_TMP/TAG.yaml.
write_job() {
    local tag="$1" table="$2" query="$3" key="$4" chunk="$5"
    shift 5
    coord_job "$HARNESS_TMP/$tag.yaml" "public.$table" "$query" "$key" \
        "chunk_size: $chunk, min_rows_for_parallel: 100" "$@"
}
# plan_rows TAG: the rows column of `plan` output TAG.out, one per line
# (chunk lines only: the first field is the chunk number, the last the
# rows; keys may hold spaces, so the middle is not parsed).
plan_rows() {
    awk '$1 ~ /^[0-9]+$/ && NF >= 4 { print $NF }' "$HARNESS_TMP/$1.out"
}
# check_chunk_bounds RUN TABLE KEYTYPE NCHUNKS: ferry.chunks of RUN
# (target) holds NCHUNKS chunks that cover TABLE's rows (source) exactly
# once, and each chunk's committed rows (ferry.chunk_commits) equal the
# source's count inside its bounds.
check_chunk_bounds() {
    local run="$1" table="$2" keytype="$3" nchunks="$4" pred
    pg_psql tgt -c "COPY (SELECT c.chunk_id, c.lo, c.hi, cc.rows FROM ferry.chunks c
        LEFT JOIN ferry.chunk_commits cc USING (run_id, chunk_id) WHERE c.run_id = '$run') TO STDOUT" |
        pg_psql src -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bounds" \
            -c "CREATE TABLE bounds (chunk_id bigint, lo text, hi text, committed bigint)" -c "COPY bounds FROM STDIN"
    pred="(b.lo IS NULL OR t.k >= b.lo::$keytype) AND (b.hi IS NULL OR t.k < b.hi::$keytype)"
    # One query, four answers: chunks | bad unbounded sides | source rows
    # not in exactly one chunk | chunks whose committed rows differ from
    # the source's count inside their bounds.
    assert_eq "$nchunks|0|0|" "$(pg_psql src -Atc "SELECT (SELECT count(*) FROM bounds),
        (SELECT count(*) FROM bounds WHERE (lo IS NULL) <> (chunk_id = 0)
            OR (hi IS NULL) <> (chunk_id = (SELECT max(chunk_id) FROM bounds))),
        (SELECT count(*) FROM (SELECT * FROM $table) t WHERE (SELECT count(*) FROM bounds b WHERE $pred) <> 1),
        (SELECT string_agg(b.chunk_id || ': committed ' || coalesce(b.committed::text, 'none')
            || ', source ' || (SELECT count(*) FROM $table t WHERE $pred), '; ')
         FROM bounds b WHERE b.committed IS DISTINCT FROM (SELECT count(*) FROM $table t WHERE $pred))")" \
        "$run: (chunks | chunks with a wrong unbounded side | source rows not in exactly one chunk | chunks committing other than the source's rows in their bounds)"
}

# --- Skewed bigint key: 9000 keys in 1..9000, 1000 keys spread over
# 9991..1000000. 90% of the rows in 0.9% of the key range.
pg_psql src <<'EOF'
CREATE TABLE skew (k bigint PRIMARY KEY, v text);
INSERT INTO skew SELECT g, 'dense ' || g FROM generate_series(1, 9000) g;
INSERT INTO skew SELECT 9000 + g * 991, 'sparse ' || g FROM generate_series(1, 1000) g;
ANALYZE skew;
EOF
pg_psql tgt -c "CREATE TABLE skew (k bigint PRIMARY KEY, v text)"
assert_eq "10000|9000|1000000" "$(pg_psql src -Atc "SELECT count(*), count(*) FILTER (WHERE k <= 9000), max(k) FROM skew")" "skew source"

write_job skew skew "SELECT k, v FROM skew ORDER BY k" k 1000
run_expect 0 skew_plan "$coord" plan "$HARNESS_TMP/skew.yaml"
no_sanitizer_reports skew_plan
assert_contains "$(head -n 1 "$HARNESS_TMP/skew_plan.out")" "10000 rows, 10 chunk(s), key k (bigint)" "skew: plan header"
mapfile -t rows < <(plan_rows skew_plan)
assert_eq 10 "${#rows[@]}" "skew: chunk lines in the plan output ($(cat "$HARNESS_TMP/skew_plan.out"))"
sum=0
for i in "${!rows[@]}"; do
    sum=$((sum + rows[i]))
    if [[ $i -lt $((${#rows[@]} - 1)) ]] && ((rows[i] < 750 || rows[i] > 1250)); then
        fail "skew: chunk $i plans ${rows[i]} rows, not within 750..1250: $(cat "$HARNESS_TMP/skew_plan.out")"
    fi
done
assert_eq 10000 "$sum" "skew: planned rows sum to the source count"
# plan moves no data and records no run.
assert_eq "0" "$(pg_psql tgt -Atc "SELECT count(*) FROM skew")" "skew: plan moved no data"
assert_eq "" "$(pg_psql tgt -Atc "SELECT string_agg(run_id, ',') FROM ferry.runs" 2>/dev/null || true)" "skew: plan recorded no run"

run_expect 0 skew_run "$coord" run "$HARNESS_TMP/skew.yaml" --local-workers 2 --run-id skew
no_sanitizer_reports skew_run
assert_same_rows src "SELECT * FROM skew" tgt "SELECT * FROM skew" "skew: final == source"
assert_eq "10|10000" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows) FROM ferry.chunk_commits WHERE run_id = 'skew'")" "skew: ledger"
# The rows chunks really committed are as even as the plan said.
assert_eq "" "$(pg_psql tgt -Atc "SELECT string_agg(chunk_id || ':' || rows, ',') FROM ferry.chunk_commits
    WHERE run_id = 'skew' AND chunk_id < 9 AND rows NOT BETWEEN 750 AND 1250")" "skew: committed rows per chunk within 750..1250"
# The plan that was run is the plan that was printed.
assert_eq "$(printf '%s\n' "${rows[@]}")" "$(pg_psql tgt -Atc "SELECT est_rows FROM ferry.chunks WHERE run_id = 'skew' ORDER BY chunk_id")" \
    "skew: ferry.chunks est_rows == plan output"
check_chunk_bounds skew skew bigint 10

# --- Other key types. Each table has the chunk key in column k.
pg_psql src <<'EOF'
-- text: unique keys with the empty string, spaces, ':' and multibyte
-- characters; C collation (the clusters are initdb --locale=C).
CREATE TABLE kt (k text PRIMARY KEY, v int);
INSERT INTO kt VALUES (''), (' '), ('a b'), ('k:1'), ('k:10'), ('zoë'), ('émile'), ('中文'), ('😀'), ('K')
  ;
UPDATE kt SET v = length(k);
INSERT INTO kt SELECT md5(g::text), g FROM generate_series(1, 590) g;
-- uuid
CREATE TABLE ku (k uuid PRIMARY KEY, v int);
INSERT INTO ku SELECT md5('u' || g)::uuid, g FROM generate_series(1, 600) g;
INSERT INTO ku VALUES ('00000000-0000-0000-0000-000000000000', -1), ('ffffffff-ffff-ffff-ffff-ffffffffffff', -2);
-- date: 15 rows per day, so chunk boundaries fall inside runs of a key;
-- the merge key is id, not the chunk key.
CREATE TABLE kd (id int PRIMARY KEY, k date NOT NULL, v text);
INSERT INTO kd SELECT g, date '2024-02-20' + (g / 15), 'd' || g FROM generate_series(0, 599) g;
INSERT INTO kd VALUES (1000, '-infinity', 'minus'), (1001, 'infinity', 'plus'), (1002, '0001-01-01 BC', 'bc');
-- timestamptz: microseconds, time zones, +-infinity.
CREATE TABLE kz (k timestamptz PRIMARY KEY, v int);
INSERT INTO kz SELECT timestamptz '2024-03-10 01:59:59.999999+00' + g * interval '17 minutes 0.000123 seconds', g
  FROM generate_series(1, 600) g;
INSERT INTO kz VALUES ('-infinity', -1), ('infinity', -2), ('1999-12-31 23:59:59.999999-08', -3);
-- numeric: signs, scales, tiny and huge magnitudes; 1.5 and 1.50 are the
-- same key value written two ways (merge key id).
CREATE TABLE kn (id int PRIMARY KEY, k numeric NOT NULL, v text);
INSERT INTO kn SELECT g, round((g - 300) / 7.0, (g % 5)), 'n' || g FROM generate_series(1, 600) g;
INSERT INTO kn VALUES (1001, 1.5, 'a'), (1002, 1.50, 'b'), (1003, 1.500, 'c'), (1004, '-1e30', 'd'),
  (1005, '1e30', 'e'), (1006, '0.000000000001', 'f'), (1007, '-0.000', 'g');
ANALYZE;
EOF
pg_psql tgt <<'EOF'
CREATE TABLE kt (k text PRIMARY KEY, v int);
CREATE TABLE ku (k uuid PRIMARY KEY, v int);
CREATE TABLE kd (id int PRIMARY KEY, k date NOT NULL, v text);
CREATE TABLE kz (k timestamptz PRIMARY KEY, v int);
CREATE TABLE kn (id int PRIMARY KEY, k numeric NOT NULL, v text);
EOF

# typed_case TABLE KEYTYPE ROWS [MERGE_KEY]: plan (several chunks, rows
# summing to ROWS), run with 2 workers, final == source, bounds exact.
# MERGE_KEY (default: the chunk key k) becomes target.merge.key.
typed_case() {
    local table="$1" keytype="$2" total="$3" merge_key="${4:-}" n sum
    write_job "$table" "$table" "SELECT * FROM $table ORDER BY k" k 150
    if [[ -n "$merge_key" ]]; then
        sed -i "/^  table: /a\\  merge: { key: [$merge_key] }" "$HARNESS_TMP/$table.yaml"
        grep -q "^  merge: { key: \[$merge_key\] }" "$HARNESS_TMP/$table.yaml" || fail "$table: job file edit"
    fi
    run_expect 0 "${table}_plan" "$coord" plan "$HARNESS_TMP/$table.yaml"
    no_sanitizer_reports "${table}_plan"
    assert_contains "$(head -n 1 "$HARNESS_TMP/${table}_plan.out")" "$total rows" "$table: plan header"
    assert_contains "$(head -n 1 "$HARNESS_TMP/${table}_plan.out")" "key k ($keytype" "$table: plan key type"
    n=$(plan_rows "${table}_plan" | wc -l)
    sum=$(plan_rows "${table}_plan" | awk '{ s += $1 } END { print s + 0 }')
    ((n >= 3)) || fail "$table: only $n chunk(s) planned: $(cat "$HARNESS_TMP/${table}_plan.out")"
    assert_eq "$total" "$sum" "$table: planned rows sum"
    run_expect 0 "${table}_run" "$coord" run "$HARNESS_TMP/$table.yaml" --local-workers 2 --run-id "$table" \
        --report "$HARNESS_TMP/$table.json"
    no_sanitizer_reports "${table}_run"
    assert_same_rows src "SELECT * FROM $table" tgt "SELECT * FROM $table" "$table ($keytype key): final == source"
    assert_eq "$n|$total|0" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows), count(*) FILTER (WHERE rows = 0)
        FROM ferry.chunk_commits WHERE run_id = '$table'")" "$table: ledger (chunks as planned, rows, empty chunks)"
    assert_eq "published $total $n" "$("$py" -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(r["status"], r["rows_loaded"], r["chunks_total"])' "$HARNESS_TMP/$table.json")" "$table: report"
    check_chunk_bounds "$table" "$table" "$keytype" "$n"
}

typed_case kt text 600
typed_case ku uuid 602
typed_case kd date 603 id
typed_case kz "timestamp with time zone" 603
typed_case kn numeric 607 id

echo "coord_skew: OK"
