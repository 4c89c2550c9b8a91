#!/usr/bin/env bash
# tests/integration/csv_reference.sh: the reference workload (accounts,
# 20000 rows) exported as one CSV file with a header and loaded back by
# ferry-coordinator run with 2 local workers: final == source row for row.
# Case 1: one file, chunks of about 3000 records, publish: merge. Case 2:
# the same records pre-split into 8 files (each with the header line),
# loaded through a glob into a fresh table, publish: merge. Case 3: the one
# file again with publish: direct into a fresh empty table. Each run: exit
# 0, several chunks, ledger rows sum to 20000 with no rejects, report
# rows_read = rows_loaded = 20000. Any sanitizer report fails the test.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord=$(ferry_bin ferry-coordinator)
ferry_bin ferry-worker >/dev/null
pg_start src
pg_start tgt
tgt_dsn=$(pg_dsn tgt)
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to read the JSON report)"

rows=20000

# report TAG FIELD...: the fields of run TAG's JSON report, space-separated.
report() {
    local tag="$1"
    shift
    "$py" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(str(r.get(k)) for k in sys.argv[2:]))' "$HARNESS_TMP/$tag.json" "$@"
}
# load TAG PATH TABLE PUBLISH CHUNK_SIZE: writes the job and runs it with 2
# local workers; checks exit 0, the ledger and the report.
load() {
    local tag="$1" path="$2" table="$3" publish="$4" chunk="$5" job="$HARNESS_TMP/$1.yaml"
    cat >"$job" <<EOF
source:
  kind: csv
  path: '$path'
  format: { header: true }
target:
  conninfo: '$tgt_dsn'
  table: public.$table
  publish: $publish
  merge: { key: [acct_id] }
pipeline: { chunk_size: $chunk, min_rows_for_parallel: 0, batch_size: 1000 }
retry: { max_retries: 3, initial_delay: 0.2, backoff: 2.0, max_delay: 1 }
cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200 }
EOF
    ferry_run_job "$tag" "$job" 0
    tag=$RUN
    local ledger
    ledger=$(pg_psql tgt -Atc "SELECT count(*), sum(rows), sum(rejected), count(committed_at)
        FROM ferry.chunk_commits WHERE run_id = '$tag'")
    local nchunks="${ledger%%|*}"
    [[ "$nchunks" -ge 3 ]] || fail "$tag: expected several chunks, the ledger has $nchunks"
    assert_eq "$nchunks|$rows|0|$nchunks" "$ledger" "$tag: ledger (chunks, rows, rejected, committed)"
    assert_eq "0" "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.rejects WHERE run_id = '$tag'")" \
        "$tag: no rejects"
    assert_eq "published $publish $rows $rows 0 $nchunks" \
        "$(report "$tag" status publish rows_read rows_loaded rows_rejected chunks_total)" \
        "$tag: report (status, publish, rows_read, rows_loaded, rows_rejected, chunks_total)"
    assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM public.$table" \
        "$tag: final == source"
}

# The source and its export (a header line, then one line per row).
pg_psql src -v rows="$rows" -f "$FERRY_SOURCE_DIR/bench/workloads/accounts.sql" >/dev/null
assert_eq "$rows" "$(pg_psql src -Atc 'SELECT count(*) FROM accounts')" "source rows"
csv="$HARNESS_TMP/f.csv"
pg_psql src -c "\\copy (SELECT * FROM accounts ORDER BY acct_id) TO '$csv' CSV HEADER"
assert_eq $((rows + 1)) "$(wc -l <"$csv")" "export: header + one line per row"
# The export must really hold CSV quoting (the jsonb column) and NULLs.
grep -q '"{""vip"": ' "$csv" || fail "export: no quoted jsonb field"
grep -qE ',,' "$csv" || fail "export: no empty (NULL) field"

# The final tables: the workload's own definition (0 rows), then copies.
pg_psql tgt -v rows=0 -f "$FERRY_SOURCE_DIR/bench/workloads/accounts.sql" >/dev/null
pg_psql tgt -c "CREATE TABLE accounts_glob (LIKE accounts INCLUDING ALL);
    CREATE TABLE accounts_direct (LIKE accounts INCLUDING ALL)"

# The plan cuts the one file into record-aligned ranges that cover it.
job="$HARNESS_TMP/plan.yaml"
cat >"$job" <<EOF
source: { kind: csv, path: '$csv', format: { header: true } }
target: { conninfo: '$tgt_dsn', table: public.accounts, merge: { key: [acct_id] } }
pipeline: { chunk_size: 3000, min_rows_for_parallel: 0 }
EOF
run_expect 0 plan "$coord" plan "$job"
"$py" - "$csv" "$HARNESS_TMP/plan.out" <<'EOF' || fail "plan: ranges do not tile the file on line boundaries"
import sys
data = open(sys.argv[1], "rb").read()
ranges = []
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) == 6 and f[0].isdigit():
        ranges.append((int(f[2]), int(f[3]), int(f[4]), int(f[5])))
assert len(ranges) >= 5, ranges
pos = data.index(b"\n") + 1          # after the header
for off, n, first, lines in ranges:
    assert off == pos, (off, pos)
    assert data[off - 1:off] == b"\n"
    assert first == data.count(b"\n", 0, off) + 1, (off, first)
    pos = off + n
assert pos == len(data), (pos, len(data))
EOF

# Case 1: one file, merge.
load one "$csv" accounts merge 3000

# Case 2: 8 files with a header each, through a glob, merge.
parts="$HARNESS_TMP/parts"
mkdir -p "$parts"
tail -n +2 "$csv" >"$HARNESS_TMP/body.csv"
(cd "$parts" && split -n l/8 -d "$HARNESS_TMP/body.csv" body-)
for b in "$parts"/body-*; do
    { head -n 1 "$csv"; cat "$b"; } >"$parts/part-${b##*-}.csv"
    rm -f "$b"
done
assert_eq 8 "$(find "$parts" -name 'part-*.csv' | wc -l)" "8 part files"
assert_eq $((rows + 8)) "$(cat "$parts"/part-*.csv | wc -l)" "part files: lines"
load glob "$parts/part-*.csv" accounts_glob merge 1000
assert_eq 8 "$(pg_psql tgt -Atc "SELECT count(DISTINCT path) FROM ferry.chunks WHERE run_id = '$RUN'")" \
    "glob: chunks from all 8 files"

# Case 3: one file, direct into an empty table.
load direct "$csv" accounts_direct direct 3000

echo "csv_reference: OK"
