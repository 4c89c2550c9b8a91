#!/usr/bin/env bash
# bench/bench_tune.sh: ferry-coordinator tune (issue 14) on the reference
# job: the `accounts` workload of bench_coordinator.sh (5,000,000 rows,
# shared/workloads/accounts.sql), PostgreSQL to PostgreSQL, publish: merge
# into public.accounts (PK).
#
#   bench/bench_tune.sh                          # 5M-row source, tune's defaults, --repeat 3
#   ROWS=200000 REPEAT=1 TUNE_ARGS="--chunk-sizes 50000,100000 --workers 1,2" \
#       bench/bench_tune.sh                      # quick dry run (~2 min)
#
# tune samples min(source rows, 1,000,000) rows by default (TUNE_ARGS
# "--rows N" changes it) and runs the sequential baseline, every chunk size
# x worker count of its defaults (25000,50000,100000,200000 x 1,2,4, 2
# slots each) and concurrency auto, $REPEAT times each, interleaved, with a
# CHECKPOINT of the target before each run (tune does that itself). The
# clusters get the anchors' settings (as bench_coordinator.sh). After tune:
# the final table must still be empty and no scratch table ferry.tune_* may
# be left (the script fails otherwise); the job file tune wrote (--write)
# must pass `plan`.
# Output: bench/out/tune-<UTC stamp>/ (env.txt, tune.txt: the table and
# the recommendation, tune.err: progress and logs, tuned.yaml, history.txt).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
# (lib.sh: ROWS, RUNS, WARMUP, BUILD, BUILD_DIR, WORKLOAD, OUT_DIR)
REPEAT=${REPEAT:-3}
TUNE_ARGS=${TUNE_ARGS:-}
WAIT_FOR=${WAIT_FOR-'bench/bench_(worker|coordinator|csv)'}   # a pgrep -f pattern; empty: wait for no one

bench_need_int ROWS REPEAT
[[ -f "$WORKLOAD" ]] || { echo "workload not found: $WORKLOAD (set WORKLOAD)" >&2; exit 2; }

bench_out tune
log "output: $OUT (ROWS=$ROWS REPEAT=$REPEAT TUNE_ARGS='$TUNE_ARGS')"

bench_ferry_setup
{
    bench_env_machine
    echo "loadavg_at_start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "build_type: $(bench_cmake_var CMAKE_BUILD_TYPE)"
    bench_binary coordinator "$COORD"
    echo "git_head: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "ROWS=$ROWS REPEAT=$REPEAT TUNE_ARGS=$TUNE_ARGS"
} >"$OUT/env.txt"

bench_clusters src tgt
bench_load_source

JOB="$OUT/job.yaml"
bench_reference_job "$JOB" merge

wait_quiet
log "ferry-coordinator tune (progress in $OUT/tune.err)"
t0=$(date +%s)
rc=0
# shellcheck disable=SC2086 # TUNE_ARGS is a list of options
"$COORD" tune "$JOB" --repeat "$REPEAT" $TUNE_ARGS --write "$OUT/tuned.yaml" \
    >"$OUT/tune.txt" 2>"$OUT/tune.err" || rc=$?
[[ $rc == 0 ]] || { tail -n 30 "$OUT/tune.err" >&2; fail "tune failed (exit $rc; $OUT/tune.err)"; }
log "tune took $(($(date +%s) - t0)) s"
echo "loadavg_at_end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"

rows=$(pg_psql tgt -At -c "SELECT count(*) FROM accounts")
[[ "$rows" == 0 ]] || fail "tune touched the final table: $rows rows in accounts"
left=$(pg_psql tgt -At -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'ferry' AND tablename LIKE 'tune\\_%'")
[[ "$left" == 0 ]] || fail "tune left $left scratch table(s)"
"$COORD" plan "$OUT/tuned.yaml" >"$OUT/plan.txt" 2>&1 ||
    { cat "$OUT/plan.txt" >&2; fail "plan refuses the job file tune wrote"; }
"$COORD" history --target "$tgt_DSN" --all --last 200 >"$OUT/history.txt" 2>&1 || true
cat "$OUT/tune.txt"
log "done: $OUT"
