# tests/lib/types.sh: the table of every common PostgreSQL type that
# worker_types.sh and coord_types.sh copy: special values (NaN, infinities,
# -0, extreme numerics and dates), unicode, COPY-special characters, zero
# bytes, arrays with NULLs, and NULL in every nullable column. Sourced
# after tests/lib/pg.sh; sets `columns` (the column definitions of t, id
# the primary key) and `select_list` (their values from g), and
# types_source_table ROWS creates and fills t in the src cluster.

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

# types_source_table ROWS: t with ROWS rows (g = 1..ROWS) in src, analyzed.
types_source_table() {
    pg_psql src <<SQL
CREATE TABLE t ($columns);
INSERT INTO t SELECT $select_list FROM generate_series(1, $1) AS g;
ANALYZE t;
SQL
}
