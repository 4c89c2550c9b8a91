#!/usr/bin/env bash
# tests/integration/worker_ranges.sh: half-open key ranges [lo, hi) as
# ferry-worker --standalone chunks. Adjacent ranges must cover the source
# exactly once: no gap, no overlap, even with repeated keys sitting exactly
# on the boundaries. Integer keys with --range, text keys (boundaries with
# ':' and unicode, the empty string as a key) and timestamptz keys with
# --lo/--hi.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

worker=$(ferry_bin ferry-worker)
pg_start src
pg_start tgt

# check_ledger RUN CHUNK TABLE WHERE: the ledger's row count for chunk
# CHUNK of run RUN equals the source's count(*) FROM TABLE WHERE WHERE.
check_ledger() {
    local run="$1" chunk="$2" table="$3" where="$4" want got
    want=$(pg_psql src -Atc "SELECT count(*) FROM $table WHERE $where")
    got=$(pg_psql tgt -Atc "SELECT string_agg(rows::text, ',') FROM ferry.chunk_commits
        WHERE run_id = '$run' AND chunk_id = $chunk")
    assert_eq "$want" "$got" "run $run chunk $chunk: ledger rows vs source count WHERE $where"
}

# --- integer key: 1..1000, each multiple of 100 three times, plus one
# exact duplicate row, so multiplicity matters too.
pg_psql src <<'EOF'
CREATE TABLE r (k int NOT NULL, v text);
INSERT INTO r SELECT g, 'row ' || g FROM generate_series(1, 1000) g;
INSERT INTO r SELECT g, 'dup ' || c || ' of ' || g
  FROM generate_series(100, 1000, 100) g, generate_series(1, 2) c;
INSERT INTO r VALUES (250, 'row 250');
CREATE INDEX ON r (k);
ANALYZE r;
EOF
pg_psql tgt -c "CREATE TABLE r (k int NOT NULL, v text)"
assert_eq "1021|2" "$(pg_psql src -Atc "SELECT count(*), (SELECT count(*) FROM r WHERE k = 250) FROM r")" "integer source"

job="$HARNESS_TMP/int.yaml"
ferry_write_job "$job" src tgt public.r "SELECT k, v FROM r ORDER BY k" k
chunk=0
for range in :100 100:250 250:700 700:; do
    chunk=$((chunk + 1))
    run_expect 0 "int$chunk" "$worker" --standalone --job "$job" --range "$range" --run-id ints --chunk-id "$chunk"
done
check_ledger ints 1 r "k < 100"
check_ledger ints 2 r "k >= 100 AND k < 250"
check_ledger ints 3 r "k >= 250 AND k < 700"
check_ledger ints 4 r "k >= 700"
# The same, worked out by hand: repeated boundary keys land in the chunk
# that starts with them.
assert_eq "1:99,2:154,3:459,4:309" "$(pg_psql tgt -Atc "SELECT string_agg(chunk_id || ':' || rows, ',' ORDER BY chunk_id)
    FROM ferry.chunk_commits WHERE run_id = 'ints'")" "integer: rows per chunk"
assert_eq "$(pg_psql src -Atc 'SELECT count(*) FROM r')" \
    "$(pg_psql tgt -Atc 'SELECT count(*) FROM ferry."stage_ints"')" "integer: union row count"
assert_eq "$(pg_psql src -Atc 'SELECT count(*) FROM r')" \
    "$(pg_psql tgt -Atc "SELECT sum(rows) FROM ferry.chunk_commits WHERE run_id = 'ints'")" "integer: ledger total"
assert_same_rows src "SELECT k, v FROM r" tgt 'SELECT k, v FROM ferry."stage_ints"' "integer: union of chunks == source"

# --- text key, C collation (the clusters are initdb --locale=C). Values
# sit on the boundaries 'k:1' (has a ':') and 'm', including repeats, the
# empty string and multibyte characters.
pg_psql src <<'EOF'
CREATE TABLE names (name text NOT NULL, n int);
INSERT INTO names VALUES ('', 1), ('alice', 2), ('bob', 3), ('k', 4), ('k:0', 5),
  ('k:1', 6), ('k:1', 7), ('k:10', 8), ('l', 9), ('m', 10), ('m', 11), ('m ', 12),
  ('mallory', 13), ('zoë', 14), ('émile', 15), ('中', 16), ('😀', 17), ('K:1', 18);
INSERT INTO names SELECT md5(g::text), g FROM generate_series(100, 400) g;
ANALYZE names;
EOF
pg_psql tgt -c "CREATE TABLE names (name text NOT NULL, n int)"
job="$HARNESS_TMP/text.yaml"
ferry_write_job "$job" src tgt public.names "SELECT * FROM names ORDER BY name" name
run_expect 0 text1 "$worker" --standalone --job "$job" --lo '' --hi 'k:1' --run-id texts --chunk-id 1
run_expect 0 text2 "$worker" --standalone --job "$job" --lo 'k:1' --hi m --run-id texts --chunk-id 2
run_expect 0 text3 "$worker" --standalone --job "$job" --lo m --hi '' --run-id texts --chunk-id 3
check_ledger texts 1 names "name < 'k:1'"
check_ledger texts 2 names "name >= 'k:1' AND name < 'm'"
check_ledger texts 3 names "name >= 'm'"
assert_eq "3" "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.\"stage_texts\" WHERE name IN ('k:1', '')")" "text: boundary and empty keys"
assert_same_rows src "SELECT * FROM names" tgt 'SELECT * FROM ferry."stage_texts"' "text: union of chunks == source"

