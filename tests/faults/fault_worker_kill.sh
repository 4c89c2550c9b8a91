#!/usr/bin/env bash
# tests/faults/fault_worker_kill.sh: SIGKILL a local worker while it has a
# chunk in flight (its COPY active on the target, after the first commits).
# The coordinator notices the silence (liveness 5 x 200 ms), requeues the
# worker's chunks with attempt + 1, and the run completes: final == source
# row for row, every chunk committed exactly once, chunks_retried >= 1 in
# the report, no sanitizer report, no worker left behind.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

# 16 chunks of 1000 rows, ~1 s each inside a worker's COPY.
faults_start 16000 100 0.1 1000
run=wkill
report="$HARNESS_TMP/report.json"
t0=$SECONDS

start_coordinator coord run "$job" --local-workers 2 --run-id "$run" --report "$report"

# After the first commit, a worker with a COPY in flight on the target.
poll_until 60 "a first committed chunk" run_has_commits "$run" 1
victim=""
deadline=$((SECONDS + 30))
while [[ -z "$victim" && $SECONDS -lt $deadline ]]; do
    p=$(pid_of_copy_client || true)
    if [[ -n "$p" ]] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "--coordinator $FAULT_EP "; then
        victim=$p
    fi
    [[ -n "$victim" ]] || sleep 0.05
done
[[ -n "$victim" ]] || fail "no worker of $FAULT_EP with a COPY in flight on the target"
victim_name=$(tr '\0' ' ' <"/proc/$victim/cmdline" | grep -o -- '--name [^ ]*' | cut -d' ' -f2)
done_before=$(committed "$run")
kill -KILL "$victim"
echo "fault_worker_kill: killed $victim_name (pid $victim) with $done_before chunk(s) committed"

wait_rc "$COORD_PID" 120 "coordinator after the worker kill"
wait_rc_ok "coordinator exited $WAIT_RC after a worker was killed (expected 0)" \
    "$HARNESS_TMP/coord.out" "$HARNESS_TMP/coord.err"
err=$(cat "$HARNESS_TMP/coord.err")
assert_clean_stderr "$HARNESS_TMP/coord.err"
assert_contains "$err" "local worker $victim_name (pid $victim) killed by signal 9" "coordinator saw the kill"
grep -qE "worker $victim_name \([^)]*pid $victim\) silent for [0-9]+ ms .*; [1-9][0-9]* chunk\(s\) requeued" \
    <<<"$err" || { grep -E "worker $victim_name" <<<"$err" >&2; fail "coordinator stderr: worker $victim_name lost with chunks requeued"; }

assert_published "$run" public.t "after a worker kill" "run status"
assert_report_retried "$report" "a worker was killed mid-chunk"
no_workers_left 10
echo "fault_worker_kill: OK ($((SECONDS - t0)) s)"
