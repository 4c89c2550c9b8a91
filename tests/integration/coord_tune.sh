#!/usr/bin/env bash
# tests/integration/coord_tune.sh: ferry-coordinator tune (issue 14) on a
# 200,000-row job against real clusters.
# - A real run first publishes the source into public.accounts (a merge
#   job): the final table and that published run are what tune must leave
#   alone.
# - tune with a 2x2 matrix (chunk sizes 50000,100000 x 1,2 workers) prints
#   the sequential baseline, the four configurations and auto, the best
#   marked, a recommendation; --write writes a job file that `plan`
#   accepts; the final table's rows and the published runs in ferry.runs
#   are unchanged, every run tune made is kind 'tune', no scratch table
#   is left, and ferry.baselines holds the sequential baseline for the job;
#   history leaves tune's runs out (--all shows them) and shows that
#   baseline with --job.
# (--json: coord_tune_json.sh; SIGINT: coord_tune_sigint.sh.)
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup
coord_accounts 200000
job="$HARNESS_TMP/job.yaml"
coord_job "$job" public.accounts "SELECT * FROM accounts ORDER BY acct_id" acct_id \
    "chunk_size: 100000"
sed -i 's/  snapshot: none/  snapshot: shared/' "$job"
run_expect 0 first "$coord" run "$job" --local-workers 2 --run-id first
before_sum=$(coord_final_sum)
before_runs=$(coord_published)
assert_contains "$before_sum" "200000 " "the first run loaded the source"

# 1. The 2x2 matrix, text output, --write.
run_expect 0 tune "$coord" tune "$job" --rows 200000 --chunk-sizes 50000,100000 --workers 1,2 \
    --slots 2 --write "$HARNESS_TMP/tuned.yaml"
out=$(cat "$HARNESS_TMP/tune.out")
for label in "sequential" "50000 rows/chunk x 1 worker(s) x 2" "50000 rows/chunk x 2 worker(s) x 2" \
             "100000 rows/chunk x 1 worker(s) x 2" "100000 rows/chunk x 2 worker(s) x 2" \
             "auto: "; do
    line=$(grep -F -- "$label" <<<"$out" | grep -v '^recommendation' | head -n 1)
    [[ $line =~ ^[*~\ ]\ .*\ [0-9]+\.[0-9]{2}\ +[0-9]+\ +[0-9.]+\ +[0-9.]+x ]] \
        || { echo "$out" >&2; fail "tune: no figures for '$label'"; }
done
[[ $(grep -c '^\* ' <<<"$out") == 1 ]] || { echo "$out" >&2; fail "tune: exactly one configuration is marked best"; }
assert_contains "$out" "200000 rows of public.accounts's source" "tune: the sample"
assert_contains "$out" "min_rows_for_parallel: " "tune: the crossover is recommended"
grep -qE '^bound: (source|target|ferry) ' <<<"$out" || { echo "$out" >&2; fail "tune: no bound"; }
grep -q "tune: run 6 of 6: auto: " "$HARNESS_TMP/tune.err" || { cat "$HARNESS_TMP/tune.err" >&2; fail "tune: progress lines"; }
grep -q "ETA" "$HARNESS_TMP/tune.err" || fail "tune: the progress line has no ETA"
no_sanitizer_reports tune
assert_eq "$before_sum" "$(coord_final_sum)" "tune left the final table's rows alone"
assert_eq "$before_runs" "$(coord_published)" "tune left the published runs in ferry.runs alone"
assert_eq 0 "$(coord_tune_scratch)" "tune dropped its scratch tables"
assert_eq 6 "$(pg_psql tgt -At -c "SELECT count(*) FROM ferry.runs WHERE kind = 'tune' AND status = 'published'")" \
    "the six measurements are recorded as kind tune"
hash=$(pg_psql tgt -At -c "SELECT job_hash FROM ferry.runs WHERE run_id = 'first'")
assert_eq 1 "$(pg_psql tgt -At -c "SELECT count(*) FROM ferry.baselines WHERE job_hash = '$hash' AND source = 'tune' AND rows = 200000 AND wall_seconds > 0")" \
    "tune recorded its sequential baseline for the job"
# history leaves tune's measurements out, unless --all; --job shows tune's baseline.
run_expect 0 hist "$coord" history --job "$job" --json
run_expect 0 histall "$coord" history --target "$(pg_dsn tgt)" --all --json
"$py" - "$HARNESS_TMP/hist.out" "$HARNESS_TMP/histall.out" <<'PY' || fail "history after tune (above)"
import json, sys
d = json.load(open(sys.argv[1]))
assert [r["run_id"] for r in d["runs"]] == ["first"], d["runs"]
assert d["baseline"]["runs"] == 1 and d["tune_baseline"]["rows"] == 200000, d
a = json.load(open(sys.argv[2]))
assert sorted(r["kind"] for r in a["runs"]) == ["run"] + ["tune"] * 6, [r["kind"] for r in a["runs"]]
PY
grep -q '^pipeline:' "$HARNESS_TMP/tuned.yaml" || fail "--write: no pipeline section"
[[ $(grep -c '^pipeline' "$HARNESS_TMP/tuned.yaml") == 1 ]] || { cat "$HARNESS_TMP/tuned.yaml" >&2; fail "--write: the old pipeline section stays"; }
run_expect 0 plan "$coord" plan "$HARNESS_TMP/tuned.yaml"
assert_contains "$(cat "$HARNESS_TMP/plan.out")" "plan for public.accounts" "plan accepts the written job"

no_sanitizer_reports first hist histall plan
echo "coord_tune: OK"
