#!/usr/bin/env bash
# tests/integration/csv_record_limit.sh: source.format.max_record_bytes
# bounds a worker's memory whatever one record holds, and the coordinator
# stays small on a file of random bytes (issue 10, item 9). Through
# ferry-coordinator run with 2 local workers (publish: merge).
#   - A CSV whose line 4 is one 40 MB record (a quoted field holding a
#     newline, so it spans lines 4-5), and a bad record at line 8, with the
#     default limit (16 MiB): the run publishes the 6 good records; the
#     huge record is in ferry.rejects at line 4 with a reason naming
#     source.format.max_record_bytes and its size, and only its first
#     4096 bytes are stored; the bad record is at line 8 (line numbers
#     stay right after a dropped record); each worker's peak RSS (from
#     its own DONE/HEARTBEAT, in the JSON report) stays under 80 MB,
#     far below what holding the record takes (the old reader held it
#     whole, then its parsed and encoded copies: 151 MB).
#   - max_record_bytes: 1048576 and the same record again, but last in the
#     file without a final newline: rejected at its line, the rest loads,
#     and each worker's peak RSS stays under 36 MB, below the record's
#     40 MB (under ASan, with the small quarantine below, such a worker
#     peaks at about 26 MB).
#   - A job file with max_record_bytes: 100 (below 1024): exit 3 naming
#     the key.
#   - ferry-coordinator plan of a 50 MB file of random bytes: peak RSS
#     (/usr/bin/time; plan starts no worker) under 48 MB; and a run on a
#     16 MB random file with source.rejects_file (every record rejected):
#     the coordinator's own peak RSS (JSON report) under 48 MB although the
#     rejects file is larger (it is streamed from ferry.rejects).
# Any sanitizer report fails the test.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

# ASan keeps freed memory in a quarantine (256 MB by default), which counts
# in RSS and would measure how much was ever freed rather than what is
# live; a small quarantine keeps the peaks meaningful. No effect without
# ASan.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"

ferry_bin ferry-worker >/dev/null
coord=$(ferry_bin ferry-coordinator)
pg_start tgt
tgt_dsn=$(pg_dsn tgt)
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to read the JSON report)"
[[ -x /usr/bin/time ]] || fail "/usr/bin/time is missing (needed to measure the planner's RSS)"

# report EXPR: a Python expression over the JSON report r of run $RUN.
report() {
    "$py" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$HARNESS_TMP/$RUN.json" "$1"
}
# job TAG TABLE PATH [YAML_LINE...]: a job file for a CSV file with a
# header into public.TABLE (merge on id); the YAML_LINEs go under source:.
job() {
    local tag="$1" table="$2" path="$3" line
    shift 3
    {
        echo "source:"
        echo "  kind: csv"
        echo "  path: '$path'"
        # A few records out of a handful are rejected on purpose: no rate limit.
        echo "  max_error_rate: 1"
        for line in "$@"; do
            echo "  $line"
        done
        echo "target: { conninfo: '$tgt_dsn', table: public.$table, publish: merge, merge: { key: [id] } }"
        echo "pipeline: { chunk_size: 100000, min_rows_for_parallel: 0 }"
        echo "retry: { max_retries: 1, initial_delay: 0.2, backoff: 2.0, max_delay: 1 }"
        echo "cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200 }"
    } >"$HARNESS_TMP/$tag.yaml"
}
# check_worker_rss LIMIT_MB WHAT: every worker of run $RUN that ran a chunk
# reported a peak RSS, each below LIMIT_MB.
check_worker_rss() {
    local peaks
    peaks=$(report '" ".join("%.0f" % w["peak_rss_mb"] for w in r["workers"] if w["chunks"] > 0)')
    echo "$2: worker peak RSS (MB): $peaks"
    [[ -n "$peaks" ]] || fail "$2: no worker ran a chunk"
    for p in $peaks; do
        ((p > 0)) || fail "$2: a worker reported no peak RSS ($peaks)"
        ((p < $1)) || fail "$2: a worker's peak RSS is $p MB, limit $1 MB ($peaks)"
    done
}
# xs N: N bytes of 'x'.
xs() {
    head -c "$1" /dev/zero | tr '\0' x
}

# Line 4 is one record of 40 MB: 3,"xxx...<newline>xxx..." (lines 4-5).
big="$HARNESS_TMP/big.csv"
{
    printf 'id,v\n1,one\n2,two\n3,"'
    xs 20000000
    printf '\n'
    xs 20000000
    printf '"\n5,five\n6,six\noops,seven\n8,eight\n9,nine\n'
} >"$big"
pg_psql tgt -c "CREATE TABLE big (id int PRIMARY KEY, v text)"

