#!/usr/bin/env bash
# tests/faults/fault_coordinator_kill.sh: the coordinator dies (SIGKILL)
# after some chunks committed. Both runs use the default snapshot: shared.
#  (a) local workers: they notice their parent is gone (--orphan-exit),
#      roll back and leave by themselves. `ferry-coordinator resume`
#      copies only the missing chunks: the ledger rows committed before the
#      kill keep their token and committed_at (they were not copied
#      again), the totals are exact, and the run publishes.
#  (b) one external worker keeps running across the coordinator's death
#      and, when the resumed coordinator binds the same cluster.bind,
#      reconnects by itself; the resumed run completes with it, and the
#      worker exits 0 at STOP.
#  (c) the ctid split (a plain scan of t, slow() in the select list, the
#      default split: auto): block ranges hold the same rows in a new
#      snapshot only while nothing was inserted or updated in t since the
#      run's first snapshot (ferry.runs.source_snapshot). Unchanged, a merge
#      and a direct run resume like a key split: the chunks committed
#      before the kill stand, as they were (issue 10 item 4: they used to
#      be thrown away, and the direct run refused). After an UPDATE of one
#      row of t, `resume` of a merge run starts its load over on the new
#      snapshot (staging emptied, ledger forgotten; final == source, each
#      chunk committed once), and `resume` of a direct run is refused
#      with what to do, the final table left as it was.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

# 16 chunks of 1000 rows, ~1 s each inside a worker's COPY.
faults_start 16000 100 0.1
pg_psql tgt -c "CREATE TABLE t_local (LIKE t INCLUDING ALL); CREATE TABLE t_ext (LIKE t INCLUDING ALL)"
t0=$SECONDS

ledger_rows() {
    pg_psql tgt -Atc "SELECT chunk_id || '/' || attempt || '/' || worker || '/' || token || '/' || rows
        || '/' || committed_at FROM ferry.chunk_commits WHERE run_id = '$1' AND committed_at IS NOT NULL
        ORDER BY chunk_id"
}
# assert_kept RUN BEFORE: every ledger row in BEFORE is still there, as it was.
assert_kept() {
    local run="$1" before="$2" after line
    after=$(ledger_rows "$run")
    while IFS= read -r line; do
        [[ -z "$line" ]] && continue
        grep -qxF -- "$line" <<<"$after" ||
            fail "$run: ledger row committed before the kill changed or vanished after resume: $line
now: $(grep "^${line%%/*}/" <<<"$after")"
    done <<<"$before"
}

# (a) Local workers.
job_a="$HARNESS_TMP/local.yaml"
start_shared_run "$job_a" public.t_local 1000 local ckill_local
poll_until 60 "3 committed chunks" run_has_commits ckill_local 3
poll_until 10 "the local workers" have_workers
workers=$(workers_of_endpoint "$FAULT_EP")
kill -KILL "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
echo "fault_coordinator_kill: (a) killed the coordinator with $(committed ckill_local) chunk(s) committed"
# shellcheck disable=SC2086 # a list of pids
wait_pid_gone 8 $workers
assert_clean_stderr "$HARNESS_TMP/local.err"
grep -q "the coordinator process that started this worker is gone; leaving" "$HARNESS_TMP/local.err" ||
    { show_tail "$HARNESS_TMP/local.err"; fail "(a) local workers did not say why they left"; }
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM t_local")" "(a) nothing published before resume"
before=$(ledger_rows ckill_local)
n_before=$(grep -c . <<<"$before")
planned=$(chunks_planned ckill_local)
[[ $n_before -ge 3 && $n_before -lt $planned ]] || fail "(a) $n_before of $planned chunks committed at the kill"

resume_run 0 resume_local ckill_local "$job_a"
assert_said resume_local \
    "resuming run ckill_local: $n_before of $planned chunk(s) already committed, $((planned - n_before)) to copy" \
    "(a) resume copies only the missing chunks"
assert_kept ckill_local "$before"
assert_published ckill_local public.t_local "(a) coordinator killed, resumed" "(a) run status after resume"
no_workers_left 10
echo "fault_coordinator_kill: (a) local workers OK ($((SECONDS - t0)) s)"

