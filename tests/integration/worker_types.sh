#!/usr/bin/env bash
# tests/integration/worker_types.sh: ferry-worker --standalone copies every
# common PostgreSQL type unchanged: special values (NaN, infinities, -0,
# extreme numerics and dates), unicode, COPY-special characters, zero bytes,
# arrays with NULLs, and NULL in every nullable column. Case 1: same types on
# both sides (binary passthrough). Case 2: the target declares some columns
# with other, compatible types, so the worker must use text COPY.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

worker=$(ferry_bin ferry-worker)
pg_start src
pg_start tgt

# shellcheck source=../lib/types.sh
source "$(dirname "$0")/../lib/types.sh"
types_source_table 500
pg_psql tgt -c "CREATE TABLE t ($columns)"

# The data must really hold what this test is about.
assert_eq 500 "$(pg_psql src -Atc 'SELECT count(*) FROM t')" "source rows"
assert_eq t "$(pg_psql src -Atc "SELECT bool_and(x) FROM (VALUES
    ((SELECT count(*) FROM t WHERE id >= 100 AND id < 400 AND i IS NULL AND tx IS NULL
       AND jb IS NULL AND ia IS NULL AND ip IS NULL) > 5),
    (EXISTS (SELECT FROM t WHERE id >= 100 AND id < 400 AND n = 'NaN')),
    (EXISTS (SELECT FROM t WHERE id >= 100 AND id < 400 AND r = '-Infinity')),
    (EXISTS (SELECT FROM t WHERE id >= 100 AND id < 400 AND tstz = 'infinity')),
    (EXISTS (SELECT FROM t WHERE id >= 100 AND id < 400 AND dt = '-infinity')),
    (EXISTS (SELECT FROM t WHERE id >= 100 AND id < 400 AND position('\\x00'::bytea IN bin) > 0)),
    (EXISTS (SELECT FROM t WHERE id >= 100 AND id < 400 AND tx LIKE '%😀%')),
    (EXISTS (SELECT FROM t WHERE id >= 100 AND id < 400 AND tx = '')),
    (EXISTS (SELECT FROM t WHERE id >= 100 AND id < 400 AND ia = '{}')),
    (EXISTS (SELECT FROM t WHERE id >= 100 AND id < 400 AND array_position(ta, NULL) IS NOT NULL))
  ) AS v(x)")" "the source holds every special value in the copied range"

# Case 1: identical types.
job1="$HARNESS_TMP/types1.yaml"
ferry_write_job "$job1" src tgt public.t "SELECT * FROM t ORDER BY id" id
run_expect 0 types1 "$worker" --standalone --job "$job1" --range 100:400 --run-id types1
expected=$(pg_psql src -Atc "SELECT count(*) FROM t WHERE id >= 100 AND id < 400")
assert_eq 300 "$expected" "rows in [100, 400) on the source"
assert_same_rows src "SELECT * FROM t WHERE id >= 100 AND id < 400" \
    tgt 'SELECT * FROM ferry."stage_types1"' "case 1: staging vs source range"
assert_eq "$expected" "$(pg_psql tgt -Atc 'SELECT count(*) FROM ferry."stage_types1"')" "case 1: staging row count"
assert_eq "1|$expected|1" "$(pg_psql tgt -Atc "SELECT count(*), max(rows), count(committed_at)
    FROM ferry.chunk_commits WHERE run_id = 'types1' AND chunk_id = 0")" "case 1: ledger (rows, committed_at)"
assert_eq "f" "$(pg_psql tgt -Atc "SELECT relpersistence = 'p' FROM pg_class
    WHERE oid = 'ferry.\"stage_types1\"'::regclass")" "case 1: staging is UNLOGGED"

# Case 2: the target widens or re-types some columns; the server converts
# from text. Compare with the source values cast the same way.
pg_psql tgt -c "CREATE TABLE t2 (
  id bigint PRIMARY KEY, i bigint, s int, tx text, vc text,
  n numeric, r double precision, d double precision, tstz timestamptz, ts timestamp,
  dt date, tm time, iv interval, b bool, c3 text, u uuid, jb jsonb,
  js jsonb, bin bytea, ia bigint[], ta varchar[], ip inet)"
job2="$HARNESS_TMP/types2.yaml"
ferry_write_job "$job2" src tgt public.t2 "SELECT * FROM t ORDER BY id" id
run_expect 0 types2 "$worker" --standalone --job "$job2" --range 100:400 --run-id types2
# char(3) COPY output keeps its padding, which is what a text column gets;
# real -> double goes through the text form, hence r::text::float8.
assert_same_rows src "SELECT id, i, s, tx, vc, n, r::text::float8, d, tstz, ts, dt, tm, iv, b, c3,
        u, jb, js::jsonb, bin, ia, ta, ip FROM t WHERE id >= 100 AND id < 400" \
    tgt 'SELECT * FROM ferry."stage_types2"' "case 2: staging (re-typed) vs source range"
assert_eq "bigint" "$(pg_psql tgt -Atc "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
    WHERE attrelid = 'ferry.\"stage_types2\"'::regclass AND attname = 'i'")" "case 2: staging has the target's types"
assert_eq "1|$expected" "$(pg_psql tgt -Atc "SELECT count(*), max(rows)
    FROM ferry.chunk_commits WHERE run_id = 'types2'")" "case 2: ledger rows"

echo "worker_types: OK"
