#!/usr/bin/env bash
# tests/faults/fault_forged_done.sh: a worker that is let in (it proves
# the cluster secret) but lies: it answers every ASSIGN with a DONE of
# 50,000 rows and checksum 42 for work it never committed
# (ferry_zmq_garbage forge-done). The coordinator reads the chunk's ledger
# row before a DONE counts (coordinator/donecheck.c): no committed row, so
# the forged DONE is refused, logged with the worker and what differs, the
# run fails, and nothing is published (the final table stays empty; the
# honest worker's committed chunks stay in staging for inspection). Before
# the check, the forged DONE counted the chunk as done.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

forger=$(faults_forger)
# 20 chunks of 1000 rows, ~1 s each inside a worker's COPY.
faults_start 20000 100 0.1 1000
# Room for the forger's slots beside the honest worker's.
faults_job_edit "$job" "s/min_rows_for_parallel: 1000, /min_rows_for_parallel: 1000, concurrency: 4, /" \
    "concurrency: 4" "pin the concurrency"
run=forgeddone
t0=$SECONDS

# FERRY_CLUSTER_SECRET (lib/faults.sh) is the secret of the coordinator, its
# local worker and the forger: the forger is admitted like any worker.
start_coordinator coord run "$job" --local-workers 1 --slots 2 --run-id "$run"
poll_until 60 "a first committed chunk" run_has_commits "$run" 1
"$forger" "$FAULT_EP" forge-done 4000 >"$HARNESS_TMP/forger.out" 2>"$HARNESS_TMP/forger.err" &
forger_pid=$!
harness_on_exit "kill -KILL $forger_pid 2>/dev/null"
wait_rc "$forger_pid" 30 "the forger"
[[ "$WAIT_RC" == 0 ]] || { cat "$HARNESS_TMP/forger.err" >&2; fail "ferry_zmq_garbage forge-done exited $WAIT_RC"; }
cat "$HARNESS_TMP/forger.out"
grep -qE '^received:.* 1 JOB' "$HARNESS_TMP/forger.out" || fail "the forger was not admitted (no JOB): the test proves nothing"
forged=$(sed -n 's/^forged DONE: //p' "$HARNESS_TMP/forger.out")
[[ "${forged:-0}" -ge 1 ]] || fail "the forger got no ASSIGN, so it forged no DONE"

wait_rc "$COORD_PID" 60 "coordinator after the forged DONE"
err="$HARNESS_TMP/coord.err"
assert_clean_stderr "$err"
if [[ "$WAIT_RC" != 1 ]]; then
    show_tail "$HARNESS_TMP/coord.out" "$err"
    fail "coordinator exited $WAIT_RC after a forged DONE (expected 1: failed, nothing published)"
fi
grep -qE "chunk [0-9]+: worker forger \(garbage-host pid [0-9]+\) reported DONE for attempt [0-9]+ with 50000 rows that the ledger does not hold \(the ledger has no committed row for it\)" "$err" ||
    { grep -E "forger|ledger" "$err" | tail -n 10 >&2; fail "the forged DONE was not refused with its reason"; }
# Nothing published: the final table is empty, the run failed with that reason.
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM t")" "rows in the final table"
assert_eq failed "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$run'")" "run status"
assert_contains "$(pg_psql tgt -Atc "SELECT message FROM ferry.runs WHERE run_id = '$run'")" \
    "reported work it did not commit" "the run's recorded reason"
# The forger committed nothing; what was committed is the honest worker's.
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = '$run' AND worker = 'forger'")" \
    "ledger rows of the forger"
echo "fault_forged_done: OK ($((SECONDS - t0)) s, $forged forged DONE(s))"