# 1. The default limit (16 MiB).
job big big "$big" "format: { header: true }" "rejects_file: '$HARNESS_TMP/big.rejects'"
ferry_run_job big "$HARNESS_TMP/big.yaml" 0
check_worker_rss 80 "default limit"
assert_eq "published 8 6 2" "$(report '"%s %s %s %s" % (r["status"], r["rows_read"], r["rows_loaded"], r["rows_rejected"])')" \
    "default limit: report (status, read, loaded, rejected)"
assert_eq "1 2 5 6 8 9" "$(pg_psql tgt -Atc "SELECT string_agg(id::text, ' ' ORDER BY id) FROM big")" \
    "default limit: the good records"
assert_eq "4|4096|record of 40000006 bytes is longer than source.format.max_record_bytes (16777216); its first 4096 bytes are kept
8|10|column \"id\": \"oops\" is not a valid integer" \
    "$(pg_psql tgt -Atc "SELECT line, length(raw), reason FROM ferry.rejects WHERE run_id = '$RUN' ORDER BY line")" \
    "default limit: ferry.rejects (line, stored bytes, reason)"
assert_contains "$(cat "$HARNESS_TMP/big.rejects")" \
    "$big:4: record of 40000006 bytes is longer than source.format.max_record_bytes (16777216)" \
    "default limit: the rejects file names the line"

# 2. max_record_bytes: 1 MiB; the huge record last, without a final newline.
last="$HARNESS_TMP/last.csv"
{
    printf 'id,v\n1,one\n2,two\n3,three\n4,'
    xs 40000000
} >"$last"
pg_psql tgt -c "CREATE TABLE last (id int PRIMARY KEY, v text)"
job last last "$last" "format: { header: true, max_record_bytes: 1048576 }"
ferry_run_job last "$HARNESS_TMP/last.yaml" 0
check_worker_rss 36 "1 MiB limit"
assert_eq "published 4 3 1" "$(report '"%s %s %s %s" % (r["status"], r["rows_read"], r["rows_loaded"], r["rows_rejected"])')" \
    "1 MiB limit: report"
assert_eq "5|record of 40000002 bytes is longer than source.format.max_record_bytes (1048576); its first 4096 bytes are kept" \
    "$(pg_psql tgt -Atc "SELECT line, reason FROM ferry.rejects WHERE run_id = '$RUN'")" \
    "1 MiB limit: the record is rejected at its line"

# 3. A limit below the minimum is a job-file error.
job small last "$last" "format: { header: true, max_record_bytes: 100 }"
run_expect 3 small "$coord" plan "$HARNESS_TMP/small.yaml"
assert_contains "$(cat "$HARNESS_TMP/small.err")" "source.format.max_record_bytes" "max_record_bytes 100: names the key"

# 4. The coordinator on random bytes: planning, then a run whose every
#    record is rejected, with a rejects file.
pg_psql tgt -c "CREATE TABLE rnd (id int PRIMARY KEY, a int, b int)"
head -c 50000000 /dev/urandom >"$HARNESS_TMP/rnd50.bin"
job plan rnd "$HARNESS_TMP/rnd50.bin"
run_expect 0 plan /usr/bin/time -f 'maxrss_kb=%M' "$coord" plan "$HARNESS_TMP/plan.yaml"
rss=$(sed -n 's/^maxrss_kb=//p' "$HARNESS_TMP/plan.err")
echo "plan of 50 MB of random bytes: coordinator peak RSS ${rss} kB"
[[ -n "$rss" ]] || fail "plan: no RSS measured"
((rss < 48 * 1024)) || fail "plan of 50 MB of random bytes: coordinator peak RSS $rss kB, limit 48 MB"

head -c 16000000 /dev/urandom >"$HARNESS_TMP/rnd16.bin"
job rnd rnd "$HARNESS_TMP/rnd16.bin" "rejects_file: '$HARNESS_TMP/rnd.rejects'"
# Nothing loads and every record is rejected: the run fails (it must not
# look like a success), after writing the rejects file.
ferry_run_job rnd "$HARNESS_TMP/rnd.yaml" 1
assert_contains "$(cat "$HARNESS_TMP/rnd.err")" "were rejected and none loaded" "random bytes: refused"
crss=$(report '"%.0f" % r["coordinator_peak_rss_mb"]')
echo "run on 16 MB of random bytes: coordinator peak RSS $crss MB, rejects file $(stat -c %s "$HARNESS_TMP/rnd.rejects") bytes"
assert_eq 0 "$(report 'r["rows_loaded"]')" "random bytes: nothing loaded"
(($(stat -c %s "$HARNESS_TMP/rnd.rejects") > 16000000)) || fail "random bytes: the rejects file is short"
((crss < 48)) || fail "random bytes: coordinator peak RSS $crss MB, limit 48 MB"

echo "csv_record_limit: OK"
