#!/usr/bin/env bash
# bench/bench_coordinator.sh: ferry-coordinator with local workers against
# pgcopydb and raw binary COPY pipes, PostgreSQL to PostgreSQL (issue 3).
#
#   bench/bench_coordinator.sh                      # 5,000,000 rows, 3 runs each
#   ROWS=200000 RUNS=1 WARMUP=0 bench/bench_coordinator.sh   # quick dry run
#
# Two parts (PARTS="fresh merge"), each with its contenders interleaved
# round by round (the order rotates by one every round):
#
#   fresh: a fresh load into the empty final table `accounts` (PK):
#     ferry-direct-WxS  ferry-coordinator run (publish: direct)
#                       --local-workers W --slots S, for WxS in $CONFIGS
#                       (WxS@N: with pipeline.chunk_size N, e.g. 2x2@50000)
#     ferry-seq         the same with --local-workers 1 --sequential
#     pgcopydb-Np       pgcopydb copy table-data --table-jobs $PGCOPYDB_JOBS,
#                       the table split in N parts (PGCOPYDB_SPLIT_TABLES_
#                       LARGER_THAN), N in $PGCOPYDB_PARTS
#     raw-pipe          psql COPY (SELECT * FROM accounts) TO STDOUT binary
#                       | psql COPY accounts FROM STDIN binary; ANALYZE is
#                       timed apart (not in its wall)
#   merge: the merge path, staging then publish, into the empty final table:
#     ferry-merge-WxS   ferry-coordinator run (publish: merge), WxS in
#                       $MERGE_CONFIGS
#     raw-merge1        one binary pipe into UNLOGGED `stage`, then
#                       INSERT INTO accounts SELECT * FROM stage (what
#                       coordinator/publish.c runs for an empty final table
#                       with a unique index), then ANALYZE accounts
#     raw-merge2        the same with two pipes over the key halves, in
#                       parallel
#
# Before every run: wait while another benchmark ($WAIT_FOR) runs, TRUNCATE
# accounts and stage, DROP SCHEMA ferry CASCADE, CHECKPOINT on both clusters,
# no autovacuum worker running. Every run's row count is checked (ferry: exit
# status, report status/rows_loaded and count(*)); the script fails loudly
# otherwise. Clusters: tests/lib/pg.sh with the anchors' settings.
# Output: bench/out/coordinator-<UTC stamp>/ (runs.tsv, summary.md, reports,
# logs); the summary is printed at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${ROWS:-5000000}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-1}
BUILD=${BUILD:-1}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench2}
PARTS=${PARTS:-"fresh merge"}
CONFIGS=${CONFIGS:-"1x1 1x2 2x1"}
MERGE_CONFIGS=${MERGE_CONFIGS:-$CONFIGS}
SEQUENTIAL=${SEQUENTIAL:-1}
PGCOPYDB_JOBS=${PGCOPYDB_JOBS:-2}
PGCOPYDB_PARTS=${PGCOPYDB_PARTS:-"2 5"}
CHUNK_SIZE=${CHUNK_SIZE:-}            # empty: ferry's default (pipeline.chunk_size 500000)
SPLIT=${SPLIT:-}                      # empty: ferry's default (source.split auto: ctid here); key | ctid
TARGET_AUTOVACUUM=${TARGET_AUTOVACUUM:-on}   # off: autovacuum_enabled = false on the target's accounts (diagnostic)
WAIT_FOR=${WAIT_FOR-bench_worker.sh}   # empty: do not wait for anyone
WORKLOAD=${WORKLOAD:-$ROOT/bench/workloads/accounts.sql}
OUT_ROOT=${OUT_DIR:-$ROOT/bench/out}

