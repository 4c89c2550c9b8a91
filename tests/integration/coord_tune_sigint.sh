#!/usr/bin/env bash
# tests/integration/coord_tune_sigint.sh: ferry-coordinator tune (issue
# 14) interrupted with SIGINT while a configuration runs (a scratch table
# exists) exits 8, drops its scratch tables, leaves no process of its own
# (child coordinator, workers) and leaves the final table and the job's
# published runs as they were.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup
coord_accounts 50000
job="$HARNESS_TMP/job.yaml"
coord_job "$job" public.accounts "SELECT * FROM accounts ORDER BY acct_id" acct_id ""
run_expect 0 first "$coord" run "$job" --local-workers 1 --run-id first
before_sum=$(coord_final_sum)
before_runs=$(coord_published)

# Its own TMPDIR: the check for processes left behind must not see the
# tune of another test running at the same time.
TMPDIR="$HARNESS_TMP" "$coord" tune "$job" --rows 50000 --chunk-sizes 10000,20000 --workers 1,2 \
    >"$HARNESS_TMP/int.out" 2>"$HARNESS_TMP/int.err" &
tpid=$!
harness_on_exit "kill -9 $tpid 2>/dev/null || true"
poll_until 60 "tune's second run to start" grep -q "tune: run 2 of" "$HARNESS_TMP/int.err"
one_scratch() { [[ $(coord_tune_scratch) == 1 ]]; }
poll_until 30 "a scratch table of tune's second run" one_scratch
kill -INT "$tpid"
rc=0
wait "$tpid" || rc=$?
assert_eq 8 "$rc" "tune interrupted exits 8"
grep -q "tune: interrupted; the scratch tables are dropped" "$HARNESS_TMP/int.err" || { cat "$HARNESS_TMP/int.err" >&2; fail "tune: interrupted message"; }
assert_eq 0 "$(coord_tune_scratch)" "no scratch table left after SIGINT"
if pgrep -f "$HARNESS_TMP/ferry-tune-" >/dev/null; then
    pgrep -af "$HARNESS_TMP/ferry-tune-" >&2
    fail "a process of tune's is left after SIGINT"
fi
# The workers of tune's runs connect as ferry/tune_<id>_<n>/<worker>: none
# may stay (a backend ends a moment after its process).
no_sessions() { [[ $(pg_psql tgt -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'ferry/tune\\_%'") == 0 ]]; }
poll_until 15 "the sessions of tune's workers to end" no_sessions
assert_eq "$before_sum" "$(coord_final_sum)" "the final table is untouched after SIGINT"
assert_eq "$before_runs" "$(coord_published)" "the published runs are untouched after SIGINT"
echo "coord_tune_sigint: OK"
