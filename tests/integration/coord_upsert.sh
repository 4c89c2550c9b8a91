#!/usr/bin/env bash
# tests/integration/coord_upsert.sh: publishing into a final table that
# already holds half of the source's keys (with other values) plus rows the
# source lacks. target.merge.on_match update: final == source for the
# source's keys; ignore: the pre-filled keys keep their old values and the
# new keys arrive; error: exit 1, "already exist", final unchanged. update
# and ignore both with a primary key (INSERT ... ON CONFLICT) and without
# one (MERGE); rows only in the final table always survive. Duplicate merge
# keys in the source are a clear error ("duplicate") and publish nothing,
# whatever the statement chosen: empty final with a primary key (INSERT),
# pre-filled with one (ON CONFLICT DO UPDATE, DO NOTHING), no unique index
# (MERGE), and a table whose only column is the key (nothing to update).
# Any sanitizer report fails the test.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord_setup

# load RC TAG TABLE QUERY ON_MATCH WORKERS: runs the coordinator loading
# QUERY (key id) into TABLE with on_match ON_MATCH, expecting exit RC.
load() {
    local rc="$1" tag="$2" table="$3" query="$4" on_match="$5" workers="$6" job="$HARNESS_TMP/$2.yaml"
    coord_job "$job" "public.$table" "$query" id \
        "chunk_size: 500, min_rows_for_parallel: 1000"
    sed -i "/^  table: /a\\  merge: { key: [id], on_match: $on_match }" "$job"
    grep -q "on_match: $on_match" "$job" || fail "$tag: job file edit"
    run_expect "$rc" "$tag" "$coord" run "$job" --local-workers "$workers" --run-id "$tag" \
        --report "$HARNESS_TMP/$tag.json"
    no_sanitizer_reports "$tag"
}
# report_status TAG: status from the run's JSON report.
report_status() {
    "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' "$HARNESS_TMP/$1.json"
}
# prefill TABLE PK: creates TABLE (with a primary key when PK is "pk")
# holding the source's odd keys with other values, plus two rows the
# source does not have; snapshots it as TABLE_before.
prefill() {
    local table="$1" pk=""
    [[ "$2" == pk ]] && pk="PRIMARY KEY"
    pg_psql tgt <<EOF
CREATE TABLE $table (id int $pk, v text, n numeric, at timestamptz);
INSERT INTO $table SELECT g, 'old ' || g, -g, '1999-01-01 00:00:00+00' FROM generate_series(1, 2000, 2) g;
INSERT INTO $table VALUES (900001, 'final only', 0, NULL), (900002, 'final only 2', NULL, '2000-01-01 00:00:00+00');
CREATE TABLE ${table}_before AS SELECT * FROM $table;
EOF
}

pg_psql src <<'EOF'
CREATE TABLE u (id int PRIMARY KEY, v text, n numeric, at timestamptz);
INSERT INTO u SELECT g, 'new ' || g, g * 1.5, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour'
  FROM generate_series(1, 2000) g;
-- Key-only table for the duplicate-key cases.
CREATE TABLE ko (id int PRIMARY KEY);
INSERT INTO ko SELECT g FROM generate_series(1, 2000) g;
ANALYZE;
EOF
query="SELECT id, v, n, at FROM u ORDER BY id"

# --- on_match update, with and without a primary key.
for pk in pk nopk; do
    t="upd_$pk"
    prefill "$t" "$pk"
    load 0 "$t" "$t" "$query" update 1
    assert_same_rows src "SELECT * FROM u" tgt "SELECT * FROM $t WHERE id <= 2000" "update ($pk): final == source on the source's keys"
    assert_same_rows tgt "SELECT * FROM ${t}_before WHERE id > 2000" tgt "SELECT * FROM $t WHERE id > 2000" \
        "update ($pk): rows only in the final table untouched"
    assert_eq 2002 "$(pg_psql tgt -Atc "SELECT count(*) FROM $t")" "update ($pk): final rows"
    assert_eq published "$(report_status "$t")" "update ($pk): report status"
done

