#!/usr/bin/env bash
# tests/faults/fault_zombie.sh: a zombie worker. Two external workers (A
# and B, started by hand so nobody restarts them). A is frozen (SIGSTOP)
# while it has a chunk in flight, for longer than its lease (liveness 5 x
# heartbeat 200 ms): the coordinator declares it lost and gives the chunk
# to B, which commits it. Then A is thawed (SIGCONT): its late commit of
# the same chunk fails against the ledger fence ("already committed" on
# its stderr), nothing is duplicated, A rejoins, the run completes, and
# both workers exit 0 at STOP.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

# 12 chunks of 1000 rows, ~1.5 s each inside a worker's COPY.
faults_start 12000 100 0.15 1000
run=zombie
t0=$SECONDS

start_coordinator coord run "$job" --run-id "$run" --report "$HARNESS_TMP/report.json"
start_worker wA wA --slots 1
pid_a=$WORKER_PID
start_worker wB wB --slots 1
pid_b=$WORKER_PID

a_copying() { [[ $(copies_in_flight wA) -ge 1 ]]; }
poll_until 60 "a first committed chunk" run_has_commits "$run" 1
poll_until 30 "worker A with a COPY in flight" a_copying
kill -STOP "$pid_a"
stopped_at=$SECONDS
echo "fault_zombie: froze wA (pid $pid_a) with $(committed "$run") chunk(s) committed"

# The coordinator gives up on A after ~1 s and requeues its chunk.
a_lost() { grep -qE "worker wA .* silent for [0-9]+ ms .*; 1 chunk\(s\) requeued" "$HARNESS_TMP/coord.err"; }
poll_until 15 "the coordinator to declare wA lost and requeue its chunk" a_lost
# B commits the requeued chunk (an attempt >= 2) while A is still frozen.
b_took_over() {
    [[ $(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = '$run'
        AND worker = 'wB' AND attempt >= 2 AND committed_at IS NOT NULL") -ge 1 ]]
}
if ! (poll_until 20 "wB to commit wA's requeued chunk" b_took_over); then
    echo "--- target locks while wA is frozen (waiting backends):" >&2
    pg_psql tgt -c "SELECT a.application_name, a.wait_event_type, a.wait_event, left(a.query, 60) AS query,
        pg_blocking_pids(a.pid) AS blocked_by FROM pg_stat_activity a
        WHERE a.application_name IN ('wA', 'wB') ORDER BY 1" >&2 || true
    show_tail "$HARNESS_TMP/coord.err" "$HARNESS_TMP/wB.err"
    fail "the chunk requeued from frozen wA was not committed by wB within 20 s (while wA stays frozen)"
fi
# Keep A frozen well past its lease in any case.
while [[ $((SECONDS - stopped_at)) -lt 3 ]]; do sleep 0.2; done
kill -CONT "$pid_a"
echo "fault_zombie: thawed wA after $((SECONDS - stopped_at)) s"

wait_rc "$COORD_PID" 90 "coordinator after the zombie"
wait_rc_ok "coordinator exited $WAIT_RC (expected 0)" \
    "$HARNESS_TMP/coord.out" "$HARNESS_TMP/coord.err" "$HARNESS_TMP/wA.err"
# Both workers got STOP and leave with status 0; A was alive to the end.
wait_rc "$pid_a" 15 "worker A after STOP"
rc_a=$WAIT_RC
wait_rc "$pid_b" 15 "worker B after STOP"
rc_b=$WAIT_RC
assert_clean_stderr "$HARNESS_TMP/coord.err" "$HARNESS_TMP/wA.err" "$HARNESS_TMP/wB.err"
assert_eq 0 "$rc_a" "worker A (the zombie) exit status at STOP"
assert_eq 0 "$rc_b" "worker B exit status at STOP"
assert_contains "$(cat "$HARNESS_TMP/wA.err")" "already committed" "the zombie's late commit hit the fence"
assert_contains "$(cat "$HARNESS_TMP/wA.err")" "coordinator says STOP" "the zombie rejoined and got STOP"
# Back on its old link ("is back") or on a new one (a second HELLO).
if ! grep -q "worker wA is back" "$HARNESS_TMP/coord.err" \
&& [[ $(grep -c "worker wA joined" "$HARNESS_TMP/coord.err") -lt 2 ]]; then
    grep "worker wA" "$HARNESS_TMP/coord.err" >&2
    fail "the coordinator did not see wA come back after SIGCONT"
fi

assert_published "$run" public.t "after a zombie" "run status"
echo "fault_zombie: OK ($((SECONDS - t0)) s)"
