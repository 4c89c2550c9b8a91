#!/usr/bin/env bash
# tests/integration/coord_types.sh: every common PostgreSQL type (the list
# of worker_types.sh: special values, unicode, COPY-special characters,
# zero bytes, arrays with NULLs, NULL in every nullable column) through
# ferry-coordinator run with 2 local workers and 6 chunks, merged into a
# final table with a primary key: final == source. Case 1: same types on
# both sides (binary COPY). Case 2: the final table re-types some columns
# (text COPY, the target casts). Any sanitizer report fails the test.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord=$(ferry_bin ferry-coordinator)
ferry_bin ferry-worker >/dev/null
pg_start src
pg_start tgt
# The system python3 when there is one: a version-manager shim in front of
# it (pyenv) costs about a second a call on a loaded machine.
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to read the JSON report)"


columns="
  id bigint PRIMARY KEY, i int, s smallint, tx text, vc varchar(20),
  n numeric, r real, d double precision, tstz timestamptz, ts timestamp,
  dt date, tm time, iv interval, b bool, c3 char(3), u uuid, jb jsonb,
  js json, bin bytea, ia int[], ta text[], ip inet"

# pick EXPR...: CASE cycling through the EXPRs by g.
pick() {
    local i=0 e out="CASE g % $# "
    for e in "$@"; do
        out+="WHEN $i THEN $e "
        i=$((i + 1))
    done
    echo "${out}END"
}
# col K EXPR: EXPR, NULL when the row is all-NULL (g % 11 = 5) or when
# g % 23 = K, so every column is NULL in some rows on its own.
col() {
    echo "CASE WHEN g % 11 = 5 OR g % 23 = $1 THEN NULL ELSE $2 END"
}

select_list=$(
    cat <<EOF
g,
$(col 0 "$(pick "0" "g" "-g" "2147483647" "-2147483648")")::int,
$(col 1 "$(pick "0" "g % 30000" "-(g % 30000)" "32767" "-32768")")::smallint,
$(col 2 "$(pick "''" "'plain ' || g" "'emoji 😀🎉👩‍👩‍👧 ' || g" "'中文字符 日本語 한국어'" \
    "'e' || chr(769) || ' combining n' || chr(771) || ' Å'" \
    "E'tab\\there\\nnewline\\\\backslash\\rCR'" "'quote''s \"dq\" ,comma;|pipe'" \
    "repeat('long ', 300)" "'\\N'" "'NULL'")")::text,
$(col 3 "$(pick "''" "'v' || g" "'ünïcödé'" "'😀😀😀'" "'twenty chars exactly'")")::varchar(20),
$(col 4 "$(pick "'NaN'" "'123456789012345678901234567890'" \
    "'-123456789012345678901234567890.123456789'" "'0.000000000000000000000000000001'" \
    "'-0.5'" "'1e30'" "'-1.5e20'" "'Infinity'" "'-Infinity'" "'0'" "'-0.000'" \
    "(g * 1.01)::text")")::numeric,
$(col 5 "$(pick "'Infinity'" "'-Infinity'" "'NaN'" "'0'" "'-0'" "'1.17549435e-38'" \
    "'3.4028235e38'" "'0.1'" "(g / 7.0)::text")")::real,
$(col 6 "$(pick "'Infinity'" "'-Infinity'" "'NaN'" "'-0'" "'2.2250738585072014e-308'" \
    "'1.7976931348623157e308'" "'5e-324'" "'0.1'" "(g / 3.0)::text")")::double precision,
$(col 7 "$(pick "'infinity'" "'-infinity'" "'2000-01-01 00:00:00+00'" \
    "'1970-01-01 00:00:00.123456+05:30'" "'4713-01-01 00:00:00+00 BC'" \
    "'294276-12-31 23:59:59.999999+00'" \
    "('2024-03-10 12:00:00+00'::timestamptz + g * interval '1 hour 1 second')::text")")::timestamptz,
$(col 8 "$(pick "'infinity'" "'-infinity'" "'2000-02-29 23:59:59.999999'" "'1900-01-01 00:00:00'" \
    "'0044-03-15 12:00:00 BC'" "('2020-01-01'::timestamp + g * interval '37 minutes')::text")")::timestamp,
$(col 9 "$(pick "'infinity'" "'-infinity'" "'2000-02-29'" "'0001-01-01 BC'" "'5874897-12-31'" \
    "('2020-01-01'::date + g::int)::text")")::date,
$(col 10 "$(pick "'00:00:00'" "'24:00:00'" "'23:59:59.999999'" "'12:34:56.789'" \
    "(time '00:00' + g * interval '1 minute')::text")")::time,
$(col 11 "$(pick "'0'" "'1 year 2 mons -3 days 04:05:06.789'" "'-178000000 years'" \
    "'178000000 years'" "'1 microsecond'" "'-1 day +1 hour'" \
    "(g * interval '1 minute 1 second')::text")")::interval,
$(col 12 "g % 2 = 0")::bool,
$(col 13 "$(pick "''" "'a'" "'ab'" "'abc'" "'é'" "'😀x'")")::char(3),
$(col 14 "$(pick "'00000000-0000-0000-0000-000000000000'" "md5(g::text)" "md5(g::text)")")::uuid,
$(col 15 "$(pick "'{}'" "'[]'" "'null'" "'\"str\"'" \
    "'{\"a\": [1, {\"b\": \"ü😀中\"}], \"n\": null, \"num\": 1.5e300, \"t\": true, \"s\": \"\\\\u0000 not\"}'" \
    "'{\"deep\": {\"deeper\": {\"deepest\": [[[]]]}}}'" \
    "json_build_object('g', g, 'esc', E'tab\\t\"q\"\\\\')::text")")::jsonb,
$(col 16 "$(pick "'{ \"k\" :  \"v\" ,  \"k\" : \"dup\"}'" "'[1, 2,   3]'" \
    "'\"\\u00e9\\ud83d\\ude00\"'" "'null'" "json_build_object('g', g)::text")")::json,
$(col 17 "$(pick "'\\x'::bytea" "'\\x00'::bytea" "'\\x000102ff00'::bytea" \
    "decode(repeat('00', 1000), 'hex')" "convert_to('text ' || g, 'UTF8')" \
    "sha256(g::text::bytea)")")::bytea,
$(col 18 "$(pick "'{}'::int[]" "'{1,NULL,3}'::int[]" "'{{1,2},{3,4}}'::int[]" "'{NULL}'::int[]" \
    "ARRAY[g::int, -g::int]")")::int[],
$(col 19 "$(pick "'{}'::text[]" "'{NULL,\"a b\",\"\",\"q\\\"uote\",\"back\\\\\\\\slash\",\"NULL\"}'::text[]" \
    "'{😀,中文}'::text[]" "ARRAY['x' || g, NULL]" "ARRAY[E'tab\\tnl\\n']")")::text[],
$(col 20 "$(pick "'192.168.0.1/24'" "'::1'" "'10.0.0.0/8'" "'2001:db8::ff00:42:8329/64'" \
    "'0.0.0.0'" "('10.1.' || (g % 256) || '.' || (g % 251))")")::inet
EOF
)

pg_psql src <<EOF
CREATE TABLE t ($columns);
INSERT INTO t SELECT $select_list FROM generate_series(1, 1200) AS g;
ANALYZE t;
EOF

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
    ferry_write_job "$job" src tgt "public.$table" "SELECT * FROM t ORDER BY id" id \
        "pipeline: { chunk_size: 200, min_rows_for_parallel: 500 }" \
        "cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200, liveness: 10 }"
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

echo "coord_types: OK"
