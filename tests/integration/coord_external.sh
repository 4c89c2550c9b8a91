#!/usr/bin/env bash
# tests/integration/coord_external.sh: ferry-coordinator run without
# --local-workers waits for workers; two ferry-worker --coordinator
# processes started by hand (one slot each, 12 chunks, concurrency pinned
# at 2 so both work) join, share the
# chunks, and leave with exit 0 on STOP. The run publishes (exit 0), the
# report and the ledger both credit each worker by name with its chunks
# and rows, and final == source. Any sanitizer report from the
# coordinator or either worker fails the test.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord=$(ferry_bin ferry-coordinator)
worker=$(ferry_bin ferry-worker)
pg_start src
pg_start tgt
# The system python3 when there is one: a version-manager shim in front of
# it (pyenv) costs about a second a call on a loaded machine.
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to read the JSON report)"

# show_logs: the tails of every process's output, for a failure.
show_logs() {
    local f
    for f in coord.out coord.err ext-a.err ext-b.err; do
        echo "--- $f (last 30 lines)" >&2
        tail -n 30 "$HARNESS_TMP/$f" >&2 2>/dev/null || true
    done
}
# exited PID: true once PID is gone.

pg_psql src <<'EOF'
CREATE TABLE x (id bigint PRIMARY KEY, v text, n numeric, at timestamptz);
INSERT INTO x SELECT g, 'row ' || g || repeat('.', g % 50), g / 3.0,
    '2020-01-01 00:00:00+00'::timestamptz + g * interval '1 minute 1.5 seconds'
  FROM generate_series(1, 6000) g;
ANALYZE x;
EOF
pg_psql tgt -c "CREATE TABLE x (id bigint PRIMARY KEY, v text, n numeric, at timestamptz)"

port=$(free_port)
endpoint="tcp://127.0.0.1:$port"
job="$HARNESS_TMP/ext.yaml"
ferry_write_job "$job" src tgt public.x "SELECT * FROM x ORDER BY id" id \
    "pipeline: { chunk_size: 500, min_rows_for_parallel: 1000, concurrency: 2 }" \
    "cluster: { bind: '$endpoint', heartbeat_ms: 200, liveness: 10 }"
report="$HARNESS_TMP/ext.json"

# The cluster secret the workers must prove (issue 10, item 7): in a file
# named by cluster.secret_file for the coordinator and worker ext-a
# (--secret-file), in FERRY_CLUSTER_SECRET for worker ext-b.
secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
secret_file="$HARNESS_TMP/cluster.secret"
(umask 077; printf '%s\n' "$secret" >"$secret_file")

# Without a secret, a coordinator that waits for external workers refuses
# to start and says what to set.
unset FERRY_CLUSTER_SECRET
run_expect 3 nosecret "$coord" run "$job" --run-id ext-nosecret
for what in "no cluster secret" FERRY_CLUSTER_SECRET cluster.secret_file --secret-file; do
    assert_contains "$(cat "$HARNESS_TMP/nosecret.err")" "$what" "the refusal names $what"
done
echo "cluster: { bind: '$endpoint', heartbeat_ms: 200, liveness: 10, secret_file: '$secret_file' }" \
    >>"$job"
sed -i "0,/^cluster: { bind: '[^']*', heartbeat_ms: 200, liveness: 10 }\$/{//d}" "$job"
grep -c '^cluster:' "$job" | grep -qx 1 || fail "job file: expected one cluster: line"

# The coordinator first, as an operator would run it; it must wait.
timeout 90 "$coord" run "$job" --report "$report" --run-id ext \
    >"$HARNESS_TMP/coord.out" 2>"$HARNESS_TMP/coord.err" </dev/null &
coord_pid=$!
harness_on_exit "kill $coord_pid 2>/dev/null"
poll_until 30 "the coordinator to wait for workers" grep -q "waiting for workers" "$HARNESS_TMP/coord.err"
assert_contains "$(cat "$HARNESS_TMP/coord.err")" "ferry-worker --coordinator $endpoint" \
    "the coordinator tells how to start workers"
# Nothing moves without workers.
sleep 0.5
exited "$coord_pid" && { show_logs; fail "the coordinator exited without workers"; }
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = 'ext'")" \
    "no chunk committed before any worker joined"

