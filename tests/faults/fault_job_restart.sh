#!/usr/bin/env bash
# tests/faults/fault_job_restart.sh: a coordinator run as a Kubernetes Job
# would run it (deploy/k8s): `run JOB --run-id ID`, started again with the
# very same command after its pod died, and workers whose exit status says
# how the run ended (issue 15).
#  (a) SIGKILL of the coordinator after 3 commits, with external workers
#      wA and wB (default --give-up-after) and wC (--give-up-after 3s).
#      wC gives up (exit 13) while nobody answers; the same `run
#      --run-id` again resumes the run: every chunk committed before it
#      keeps its ledger row (attempt, token, committed_at) and its
#      ferry.chunks attempts, each chunk is committed once, final ==
#      source; wA and wB rejoin and exit 0 (published). A third start of
#      the command finds the run published and exits 0, touching nothing.
#  (b) a run whose publish fails (a CHECK the final table has and staging
#      has not): the workers hear it after the publish and exit 10.
#  (c) SIGTERM to the coordinator during the load: the workers exit 11
#      (cancelled), the coordinator 8.
#  (d) no coordinator at all: --give-up-after 2s exits 13 after saying
#      why; FERRY_GIVE_UP_AFTER=1500ms the same; a bad value exits 2.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

# 16 chunks of 1000 rows, ~1 s each inside a worker's COPY.
faults_start 16000 100 0.1
pg_psql tgt -c "CREATE TABLE t_job (LIKE t INCLUDING ALL);
    CREATE TABLE t_fail (LIKE t INCLUDING ALL, CHECK (id <> 12345));
    CREATE TABLE t_cancel (LIKE t INCLUDING ALL)"
t0=$SECONDS

ledger_rows() {
    pg_psql tgt -Atc "SELECT c.chunk_id || '/' || c.attempt || '/' || c.token || '/' || c.rows || '/'
        || c.committed_at || '/attempts=' || k.attempts FROM ferry.chunk_commits c
        JOIN ferry.chunks k USING (run_id, chunk_id)
        WHERE c.run_id = '$1' AND c.committed_at IS NOT NULL AND k.status = 'done' ORDER BY c.chunk_id"
}

# (a) SIGKILL, then the same command again.
job="$HARNESS_TMP/job.yaml"
start_shared_run "$job" public.t_job 1000 a1 kjob wA
pid_a=$WORKER_PID
start_worker wB wB --slots 2
pid_b=$WORKER_PID
start_worker wC wC --slots 1 --give-up-after 3s
pid_c=$WORKER_PID
signal_after_commits KILL kjob 3
wait "$COORD_PID" 2>/dev/null || true
echo "fault_job_restart: (a) killed the coordinator with $(committed kjob) chunk(s) committed"
wait_rc "$pid_c" 30 "wC with --give-up-after 3s"
assert_eq 13 "$WAIT_RC" "(a) wC's exit status after 3 s without a coordinator"
assert_contains "$(cat "$HARNESS_TMP/wC.err")" \
    "no word from a coordinator at $FAULT_EP for 3.0 s (--give-up-after); giving up (exit 13)" \
    "(a) wC says why it leaves"
kill -0 "$pid_a" 2>/dev/null && kill -0 "$pid_b" 2>/dev/null ||
    fail "(a) wA or wB left without a coordinator before --give-up-after (default 10m)"
# What the dead coordinator recorded as done: it must stand as it is.
before=$(ledger_rows kjob)
n_before=$(grep -c . <<<"$before")
planned=$(chunks_planned kjob)
[[ $n_before -ge 3 && $n_before -lt $planned ]] || fail "(a) $n_before of $planned chunks done at the kill"

start_coordinator a2 run "$job" --run-id kjob
wait_rc "$COORD_PID" 90 "the coordinator started again"
wait_rc_ok "(a) the same command again exited $WAIT_RC (expected 0)" \
    "$HARNESS_TMP/a2.err" "$HARNESS_TMP/wA.err"
assert_said a2 \
    "run kjob exists (status loading): resuming it (run --run-id goes on with a run that exists)" \
    "(a) run --run-id resumes"
assert_said a2 "resuming run kjob: " "(a) resumed from the ledger"
while IFS= read -r line; do
    [[ -z "$line" ]] && continue
    grep -qxF -- "$line" <<<"$(ledger_rows kjob)" ||
        fail "(a) chunk done before the kill changed after the restart (recopied?): $line
