#!/usr/bin/env bash
# tests/integration/coord_verify.sh: ferry-coordinator verify compares the
# job's source query with its target table row for row.
# 1. After a real load (20,000 accounts, 2 workers) verify says the same
#    rows (exit 0), in the key ranges of --chunk-size 2000 (10).
# 2. The target is tampered with: one row deleted (4711), one changed
#    (12345, its balance), one inserted (999999): verify exits 1 and names
#    each key with its kind, in text and in --json; --show 0 gives counts
#    only; --run compares in the load's chunks and names who committed
#    them (a gap in ferry.chunks is refused). With 4711 and 12345 put back, only the extra row is left:
#    exit 1 without --allow-extra, 0 with it.
# 3. Types that differ (numeric(12,2) -> numeric, timestamp -> timestamptz,
#    varchar -> text, int -> bigint) after a real load: the same rows; a
#    row the target holds twice, and a NULL key, in a table without a
#    primary key: the duplicate is one extra row, NULL keys compare. A
#    table and key whose names need quoting.
# 4. verify reads only (no table created on either server; its sessions
#    are named ferry/verify); a file source is refused (exit 3), no job
#    file is a usage error (exit 2).
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup "log_connections = on"
coord_accounts 20000
coord_job "$HARNESS_TMP/job.yaml" public.accounts "SELECT * FROM accounts ORDER BY acct_id" acct_id \
    "chunk_size: 2000, min_rows_for_parallel: 1000"
run_expect 0 load "$coord" run "$HARNESS_TMP/job.yaml" --local-workers 2 --slots 1 --run-id v_load
no_sanitizer_reports load

# Relations other than the test's own m and n (with their keys and TOAST).
relations() {
    pg_psql "$1" -Atc "SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                       WHERE s.nspname <> 'pg_toast' AND c.relname NOT IN ('m', 'm_pkey', 'n', 'Odd Table', 'Odd Table_pkey')"
}
tables_before=$(relations tgt)
src_tables_before=$(relations src)

# --- 1. the same rows
run_expect 0 same "$coord" verify "$HARNESS_TMP/job.yaml" --chunk-size 2000
assert_contains "$(cat "$HARNESS_TMP/same.out")" \
    "verify: the same rows: source 20000 rows, target 20000 in 10 key range(s) of acct_id" \
    "same: the summary"

# --- 2. tampered
pg_psql tgt -c "DELETE FROM accounts WHERE acct_id = 4711" \
    -c "UPDATE accounts SET balance = balance + 0.01 WHERE acct_id = 12345" \
    -c "INSERT INTO accounts (acct_id, customer_name) VALUES (999999, 'Forged')"
run_expect 1 tampered "$coord" verify "$HARNESS_TMP/job.yaml" --chunk-size 2000
out=$(cat "$HARNESS_TMP/tampered.out")
assert_contains "$out" "missing in target (1): acct_id 4711" "tampered: the deleted row"
assert_contains "$out" "different values (1): acct_id 12345" "tampered: the changed row"
assert_contains "$out" "extra in target (1): acct_id 999999" "tampered: the inserted row"
assert_contains "$out" "verify: DIFFERENT: 3 of 10 key range(s) differ; source 20000 rows, target 20000; 1 missing in target, 1 extra, 1 with different values" \
    "tampered: the summary"
assert_eq 3 "$(grep -c '^range ' "$HARNESS_TMP/tampered.out")" "tampered: three ranges listed"

