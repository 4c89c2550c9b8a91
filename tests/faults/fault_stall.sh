#!/usr/bin/env bash
# tests/faults/fault_stall.sh: a worker that heartbeats but never finishes
# its chunk (issue 10, item 8). Two local workers with one slot each; the
# test-only hook FERRY_FAULT_STALL_CHUNK=2 freezes attempt 1 of chunk 2
# right after its target transaction began, while the worker keeps
# heartbeating and sending PROGRESS that never advances. With
# cluster.chunk_stall_timeout: 2 the coordinator must requeue chunk 2 to
# the other slot (naming the chunk and the worker), the run must publish
# every source row exactly once, and STOP must release the frozen attempt.
# Before the fix the run waited for chunk 2 for ever.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

# 6 chunks of 1000 rows; slow(id) never sleeps (every 10^9 keys).
faults_start 6000 1000000000 0 1000
faults_job_edit "$job" 's/liveness: 5 }/liveness: 5, chunk_stall_timeout: 2 }/' \
    "chunk_stall_timeout: 2" "set cluster.chunk_stall_timeout"
run=stall
t0=$SECONDS

FERRY_FAULT_STALL_CHUNK=2 start_coordinator coord run "$job" --run-id "$run" \
    --local-workers 2 --slots 1 --report "$HARNESS_TMP/report.json"
# 60 s is far beyond the expected ~5 s: a hang (the old behaviour) fails
# here instead of blocking ctest.
wait_rc "$COORD_PID" 60 "coordinator with a stalled chunk"
wait_rc_ok "coordinator exited $WAIT_RC (expected 0)" "$HARNESS_TMP/coord.out" "$HARNESS_TMP/coord.err"
assert_clean_stderr "$HARNESS_TMP/coord.err"
no_sanitizer_reports coord
err=$(cat "$HARNESS_TMP/coord.err")
assert_contains "$err" "FERRY_FAULT_STALL_CHUNK: freezing chunk 2 attempt 1" "the hook froze chunk 2"
if ! grep -qE "chunk 2 stalled: no progress for [0-9]+ s on worker local-[12] \(attempt 1, " \
        "$HARNESS_TMP/coord.err"; then
    show_tail "$HARNESS_TMP/coord.err"
    fail "the coordinator did not log chunk 2 as stalled, naming its worker"
fi
assert_contains "$err" "requeued to another slot" "the stalled chunk was requeued"
# Only the frozen chunk stalled.
assert_eq 1 "$(grep -c 'stalled: no progress' "$HARNESS_TMP/coord.err")" "stalled chunks logged"
# The frozen attempt was released by STOP and rolled back.
assert_contains "$err" "chunk 2: interrupted; rolled back" "STOP released the frozen attempt"

assert_final_is_source public.t "after a stalled chunk"
assert_ledger_exact "$run" "$FAULT_ROWS" "after a stalled chunk"
assert_eq 2 "$(pg_psql tgt -Atc "SELECT attempt FROM ferry.chunk_commits WHERE run_id = '$run' AND chunk_id = 2")" \
    "chunk 2 committed by its second attempt"
assert_eq published "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$run'")" "run status"
echo "fault_stall: OK ($((SECONDS - t0)) s)"