[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || { echo "ROWS must be a positive integer" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
[[ -f "$WORKLOAD" ]] || { echo "workload not found: $WORKLOAD (set WORKLOAD)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time missing (apt-get install time)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 missing (summary)" >&2; exit 2; }
for c in $CONFIGS $MERGE_CONFIGS; do
    [[ "$c" =~ ^[1-9][0-9]*x[1-9][0-9]*(@[1-9][0-9]*)?$ ]] \
        || { echo "bad WxS[@CHUNK] config '$c' (e.g. 2x1, or 2x2@50000 for chunk_size 50000)" >&2; exit 2; }
done
if [[ " $PARTS " == *" fresh "* && -n "$PGCOPYDB_PARTS" ]]; then
    command -v pgcopydb >/dev/null || { echo "pgcopydb missing (apt-get install -y pgcopydb)" >&2; exit 2; }
fi

STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT="$OUT_ROOT/coordinator-$STAMP"
mkdir -p "$OUT"
ln -sfn "coordinator-$STAMP" "$OUT_ROOT/coordinator-latest"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/bench.log" >&2; }
log "output: $OUT (ROWS=$ROWS RUNS=$RUNS WARMUP=$WARMUP PARTS='$PARTS' CONFIGS='$CONFIGS' MERGE_CONFIGS='$MERGE_CONFIGS')"

# Another benchmark on the same 2 cores would distort both: wait for it.
wait_quiet() {
    [[ -n "$WAIT_FOR" ]] || return 0
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

# ---------------------------------------------------------------- build
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
PSQL="$(pg_bindir)/psql"
TICK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- provenance
{
    echo "date_utc: $(date -u '+%Y-%m-%d %H:%M:%S')"
    echo "host: $(hostname)"
    echo "nproc: $(nproc)"
    echo "mem: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "postgres: $("$(pg_bindir)/postgres" --version)"
    echo "pgcopydb: $(pgcopydb --version 2>&1 | grep -m1 -o 'pgcopydb version [^ ]*' || echo missing)"
    echo "build_type: $(grep -m1 '^CMAKE_BUILD_TYPE:' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null | cut -d= -f2)"
    echo "cflags_release: $(grep -m1 '^CMAKE_C_FLAGS_RELEASE:' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null | cut -d= -f2)"
    echo "sanitizer: $(grep -m1 '^FERRY_SANITIZER:' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null | cut -d= -f2)"
    echo "coordinator: $COORD sha256=$(sha256sum "$COORD" | cut -c1-16) built $(date -u -r "$COORD" '+%Y-%m-%d %H:%M:%S') UTC"
    echo "worker: $WORKER sha256=$(sha256sum "$WORKER" | cut -c1-16) built $(date -u -r "$WORKER" '+%Y-%m-%d %H:%M:%S') UTC"
    echo "git_head: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "git_dirty_sources (work tree at start):"
    git -C "$ROOT" status --porcelain -- common worker coordinator cmake CMakeLists.txt 2>/dev/null | sed 's/^/  /'
    echo "ROWS=$ROWS RUNS=$RUNS WARMUP=$WARMUP PARTS=$PARTS CONFIGS=$CONFIGS MERGE_CONFIGS=$MERGE_CONFIGS SEQUENTIAL=$SEQUENTIAL PGCOPYDB_JOBS=$PGCOPYDB_JOBS PGCOPYDB_PARTS=$PGCOPYDB_PARTS CHUNK_SIZE=${CHUNK_SIZE:-default} TARGET_AUTOVACUUM=$TARGET_AUTOVACUUM"
} >"$OUT/env.txt"

# ---------------------------------------------------------------- clusters
CONF=("shared_buffers = 1GB" "max_wal_size = 8GB" "fsync = on"
      "synchronous_commit = on" "full_page_writes = on")
wait_quiet
log "starting clusters src, tgt (${CONF[*]})"
pg_start src "${CONF[@]}"
pg_start tgt "${CONF[@]}"
for c in src tgt; do
    pg_psql "$c" -At -c "SELECT name || ' = ' || setting || coalesce(' ' || unit, '') FROM pg_settings
        WHERE name IN ('shared_buffers','max_wal_size','fsync','synchronous_commit',
                       'full_page_writes','autovacuum','wal_level','work_mem')
        ORDER BY name" | sed "s/^/$c: /" >>"$OUT/env.txt"
done
SRC_URI="postgresql://postgres@127.0.0.1:$src_PORT/postgres"
TGT_URI="postgresql://postgres@127.0.0.1:$tgt_PORT/postgres"

log "loading $ROWS rows into the source ($WORKLOAD)"
t0=$(date +%s)
pg_psql src -v rows="$ROWS" -f "$WORKLOAD" >"$OUT/load.log" 2>&1 ||
    { cat "$OUT/load.log" >&2; fail "source load failed"; }
SRC_BYTES=$(pg_psql src -At -c "SELECT pg_table_size('accounts')")
log "source loaded in $(($(date +%s) - t0)) s: $(pg_psql src -At -c "SELECT pg_size_pretty(pg_table_size('accounts')) || ' heap, ' || pg_size_pretty(pg_indexes_size('accounts')) || ' index'")"
read -r KEY_MIN KEY_MAX < <(pg_psql src -At -F ' ' -c "SELECT min(acct_id), max(acct_id) FROM accounts")
KEY_MID=$(((KEY_MIN + KEY_MAX + 1) / 2))

# The final table (accounts.sql with 0 rows: same definition, PK) and the
# UNLOGGED staging table of the raw merge baselines.
pg_psql tgt -v rows=0 -f "$WORKLOAD" >>"$OUT/load.log" 2>&1 || fail "target DDL failed"
pg_psql tgt -c "CREATE UNLOGGED TABLE stage (LIKE accounts);
                ALTER TABLE stage SET (autovacuum_enabled = false)"
if [[ "$TARGET_AUTOVACUUM" == off ]]; then
    log "DIAGNOSTIC: autovacuum_enabled = false on the target's accounts"
    pg_psql tgt -c "ALTER TABLE accounts SET (autovacuum_enabled = false)"
fi

write_job() {   # FILE PUBLISH [CHUNK_SIZE]
    local chunk=${3:-$CHUNK_SIZE}
    cat >"$1" <<EOF
source:
  conninfo: "$src_DSN"
  query: "SELECT * FROM accounts ORDER BY acct_id"
${SPLIT:+  split: $SPLIT
}target:
  conninfo: "$tgt_DSN"
  table: public.accounts
  publish: $2
cluster:
  bind: "tcp://127.0.0.1:*"
EOF
    [[ -z "$chunk" ]] || printf 'pipeline:\n  chunk_size: %s\n' "$chunk" >>"$1"
}
# job_for PUBLISH CONFIG: the job file of a WxS[@CHUNK] config.
job_for() {
    local publish=$1 c=$2 f
    if [[ "$c" != *@* ]]; then
        [[ "$publish" == direct ]] && echo "$JOB_DIRECT" || echo "$JOB_MERGE"
        return
    fi
    f="$OUT/job-$publish-c${c#*@}.yaml"
    [[ -f "$f" ]] || write_job "$f" "$publish" "${c#*@}"
    echo "$f"
}
JOB_DIRECT="$OUT/job-direct.yaml"
JOB_MERGE="$OUT/job-merge.yaml"
write_job "$JOB_DIRECT" direct
write_job "$JOB_MERGE" merge
"$COORD" plan "$JOB_DIRECT" >"$OUT/plan.txt" 2>&1 || { cat "$OUT/plan.txt" >&2; fail "ferry-coordinator plan failed"; }

# ---------------------------------------------------------------- helpers
# CPU ticks (user+sys) a cluster has used so far: the postmaster, its
# reaped children (backends that exited) and its live children.
srv_ticks() {
    local dirvar="${1}_DIR" pm p t total
    pm=$(head -n 1 "${!dirvar}/postmaster.pid")
    total=$(awk '{sub(/^[^)]*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$pm/stat")
    for p in $(ps -o pid= --ppid "$pm"); do
        t=$(awk '{sub(/^[^)]*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || continue
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
sys_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }

autovac_count() {
    pg_psql "$1" -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
}
no_autovac() { [[ $(autovac_count src) == 0 && $(autovac_count tgt) == 0 ]]; }

prepare_run() {
    wait_quiet
    pg_psql tgt -c "TRUNCATE accounts, stage"
    pg_psql tgt -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS ferry CASCADE"
    pg_psql tgt -c "CHECKPOINT"
    pg_psql src -c "CHECKPOINT"
    poll_until 900 "autovacuum to finish on both clusters" no_autovac
    sleep 1                         # let the prep backends exit
}

count_of() { pg_psql tgt -At -c "SELECT count(*) FROM $1"; }

# autovacuum/autoanalyze passes so far on the target's tables (chunked loads
# commit as they go, so autovacuum can start on the table being loaded)
av_count() {
    pg_psql tgt -At -c "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables"
}
snapshot_before() {
    A0=$(av_count)
    S0=$(srv_ticks src); T0=$(srv_ticks tgt)
    read -r B0 _ < <(sys_ticks)
    LOAD1=$(cut -d' ' -f1 /proc/loadavg)
}
snapshot_after() {
    read -r B1 _ < <(sys_ticks)
    sleep 0.5
    S1=$(srv_ticks src); T1=$(srv_ticks tgt)
    sleep 0.5
    A1=$(av_count)
    no_autovac || A1="$A1+running"
}

now() { date +%s.%N; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
# sum_time FILE...: total user+sys seconds and max RSS (KiB) of /usr/bin/time files
sum_time() { awk '{u += $2; s += $3; if ($4 > m) m = $4} END { printf "%.2f %.2f %d\n", u, s, m }' "$@"; }

TIMEFMT='%e %U %S %M'
COLS="label part contender wall_s load_s publish_s analyze_s report_wall_s cli_user_s cli_sys_s cli_cpu_s cli_rss_kb coord_rss_mb worker_rss_mb src_srv_cpu_s tgt_srv_cpu_s machine_busy_s other_cpu_s load1 rows autovac detail"
tr ' ' '\t' <<<"$COLS" >"$OUT/runs.tsv"

# record LABEL PART CONTENDER WALL LOAD PUBLISH ANALYZE REPORT_WALL CU CS RSS COORD_RSS WORKER_RSS ROWS DETAIL
record() {
    local av="$((${A1%+*} - A0))"
    [[ "$A1" == *+running ]] && av="$av+running"
    python3 - "$@" "$((S1 - S0))" "$((T1 - T0))" "$((B1 - B0))" "$TICK" "$LOAD1" "$av" >>"$OUT/runs.tsv" <<'PY'
import sys
(label, part, who, wall, load, pub, an, rwall, cu, cs, rss, crss, wrss, rows, detail,
 sd, td, bd, tick, load1, av) = sys.argv[1:]
tick = float(tick)
src, tgt, busy = int(sd) / tick, int(td) / tick, int(bd) / tick
cli = float(cu) + float(cs)
other = busy - cli - src - tgt
print("\t".join([label, part, who, "%.3f" % float(wall), load, pub, an, rwall, cu, cs, "%.2f" % cli, rss,
                 crss, wrss, "%.2f" % src, "%.2f" % tgt, "%.2f" % busy, "%.2f" % other, load1, rows, av, detail]))
PY
    log "$1 $3: $(tail -n 1 "$OUT/runs.tsv" | awk -F'\t' '{printf "wall %s s (load %s, publish %s, analyze %s), cli cpu %s s, src %s s, tgt %s s", $4, $5, $6, $7, $11, $15, $16}')"
}

# ---------------------------------------------------------------- contenders
RUN_SEQ=0
# ferry LABEL PART CONTENDER JOB ARGS...
run_ferry() {
    local label=$1 part=$2 who=$3 job=$4
    shift 4
    local d="$OUT/$label-$who" t0 t1 rc=0 n
    mkdir -p "$d"
    prepare_run
    RUN_SEQ=$((RUN_SEQ + 1))
    local run_id="bench_${STAMP//-/_}_$RUN_SEQ"
    snapshot_before
    t0=$(now)
    /usr/bin/time -f "$TIMEFMT" -o "$d/coord.time" \
        "$COORD" run "$job" "$@" --report "$d/report.json" --run-id "$run_id" \
        >"$d/coord.out" 2>"$d/coord.err" </dev/null || rc=$?
    t1=$(now)
    snapshot_after
    if [[ $rc -ne 0 ]]; then
        tail -n 30 "$d/coord.err" >&2
        fail "ferry $label $who: ferry-coordinator exited $rc"
    fi
    n=$(count_of accounts)
    local fields
    fields=$(python3 - "$d/report.json" "$ROWS" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows, n = int(sys.argv[2]), int(sys.argv[3])
ok = r["status"] == "published" and r["rows_loaded"] == rows and n == rows
wr = max([w["peak_rss_mb"] for w in r["workers"]] or [0])
print("%s %.3f %.3f %.3f %.1f %.1f %d %s" % ("ok" if ok else "BAD", r["load_seconds"], r["merge_seconds"],
      r["wall_seconds"], r["coordinator_peak_rss_mb"], wr, r["chunks_total"],
      "status=%s,rows_loaded=%s,count=%d,strategy=%s" % (r["status"], r["rows_loaded"], n, r.get("publish_strategy"))))
PY
    )
    local ok load pub rwall crss wrss chunks detail
    read -r ok load pub rwall crss wrss chunks detail <<<"$fields"
    [[ "$ok" == ok ]] || fail "ferry $label $who: expected $ROWS rows published: $detail"
    grep -q "text COPY" "$d/coord.err" && log "WARNING: ferry $label $who moved text COPY: $(grep -m1 'text COPY' "$d/coord.err")"
    local w u s rss
    read -r w u s rss <"$d/coord.time"
    record "$label" "$part" "$who" "$(fsub "$t1" "$t0")" "$load" "$pub" "" "$rwall" "$u" "$s" "$rss" \
        "$crss" "$wrss" "$n" "chunks=$chunks,$detail"
}

# pgcopydb LABEL PARTS
run_pgcopydb() {
    local label=$1 parts=$2 who="pgcopydb-${2}p" d t0 t1 rc=0 n thr
    d="$OUT/$label-$who"
    mkdir -p "$d"
    prepare_run
    # ceil(size / thr) = parts: thr = ceil(size / (parts - 0.5)); 1 part: no split
    if [[ "$parts" -gt 1 ]]; then
        thr=$(awk -v b="$SRC_BYTES" -v p="$parts" 'BEGIN { printf "%d", b / (p - 0.5) + 1 }')
    else
        thr=$((SRC_BYTES * 4 + 1048576))
    fi
    rm -rf "$HARNESS_TMP/pgcopydb-$label-$parts"
    snapshot_before
    t0=$(now)
    PGCOPYDB_SPLIT_TABLES_LARGER_THAN=$thr /usr/bin/time -f "$TIMEFMT" -o "$d/pgcopydb.time" \
        pgcopydb copy table-data --source "$SRC_URI" --target "$TGT_URI" \
        --table-jobs "$PGCOPYDB_JOBS" --dir "$HARNESS_TMP/pgcopydb-$label-$parts" \
        >"$d/pgcopydb.out" 2>"$d/pgcopydb.err" </dev/null || rc=$?
    t1=$(now)
    snapshot_after
    [[ $rc -eq 0 ]] || { tail -n 30 "$d/pgcopydb.err" >&2; fail "pgcopydb $label exited $rc"; }
    n=$(count_of accounts)
    [[ "$n" == "$ROWS" ]] || fail "pgcopydb $label: accounts holds $n rows, expected $ROWS"
    local split w u s rss
    split=$(grep -o '[0-9]* COPY processes will be used' "$d/pgcopydb.err" | head -n 1 | grep -o '^[0-9]*' || echo 1)
    read -r w u s rss <"$d/pgcopydb.time"
    record "$label" fresh "$who" "$(fsub "$t1" "$t0")" "" "" "" "" "$u" "$s" "$rss" "" "" "$n" \
        "jobs=$PGCOPYDB_JOBS,split=$split,threshold=$thr"
    rm -rf "$HARNESS_TMP/pgcopydb-$label-$parts"
}

# pipe D TAG SELECT TABLE: one binary psql | psql pipe (time files D/TAG-{out,in}.time)
pipe() {
    local d=$1 tag=$2 sel=$3 table=$4
    /usr/bin/time -f "$TIMEFMT" -o "$d/$tag-out.time" \
        "$PSQL" -X -d "$src_DSN" -c "COPY ($sel) TO STDOUT (FORMAT binary)" 2>"$d/$tag-out.err" |
        /usr/bin/time -f "$TIMEFMT" -o "$d/$tag-in.time" \
            "$PSQL" -X -d "$tgt_DSN" -c "COPY $table FROM STDIN (FORMAT binary)" >"$d/$tag-in.out" 2>"$d/$tag-in.err"
}

run_raw_pipe() {
    local label=$1 who=raw-pipe d t0 t1 t2 n
    d="$OUT/$label-$who"
    mkdir -p "$d"
    prepare_run
    snapshot_before
    t0=$(now)
    pipe "$d" p1 "SELECT * FROM accounts" accounts || { cat "$d"/*.err >&2; fail "raw pipe $label failed"; }
    t1=$(now)
    snapshot_after
    # ANALYZE (which ferry and pgcopydb include) timed apart, outside the CPU window
    /usr/bin/time -f "$TIMEFMT" -o "$d/analyze.time" "$PSQL" -X -q -d "$tgt_DSN" -c "ANALYZE accounts"
    t2=$(now)
    n=$(count_of accounts)
    [[ "$n" == "$ROWS" ]] || fail "raw pipe $label: accounts holds $n rows, expected $ROWS"
    local u s rss
    read -r u s rss < <(sum_time "$d"/p1-*.time)
    record "$label" fresh "$who" "$(fsub "$t1" "$t0")" "$(fsub "$t1" "$t0")" "" "$(fsub "$t2" "$t1")" "" \
        "$u" "$s" "$rss" "" "" "$n" "$(cat "$d/p1-in.out")"
}

# raw-merge1 / raw-merge2: pipe(s) into stage, INSERT ... SELECT, ANALYZE
run_raw_merge() {
    local label=$1 npipes=$2 who="raw-merge$2" d t0 t1 t2 t3 n p1 p2 rc1=0 rc2=0
    d="$OUT/$label-$who"
    mkdir -p "$d"
    prepare_run
    snapshot_before
    t0=$(now)
    if [[ "$npipes" == 1 ]]; then
        pipe "$d" p1 "SELECT * FROM accounts" stage || { cat "$d"/*.err >&2; fail "raw merge $label failed"; }
    else
        pipe "$d" p1 "SELECT * FROM accounts WHERE acct_id < $KEY_MID" stage &
        p1=$!
        pipe "$d" p2 "SELECT * FROM accounts WHERE acct_id >= $KEY_MID" stage &
        p2=$!
        wait "$p1" || rc1=$?
        wait "$p2" || rc2=$?
        [[ $rc1 -eq 0 && $rc2 -eq 0 ]] || { cat "$d"/*.err >&2; fail "raw merge $label: a pipe failed"; }
    fi
    t1=$(now)
    /usr/bin/time -f "$TIMEFMT" -o "$d/insert.time" \
        "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$tgt_DSN" -c "INSERT INTO accounts SELECT * FROM stage" ||
        fail "raw merge $label: INSERT failed"
    t2=$(now)
    /usr/bin/time -f "$TIMEFMT" -o "$d/analyze.time" \
        "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$tgt_DSN" -c "ANALYZE accounts" || fail "raw merge $label: ANALYZE failed"
    t3=$(now)
    snapshot_after
    n=$(count_of accounts)
    local ns
    ns=$(count_of stage)
    [[ "$n" == "$ROWS" && "$ns" == "$ROWS" ]] || fail "raw merge $label: accounts holds $n rows, stage $ns, expected $ROWS"
    local u s rss
    read -r u s rss < <(sum_time "$d"/*.time)
    record "$label" merge "$who" "$(fsub "$t3" "$t0")" "$(fsub "$t1" "$t0")" "$(fsub "$t2" "$t1")" \
        "$(fsub "$t3" "$t2")" "" "$u" "$s" "$rss" "" "" "$n" "pipes=$npipes"
}

run_one() {   # LABEL CONTENDER
    local label=$1 who=$2 w s c
    case "$who" in
        ferry-direct-*) c=${who#ferry-direct-}; w=${c%@*}; s=${w#*x}; w=${w%x*}
            run_ferry "$label" fresh "$who" "$(job_for direct "$c")" --local-workers "$w" --slots "$s" ;;
        ferry-seq) run_ferry "$label" fresh "$who" "$JOB_DIRECT" --local-workers 1 --sequential ;;
        ferry-merge-seq) run_ferry "$label" merge "$who" "$JOB_MERGE" --local-workers 1 --sequential ;;
        ferry-merge-*) c=${who#ferry-merge-}; w=${c%@*}; s=${w#*x}; w=${w%x*}
            run_ferry "$label" merge "$who" "$(job_for merge "$c")" --local-workers "$w" --slots "$s" ;;
        pgcopydb-*p) w=${who#pgcopydb-}; run_pgcopydb "$label" "${w%p}" ;;
        raw-pipe) run_raw_pipe "$label" ;;
        raw-merge1) run_raw_merge "$label" 1 ;;
        raw-merge2) run_raw_merge "$label" 2 ;;
        *) fail "unknown contender $who" ;;
    esac
}

# run_part NAME CONTENDER...: warm-up of each, then RUNS rounds, rotated
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

# ---------------------------------------------------------------- runs
if [[ " $PARTS " == *" fresh "* ]]; then
    fresh=()
    for c in $CONFIGS; do fresh+=("ferry-direct-$c"); done
    [[ "$SEQUENTIAL" == 1 ]] && fresh+=(ferry-seq)
    for p in $PGCOPYDB_PARTS; do fresh+=("pgcopydb-${p}p"); done
    fresh+=(raw-pipe)
    run_part fresh "${fresh[@]}"
fi
if [[ " $PARTS " == *" merge "* ]]; then
    merge=()
    for c in $MERGE_CONFIGS; do merge+=("ferry-merge-$c"); done
    [[ "$SEQUENTIAL" == 1 ]] && merge+=(ferry-merge-seq)
    merge+=(raw-merge1 raw-merge2)
    run_part merge "${merge[@]}"
fi
pg_psql tgt -c "TRUNCATE accounts, stage"

# ---------------------------------------------------------------- summary
python3 - "$OUT" "$ROWS" "$RUNS" >"$OUT/summary.md" <<'PY'
import csv, math, os, statistics, sys
out, rows, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ALL = list(csv.DictReader(open(os.path.join(out, "runs.tsv")), delimiter="\t"))
R = [r for r in ALL if r["label"].startswith("run")]
def f(r, k):
    return float(r[k]) if r.get(k) not in (None, "") else float("nan")
def total(r):
    return f(r, "cli_cpu_s") + f(r, "src_srv_cpu_s") + f(r, "tgt_srv_cpu_s")
def med(who, key):
    v = [f(r, key) if key != "total" else total(r) for r in R if r["contender"] == who]
    v = [x for x in v if not math.isnan(x)]
    return statistics.median(v) if v else float("nan")
def mx(who, key):
    v = [f(r, key) for r in ALL if r["contender"] == who and r[key] != ""]
    return max(v) if v else float("nan")
def who_in(part):
    seen = []
    for r in R:
        if r["part"] == part and r["contender"] not in seen:
            seen.append(r["contender"])
    return seen
def pair(a, b):  # per-round wall ratios b / a (a's rows/s over b's)
    out = []
    for i in range(1, runs + 1):
        wa = [f(r, "wall_s") for r in R if r["label"] == "run%d" % i and r["contender"] == a]
        wb = [f(r, "wall_s") for r in R if r["label"] == "run%d" % i and r["contender"] == b]
        if wa and wb:
            out.append(wb[0] / wa[0])
    return out
env = dict(l.split(": ", 1) for l in open(os.path.join(out, "env.txt")).read().splitlines()
           if ": " in l and not l.startswith(" "))
p = print
p("#### Coordinator vs pgcopydb and raw pipes: %s rows, %d runs each (%s UTC)" % (f"{rows:,}", runs, env.get("date_utc", "?")))
p()
p("Machine: %s cores, %s, kernel %s, %s, %s; ferry %s (%s, %s)." % (env.get("nproc"), env.get("mem"), env.get("kernel"),
  env.get("postgres"), env.get("pgcopydb"), env.get("git_head"), env.get("build_type"), env.get("cflags_release")))
p()
def table(part, base):
    ws = who_in(part)
    if not ws:
        return
    bw = med(base, "wall_s")
    p("| contender | median wall s | rows/s | vs %s (rows/s) | load s | publish s | analyze s | client CPU s | src CPU s | tgt CPU s | total CPU s | rows/CPU-s | client peak RSS MB (time -v) | coordinator RSS MB | worker RSS MB |" % base)
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in ws:
        wall = med(w, "wall_s")
        def s(x, fmt="%.2f"):
            return "" if math.isnan(x) else fmt % x
        p("| %s | %.2f | %s | %.3fx | %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %s | %.1f | %s | %s |" % (
          w, wall, f"{rows / wall:,.0f}", bw / wall, s(med(w, "load_s")), s(med(w, "publish_s")), s(med(w, "analyze_s")),
          med(w, "cli_cpu_s"), med(w, "src_srv_cpu_s"), med(w, "tgt_srv_cpu_s"), med(w, "total"),
          f"{rows / med(w, 'total'):,.0f}", mx(w, "cli_rss_kb") / 1024, s(mx(w, "coord_rss_mb"), "%.1f"),
          s(mx(w, "worker_rss_mb"), "%.1f")))
    p()
verdicts = []
fresh = who_in("fresh")
if fresh:
    p("Fresh load into the empty final table (PK):")
    p()
    table("fresh", "raw-pipe" if "raw-pipe" in fresh else fresh[-1])
    fd = [w for w in fresh if w.startswith("ferry-direct-")]   # ferry-seq is reported apart
    pg = [w for w in fresh if w.startswith("pgcopydb-")]
    if fd and pg:
        bf = min(fd, key=lambda w: med(w, "wall_s"))
        bp = min(pg, key=lambda w: med(w, "wall_s"))
        ratio = med(bp, "wall_s") / med(bf, "wall_s")
        pr = pair(bf, bp)
        p("Best ferry direct: **%s** (%.2f s); best pgcopydb: **%s** (%.2f s). ferry / pgcopydb rows/s: **%.3fx** "
          "(per round: %s)." % (bf, med(bf, "wall_s"), bp, med(bp, "wall_s"), ratio, ", ".join("%.3f" % x for x in pr)))
        if "raw-pipe" in fresh:
            rw = med("raw-pipe", "wall_s")
            p("Best ferry direct vs raw binary pipe: %.3fx rows/s (vs pipe + its ANALYZE: %.3fx)." % (
              rw / med(bf, "wall_s"), (rw + med("raw-pipe", "analyze_s")) / med(bf, "wall_s")))
        if "ferry-seq" in fresh:
            p("ferry --sequential vs best pgcopydb: %.3fx; vs raw pipe: %.3fx." % (
              med(bp, "wall_s") / med("ferry-seq", "wall_s"),
              med("raw-pipe", "wall_s") / med("ferry-seq", "wall_s") if "raw-pipe" in fresh else float("nan")))
        verdicts.append("fresh load >= 1.15x pgcopydb rows/s: **%s** (%.3fx, %s vs %s)" % (
          "met" if ratio >= 1.15 else "NOT met", ratio, bf, bp))
        p()
merge = who_in("merge")
if merge:
    p("Merge path (staging, then INSERT ... SELECT into the empty final table, then ANALYZE):")
    p()
    rm = [w for w in merge if w.startswith("raw-merge")]
    base = min(rm, key=lambda w: med(w, "wall_s")) if rm else merge[-1]
    table("merge", base)
    fm = [w for w in merge if w.startswith("ferry-merge-") and w != "ferry-merge-seq"]
    if fm and rm:
        bf = min(fm, key=lambda w: med(w, "wall_s"))
        ratio = med(base, "wall_s") / med(bf, "wall_s")
        pr = pair(bf, base)
        p("Best ferry merge: **%s** (%.2f s: load %.2f + publish %.2f + rest %.2f); faster raw: **%s** (%.2f s: load %.2f + "
          "INSERT %.2f + ANALYZE %.2f). ferry / raw end to end: **%.3fx** (per round: %s); load phase: %.3fx; publish "
          "phase: %.3fx." % (bf, med(bf, "wall_s"), med(bf, "load_s"), med(bf, "publish_s"),
          med(bf, "wall_s") - med(bf, "load_s") - med(bf, "publish_s"), base, med(base, "wall_s"), med(base, "load_s"),
          med(base, "publish_s"), med(base, "analyze_s"), ratio, ", ".join("%.3f" % x for x in pr),
          med(base, "load_s") / med(bf, "load_s"), med(base, "publish_s") / med(bf, "publish_s")))
        verdicts.append("merge path >= 0.95x raw end to end: **%s** (%.3fx, %s vs %s)" % (
          "met" if ratio >= 0.95 else "NOT met", ratio, bf, base))
        if "ferry-merge-seq" in merge:
            p("ferry merge --sequential vs %s end to end: %.3fx (load %.2f + publish %.2f)." % (base,
              med(base, "wall_s") / med("ferry-merge-seq", "wall_s"), med("ferry-merge-seq", "load_s"),
              med("ferry-merge-seq", "publish_s")))
        p()
fer = [r for r in ALL if r["contender"].startswith("ferry")]
if fer:
    wr = max(f(r, "worker_rss_mb") for r in fer)
    cr = max(f(r, "coord_rss_mb") for r in fer)
    verdicts.append("worker peak RSS < 24 MB: **%s** (%.1f MB max over all ferry runs)" % ("met" if wr < 24 else "NOT met", wr))
    verdicts.append("coordinator peak RSS < 32 MB: **%s** (%.1f MB max)" % ("met" if cr < 32 else "NOT met", cr))
p("Targets (issue 3): " + "; ".join(verdicts) + ".")
p()
p("Client CPU = user+sys from /usr/bin/time (ferry: the coordinator, which includes its local workers: it waits for "
  "them; pgcopydb: all its processes; pipes: every psql). Server CPU from /proc (postmaster + children, reaped "
  "included). Peak RSS from /usr/bin/time is the max over the process tree (ferry: max(coordinator, workers)).")
p()
p("Per run:")
p()
p("| run | contender | wall s | load s | publish s | analyze s | client CPU s | src CPU s | tgt CPU s | other CPU s | load1 | autovacuum passes | detail |")
p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in ALL:
    p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (r["label"], r["contender"], r["wall_s"], r["load_s"],
      r["publish_s"], r["analyze_s"], r["cli_cpu_s"], r["src_srv_cpu_s"], r["tgt_srv_cpu_s"], r["other_cpu_s"],
      r["load1"], r.get("autovac", ""), r["detail"].split(",strategy")[0]))
PY
log "summary: $OUT/summary.md"
cat "$OUT/summary.md"
