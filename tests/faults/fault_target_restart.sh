#!/usr/bin/env bash
# tests/faults/fault_target_restart.sh: the target server restarts (pg_ctl
# restart -m fast) in the middle of a run, after the first commits and
# while chunks are in flight. In-flight chunks fail with a connection
# error and are retried; the coordinator's own ledger connection
# reconnects; the run completes: final == source row for row, every chunk
# committed exactly once, no sanitizer report.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

pg_start src
pg_start tgt
# 16 chunks of 1000 rows, ~3 s each inside a worker's COPY, so a restart
# lands mid-COPY even when the machine is slow to run psql.
faults_workload 16000 100 0.3
job="$HARNESS_TMP/job.yaml"
faults_job "$job" public.t 1000
run=tgtrestart
t0=$SECONDS

start_coordinator coord run "$job" --local-workers 2 --run-id "$run" --report "$HARNESS_TMP/report.json"

copying() { [[ $(copies_in_flight) -ge 1 ]]; }
poll_until 60 "a first committed chunk" run_has_commits "$run" 1
poll_until 30 "a COPY in flight on the target" copying
before=$(committed "$run")
inflight=$(copies_in_flight)
pg_restart tgt
echo "fault_target_restart: restarted the target with $before chunk(s) committed, $inflight COPY(s) in flight"

wait_rc "$COORD_PID" 120 "coordinator after the target restart"
if [[ "$WAIT_RC" != 0 ]]; then
    show_tail "$HARNESS_TMP/coord.out" "$HARNESS_TMP/coord.err"
    fail "coordinator exited $WAIT_RC after a target restart (expected 0)"
fi
assert_clean_stderr "$HARNESS_TMP/coord.err"
# The in-flight chunks failed and were retried.
grep -qE "chunk [0-9]+ attempt [0-9]+ on local-[0-9]+ failed, will retry" "$HARNESS_TMP/coord.err" ||
    { show_tail "$HARNESS_TMP/coord.err"; fail "no chunk was retried after the target restart"; }

assert_final_is_source public.t "after a target restart"
assert_ledger_exact "$run" "$FAULT_ROWS" "after a target restart"
assert_eq published "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$run'")" "run status"
python3 - "$HARNESS_TMP/report.json" <<'EOF' || fail "report check failed (above)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "published", r["status"]
assert r["chunks_retried"] >= 1, f"chunks_retried {r['chunks_retried']} after a target restart mid-chunk"
assert r["rows_loaded"] == 16000, r["rows_loaded"]
EOF
no_workers_left 10
echo "fault_target_restart: OK ($((SECONDS - t0)) s)"