# (b) One external worker that outlives the coordinator.
job_b="$HARNESS_TMP/ext.yaml"
start_shared_run "$job_b" public.t_ext 1000 ext ckill_ext wX
worker_pid=$WORKER_PID
signal_after_commits KILL ckill_ext 3
wait "$COORD_PID" 2>/dev/null || true
echo "fault_coordinator_kill: (b) killed the coordinator with $(committed ckill_ext) chunk(s) committed"
# The worker notices the silence and keeps trying to reconnect.
reconnecting() { grep -q "coordinator silent for" "$HARNESS_TMP/wX.err"; }
poll_until 10 "wX to notice the coordinator is gone" reconnecting
sleep 1
kill -0 "$worker_pid" 2>/dev/null || { show_tail "$HARNESS_TMP/wX.err"; fail "(b) the external worker died with the coordinator"; }
before=$(ledger_rows ckill_ext)
n_before=$(grep -c . <<<"$before")
planned=$(chunks_planned ckill_ext)

resume_t0=$SECONDS
start_coordinator resume_ext resume ckill_ext --job "$job_b"
wait_rc "$COORD_PID" 90 "resumed coordinator with the external worker"
wait_rc_ok "(b) resume with the reconnected external worker exited $WAIT_RC (expected 0)" \
    "$HARNESS_TMP/resume_ext.out" "$HARNESS_TMP/resume_ext.err" "$HARNESS_TMP/wX.err"
echo "fault_coordinator_kill: (b) resume took $((SECONDS - resume_t0)) s"
wait_rc "$worker_pid" 15 "external worker after STOP"
assert_eq 0 "$WAIT_RC" "(b) external worker exit status at STOP"
assert_clean_stderr "$HARNESS_TMP/resume_ext.err" "$HARNESS_TMP/wX.err" "$HARNESS_TMP/ext.err"
assert_said resume_ext "worker wX joined" "(b) wX rejoined the resumed run"
assert_contains "$(cat "$HARNESS_TMP/wX.err")" "coordinator says STOP" "(b) wX stopped by the resumed run"
# The rows committed before the resume are the ones committed by then
# (wX may have finished its in-flight chunks after the kill).
assert_kept ckill_ext "$before"
assert_final_is_source public.t_ext "(b) coordinator killed, resumed with the external worker"
assert_ledger_exact ckill_ext "$FAULT_ROWS" "(b) coordinator killed, resumed with the external worker"
# wX is the only worker there ever was: it committed every chunk, those
# after the resume included.
assert_eq "$planned" "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits
    WHERE run_id = 'ckill_ext' AND worker = 'wX'")" "(b) chunks committed by wX"
assert_eq published "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = 'ckill_ext'")" \
    "(b) run status after resume"
echo "fault_coordinator_kill: (b) external worker OK ($((SECONDS - t0)) s)"

# (c) The ctid split.
pg_psql tgt -c "CREATE TABLE t_ctid (LIKE t INCLUDING ALL); CREATE TABLE t_ctid_direct (LIKE t INCLUDING ALL)"
ctid_query="SELECT id, CASE WHEN slow(id) THEN name END AS name, amount, seen, attrs FROM t ORDER BY id"
# ctid_kill TAG RUN JOB: kill_after_commits, then check the run split by
# heap block.
ctid_kill() {
    kill_after_commits "$@"
    assert_contains "$(cat "$HARNESS_TMP/$1.err")" "splitting public.t by heap block (ctid)" "$2: ctid split"
}
# ctid_job FILE TABLE [direct]: a ctid-split job into TABLE.
ctid_job() {
    FAULT_SNAPSHOT=shared faults_job "$1" "$2" 1000
    sed -i "s|^  query: .*|  query: '$ctid_query'|" "$1"
    if [[ "${3:-}" == direct ]]; then sed -i '/^  table: /a\  publish: direct' "$1"; fi
}
pg_psql tgt -c "CREATE TABLE t_ctid_keep (LIKE t INCLUDING ALL);
    CREATE TABLE t_ctid_keep_direct (LIKE t INCLUDING ALL)"