# The same in the run's own chunks (--run): range N is chunk N, with the
# worker and attempt that committed it.
run_expect 1 tampered_run "$coord" verify "$HARNESS_TMP/job.yaml" --run v_load
out=$(cat "$HARNESS_TMP/tampered_run.out")
committed=$(pg_psql tgt -Atc "SELECT worker || ', attempt ' || attempt FROM ferry.chunk_commits
                              WHERE run_id = 'v_load' AND chunk_id = 2")
assert_contains "$out" "chunk 2 [4001, 6001): source 2000 rows, target 1999 (committed by worker $committed)" \
    "--run: the chunk and who committed it"
assert_contains "$out" "verify: DIFFERENT: 3 of 10 key range(s) differ" "--run: the summary"
run_expect 1 run_unknown "$coord" verify "$HARNESS_TMP/job.yaml" --run nosuchrun
assert_contains "$(cat "$HARNESS_TMP/run_unknown.err")" "--run nosuchrun: no such run in ferry.runs on the target" \
    "--run: an unknown run"
run_expect 2 run_and_size "$coord" verify "$HARNESS_TMP/job.yaml" --run v_load --chunk-size 10
assert_contains "$(cat "$HARNESS_TMP/run_and_size.err")" "give --chunk-size or --run, not both" \
    "--run with --chunk-size"
# ferry.chunks that do not cover the key space are refused, not trusted.
pg_psql tgt -c "CREATE TABLE saved_chunks AS SELECT * FROM ferry.chunks WHERE run_id = 'v_load'" \
    -c "UPDATE ferry.chunks SET lo = '4002' WHERE run_id = 'v_load' AND chunk_id = 2"
run_expect 1 run_gap "$coord" verify "$HARNESS_TMP/job.yaml" --run v_load
assert_contains "$(cat "$HARNESS_TMP/run_gap.err")" "--run v_load: its chunks in ferry.chunks do not cover every key once (range 1 ends at '4001' but range 2 starts at '4002')" \
    "--run: a gap in the chunks"
pg_psql tgt -c "UPDATE ferry.chunks c SET lo = s.lo FROM saved_chunks s
                WHERE c.run_id = s.run_id AND c.chunk_id = s.chunk_id" -c "DROP TABLE saved_chunks"

run_expect 1 tampered_json "$coord" verify "$HARNESS_TMP/job.yaml" --chunk-size 2000 --json
"$py" - "$HARNESS_TMP/tampered_json.out" <<'PY' || fail "tampered --json: check failed (above)"
import json, sys
r = json.load(open(sys.argv[1]))
errors = []
want = {"status": "differ", "ranges": 10, "ranges_differing": 3, "source_rows": 20000,
        "target_rows": 20000, "missing": 1, "extra": 1, "differs": 1, "key": "acct_id"}
for k, v in want.items():
    if r.get(k) != v:
        errors.append(f"{k}: {r.get(k)!r}, expected {v!r}")
keys = {k: sorted(x for d in r["differing"] for x in d.get(k + "_keys", []))
        for k in ("missing", "extra", "differs")}
if keys != {"missing": ["4711"], "extra": ["999999"], "differs": ["12345"]}:
    errors.append(f"keys {keys}")
last = [d for d in r["differing"] if d["hi"] is None]
if len(last) != 1 or last[0]["target_rows"] != last[0]["source_rows"] + 1:
    errors.append(f"the last range (unbounded): {last}")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY

run_expect 1 counts_only "$coord" verify "$HARNESS_TMP/job.yaml" --chunk-size 2000 --show 0
assert_contains "$(cat "$HARNESS_TMP/counts_only.out")" "  missing in target (1)" "--show 0: the count"
if grep -q "acct_id 4711" "$HARNESS_TMP/counts_only.out"; then
    fail "--show 0: a key was listed"
fi

# Put 4711 and 12345 back from the source: only the extra row is left.
pg_psql src -Atc "COPY (SELECT * FROM accounts WHERE acct_id IN (4711, 12345)) TO STDOUT" >"$HARNESS_TMP/two.copy"
pg_psql tgt -c "DELETE FROM accounts WHERE acct_id = 12345" \
    -c "\\copy accounts FROM '$HARNESS_TMP/two.copy'"
run_expect 1 extra_only "$coord" verify "$HARNESS_TMP/job.yaml" --chunk-size 2000
assert_contains "$(cat "$HARNESS_TMP/extra_only.out")" "verify: DIFFERENT: 1 of 10 key range(s) differ; source 20000 rows, target 20001; 0 missing in target, 1 extra, 0 with different values" \
    "extra only: still a difference without --allow-extra"
run_expect 0 allow_extra "$coord" verify "$HARNESS_TMP/job.yaml" --chunk-size 2000 --allow-extra
assert_contains "$(cat "$HARNESS_TMP/allow_extra.out")" \
    "verify: every source row is in the target: source 20000 rows, target 20001 in 10 key range(s) of acct_id" \
    "--allow-extra: passes, and says the target holds more"
assert_contains "$(cat "$HARNESS_TMP/allow_extra.out")" "extra in target (1): acct_id 999999" \
    "--allow-extra: the extra row is still listed"

# --- 3. types that differ, duplicates and NULL keys
pg_psql src -c "CREATE TABLE m (id int PRIMARY KEY, amount numeric(12,2), at timestamp, note varchar(20))" \
    -c "INSERT INTO m SELECT g, g / 7.0, timestamp '2026-01-01' + g * interval '37 minutes', 'n' || g
        FROM generate_series(1, 3000) g"
pg_psql tgt -c "CREATE TABLE m (id bigint PRIMARY KEY, amount numeric, at timestamptz, note text)"
coord_job "$HARNESS_TMP/m.yaml" public.m "SELECT * FROM m ORDER BY id" id \
    "chunk_size: 500, min_rows_for_parallel: 100"
run_expect 0 m_load "$coord" run "$HARNESS_TMP/m.yaml" --local-workers 1 --slots 2
run_expect 0 m_same "$coord" verify "$HARNESS_TMP/m.yaml"
assert_contains "$(cat "$HARNESS_TMP/m_same.out")" \
    "verify: the same rows: source 3000 rows, target 3000 in 6 key range(s) of id" \
    "types differ: the same rows after the load"
pg_psql tgt -c "UPDATE m SET at = at + interval '1 second' WHERE id = 2999"
run_expect 1 m_changed "$coord" verify "$HARNESS_TMP/m.yaml"
assert_contains "$(cat "$HARNESS_TMP/m_changed.out")" "different values (1): id 2999" \
    "types differ: a changed timestamp is found"

for side in src tgt; do
    pg_psql "$side" -c "CREATE TABLE n (k int, v text)" \
        -c "INSERT INTO n SELECT CASE WHEN g % 100 = 0 THEN NULL ELSE g END, 'v' || g
            FROM generate_series(1, 1000) g"
done
pg_psql tgt -c "INSERT INTO n VALUES (500, 'v500')"
coord_job "$HARNESS_TMP/n.yaml" public.n "SELECT * FROM n" k "chunk_size: 100"
run_expect 1 n_dup "$coord" verify "$HARNESS_TMP/n.yaml"
assert_contains "$(cat "$HARNESS_TMP/n_dup.out")" "extra in target (1): k 500" "no primary key: the row held twice"
assert_contains "$(cat "$HARNESS_TMP/n_dup.out")" "source 1000 rows, target 1001" "no primary key: NULL keys counted"
pg_psql tgt -c "DELETE FROM n WHERE k IS NULL AND v = 'v300'"
run_expect 1 n_null "$coord" verify "$HARNESS_TMP/n.yaml"
assert_contains "$(cat "$HARNESS_TMP/n_null.out")" "missing in target (1): k NULL" "no primary key: a NULL-key row missing"

# Names that need quoting, a text key.
for side in src tgt; do
    pg_psql "$side" -c "CREATE TABLE \"Odd Table\" (\"Acct Id\" text PRIMARY KEY, \"it's\" int)" \
        -c "INSERT INTO \"Odd Table\" SELECT 'k' || g, g FROM generate_series(1, 700) g"
done
pg_psql tgt -c "UPDATE \"Odd Table\" SET \"it's\" = 0 WHERE \"Acct Id\" = 'k333'"
coord_job "$HARNESS_TMP/odd.yaml" 'public."Odd Table"' 'SELECT * FROM "Odd Table"' 'Acct Id' "chunk_size: 100"
run_expect 1 odd "$coord" verify "$HARNESS_TMP/odd.yaml"
assert_contains "$(cat "$HARNESS_TMP/odd.out")" "different values (1): Acct Id k333" "quoted names: the changed row"
assert_contains "$(cat "$HARNESS_TMP/odd.out")" "1 of 7 key range(s) differ; source 700 rows, target 700" "quoted names: the summary"

# --- 4. reads only; sessions named; refusals
assert_eq "$tables_before" "$(relations tgt)" "verify created nothing on the target"
grep -q "connection authorized: .*application_name=ferry/verify" "$(pg_server_log tgt)" ||
    fail "verify's target session is not named ferry/verify"
assert_eq "$src_tables_before" "$(relations src)" "verify created nothing on the source"
printf 'id,v\n1,a\n' >"$HARNESS_TMP/f.csv"
cat >"$HARNESS_TMP/file.yaml" <<EOF
source:
  kind: csv
  path: '$HARNESS_TMP/f.csv'
  format: { header: true }
target:
  conninfo: '$(pg_dsn tgt)'
  table: public.n
  merge: { key: [k] }
EOF
run_expect 3 file "$coord" verify "$HARNESS_TMP/file.yaml"
assert_contains "$(cat "$HARNESS_TMP/file.err")" "source.kind csv: verify compares a postgres source with the target" \
    "a file source is refused"
run_expect 2 usage "$coord" verify
run_expect 0 help "$coord" verify --help
assert_contains "$(cat "$HARNESS_TMP/help.out")" "Usage: ferry-coordinator verify JOB.yaml" "verify --help"
assert_contains "$(cat "$HARNESS_TMP/usage.err")" "which job? give JOB.yaml" "no job file"
no_sanitizer_reports same tampered tampered_json counts_only extra_only allow_extra m_load m_same \
    m_changed n_dup n_null odd file usage tampered_run run_unknown run_gap
echo "coord_verify: OK"
