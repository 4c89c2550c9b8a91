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

# 16 chunks of 1000 rows, ~3 s each inside a worker's COPY, so a restart
# lands mid-COPY even when the machine is slow to run psql.
faults_start 16000 100 0.3 1000
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
wait_rc_ok "coordinator exited $WAIT_RC after a target restart (expected 0)" \
    "$HARNESS_TMP/coord.out" "$HARNESS_TMP/coord.err"
assert_clean_stderr "$HARNESS_TMP/coord.err"
# The in-flight chunks failed and were retried.
assert_retried "$HARNESS_TMP/coord.err" "no chunk was retried after the target restart"

assert_published "$run" public.t "after a target restart" "run status"
assert_report_retried "$HARNESS_TMP/report.json" "a target restart mid-chunk"
no_workers_left 10
echo "fault_target_restart: OK ($((SECONDS - t0)) s)"