# Two workers by hand, one slot each, so neither can take every chunk at
# once.
declare -A wpid
timeout 90 "$worker" --coordinator "$endpoint" --slots 1 --name ext-a --secret-file "$secret_file" \
    >"$HARNESS_TMP/ext-a.out" 2>"$HARNESS_TMP/ext-a.err" </dev/null &
wpid[ext-a]=$!
FERRY_CLUSTER_SECRET="$secret" timeout 90 "$worker" --coordinator "$endpoint" --slots 1 --name ext-b \
    >"$HARNESS_TMP/ext-b.out" 2>"$HARNESS_TMP/ext-b.err" </dev/null &
wpid[ext-b]=$!
for name in ext-a ext-b; do
    harness_on_exit "kill ${wpid[$name]} 2>/dev/null"
done

poll_until 60 "the coordinator to finish" exited "$coord_pid"
coord_rc=0
wait "$coord_pid" || coord_rc=$?
[[ $coord_rc -eq 0 ]] || { show_logs; fail "coordinator exited with $coord_rc, expected 0"; }
for name in ext-a ext-b; do
    poll_until 20 "worker $name to leave after STOP" exited "${wpid[$name]}"
    rc=0
    wait "${wpid[$name]}" || rc=$?
    [[ $rc -eq 0 ]] || { show_logs; fail "worker $name exited with $rc after STOP, expected 0"; }
    assert_contains "$(cat "$HARNESS_TMP/$name.err")" "coordinator says STOP" "worker $name got STOP"
done
assert_clean_stderr "$HARNESS_TMP/coord.err" "$HARNESS_TMP/ext-a.err" "$HARNESS_TMP/ext-b.err"

# The data.
assert_same_rows src "SELECT * FROM x" tgt "SELECT * FROM x" "final == source"
assert_contains "$(cat "$HARNESS_TMP/coord.out")" "ferry run ext: published" "summary"

# The secret never shows in any output, or in the processes' argv.
if grep -rlF -- "$secret" "$HARNESS_TMP"/*.out "$HARNESS_TMP"/*.err "$report" 2>/dev/null; then
    fail "the cluster secret appears in the files above"
fi
# Both workers did chunks, by the report and by the ledger, and the two
# agree.
"$py" - "$report" >"$HARNESS_TMP/report_workers" <<'EOF' || { show_logs; fail "report check failed (above)"; }
import json, sys
r = json.load(open(sys.argv[1]))
errors = []
if r["status"] != "published": errors.append(f"status {r['status']!r}")
if r["rows_loaded"] != 6000: errors.append(f"rows_loaded {r['rows_loaded']}")
if r["chunks_total"] != 12: errors.append(f"chunks_total {r['chunks_total']}")
w = {x["name"]: x for x in r["workers"]}
if sorted(w) != ["ext-a", "ext-b"]: errors.append(f"workers {sorted(w)}, expected ext-a and ext-b")
for name, x in w.items():
    if x["chunks"] <= 0 or x["rows"] <= 0: errors.append(f"{name} did {x['chunks']} chunks, {x['rows']} rows")
if sum(x["chunks"] for x in w.values()) != 12: errors.append("worker chunks do not sum to 12")
if sum(x["rows"] for x in w.values()) != 6000: errors.append("worker rows do not sum to 6000")
if errors:
    print("report " + sys.argv[1] + ":\n  " + "\n  ".join(errors), file=sys.stderr)
    print(json.dumps(r, indent=1), file=sys.stderr)
    sys.exit(1)
for name in sorted(w):
    print(f"{name}|{w[name]['chunks']}|{w[name]['rows']}")
EOF
assert_eq "$(cat "$HARNESS_TMP/report_workers")" "$(pg_psql tgt -Atc "SELECT worker, count(*), sum(rows)
    FROM ferry.chunk_commits WHERE run_id = 'ext' GROUP BY worker ORDER BY worker")" \
    "ledger per worker (worker|chunks|rows) == report"
assert_eq "12|6000|12" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows), count(committed_at)
    FROM ferry.chunk_commits WHERE run_id = 'ext'")" "ledger totals"
assert_eq published "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = 'ext'")" "ferry.runs status"

echo "coord_external: OK"