# --- timestamptz key, bounds with ':' given through --lo/--hi; rows exactly
# on the bounds, repeated.
pg_psql src <<'EOF'
CREATE TABLE events (at timestamptz NOT NULL, what text);
INSERT INTO events SELECT '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute', 'e' || g
  FROM generate_series(0, 999) g;
INSERT INTO events VALUES ('2024-01-01 05:00:00+00', 'on bound a'), ('2024-01-01 05:00:00+00', 'on bound b'),
  ('2024-01-01 09:59:59.999999+00', 'just below'), ('2024-01-01 10:00:00+00', 'on bound c'),
  ('-infinity', 'minus inf'), ('infinity', 'plus inf');
ANALYZE events;
EOF
pg_psql tgt -c "CREATE TABLE events (at timestamptz NOT NULL, what text)"
job="$HARNESS_TMP/ts.yaml"
ferry_write_job "$job" src tgt public.events "SELECT at, what FROM events ORDER BY at" at
b1='2024-01-01 05:00:00+00'
b2='2024-01-01 10:00:00+00'
run_expect 0 ts1 "$worker" --standalone --job "$job" --hi "$b1" --run-id stamps --chunk-id 1
run_expect 0 ts2 "$worker" --standalone --job "$job" --lo "$b1" --hi "$b2" --run-id stamps --chunk-id 2
run_expect 0 ts3 "$worker" --standalone --job "$job" --lo "$b2" --hi '' --run-id stamps --chunk-id 3
check_ledger stamps 1 events "at < '$b1'"
check_ledger stamps 2 events "at >= '$b1' AND at < '$b2'"
check_ledger stamps 3 events "at >= '$b2'"
assert_eq "$(pg_psql src -Atc "SELECT count(*) FROM events WHERE at >= '$b1' AND at < '$b2'")" "303" "sanity: timestamptz middle range"
assert_same_rows src "SELECT * FROM events" tgt 'SELECT * FROM ferry."stage_stamps"' "timestamptz: union of chunks == source"

# Each run's ledger holds exactly its chunks, each once.
assert_eq "ints:4:1:4|stamps:3:1:3|texts:3:1:3" "$(pg_psql tgt -Atc "SELECT string_agg(x, '|' ORDER BY x) FROM (
    SELECT run_id || ':' || count(*) || ':' || min(chunk_id) || ':' || max(chunk_id) AS x
    FROM ferry.chunk_commits GROUP BY run_id) s")" "ledger: one row per chunk"

echo "worker_ranges: OK"
