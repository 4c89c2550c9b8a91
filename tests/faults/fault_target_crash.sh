#!/usr/bin/env bash
# tests/faults/fault_target_crash.sh: the target crashes (pg_ctl stop -m
# immediate: no checkpoint, WAL still in shared memory is gone) during a
# direct load, after workers committed chunks. Workers commit with
# synchronous_commit off, and the coordinator's ferry.chunks mirror too,
# so the crash undoes commits whose DONE was sent, even counted. The
# target runs with synchronous_commit on (the server default; the
# harness's clusters have it off) and wal_writer_delay 10s, so the WAL
# writer does not write the commits out before the crash.
#   (a) The coordinator is frozen (SIGSTOP) while the workers commit, so
#       their DONEs wait: once it is thawed, every DONE of an undone
#       commit is requeued (coordinator/admit.c), not counted and not
#       taken for a forgery.
#   (b) The coordinator runs on: the crash comes just after a chunk was
#       counted done (ferry.chunks says so). Once every chunk is done,
#       run_durable flushes the WAL, reads the ledger again and copies
#       the undone chunk again.
# Each ends with final == source row for row and every chunk committed
# exactly once.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

pg_start src
pg_start tgt "synchronous_commit = on" "wal_writer_delay = 10s"
# 16 chunks of 1000 rows, ~1 s each inside a worker's COPY.
faults_workload 16000 100 0.1
job="$HARNESS_TMP/job.yaml"
faults_job "$job" public.t 1000
# Direct: a crash empties UNLOGGED staging whole, which publish already
# explains (coordinator/publish_why.c); here the rows go straight into t.
faults_job_edit "$job" "s/^  table: 'public.t'\$/  table: 'public.t'\n  publish: direct/" \
    "publish: direct" "make the load direct"
faults_job_edit "$job" "s/min_rows_for_parallel: 1000, /min_rows_for_parallel: 1000, concurrency: 2, /" \
    "concurrency: 2" "pin the concurrency"
# (a) freezes the coordinator while the workers' COPYs end (~1 s each):
# with liveness 5 x 200 ms a worker could give the silent coordinator up
# first, reconnect, and send its DONEs on the new link before it proved
# the secret (dropped; its chunks are then requeued by the reconnect, not
# by the DONE check this part is about). 25 x 200 ms outlasts the freeze.
faults_job_edit "$job" 's/liveness: 5 }/liveness: 25 }/' "liveness: 25" "lengthen cluster.liveness"
# crash_undoes PART: crashes the target and restarts it; fails unless the
# crash undid at least one commit of $run (else the part proves nothing).
crash_undoes() {
    local seen after
    seen=$(committed "$run")
    pg_kill tgt
    pg_restart tgt
    after=$(committed "$run")
    echo "fault_target_crash: ($1) $seen chunk(s) committed just before the crash, $after after it"
    [[ "$after" -lt "$seen" ]] ||
        fail "($1) the crash undid no commit ($seen committed before it, $after after): the scenario proves nothing (did the WAL writer or another backend write the WAL out?)"
}

# coordinator_ok PART TAG: the coordinator of $run exited 0, clean; its
# lines about the crash are shown.
coordinator_ok() {
    wait_rc "$COORD_PID" 120 "coordinator after the target crash ($1)"
    wait_rc_ok "($1) coordinator exited $WAIT_RC after a target crash (expected 0)" \
        "$HARNESS_TMP/$2.out" "$HARNESS_TMP/$2.err"
    assert_clean_stderr "$HARNESS_TMP/$2.err"
    grep -E "requeued|restarted|lost their commit|did not survive" "$HARNESS_TMP/$2.err" | cut -c 1-300
}

# (a) The coordinator frozen while the workers commit.
run=tgtcrash
t0=$SECONDS

start_coordinator coord run "$job" --local-workers 1 --slots 2 --run-id "$run" \
    --report "$HARNESS_TMP/report.json"
poll_until 60 "a first committed chunk" run_has_commits "$run" 1
two_copying() { [[ $(copies_in_flight) -ge 2 ]]; }
poll_until 30 "two COPYs in flight on the target" two_copying
kill -STOP "$COORD_PID"
harness_on_exit "kill -CONT $COORD_PID 2>/dev/null"
before=$(committed "$run")
echo "fault_target_crash: (a) $before chunk(s) committed at the freeze"
# The workers go on without the coordinator: their chunks commit.
more_commits() { [[ $(committed "$run") -gt $before ]]; }
poll_until 20 "a chunk committed while the coordinator is frozen" more_commits
crash_undoes a
kill -CONT "$COORD_PID"
coordinator_ok a coord
# A DONE whose commit the crash undid was requeued, never counted.
grep -qE "chunk [0-9]+: (the target connection was lost after worker .* committed it .* and its commit did not survive|cannot read its ledger row to check the DONE of worker .*); requeued" \
    "$HARNESS_TMP/coord.err" || {
    show_tail "$HARNESS_TMP/coord.err"
    fail "no DONE of an undone commit was requeued after the target crash"
}
if grep -qE "reported DONE for attempt .* that the ledger does not hold" "$HARNESS_TMP/coord.err"; then
    fail "a DONE whose commit the crash undid was taken for a forgery"
fi
assert_published "$run" public.t "(a) after a target crash" "run status"
no_workers_left 10
echo "fault_target_crash: (a) OK ($((SECONDS - t0)) s)"

# (b) A chunk counted done, then the crash.
pg_psql tgt -c "TRUNCATE t" >/dev/null
run=tgtcrashdone
t0=$SECONDS
start_coordinator coord_b run "$job" --local-workers 1 --slots 2 --run-id "$run"
counted() {
    coord_alive && [[ $(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunks WHERE run_id = '$run'
        AND status = 'done'" 2>/dev/null || echo 0) -ge 1 ]]
}
poll_until 60 "a first chunk counted done" counted
crash_undoes b
coordinator_ok b coord_b
grep -qE "[0-9]+ chunk\(s\) reported done lost their commit when the target restarted or crashed \(chunk [0-9]" \
    "$HARNESS_TMP/coord_b.err" || {
    show_tail "$HARNESS_TMP/coord_b.err"
    fail "(b) the chunk counted done before the crash was not copied again by the check before verifying"
}
assert_published "$run" public.t "(b) after a target crash" "run status"
no_workers_left 10
echo "fault_target_crash: (b) OK ($((SECONDS - t0)) s)"
