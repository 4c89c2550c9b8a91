#!/usr/bin/env bash
# tests/integration/csv_quote_state.sh: quotes that do not open a quoted
# field. By the grammar of common/csv.c (which the planner and the
# processors share), a quote opens a quoted field only as the first byte of
# a field; elsewhere it is data ('5" screen'), and bytes after a closing
# quote are appended to the field ('"ab"c"d' is ab + c"d). Such a quote
# must not change where the worker's reader cuts its batches: two files
# (through a glob, one range each, read in 4 KiB pieces), each with one
# such quote early on and later a record whose quoted field spans three
# lines, followed by more than 4 KiB of plain records. Every record must
# load as written, nothing rejected, records read = records in the files.
# Any sanitizer report fails the test.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

coord=$(ferry_bin ferry-coordinator)
ferry_bin ferry-worker >/dev/null
pg_start tgt
tgt_dsn=$(pg_dsn tgt)
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to build the files)"

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

dir="$HARNESS_TMP/files"
mkdir -p "$dir"
"$py" - "$dir" <<'EOF'
import os, sys
d = sys.argv[1]
expected = []
def write(name, base, odd_raw, odd_value):
    lines = ["id,a,b"]
    def rec(i, a_raw, a_val, b="plain"):
        lines.append("%d,%s,%s" % (i, a_raw, b))
        expected.append("%d\t%s\t%s" % (i, a_val.replace("\n", "\\n"), b))
    for i in range(base, base + 20):
        rec(i, "row %d" % i, "row %d" % i)
    rec(base + 20, odd_raw, odd_value)
    for i in range(base + 21, base + 60):
        rec(i, "row %d" % i, "row %d" % i)
    rec(base + 60, '"three\nphysical\nlines"', "three\nphysical\nlines")
    for i in range(base + 61, base + 300):
        rec(i, "row %d after the multi-line record" % i, "row %d after the multi-line record" % i)
    open(os.path.join(d, name), "w").write("\n".join(lines) + "\n")
write("q1.csv", 1000, '5" screen', '5" screen')
write("q2.csv", 2000, '"ab"c"d', 'abc"d')
open(os.path.join(d, "expected.tsv"), "w").write("".join(r + "\n" for r in expected))
EOF
nrec=$(wc -l <"$dir/expected.tsv")

pg_psql tgt -c "CREATE TABLE q (id int PRIMARY KEY, a text, b text); CREATE TABLE expected (LIKE q)"
pg_psql tgt -c "\\copy expected FROM '$dir/expected.tsv'"

cat >"$HARNESS_TMP/q.tmpl" <<EOF
source: { kind: csv, path: '$dir/q*.csv', format: { header: true } }
target: { conninfo: '$tgt_dsn', table: public.q, merge: { key: [id] } }
pipeline: { read_buffer: 4096, batch_size: 50 }
retry: { max_retries: 2, initial_delay: 0.2, backoff: 2.0, max_delay: 1 }
cluster: { bind: 'tcp://127.0.0.1:@PORT@', heartbeat_ms: 200 }
EOF
run_job q "$HARNESS_TMP/q.tmpl" 0
rejects=$(pg_psql tgt -Atc "SELECT string_agg(format('%s:%s: %s', file, line, reason), E'\\n' ORDER BY file, line)
    FROM ferry.rejects WHERE run_id = '$RUN'")
[[ -z "$rejects" ]] || fail "records rejected although every record is well-formed:
$rejects"
assert_eq "published $nrec $nrec 0" "$("$py" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["status"], r.get("rows_read"), r["rows_loaded"], r.get("rows_rejected"))' "$HARNESS_TMP/$RUN.json")" \
    "report: status rows_read rows_loaded rows_rejected"
assert_same_rows tgt "SELECT * FROM expected" tgt "SELECT * FROM q" "final == the files"

echo "csv_quote_state: OK"