# Unchanged source, merge: the committed chunks stand.
job_c="$HARNESS_TMP/ctid_keep.yaml"
ctid_job "$job_c" public.t_ctid_keep
ctid_kill ctid_keep ckill_ctid_keep "$job_c"
before=$(ledger_rows ckill_ctid_keep)
resume_run 0 resume_ctid_keep ckill_ctid_keep "$job_c"
assert_said resume_ctid_keep \
    "the table is unchanged since the run's first snapshot, so the $N_BEFORE committed chunk(s) stand" \
    "(c) merge, unchanged source: committed chunks kept"
assert_said resume_ctid_keep \
    "resuming run ckill_ctid_keep: $N_BEFORE of $PLANNED chunk(s) already committed" \
    "(c) merge, unchanged source: only the missing chunks copied"
assert_kept ckill_ctid_keep "$before"
assert_final_is_source public.t_ctid_keep "(c) ctid merge run killed, resumed keeping its chunks"
assert_ledger_exact ckill_ctid_keep "$FAULT_ROWS" "(c) ctid merge run killed, resumed keeping its chunks"

# Unchanged source, direct: resumable too.
job_c2="$HARNESS_TMP/ctid_keep_direct.yaml"
ctid_job "$job_c2" public.t_ctid_keep_direct direct
ctid_kill ctid_keep_direct ckill_ctid_keep_direct "$job_c2"
before=$(ledger_rows ckill_ctid_keep_direct)
resume_run 0 resume_ctid_keep_direct ckill_ctid_keep_direct "$job_c2"
assert_said resume_ctid_keep_direct \
    "resuming run ckill_ctid_keep_direct: $N_BEFORE of $PLANNED chunk(s) already committed" \
    "(c) direct, unchanged source: resumed, only the missing chunks copied"
assert_kept ckill_ctid_keep_direct "$before"
assert_final_is_source public.t_ctid_keep_direct "(c) ctid direct run killed, resumed"
assert_ledger_exact ckill_ctid_keep_direct "$FAULT_ROWS" "(c) ctid direct run killed, resumed"

# One row of t updated after the kill: a merge run starts over.
job_c="$HARNESS_TMP/ctid.yaml"
ctid_job "$job_c" public.t_ctid
ctid_kill ctid ckill_ctid "$job_c"
n_before=$N_BEFORE
planned=$PLANNED
pg_psql src -c "UPDATE t SET name = name WHERE id = 5"
resume_run 0 resume_ctid ckill_ctid "$job_c"
assert_said resume_ctid \
    "rows of public.t were inserted or updated since the run's first snapshot" \
    "(c) merge, changed source: says why"
assert_said resume_ctid \
    "loading every chunk again on a new snapshot ($n_before of $planned chunk(s) had committed)" \
    "(c) merge: the ctid run starts over"
assert_said resume_ctid \
    "resuming run ckill_ctid: 0 of $planned chunk(s) already committed, $planned to copy" \
    "(c) merge: every chunk copied again"
assert_final_is_source public.t_ctid "(c) ctid run killed, resumed from the start"
assert_ledger_exact ckill_ctid "$FAULT_ROWS" "(c) ctid run killed, resumed from the start"

job_d="$HARNESS_TMP/ctid_direct.yaml"
ctid_job "$job_d" public.t_ctid_direct direct
ctid_kill ctid_direct ckill_ctid_direct "$job_d"
rows_before=$(pg_psql tgt -Atc "SELECT count(*) FROM t_ctid_direct")
[[ "$rows_before" -gt 0 ]] || fail "(c) direct: no rows committed before the kill"
pg_psql src -c "UPDATE t SET name = name WHERE id = 5"
resume_run 1 resume_ctid_direct ckill_ctid_direct "$job_d"
assert_said resume_ctid_direct \
    "run ckill_ctid_direct (publish: direct) cannot be resumed: rows of public.t were inserted or updated" \
    "(c) direct, changed source: resume refused"
assert_said resume_ctid_direct \
    "TRUNCATE public.t_ctid_direct and start a new run" "(c) direct: what to do"
assert_eq "$rows_before" "$(pg_psql tgt -Atc "SELECT count(*) FROM t_ctid_direct")" \
    "(c) direct: the final table is left as it was"
echo "fault_coordinator_kill: OK ($((SECONDS - t0)) s)"
