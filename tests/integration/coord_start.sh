#!/usr/bin/env bash
# tests/integration/coord_start.sh: a new run starts its local workers
# before it plans and records itself, and they wait for it (issue 11, the
# start of a run). Another session holds the advisory lock ferry's
# schema_ensure takes (7268447521) for 8 s, so the coordinator, after its
# claim and its workers' start, waits in run_record for longer than a
# worker's silence limit before its first JOB (the defaults: liveness 5 x
# heartbeat 1000 ms). Meanwhile:
# - each spawned worker has its two connections open already, named
#   ferry/<run>/local-N (FERRY_RUN_ID), one on the source and one on the
#   target;
# - no worker reconnects ("coordinator silent ... reconnecting") and the
#   coordinator drops nothing sent before it answered a HELLO ("before
#   HELLO", "before it proved").
# Then a chunk is frozen (FERRY_FAULT_STALL_CHUNK) while the run loads:
# the direct run's autovacuum guard is seen holding SHARE UPDATE EXCLUSIVE
# on the final table from the claim's session
# (ferry/<run>/coordinator-claim), and the coordinator has no target
# session but that one and its ledger's (ferry/<run>/coordinator-ledger). The run publishes the source exactly.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup
coord_accounts 20000
coord_job "$HARNESS_TMP/job.yaml" public.accounts "SELECT * FROM accounts ORDER BY acct_id" acct_id \
    "chunk_size: 2000, min_rows_for_parallel: 1000, group_rows: 2000"
sed -i '/^  table: /a\  publish: direct' "$HARNESS_TMP/job.yaml"
sed -i 's/liveness: 10 }/liveness: 10, chunk_stall_timeout: 3 }/' "$HARNESS_TMP/job.yaml"
grep -q "chunk_stall_timeout: 3" "$HARNESS_TMP/job.yaml" || fail "could not set cluster.chunk_stall_timeout"

# The schema lock, held for 8 s by a session of our own.
PGAPPNAME=ferry-test-lock "$(pg_bindir)/psql" -X -q -d "$(pg_dsn tgt)" \
    -c "BEGIN; SELECT pg_advisory_xact_lock(7268447521); SELECT pg_sleep(8); COMMIT" \
    >/dev/null 2>&1 </dev/null &
lock_pid=$!
harness_on_exit "kill $lock_pid 2>/dev/null"
locked() {
    [[ $(pg_psql tgt -Atc "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                           WHERE l.locktype = 'advisory' AND l.granted
                             AND a.application_name = 'ferry-test-lock'") == 1 ]]
}
poll_until 20 "the test session to hold the schema lock" locked

FERRY_FAULT_STALL_CHUNK=3 "$coord" run "$HARNESS_TMP/job.yaml" --local-workers 2 --slots 1 \
    --run-id st >"$HARNESS_TMP/st.out" 2>"$HARNESS_TMP/st.err" &
st_pid=$!
harness_on_exit "kill $st_pid 2>/dev/null"

# While the coordinator waits for the lock: the workers' sessions, opened
# before any JOB (run_record has not even written the run's row).
sessions() {
    pg_psql "$1" -Atc "SELECT count(*) FROM pg_stat_activity
                       WHERE application_name IN ('ferry/st/local-1', 'ferry/st/local-2')"
}
both_open() { [[ $(sessions src) == 2 && $(sessions tgt) == 2 ]]; }
poll_until 20 "each worker's source and target session, opened before its JOB" both_open
assert_eq "" "$(pg_psql tgt -Atc "SELECT to_regclass('ferry.runs')")" \
    "the workers connected before the run was recorded (ferry.runs is not created yet)"
if ! grep -q "started 2 local worker(s)" "$HARNESS_TMP/st.err"; then
    cat "$HARNESS_TMP/st.err" >&2
    fail "the workers were not started before the plan"
fi

# The load: chunk 3 is frozen for chunk_stall_timeout; the guard's lock.
guard_holder() {
    pg_psql tgt -Atc "SELECT string_agg(a.application_name, ',' ORDER BY a.application_name)
                      FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                      WHERE l.relation = 'public.accounts'::regclass AND l.granted
                        AND l.mode = 'ShareUpdateExclusiveLock'"
}
guarded() { [[ $(guard_holder) == "ferry/st/coordinator-claim" ]]; }
poll_until 30 "the autovacuum guard's lock, held by the claim's session" guarded
assert_eq "ferry/st/coordinator-claim,ferry/st/coordinator-ledger" \
    "$(pg_psql tgt -Atc "SELECT string_agg(application_name, ',' ORDER BY application_name)
                         FROM pg_stat_activity WHERE application_name LIKE 'ferry/st/coordinator-%'")" \
    "no target session of the coordinator but its ledger's and its claim's"

wait "$st_pid" && st_rc=0 || st_rc=$?
if [[ $st_rc -ne 0 ]]; then
    tail -n 30 "$HARNESS_TMP/st.err" >&2
    fail "run st exited $st_rc"
fi
no_sanitizer_reports st
err=$(cat "$HARNESS_TMP/st.err")
assert_contains "$err" "FERRY_FAULT_STALL_CHUNK: freezing chunk 3 attempt 1" "the hook froze chunk 3"
for bad in "reconnecting to" "before HELLO" "before it proved"; do
    if grep -q "$bad" "$HARNESS_TMP/st.err"; then
        grep -n "$bad" "$HARNESS_TMP/st.err" >&2
        fail "a worker waiting for its first JOB: '$bad' in the log"
    fi
done
assert_eq published "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = 'st'")" \
    "the run published"
assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM accounts" "final == source"
echo "coord_start: OK"
