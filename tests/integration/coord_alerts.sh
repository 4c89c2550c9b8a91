#!/usr/bin/env bash
# tests/integration/coord_alerts.sh: alerts (issue 14) on real clusters.
# - Two published runs make the job's baseline; a third, normal run
#   raises no alert (report "alerts": [], "alerts none" in its summary).
# - A run made slow on purpose (both workers stopped with SIGSTOP for 1.5x
#   the slowest normal run + 2 s
#   as soon as they start) raises execution_time against the baseline: a
#   WARN line, an entry with figure, baseline and threshold in the report,
#   and history counts it; the run still publishes and exits 0.
# - With alerts.fail_run: true (and wall_ratio 0.01, so the alert is
#   certain) the run publishes but exits 1.
# - A target whose max_connections (30) is nearly used up (24 sessions
#   held open by psql) raises the connections alert for the target.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup "max_connections = 30"
coord_accounts 60000
job="$HARNESS_TMP/job.yaml"
# liveness 60 x 1 s: workers stopped for a while are late, not lost.
ferry_write_job "$job" src tgt public.accounts "SELECT * FROM accounts ORDER BY acct_id" acct_id \
    "pipeline: { chunk_size: 20000, min_rows_for_parallel: 1000 }" \
    "cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 1000, liveness: 60 }"

alerts_of() {   # RUN -> the names of the report's alerts, space-separated
    "$py" -c 'import json,sys; print(" ".join(a["name"] + ":" + a["subject"] for a in json.load(open(sys.argv[1]))["alerts"]))' "$HARNESS_TMP/$1.json"
}
for i in 1 2 3; do
    run_expect 0 "n$i" "$coord" run "$job" --local-workers 2 --run-id "n$i" --report "$HARNESS_TMP/n$i.json"
done
[[ -z $(alerts_of n3) ]] || { grep "alert:" "$HARNESS_TMP/n3.err" >&2; fail "a normal run raised an alert (above)"; }
assert_contains "$(cat "$HARNESS_TMP/n3.out")" "alerts          none" "the summary says no alert"
assert_contains "$(cat "$HARNESS_TMP/n3.out")" "(median of the last 2 published run(s))" "the summary shows the baseline"
if grep -q "alert:" "$HARNESS_TMP/n3.err"; then fail "a normal run logged an alert"; fi

# The slow run: its workers stop for 1.5 x the slowest normal run + 2 s,
# so it takes well over twice the baseline however busy the machine is.
stop_s=$("$py" -c 'import json,sys; print(round(1.5 * max(json.load(open(p))["wall_seconds"] for p in sys.argv[1:]) + 2, 1))' \
    "$HARNESS_TMP"/n[123].json)
"$coord" run "$job" --local-workers 2 --run-id slow --report "$HARNESS_TMP/slow.json" \
    >"$HARNESS_TMP/slow.out" 2>"$HARNESS_TMP/slow.err" &
cpid=$!
harness_on_exit "pkill -CONT -P $cpid 2>/dev/null || true; kill $cpid 2>/dev/null || true"
# Its workers exist only while it loads.
two_workers() { [[ $(pgrep -c -P "$cpid" ferry-worker || true) == 2 ]]; }
poll_until 30 "the slow run's two workers" two_workers
pkill -STOP -P "$cpid" ferry-worker
sleep "$stop_s"      # the slowness itself, not a wait for an outcome
pkill -CONT -P "$cpid" ferry-worker
rc=0
wait "$cpid" || rc=$?
[[ $rc == 0 ]] || { tail -n 20 "$HARNESS_TMP/slow.err" >&2; fail "the slow run exits 0 (alerts do not fail a run by default), got $rc"; }
assert_contains "$(alerts_of slow)" "execution_time:" "the slow run raises execution_time"
grep -q "WARN.*alert: execution time .* is over 2.0x the job's baseline of" "$HARNESS_TMP/slow.err" \
    || { grep alert "$HARNESS_TMP/slow.err" >&2; fail "the slow run logs the alert as a WARN line"; }
"$py" - "$HARNESS_TMP/slow.json" "$HARNESS_TMP/n1.json" "$HARNESS_TMP/n2.json" "$HARNESS_TMP/n3.json" <<'PY' || fail "the alert's figures (above)"
import json, statistics, sys
r = json.load(open(sys.argv[1]))
base = statistics.median([json.load(open(p))["wall_seconds"] for p in sys.argv[2:]])
a = [x for x in r["alerts"] if x["name"] == "execution_time"][0]
assert r["status"] == "published", r["status"]
assert abs(a["baseline"] - base) < 0.0015, (a, base)
assert abs(a["threshold"] - 2 * a["baseline"]) < 0.002, a
assert a["figure"] > a["threshold"] and abs(a["figure"] - r["wall_seconds"]) < 0.01, a
assert r["job_baseline"]["runs"] == 3, r["job_baseline"]
PY
run_expect 0 hist "$coord" history --job "$job" --json
"$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); r=[x for x in d["runs"] if x["run_id"]=="slow"][0]; assert any(a["name"]=="execution_time" for a in r["alerts"]), r' \
    "$HARNESS_TMP/hist.out" || fail "history shows the slow run's alert"

# fail_run.
sed 's/^cluster:/alerts: { wall_ratio: 0.01, fail_run: true }\ncluster:/' "$job" >"$HARNESS_TMP/failrun.yaml"
run_expect 1 failrun "$coord" run "$HARNESS_TMP/failrun.yaml" --local-workers 2 --run-id failrun --report "$HARNESS_TMP/failrun.json"
assert_contains "$(alerts_of failrun)" "execution_time:" "fail_run: the alert"
assert_contains "$(cat "$HARNESS_TMP/failrun.err")" "alerts.fail_run is true and the run raised" "fail_run: says why it exits 1"
assert_eq published "$(pg_psql tgt -At -c "SELECT status FROM ferry.runs WHERE run_id = 'failrun'")" "fail_run: the rows are published all the same"

# Connections nearly used up on the target: 24 of 30 held open.
for i in $(seq 1 24); do
    pg_psql tgt -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
    harness_on_exit "kill $! 2>/dev/null || true"
done
held() { [[ $(pg_psql tgt -At -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)'") == 24 ]]; }
poll_until 20 "24 sessions held" held
run_expect 0 conns "$coord" run "$job" --local-workers 1 --slots 1 --run-id conns --report "$HARNESS_TMP/conns.json"
assert_contains "$(alerts_of conns)" "connections:target" "the connections alert for the target"
grep -q "WARN.*alert: connections: [0-9]* of the target server's max_connections 30 in use (over 80%)" "$HARNESS_TMP/conns.err" \
    || { grep alert "$HARNESS_TMP/conns.err" >&2; fail "the connections alert's WARN line"; }
if grep -q "connections:source" <<<"$(alerts_of conns)"; then fail "the source (60 connections, few used) raised a connections alert"; fi
no_sanitizer_reports n1 n2 n3 slow failrun conns
echo "coord_alerts: OK"
