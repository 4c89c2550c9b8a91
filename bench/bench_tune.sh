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
ROWS=${ROWS:-5000000}
REPEAT=${REPEAT:-3}
TUNE_ARGS=${TUNE_ARGS:-}
BUILD=${BUILD:-1}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench2}
WAIT_FOR=${WAIT_FOR-'bench/bench_(worker|coordinator|csv)'}   # a pgrep -f pattern; empty: wait for no one
WORKLOAD=${WORKLOAD:-$ROOT/bench/workloads/accounts.sql}
OUT_ROOT=${OUT_DIR:-$ROOT/bench/out}

[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || { echo "ROWS must be a positive integer" >&2; exit 2; }
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "REPEAT must be a positive integer" >&2; exit 2; }
[[ -f "$WORKLOAD" ]] || { echo "workload not found: $WORKLOAD (set WORKLOAD)" >&2; exit 2; }

STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT="$OUT_ROOT/tune-$STAMP"
mkdir -p "$OUT"
ln -sfn "tune-$STAMP" "$OUT_ROOT/tune-latest"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/bench.log" >&2; }
log "output: $OUT (ROWS=$ROWS REPEAT=$REPEAT TUNE_ARGS='$TUNE_ARGS')"

# Another benchmark on the same cores would distort both: wait for it.
wait_quiet() {
    [[ -n "$WAIT_FOR" ]] || return 0
    local first=1 others
    while others=$(pgrep -f "$WAIT_FOR" | grep -vx -e "$$" -e "$BASHPID" || true) && [[ -n "$others" ]]; do
        if [[ $first == 1 ]]; then
            log "waiting: another benchmark runs (pid $(echo "$others" | xargs)); polling every 30 s"
            first=0
        fi
        sleep 30
    done
}

if [[ "$BUILD" == 1 ]]; then
    wait_quiet
    log "building ferry-coordinator and ferry-worker (Release) in $BUILD_DIR"
    { cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$BUILD_DIR" --target ferry-coordinator ferry-worker -j2; } >"$OUT/build.log" 2>&1 ||
        { tail -n 40 "$OUT/build.log" >&2; echo "FAIL: build failed ($OUT/build.log)" >&2; exit 1; }
fi
COORD=${FERRY_COORDINATOR:-$BUILD_DIR/coordinator/ferry-coordinator}
WORKER=${FERRY_WORKER:-$BUILD_DIR/worker/ferry-worker}
[[ -x "$COORD" && -x "$WORKER" ]] || { echo "FAIL: $COORD / $WORKER not built (BUILD=1 builds them)" >&2; exit 1; }
export FERRY_WORKER_BIN="$WORKER"

# shellcheck source=../tests/lib/pg.sh
source "$ROOT/tests/lib/pg.sh"
{
    echo "date_utc: $(date -u '+%Y-%m-%d %H:%M:%S')"
    echo "host: $(hostname)  nproc: $(nproc)  mem: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "loadavg_at_start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "postgres: $("$(pg_bindir)/postgres" --version)"
    echo "build_type: $(grep -m1 '^CMAKE_BUILD_TYPE:' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null | cut -d= -f2)"
    echo "coordinator: $COORD sha256=$(sha256sum "$COORD" | cut -c1-16)"
    echo "git_head: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "ROWS=$ROWS REPEAT=$REPEAT TUNE_ARGS=$TUNE_ARGS"
} >"$OUT/env.txt"

CONF=("shared_buffers = 1GB" "max_wal_size = 8GB" "fsync = on"
      "synchronous_commit = on" "full_page_writes = on")
wait_quiet
log "starting clusters src, tgt (${CONF[*]})"
pg_start src "${CONF[@]}"
pg_start tgt "${CONF[@]}"
log "loading $ROWS rows into the source ($WORKLOAD)"
pg_psql src -v rows="$ROWS" -f "$WORKLOAD" >"$OUT/load.log" 2>&1 ||
    { cat "$OUT/load.log" >&2; fail "source load failed"; }
pg_psql tgt -v rows=0 -f "$WORKLOAD" >>"$OUT/load.log" 2>&1 || fail "target DDL failed"

JOB="$OUT/job.yaml"
cat >"$JOB" <<EOF
source:
  conninfo: "$src_DSN"
  query: "SELECT * FROM accounts ORDER BY acct_id"
target:
  conninfo: "$tgt_DSN"
  table: public.accounts
  publish: merge
cluster:
  bind: "tcp://127.0.0.1:*"
EOF

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