now: $(ledger_rows kjob | grep "^${line%%/*}/")"
done <<<"$before"
assert_ledger_exact kjob "$FAULT_ROWS" "(a) coordinator killed, same command again"
assert_eq "$planned" "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunks
    WHERE run_id = 'kjob' AND status = 'done'")" "(a) every chunk done in ferry.chunks"
assert_final_is_source public.t_job "(a) coordinator killed, same command again"
for w in a b; do
    pid_var="pid_$w"
    wait_rc "${!pid_var}" 15 "w${w^^} after the run published"
    assert_eq 0 "$WAIT_RC" "(a) w${w^^}'s exit status: the run is published"
    assert_contains "$(cat "$HARNESS_TMP/w${w^^}.err")" "; the run is published" "(a) w${w^^} was told"
done
run_expect 0 a3 "$COORD" run "$job" --run-id kjob
assert_said a3 "run kjob exists and is published: nothing to do" \
    "(a) a third start"
assert_final_is_source public.t_job "(a) after a third start"
assert_clean_stderr "$HARNESS_TMP"/a?.err "$HARNESS_TMP"/w?.err
echo "fault_job_restart: (a) OK, $n_before of $planned chunk(s) kept ($((SECONDS - t0)) s)"

# (b) The publish fails: the workers hear it after the publish.
job_b="$HARNESS_TMP/fail.yaml"
start_shared_run "$job_b" public.t_fail 4000 b kfail wD
pid_d=$WORKER_PID
wait_rc "$COORD_PID" 60 "(b) coordinator"
assert_eq 1 "$WAIT_RC" "(b) coordinator exit status when the publish fails"
assert_said b "23514" "(b) the publish failed on the CHECK"
wait_rc "$pid_d" 15 "(b) wD"
assert_eq 10 "$WAIT_RC" "(b) wD's exit status: the run failed"
assert_contains "$(cat "$HARNESS_TMP/wD.err")" "; the run is failed" "(b) wD was told"
if grep -q "coordinator silent for" "$HARNESS_TMP/wD.err"; then
    fail "(b) wD found its coordinator silent while it verified and published"
fi
echo "fault_job_restart: (b) OK ($((SECONDS - t0)) s)"

# (c) SIGTERM during the load.
job_c="$HARNESS_TMP/cancel.yaml"
start_shared_run "$job_c" public.t_cancel 1000 c kcancel wE
pid_e=$WORKER_PID
signal_after_commits TERM kcancel 1
wait_rc "$COORD_PID" 30 "(c) coordinator after SIGTERM"
assert_eq 8 "$WAIT_RC" "(c) coordinator exit status"
wait_rc "$pid_e" 15 "(c) wE"
assert_eq 11 "$WAIT_RC" "(c) wE's exit status: the run was cancelled"
assert_contains "$(cat "$HARNESS_TMP/wE.err")" "; the run is cancelled" "(c) wE was told"
echo "fault_job_restart: (c) OK ($((SECONDS - t0)) s)"

# (d) No coordinator at all.
port=$(free_port)
"$WORKER" --coordinator "tcp://127.0.0.1:$port" --name lone --give-up-after 2s \
    >"$HARNESS_TMP/lone.out" 2>"$HARNESS_TMP/lone.err" </dev/null &
wait_rc $! 20 "(d) a worker with no coordinator"
assert_eq 13 "$WAIT_RC" "(d) --give-up-after 2s"
assert_said lone \
    "no word from a coordinator at tcp://127.0.0.1:$port for 2.0 s (--give-up-after); giving up (exit 13)" \
    "(d) says why"
FERRY_GIVE_UP_AFTER=1500ms "$WORKER" --coordinator "tcp://127.0.0.1:$port" --name lone2 \
    >"$HARNESS_TMP/lone2.out" 2>"$HARNESS_TMP/lone2.err" </dev/null &
wait_rc $! 20 "(d) FERRY_GIVE_UP_AFTER"
assert_eq 13 "$WAIT_RC" "(d) FERRY_GIVE_UP_AFTER=1500ms"
assert_said lone2 "for 1.5 s (--give-up-after)" "(d) env"
run_expect 2 lone3 "$WORKER" --coordinator "tcp://127.0.0.1:$port" --give-up-after soon
assert_said lone3 \
    "ferry-worker: --give-up-after 'soon': expected a duration such as 600, 90s, 10m or 1h" "(d) bad value"
assert_clean_stderr "$HARNESS_TMP"/*.err
echo "fault_job_restart: OK ($((SECONDS - t0)) s)"
