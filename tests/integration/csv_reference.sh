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

# free_port: a TCP port nobody listens on, for cluster.bind.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        [[ -n "$(ss -Htln "sport = :$p" 2>/dev/null)" ]] || { echo "$p"; return 0; }
    done
    fail "no free TCP port found"
}
# no_sanitizer_reports TAG: the stderr of run TAG (coordinator and its
# local workers) holds no sanitizer report and no worker that died.
no_sanitizer_reports() {
    local f="$HARNESS_TMP/$1.err"
    if grep -qE 'Sanitizer|runtime error:' "$f"; then
        grep -E -B2 -A40 'Sanitizer|runtime error:' "$f" | head -n 120 >&2
        fail "$1: sanitizer report in the ferry processes' stderr (above)"
    fi
    if grep -qE 'local worker .* (exited with status|killed by signal)' "$f"; then
        grep -E 'local worker' "$f" >&2
        fail "$1: a local worker died"
    fi
}
# run_job TAG JOB WANT_RC: runs JOB (a job file whose cluster.bind port is
# written @PORT@) with 2 local workers as run TAG and expects exit WANT_RC.
# Another process can take the free port before the coordinator binds it:
# then the run is retried on a new port as run TAG-2 (TAG-3). Sets RUN to
# the run id that counted; its outputs are $HARNESS_TMP/$RUN.{out,err,json}.
run_job() {
    local tag="$1" tmpl="$2" want="$3" try job
    for try in 1 2 3; do
        RUN="$tag"
        [[ $try -eq 1 ]] || RUN="$tag-$try"
        job="$HARNESS_TMP/$RUN.yaml"
        sed "s/@PORT@/$(free_port)/" "$tmpl" >"$job"
        run_capture "$RUN" "$coord" run "$job" --local-workers 2 --report "$HARNESS_TMP/$RUN.json" --run-id "$RUN"
        grep -q 'cluster.bind: cannot bind .*Address already in use' "$HARNESS_TMP/$RUN.err" || break
    done
    if [[ "$RUN_RC" != "$want" ]]; then
        echo "--- stdout of run $RUN (last 40 lines):" >&2
        tail -n 40 "$HARNESS_TMP/$RUN.out" >&2
        echo "--- stderr of run $RUN (last 40 lines):" >&2
        tail -n 40 "$HARNESS_TMP/$RUN.err" >&2
        fail "run $RUN: expected exit status $want, got $RUN_RC"
    fi
    no_sanitizer_reports "$RUN"
}
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
    local tag="$1" path="$2" table="$3" publish="$4" chunk="$5" job="$HARNESS_TMP/$1.tmpl"
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
cluster: { bind: 'tcp://127.0.0.1:@PORT@', heartbeat_ms: 200 }
EOF
    run_job "$tag" "$job" 0
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
