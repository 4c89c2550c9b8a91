#!/usr/bin/env bash
# tests/faults/fault_source_restart.sh: the source server restarts (pg_ctl
# restart -m fast) in the middle of a run, after the first commits and
# while chunks are in flight.
#  (a) snapshot: none: the broken chunks are retried on new connections
#      and the run completes (final == source, each chunk once).
#  (b) snapshot: shared: the run's exported snapshot dies with the
#      coordinator's source connection, so the chunks still to copy can no
#      longer read the same cut. The run stops: non-zero exit, a message
#      that says "snapshot" and "resume", nothing published (the final
#      table stays empty), status failed. Then `ferry-coordinator resume`
#      copies what is missing and publishes: final == source, each chunk
#      once.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

# 16 chunks of 1000 rows, ~1 s each inside a worker's COPY.
faults_start 16000 100 0.1
pg_psql tgt -c "CREATE TABLE t_none (LIKE t INCLUDING ALL); CREATE TABLE t_shared (LIKE t INCLUDING ALL)"
t0=$SECONDS

copying() { [[ $(copies_in_flight) -ge 1 ]]; }
# restart_mid_run RUN: after the first commit, with a COPY in flight.
restart_mid_run() {
    poll_until 60 "a first committed chunk of $1" run_has_commits "$1" 1
    poll_until 30 "a COPY in flight on the target" copying
    local before
    before=$(committed "$1")
    pg_restart src
    echo "fault_source_restart: restarted the source during $1 with $before chunk(s) committed"
}

# (a) snapshot: none.
job_a="$HARNESS_TMP/none.yaml"
FAULT_SNAPSHOT=none faults_job "$job_a" public.t_none 1000
start_coordinator none run "$job_a" --local-workers 2 --run-id src_none
restart_mid_run src_none
wait_rc "$COORD_PID" 120 "coordinator (snapshot none) after the source restart"
wait_rc_ok "snapshot none: coordinator exited $WAIT_RC after a source restart (expected 0)" \
    "$HARNESS_TMP/none.out" "$HARNESS_TMP/none.err"
assert_clean_stderr "$HARNESS_TMP/none.err"
assert_retried "$HARNESS_TMP/none.err" "snapshot none: no chunk was retried after the source restart"
assert_published src_none public.t_none "snapshot none, source restarted" "snapshot none: run status"
no_workers_left 10
echo "fault_source_restart: (a) snapshot none OK ($((SECONDS - t0)) s)"

# (b) snapshot: shared.
job_b="$HARNESS_TMP/shared.yaml"
start_shared_run "$job_b" public.t_shared 1000 shared src_shared
restart_mid_run src_shared
wait_rc "$COORD_PID" 60 "coordinator (snapshot shared) after the source restart"
rc=$WAIT_RC
out="$(cat "$HARNESS_TMP/shared.out" "$HARNESS_TMP/shared.err")"
assert_clean_stderr "$HARNESS_TMP/shared.err"
if [[ "$rc" == 0 ]]; then
    show_tail "$HARNESS_TMP/shared.err"
    fail "snapshot shared: the run published although its snapshot died mid-run"
fi
assert_contains "$out" "snapshot" "snapshot shared: the message names the lost snapshot"
assert_contains "$out" "ferry-coordinator resume src_shared" "snapshot shared: the message says how to resume"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM t_shared")" "snapshot shared: nothing published"
assert_eq failed "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = 'src_shared'")" \
    "snapshot shared: run status after the stop"
no_workers_left 10
committed_before=$(committed src_shared)
planned=$(chunks_planned src_shared)
echo "fault_source_restart: (b) stopped with exit $rc, $committed_before of $planned chunk(s) committed:"
grep -E "coordinator.* ERROR" "$HARNESS_TMP/shared.err" | head -n 3 | cut -c 1-400

# Resume: only the missing chunks, new snapshot, then publish.
resume_run 0 resume src_shared "$job_b"
assert_said resume \
    "resuming run src_shared: $committed_before of $planned chunk(s) already committed, $((planned - committed_before)) to copy" \
    "resume: copies only the missing chunks"
assert_published src_shared public.t_shared "snapshot shared, resumed" "snapshot shared: run status after resume"
no_workers_left 10
echo "fault_source_restart: OK ($((SECONDS - t0)) s)"
