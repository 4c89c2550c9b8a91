# bench/lib.sh: what the bench/bench_*.sh scripts share: the output dir
# and its log, waiting for another benchmark, the Release build, the
# clusters with the anchors' settings, the CPU and autovacuum snapshots
# around a run, and the interleaved rounds. Sourced, not run:
#
#   ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
#   source "$ROOT/bench/lib.sh"
#
# The functions read the caller's globals: ROOT, OUT (bench_out sets it),
# WAIT_FOR and the knobs below; run_part calls the caller's run_one LABEL
# CONTENDER. tests/lib/pg.sh (clusters, fail, poll_until) is sourced by
# bench_pg.

# The knobs every script takes (bench/README.md); a script that wants
# another default sets it before sourcing this file.
ROWS=${ROWS:-5000000}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-1}
BUILD=${BUILD:-1}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench2}
WORKLOAD=${WORKLOAD:-$ROOT/bench/workloads/accounts.sql}
OUT_ROOT=${OUT_DIR:-$ROOT/bench/out}

# bench_need_int VAR...: exit 2 unless each named variable is a positive integer.
bench_need_int() {
    local v
    for v in "$@"; do
        [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
    done
}

# bench_need_tools: the workload file, /usr/bin/time and python3 (summary).
bench_need_tools() {
    [[ -f "$WORKLOAD" ]] || { echo "workload not found: $WORKLOAD (set WORKLOAD)" >&2; exit 2; }
    [[ -x /usr/bin/time ]] || { echo "/usr/bin/time missing (apt-get install time)" >&2; exit 2; }
    command -v python3 >/dev/null || { echo "python3 missing (summary)" >&2; exit 2; }
}

# bench_out NAME: OUT=$OUT_ROOT/NAME-<UTC stamp> (STAMP set too), with the
# symlink NAME-latest beside it.
bench_out() {
    STAMP=$(date -u +%Y%m%d-%H%M%S)
    OUT="$OUT_ROOT/$1-$STAMP"
    mkdir -p "$OUT"
    ln -sfn "$1-$STAMP" "$OUT_ROOT/$1-latest"
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/bench.log" >&2; }

# Another benchmark on the same 2 cores would distort both: wait while a
# process matching the pgrep -f pattern $WAIT_FOR runs (empty: no one).
wait_quiet() {
    [[ -n "${WAIT_FOR:-}" ]] || return 0
    local first=1 others
    while others=$(pgrep -f "$WAIT_FOR" | grep -vx -e "$$" -e "$BASHPID" || true) && [[ -n "$others" ]]; do
        if [[ $first == 1 ]]; then
            log "waiting: '$WAIT_FOR' runs (pid $(echo "$others" | xargs)); polling every 30 s"
            first=0
        fi
        sleep 30
    done
    [[ $first == 1 ]] || log "'$WAIT_FOR' is gone; going on"
}

# bench_build [-DVAR=VALUE...] TARGET...: a Release build of the targets
# into $BUILD_DIR (log in $OUT/build.log); exits 1 when it fails.
bench_build() {
    local defs=() targets=()
    while [[ $# -gt 0 ]]; do
        case "$1" in -D*) defs+=("$1") ;; *) targets+=("$1") ;; esac
        shift
    done
    log "building ${targets[*]} (Release) in $BUILD_DIR"
    { cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "${defs[@]}" &&
        cmake --build "$BUILD_DIR" --target "${targets[@]}" -j2; } >"$OUT/build.log" 2>&1 ||
        { tail -n 40 "$OUT/build.log" >&2; echo "FAIL: build failed ($OUT/build.log)" >&2; exit 1; }
}

# bench_ferry_bins: COORD and WORKER (FERRY_COORDINATOR / FERRY_WORKER or
# $BUILD_DIR's), checked, and FERRY_WORKER_BIN exported for --local-workers.
bench_ferry_bins() {
    COORD=${FERRY_COORDINATOR:-$BUILD_DIR/coordinator/ferry-coordinator}
    WORKER=${FERRY_WORKER:-$BUILD_DIR/worker/ferry-worker}
    [[ -x "$COORD" && -x "$WORKER" ]] || { echo "FAIL: $COORD / $WORKER not built (BUILD=1 builds them)" >&2; exit 1; }
    export FERRY_WORKER_BIN="$WORKER"
}

# bench_ferry_setup: with BUILD=1, waits for the others and builds
# ferry-coordinator and ferry-worker; then bench_ferry_bins and bench_pg.
bench_ferry_setup() {
    if [[ "$BUILD" == 1 ]]; then
        wait_quiet
        bench_build ferry-coordinator ferry-worker
    fi
    bench_ferry_bins
    bench_pg
}

# bench_pg: the cluster harness (tests/lib/pg.sh: clusters and scratch dirs
# are torn down at exit), PSQL and the clock tick.
bench_pg() {
    # shellcheck source=../tests/lib/pg.sh
    source "$ROOT/tests/lib/pg.sh"
    PSQL="$(pg_bindir)/psql"
    TICK=$(getconf CLK_TCK)
}

# bench_cmake_var NAME: a variable of $BUILD_DIR's CMake cache.
bench_cmake_var() {
    grep -m1 "^$1:" "$BUILD_DIR/CMakeCache.txt" 2>/dev/null | cut -d= -f2
}

# bench_env_machine: the provenance lines every env.txt starts with.
bench_env_machine() {
    echo "date_utc: $(date -u '+%Y-%m-%d %H:%M:%S')"
    echo "host: $(hostname)"
    echo "nproc: $(nproc)"
    echo "mem: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "postgres: $("$(pg_bindir)/postgres" --version)"
}

# bench_binary LABEL FILE: one env.txt line naming a binary and its build.
bench_binary() {
    echo "$1: $2 sha256=$(sha256sum "$2" | cut -c1-16) built $(date -u -r "$2" '+%Y-%m-%d %H:%M:%S') UTC"
}

# bench_env_ferry: the env.txt lines naming the ferry build measured
# (bench_ferry_bins's) and the state of its sources.
bench_env_ferry() {
    echo "build_type: $(bench_cmake_var CMAKE_BUILD_TYPE)"
    echo "cflags_release: $(bench_cmake_var CMAKE_C_FLAGS_RELEASE)"
    echo "sanitizer: $(bench_cmake_var FERRY_SANITIZER)"
    bench_binary coordinator "$COORD"
    bench_binary worker "$WORKER"
    echo "git_head: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "git_dirty_sources (work tree at start):"
    git -C "$ROOT" status --porcelain -- common worker coordinator cmake CMakeLists.txt 2>/dev/null | sed 's/^/  /'
}

# bench_clusters NAME...: start the clusters with the anchors' settings and
# append their relevant settings to $OUT/env.txt.
BENCH_CONF=("shared_buffers = 1GB" "max_wal_size = 8GB" "fsync = on"
            "synchronous_commit = on" "full_page_writes = on")
bench_clusters() {
    local c
    wait_quiet
    log "starting clusters $* (${BENCH_CONF[*]})"
    for c in "$@"; do pg_start "$c" "${BENCH_CONF[@]}"; done
    for c in "$@"; do
        pg_psql "$c" -At -c "SELECT name || ' = ' || setting || coalesce(' ' || unit, '') FROM pg_settings
            WHERE name IN ('shared_buffers','max_wal_size','fsync','synchronous_commit',
                           'full_page_writes','autovacuum','wal_level','work_mem','TimeZone')
            ORDER BY name" | sed "s/^/$c: /" >>"$OUT/env.txt"
    done
}

# bench_load_source: $ROWS rows of $WORKLOAD into src, the same table empty
# into tgt (logs in $OUT/load.log).
bench_load_source() {
    local t0
    log "loading $ROWS rows into the source ($WORKLOAD)"
    t0=$(date +%s)
    pg_psql src -v rows="$ROWS" -f "$WORKLOAD" >"$OUT/load.log" 2>&1 ||
        { cat "$OUT/load.log" >&2; fail "source load failed"; }
    log "source loaded in $(($(date +%s) - t0)) s: $(pg_psql src -At -c "SELECT pg_size_pretty(pg_table_size('accounts')) || ' heap, ' || pg_size_pretty(pg_indexes_size('accounts')) || ' index'")"
    pg_psql tgt -v rows=0 -f "$WORKLOAD" >>"$OUT/load.log" 2>&1 || fail "target DDL failed"
}

# bench_reference_job FILE PUBLISH: the reference job (accounts in key
# order, src to tgt's public.accounts, publish: PUBLISH, loopback bind).
bench_reference_job() {
    cat >"$1" <<EOF
source:
  conninfo: "$src_DSN"
  query: "SELECT * FROM accounts ORDER BY acct_id"
target:
  conninfo: "$tgt_DSN"
  table: public.accounts
  publish: $2
cluster:
  bind: "tcp://127.0.0.1:*"
EOF
}

# ---------------------------------------------------------------- snapshots
# The clusters whose CPU and autovacuum are watched (a script that stops
# its source sets BENCH_WATCH=tgt).
BENCH_WATCH="src tgt"

# CPU ticks (user+sys) a cluster has used so far: the postmaster, its
# reaped children (backends that exited) and its live children; 0 for a
# cluster not in BENCH_WATCH.
srv_ticks() {
    local dirvar="${1}_DIR" pm p t total
    [[ " $BENCH_WATCH " == *" $1 "* ]] || { echo 0; return; }
    pm=$(head -n 1 "${!dirvar}/postmaster.pid")
    total=$(awk '{sub(/^[^)]*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$pm/stat")
    for p in $(ps -o pid= --ppid "$pm"); do
        t=$(awk '{sub(/^[^)]*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || continue
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
# Machine-wide busy and idle ticks (all cores), to see what others used.
sys_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }

autovac_count() {
    pg_psql "$1" -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
}
no_autovac() {
    local c
    for c in $BENCH_WATCH; do [[ $(autovac_count "$c") == 0 ]] || return 1; done
}

# bench_quiesce: CHECKPOINT the watched clusters, wait until no autovacuum
# worker runs, let the prep backends exit.
bench_quiesce() {
    local c
    for c in $BENCH_WATCH; do pg_psql "$c" -c "CHECKPOINT"; done
    poll_until 900 "autovacuum to finish on $BENCH_WATCH" no_autovac
    sleep 1
}

# bench_reset TABLE...: before a run: wait for the others, TRUNCATE the
# target's TABLEs, drop the ferry schema (ledger, staging), bench_quiesce.
bench_reset() {
    local tables
    tables=$(IFS=,; echo "$*")
    wait_quiet
    pg_psql tgt -c "TRUNCATE $tables"
    pg_psql tgt -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS ferry CASCADE"
    bench_quiesce
}

# bench_tsv_header COLUMN...: $OUT/runs.tsv with the tab-separated header.
bench_tsv_header() {
    (IFS=$'\t'; echo "$*") >"$OUT/runs.tsv"
}

# bench_perf_top REPORT N: the N top symbols of a `perf report --stdio`
# file as markdown table rows (with the header), for the summaries.
bench_perf_top() {
    echo "| % | dso | symbol |"
    echo "|---|---|---|"
    awk -v n="$2" 'match($0, /^[ \t]+[0-9.]+%[ \t]+[^ \t]+[ \t]+\[.\][ \t]+/) {
        split(substr($0, 1, RLENGTH), f, /[ \t]+/)
        sym = substr($0, RLENGTH + 1); sub(/[ \t]+$/, "", sym)
        pct = f[2]; sub(/%$/, "", pct)
        printf "| %s | %s | %s `%s` |\n", pct, f[3], substr(f[4], 2, 1), sym
        if (++k == n) exit
    }' "$1"
}

# autovacuum/autoanalyze passes so far on the target's tables (chunked loads
# commit as they go, so autovacuum can start on the table being loaded)
av_count() {
    pg_psql tgt -At -c "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables"
}
# Before a run: A0 (autovacuum passes), S0/T0 (src/tgt ticks), B0 (machine
# busy ticks), LOAD1 (1-minute load average).
snapshot_before() {
    A0=$(av_count)
    S0=$(srv_ticks src); T0=$(srv_ticks tgt)
    read -r B0 _ < <(sys_ticks)
    LOAD1=$(cut -d' ' -f1 /proc/loadavg)
}
# Right after a run, before any verification query: machine ticks at once,
# server ticks once the run's backends have exited and been reaped, then
# A1 ("N+running" while an autovacuum worker still runs).
snapshot_after() {
    read -r B1 _ < <(sys_ticks)
    sleep 0.5
    S1=$(srv_ticks src); T1=$(srv_ticks tgt)
    sleep 0.5
    A1=$(av_count)
    no_autovac || A1="$A1+running"
}
# autovacuum passes during the run, from the snapshots
av_delta() {
    local av="$((${A1%+*} - A0))"
    [[ "$A1" == *+running ]] && av="$av+running"
    echo "$av"
}

# bench_coord_run DIR RUN_ID WHAT JOB ARG...: one timed `ferry-coordinator
# run JOB ARG... --run-id RUN_ID` between the snapshots (coord.out,
# coord.err, coord.time and report.json in DIR); sets T_START and T_END;
# fails naming WHAT unless it exits 0.
bench_coord_run() {
    local d=$1 run_id=$2 what=$3 job=$4 rc=0
    shift 4
    snapshot_before
    T_START=$(now)
    /usr/bin/time -f "$TIMEFMT" -o "$d/coord.time" \
        "$COORD" run "$job" "$@" --report "$d/report.json" --run-id "$run_id" \
        >"$d/coord.out" 2>"$d/coord.err" </dev/null || rc=$?
    T_END=$(now)
    snapshot_after
    [[ $rc -eq 0 ]] || { tail -n 30 "$d/coord.err" >&2; fail "$what: ferry-coordinator exited $rc"; }
}

now() { date +%s.%N; }
fadd() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
# sum_time FILE...: total user+sys seconds and max RSS (KiB) of /usr/bin/time files
sum_time() { awk '{u += $2; s += $3; if ($4 > m) m = $4} END { printf "%.2f %.2f %d\n", u, s, m }' "$@"; }
TIMEFMT='%e %U %S %M'

# run_part NAME CONTENDER...: a warm-up of each (WARMUP=1), then RUNS
# rounds, the order rotated by one every round; run_one LABEL CONTENDER
# is the caller's.
run_part() {
    local part=$1
    shift
    local list=("$@") n=$# i j
    log "part $part: contenders ${list[*]}"
    if [[ "$WARMUP" == 1 ]]; then
        for ((j = 0; j < n; j++)); do run_one warmup "${list[$j]}"; done
    fi
    for ((i = 1; i <= RUNS; i++)); do
        for ((j = 0; j < n; j++)); do
            run_one "run$i" "${list[$(((j + i - 1) % n))]}"
        done
    done
}
