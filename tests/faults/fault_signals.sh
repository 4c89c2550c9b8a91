#!/usr/bin/env bash
# tests/faults/fault_signals.sh: operators' signals in the middle of a run.
#  (a) SIGINT to the coordinator: exit 8, ferry.runs.status 'interrupted',
#      the output says how to resume, nothing published, no ferry-worker
#      left; then `resume` completes (final == source, each chunk once).
#  (b) The same with SIGTERM.
#  (c) A second signal aborts at once: two SIGINTs in quick succession
#      make the coordinator exit promptly with a non-zero status; its
#      local workers leave by themselves; the run can still be resumed.
#  (d) SIGTERM to one of two external workers while it copies: it rolls
#      its chunk back, says BYE and exits; the run completes with the
#      other worker.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

# 16 chunks of 1000 rows, ~1 s each inside a worker's COPY.
faults_start 16000 100 0.1
pg_psql tgt -c "CREATE TABLE t_int (LIKE t INCLUDING ALL); CREATE TABLE t_term (LIKE t INCLUDING ALL);
    CREATE TABLE t_twice (LIKE t INCLUDING ALL); CREATE TABLE t_wterm (LIKE t INCLUDING ALL)"
t0=$SECONDS
copying() { [[ $(copies_in_flight) -ge 1 ]]; }
run_status() { pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$1'"; }

# resume_and_check RUN JOB TABLE WHAT: resume completes and the result is exact.
resume_and_check() {
    local run="$1" job="$2" table="$3" what="$4"
    resume_run 0 "resume_$run" "$run" "$job"
    assert_final_is_source "$table" "$what, resumed"
    assert_ledger_exact "$run" "$FAULT_ROWS" "$what, resumed"
    assert_eq published "$(run_status "$run")" "$what: status after resume"
    no_workers_left 10
}

# (a), (b): one signal.
for sig in INT TERM; do
    run="sig_${sig,,}"
    table="public.t_${sig,,}"
    job="$HARNESS_TMP/$run.yaml"
    faults_job "$job" "$table" 1000
    start_coordinator "$run" run "$job" --local-workers 2 --run-id "$run"
    poll_until 60 "a first committed chunk of $run" run_has_commits "$run" 1
    poll_until 30 "a COPY in flight" copying
    kill -s "$sig" "$COORD_PID"
    sent=$SECONDS
    wait_rc "$COORD_PID" 30 "coordinator after SIG$sig"
    echo "fault_signals: SIG$sig: coordinator exited $WAIT_RC after $((SECONDS - sent)) s, $(committed "$run") chunk(s) committed"
    if [[ "$WAIT_RC" != 8 ]]; then
        show_tail "$HARNESS_TMP/$run.out" "$HARNESS_TMP/$run.err"
        fail "SIG$sig: coordinator exit status $WAIT_RC (expected 8, interrupted)"
    fi
    assert_clean_stderr "$HARNESS_TMP/$run.err"
    out=$(cat "$HARNESS_TMP/$run.out" "$HARNESS_TMP/$run.err")
    assert_contains "$out" "ferry-coordinator resume $run --job $job" "SIG$sig: the output says how to resume"
    assert_eq interrupted "$(run_status "$run")" "SIG$sig: ferry.runs.status"
    assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM $table")" "SIG$sig: nothing published"
    left=$(workers_of_endpoint "$FAULT_EP")
    [[ -z "$left" ]] || fail "SIG$sig: ferry-worker processes left after the coordinator exited: $left"
    resume_and_check "$run" "$job" "$table" "SIG$sig"
    echo "fault_signals: SIG$sig OK ($((SECONDS - t0)) s)"
done

# (c) Two SIGINTs: the second one aborts at once.
run=sig_twice
job="$HARNESS_TMP/$run.yaml"
faults_job "$job" public.t_twice 1000
start_coordinator "$run" run "$job" --local-workers 2 --run-id "$run"
poll_until 60 "a first committed chunk of $run" run_has_commits "$run" 1
poll_until 30 "a COPY in flight" copying
workers=$(workers_of_endpoint "$FAULT_EP")
kill -INT "$COORD_PID"
sleep 0.05
kill -INT "$COORD_PID" 2>/dev/null || true
sent=$SECONDS
wait_rc "$COORD_PID" 3 "coordinator after a second SIGINT (must abort at once)"
echo "fault_signals: SIGINT x2: coordinator exited $WAIT_RC within $((SECONDS - sent)) s"
[[ "$WAIT_RC" != 0 ]] || fail "SIGINT x2: the coordinator exited 0"
assert_clean_stderr "$HARNESS_TMP/$run.err"
# shellcheck disable=SC2086 # a list of pids
wait_pid_gone 10 $workers
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM t_twice")" "SIGINT x2: nothing published"
resume_and_check "$run" "$job" public.t_twice "SIGINT x2"
echo "fault_signals: SIGINT x2 OK ($((SECONDS - t0)) s)"

# (d) SIGTERM to an external worker.
run=sig_worker
job="$HARNESS_TMP/$run.yaml"
faults_job "$job" public.t_wterm 1000
start_coordinator "$run" run "$job" --run-id "$run"
start_worker wA wA --slots 2
pid_a=$WORKER_PID
start_worker wB wB --slots 2
pid_b=$WORKER_PID
a_copying() { coord_alive && [[ $(copies_in_flight wA) -ge 1 ]]; }
poll_until 60 "a first committed chunk of $run" run_has_commits "$run" 1
poll_until 30 "wA with a COPY in flight" a_copying
kill -TERM "$pid_a"
wait_rc "$pid_a" 15 "worker wA after SIGTERM"
rc_a=$WAIT_RC
echo "fault_signals: SIGTERM to wA: it exited $rc_a"
grep -q "signal: rolling back running chunks and leaving" "$HARNESS_TMP/wA.err" ||
    { show_tail "$HARNESS_TMP/wA.err"; fail "wA did not say it rolls back on SIGTERM"; }
grep -q "rolled back" "$HARNESS_TMP/wA.err" ||
    { show_tail "$HARNESS_TMP/wA.err"; fail "wA did not roll back its chunk"; }
# 8: it left with a chunk rolled back (interrupted); 0 would mean idle.
[[ "$rc_a" == 8 || "$rc_a" == 0 ]] || { show_tail "$HARNESS_TMP/wA.err"; fail "wA exit status $rc_a after SIGTERM"; }
wait_rc "$COORD_PID" 90 "coordinator finishing with wB"
wait_rc_ok "SIGTERM to a worker: coordinator exited $WAIT_RC (expected 0)" \
    "$HARNESS_TMP/$run.out" "$HARNESS_TMP/$run.err" "$HARNESS_TMP/wB.err"
grep -qE "worker wA \([^)]*\) said BYE" "$HARNESS_TMP/$run.err" ||
    { show_tail "$HARNESS_TMP/$run.err"; fail "the coordinator did not get wA's BYE"; }
wait_rc "$pid_b" 15 "worker wB after STOP"
assert_eq 0 "$WAIT_RC" "wB exit status at STOP"
assert_clean_stderr "$HARNESS_TMP/$run.err" "$HARNESS_TMP/wA.err" "$HARNESS_TMP/wB.err"
assert_final_is_source public.t_wterm "SIGTERM to a worker"
assert_ledger_exact "$run" "$FAULT_ROWS" "SIGTERM to a worker"
assert_eq published "$(run_status "$run")" "SIGTERM to a worker: run status"
echo "fault_signals: OK ($((SECONDS - t0)) s)"