# --- on_match ignore: old values stay for the pre-filled keys, new keys
# are added.
for pk in pk nopk; do
    t="ign_$pk"
    prefill "$t" "$pk"
    load 0 "$t" "$t" "$query" ignore 1
    assert_same_rows tgt "SELECT * FROM ${t}_before" tgt "SELECT * FROM $t WHERE id IN (SELECT id FROM ${t}_before)" \
        "ignore ($pk): pre-filled rows keep their old values"
    assert_eq 1000 "$(pg_psql tgt -Atc "SELECT count(*) FROM $t WHERE v LIKE 'old %'")" "ignore ($pk): old values"
    assert_same_rows src "SELECT * FROM u WHERE id % 2 = 0" tgt "SELECT * FROM $t WHERE id NOT IN (SELECT id FROM ${t}_before)" \
        "ignore ($pk): the new keys == source"
    assert_eq 2002 "$(pg_psql tgt -Atc "SELECT count(*) FROM $t")" "ignore ($pk): final rows"
    assert_eq published "$(report_status "$t")" "ignore ($pk): report status"
done

# --- on_match error: refused, nothing published. (The refusal comes
# before the statement is chosen, so one kind of table is enough.)
for pk in pk; do
    t="err_$pk"
    prefill "$t" "$pk"
    load 1 "$t" "$t" "$query" error 1
    msg=$(cat "$HARNESS_TMP/$t.out" "$HARNESS_TMP/$t.err")
    assert_contains "$msg" "already exist" "error ($pk): message"
    assert_contains "$msg" "1000 source rows" "error ($pk): message counts the matching rows"
    assert_same_rows tgt "SELECT * FROM ${t}_before" tgt "SELECT * FROM $t" "error ($pk): final unchanged"
    assert_eq failed "$(report_status "$t")" "error ($pk): report status"
    assert_eq failed "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$t'")" "error ($pk): ferry.runs status"
done

# --- Duplicate merge keys in the source: 7 and 1500 twice (in different
# chunks), whatever the final table and the statement.
dupq="SELECT id, v, n, at FROM (SELECT * FROM u UNION ALL SELECT id, 'dup', 0, NULL FROM u WHERE id IN (7, 1500)) d ORDER BY id"
assert_eq 2002 "$(pg_psql src -Atc "SELECT count(*) FROM ($dupq) q")" "duplicate query rows"
pg_psql tgt <<'EOF'
CREATE TABLE dup_empty_pk (id int PRIMARY KEY, v text, n numeric, at timestamptz);
EOF
prefill dup_upd_pk pk
prefill dup_ign_pk pk
prefill dup_upd_nopk nopk
# dup_case TAG TABLE ON_MATCH [QUERY]: exit 1, "duplicate" in the message,
# final unchanged (empty, or its _before snapshot), run failed.
dup_case() {
    local tag="$1" table="$2" on_match="$3" q="${4:-$dupq}" msg
    load 1 "$tag" "$table" "$q" "$on_match" 1
    msg=$(cat "$HARNESS_TMP/$tag.out" "$HARNESS_TMP/$tag.err")
    assert_contains "$msg" "duplicate" "$tag: message"
    if [[ -n "$(pg_psql tgt -Atc "SELECT to_regclass('public.${table}_before')")" ]]; then
        assert_same_rows tgt "SELECT * FROM ${table}_before" tgt "SELECT * FROM $table" "$tag: final unchanged"
    else
        assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM $table")" "$tag: nothing published"
    fi
    assert_eq failed "$(report_status "$tag")" "$tag: report status"
    assert_eq failed "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$tag'")" "$tag: ferry.runs status"
}
dup_case dup_empty_pk dup_empty_pk update
dup_case dup_upd_pk dup_upd_pk update
dup_case dup_ign_pk dup_ign_pk ignore
dup_case dup_upd_nopk dup_upd_nopk update
# A table of nothing but the key, pre-filled, on_match update: there is
# nothing to update, yet the source's duplicates must still be refused.
pg_psql tgt <<'EOF'
CREATE TABLE dup_keyonly (id int PRIMARY KEY);
INSERT INTO dup_keyonly SELECT g FROM generate_series(1, 2000, 2) g;
CREATE TABLE dup_keyonly_before AS SELECT * FROM dup_keyonly;
EOF
dup_case dup_keyonly dup_keyonly update \
    "SELECT id FROM (SELECT id FROM ko UNION ALL SELECT id FROM ko WHERE id IN (7, 1500)) d ORDER BY id"

echo "coord_upsert: OK"
