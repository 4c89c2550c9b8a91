#!/usr/bin/env bash
# tests/faults/fault_forged.sh: anyone who reaches the coordinator's port
# must not get the job (issue 10, item 7). While a run with two local
# workers is in progress, two forged workers (ferry_zmq_garbage, build
# "0.0-forged") connect to the coordinator's ROUTER:
#   - "forge": says HELLO without any proof, then forged PROGRESS, DONE
#     (for chunks 0..9, 50,000 rows each) and HEARTBEAT;
#   - "forge-wrong-proof": the same, answering CHALLENGE with a proof made
#     from a wrong secret.
# Neither may receive a JOB (query, snapshot, conninfos) or an ASSIGN, the
# coordinator logs each once with its address, and the run publishes the
# source rows exactly, from the honest workers. Before the fix the forged
# peer got the JOB, conninfos included, and ASSIGNs.
#
# The forger is the current build's tool even when the ferry binaries under
# test are another build's: FERRY_TOOL_DIR (default FERRY_BIN_DIR) is the
# build directory that holds tests/faults/ferry_zmq_garbage.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

forger=$(faults_forger)
# 20 chunks of 1000 rows, ~2.5 s each inside a worker's COPY (at ~1 s the run
# finished before the forged workers were done on a loaded machine).
faults_start 20000 100 0.25 1000
run=forged
t0=$SECONDS

# Local workers only: the coordinator makes a per-run secret and hands it
# to its workers through their environment; nobody else knows it.
unset FERRY_CLUSTER_SECRET
start_coordinator coord run "$job" --local-workers 2 --run-id "$run" --report "$HARNESS_TMP/report.json"
poll_until 60 "a first committed chunk" run_has_commits "$run" 1

"$forger" "$FAULT_EP" forge 3000 >"$HARNESS_TMP/forge.out" 2>"$HARNESS_TMP/forge.err" &
forge_pid=$!
harness_on_exit "kill -KILL $forge_pid 2>/dev/null"
"$forger" "$FAULT_EP" forge-wrong-proof 3000 >"$HARNESS_TMP/forge_wrong.out" 2>"$HARNESS_TMP/forge_wrong.err" &
wrong_pid=$!
harness_on_exit "kill -KILL $wrong_pid 2>/dev/null"
wait_rc "$forge_pid" 30 "the forged worker"
[[ "$WAIT_RC" == 0 ]] || { cat "$HARNESS_TMP/forge.err" >&2; fail "ferry_zmq_garbage forge exited $WAIT_RC"; }
wait_rc "$wrong_pid" 30 "the forged worker with a wrong proof"
[[ "$WAIT_RC" == 0 ]] || { cat "$HARNESS_TMP/forge_wrong.err" >&2; fail "ferry_zmq_garbage forge-wrong-proof exited $WAIT_RC"; }
cat "$HARNESS_TMP/forge.out" "$HARNESS_TMP/forge_wrong.out"
[[ $(committed "$run") -lt $(chunks_planned "$run") ]] ||
    fail "the run had finished before the forged workers were done: make the chunks slower"

# What the forged peers received: never a JOB, never an ASSIGN, never a
# conninfo.
for tag in forge forge_wrong; do
    got=$(grep '^received:' "$HARNESS_TMP/$tag.out")
    if grep -qE '[0-9]+ (JOB|ASSIGN)' <<<"$got"; then
        fail "$tag: the forged worker was given work: $got"
    fi
    assert_contains "$(cat "$HARNESS_TMP/$tag.out")" "job-conninfo: no" "$tag: no conninfo"
    grep -qE '(^| )1 CHALLENGE' <<<"$got" || fail "$tag: expected exactly one CHALLENGE, got: $got"
done
grep -qE ' 1 STOP' "$HARNESS_TMP/forge_wrong.out" ||
    fail "forge-wrong-proof: expected a STOP after the wrong proof: $(grep '^received:' "$HARNESS_TMP/forge_wrong.out")"

wait_rc "$COORD_PID" 90 "coordinator after the forged workers"
err="$HARNESS_TMP/coord.err"
assert_clean_stderr "$err"
wait_rc_ok "coordinator exited $WAIT_RC (expected 0)" "$HARNESS_TMP/coord.out" "$err"
# Each forged peer is logged once, with its address, and never joins.
assert_eq 2 "$(grep -c 'build 0.0-forged' "$err")" "log lines about the forged peers"
grep -qE "peer [0-9a-f]+ \(127\.0\.0\.1\): (PROGRESS|DONE|HEARTBEAT) from worker forged .*build 0\.0-forged.* before it proved the cluster secret" "$err" ||
    { grep 'forged' "$err" >&2; fail "the proofless forged peer was not logged with its address"; }
grep -qE "peer [0-9a-f]+ \(127\.0\.0\.1\) said HELLO as worker forged .*build 0\.0-forged\) but its proof of the cluster secret is wrong" "$err" ||
    { grep 'forged' "$err" >&2; fail "the forged peer with a wrong proof was not logged"; }
if grep -q "worker forged joined" "$err"; then
    fail "a forged worker joined the run"
fi
no_sanitizer_reports coord

assert_final_is_source public.t "with forged workers"
assert_ledger_exact "$run" "$FAULT_ROWS" "with forged workers"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = '$run' AND worker !~ '^local-'")" \
    "ledger rows by anyone but the local workers"
assert_eq published "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$run'")" "run status"
echo "fault_forged: OK ($((SECONDS - t0)) s)"
