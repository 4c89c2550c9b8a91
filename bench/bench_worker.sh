#!/usr/bin/env bash
# bench/bench_worker.sh: the standalone ferry-worker against the raw binary
# COPY pipe (psql | psql), both into an UNLOGGED staging table (issue 2).
#
#   bench/bench_worker.sh                 # 5,000,000 rows, 3 runs each
#   ROWS=200000 RUNS=2 bench/bench_worker.sh   # quick dry run
#
# What it does (see bench/README.md for the knobs):
#   1. builds ferry-worker in Release into $BUILD_DIR (no sanitizers);
#   2. starts two throwaway clusters (source, target) with the harness of
#      tests/lib/pg.sh and the settings of shared/workloads/anchors.md:
#      shared_buffers 1GB, max_wal_size 8GB, fsync / synchronous_commit /
#      full_page_writes on, autovacuum at its default (and none running when
#      a run starts);
#   3. loads shared/workloads/accounts.sql with $ROWS rows into the source,
#      creates the same `accounts` table plus UNLOGGED `stage` (LIKE
#      accounts, autovacuum off on it) in the target;
#   4. optionally one untimed warm-up of each contender, then $RUNS timed
#      runs of each, interleaved (raw, ferry, raw, ferry, ...), each preceded
#      by TRUNCATE stage (+ ferry.chunk_commits), CHECKPOINT on both
#      clusters and a wait until no autovacuum worker runs; every run's row
#      count in `stage` is checked (the script fails loudly otherwise);
#   5. profiles the worker: perf sampling when `perf stat -e instructions`
#      works, else callgrind on a $PROFILE_ROWS-row range; in either case a
#      cpu-clock `perf record` of one full run when software sampling works;
#   6. writes per-run figures and a paste-ready markdown summary to
#      bench/out/worker-<timestamp>/ (gitignored) and prints the summary.
#
# Everything the harness starts (clusters, temp dirs) is removed at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
PROFILE=${PROFILE:-1}
PROFILE_ROWS=${PROFILE_ROWS:-200000}
PERF_SAMPLE=${PERF_SAMPLE:-1}
ORDER=${ORDER:-alternate}            # alternate: raw, ferry, raw, ferry; abba: raw, ferry, ferry, raw, ...
WORKLOAD=${WORKLOAD:-$ROOT/bench/workloads/accounts.sql}
WAIT_FOR=""                       # this one waits for no one: the others wait for it
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
# (lib.sh: ROWS, RUNS, WARMUP, BUILD, OUT_DIR)

bench_need_int ROWS RUNS
[[ "$ORDER" == alternate || "$ORDER" == abba ]] || { echo "ORDER must be alternate or abba" >&2; exit 2; }
bench_need_tools

bench_out worker
log "output: $OUT (ROWS=$ROWS RUNS=$RUNS ORDER=$ORDER WARMUP=$WARMUP)"

# ---------------------------------------------------------------- build
if [[ "$BUILD" == 1 ]]; then
    bench_build -DFERRY_SANITIZER=none ferry-worker
fi
FERRY=${FERRY_WORKER:-$BUILD_DIR/worker/ferry-worker}
[[ -x "$FERRY" ]] || { echo "FAIL: $FERRY not built (BUILD=1 builds it)" >&2; exit 1; }

# Clusters and scratch dirs from here on are torn down by the harness trap.
bench_pg

# ---------------------------------------------------------------- provenance
{
    bench_env_machine
    echo "cc: $(bench_cmake_var CMAKE_C_COMPILER) $(cc --version 2>/dev/null | head -n1)"
    echo "build_type: $(bench_cmake_var CMAKE_BUILD_TYPE)"
    echo "sanitizer: $(bench_cmake_var FERRY_SANITIZER)"
    bench_binary binary "$FERRY"
    echo "git_head: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    if [[ "$BUILD" == 1 ]]; then
        echo "git_dirty_sources (built as they were in the work tree):"
    else
        echo "git_dirty_sources (work tree now; BUILD=0: the binary was built earlier, see its date):"
    fi
    git -C "$ROOT" status --porcelain -- common worker cmake CMakeLists.txt 2>/dev/null | sed 's/^/  /'
    echo "ROWS=$ROWS RUNS=$RUNS ORDER=$ORDER WARMUP=$WARMUP PROFILE=$PROFILE PROFILE_ROWS=$PROFILE_ROWS"
} >"$OUT/env.txt"

# ---------------------------------------------------------------- clusters
bench_clusters src tgt
# The source, the same table definition on the target (accounts.sql with 0
# rows), and the UNLOGGED staging table both contenders load.
bench_load_source
pg_psql tgt -c "CREATE UNLOGGED TABLE stage (LIKE accounts);
                ALTER TABLE stage SET (autovacuum_enabled = false)"

SELECT_SQL="SELECT * FROM accounts ORDER BY acct_id"
# The raw pipe reads the job's ordered query by default; RAW_SQL="SELECT *
# FROM accounts" gives it the plain scan ferry reads (ferry drops an ORDER
# BY that cannot change the rows).
RAW_SQL=${RAW_SQL:-$SELECT_SQL}
echo "raw_sql: $RAW_SQL" >>"$OUT/env.txt"
{
    echo "-- raw pipe source query"
    pg_psql src -c "EXPLAIN $RAW_SQL"
    echo "-- ferry source query (as the worker wraps it)"
    pg_psql src -c "EXPLAIN SELECT * FROM ($SELECT_SQL) AS ferry_q"
} >"$OUT/explain.txt"

JOB="$HARNESS_TMP/job.yaml"
cat >"$JOB" <<EOF
source:
  conninfo: "$src_DSN"
  query: "$SELECT_SQL"
  key: acct_id
  snapshot: none
target:
  conninfo: "$tgt_DSN"
  table: public.accounts
EOF
cp "$JOB" "$OUT/job.yaml"

# ---------------------------------------------------------------- helpers
prepare_run() {
    pg_psql tgt -c "TRUNCATE stage"
    if [[ $(pg_psql tgt -At -c "SELECT to_regclass('ferry.chunk_commits') IS NOT NULL") == t ]]; then
        pg_psql tgt -c "TRUNCATE ferry.chunk_commits"
    fi
    bench_quiesce
}

stage_count() { pg_psql tgt -At -c "SELECT count(*) FROM stage"; }

bench_tsv_header label contender wall_s cli_user_s cli_sys_s cli_cpu_s rss_kb out_cpu_s out_rss_kb in_cpu_s in_rss_kb \
    src_srv_cpu_s tgt_srv_cpu_s machine_busy_s other_cpu_s load1 rows autovac_after

# record LABEL CONTENDER WALL CLI_U CLI_S RSS OUT_CPU OUT_RSS IN_CPU IN_RSS ROWS
# (uses the tick snapshots taken by the caller)
record() {
    local label=$1 who=$2 wall=$3 cu=$4 cs=$5 rss=$6 ocpu=$7 orss=$8 icpu=$9 irss=${10} rows=${11}
    local av
    av=$(($(autovac_count src) + $(autovac_count tgt)))
    python3 - "$label" "$who" "$wall" "$cu" "$cs" "$rss" "$ocpu" "$orss" "$icpu" "$irss" \
        "$((S1 - S0))" "$((T1 - T0))" "$((B1 - B0))" "$TICK" "$LOAD1" "$rows" "$av" \
        >>"$OUT/runs.tsv" <<'PY'
import sys
(label, who, wall, cu, cs, rss, ocpu, orss, icpu, irss, sd, td, bd, tick, load1, rows, av) = sys.argv[1:]
tick = float(tick)
src, tgt, busy = int(sd) / tick, int(td) / tick, int(bd) / tick
cli = float(cu) + float(cs)
other = busy - cli - src - tgt
print("\t".join([label, who, "%.3f" % float(wall), cu, cs, "%.2f" % cli, rss, ocpu, orss, icpu, irss,
                 "%.2f" % src, "%.2f" % tgt, "%.2f" % busy, "%.2f" % other, load1, rows, av]))
PY
}

run_raw() {
    local label=$1 d="$OUT/$1-raw" t0 t1 n
    mkdir -p "$d"
    prepare_run
    snapshot_before
    t0=$(now)
    /usr/bin/time -f "$TIMEFMT" -o "$d/out.time" \
        "$PSQL" -X -d "$src_DSN" -c "COPY ($RAW_SQL) TO STDOUT (FORMAT binary)" 2>"$d/out.err" |
        /usr/bin/time -f "$TIMEFMT" -o "$d/in.time" \
            "$PSQL" -X -d "$tgt_DSN" -c "COPY stage FROM STDIN (FORMAT binary)" >"$d/in.out" 2>"$d/in.err" ||
        { cat "$d"/*.err >&2; fail "raw pipe $label failed"; }
    t1=$(now)
    snapshot_after
    n=$(stage_count)
    [[ "$n" == "$ROWS" && "$(cat "$d/in.out")" == "COPY $ROWS" ]] ||
        fail "raw pipe $label: stage holds $n rows, psql said '$(cat "$d/in.out")', expected $ROWS"
    local ow ou os orss iw iu is irss
    read -r ow ou os orss <"$d/out.time"
    read -r iw iu is irss <"$d/in.time"
    record "$label" raw "$(fsub "$t1" "$t0")" \
        "$(fadd "$ou" "$iu")" "$(fadd "$os" "$is")" "$((orss > irss ? orss : irss))" \
        "$(fadd "$ou" "$os")" "$orss" "$(fadd "$iu" "$is")" "$irss" "$n"
    log "$label raw: $(tail -n 1 "$OUT/runs.tsv" | cut -f3,6,7)"
}

RUN_SEQ=0
run_ferry() {
    local label=$1 d="$OUT/$1-ferry" t0 t1 n rc=0 w u s rss ledger
    mkdir -p "$d"
    prepare_run
    RUN_SEQ=$((RUN_SEQ + 1))
    snapshot_before
    t0=$(now)
    /usr/bin/time -f "$TIMEFMT" -o "$d/worker.time" \
        "$FERRY" --standalone --job "$JOB" --range : --run-id "bench$RUN_SEQ" --chunk-id 0 \
        --into public.stage >"$d/worker.out" 2>"$d/worker.err" || rc=$?
    t1=$(now)
    snapshot_after
    if [[ $rc -ne 0 ]]; then
        tail -n 30 "$d/worker.err" >&2
        fail "ferry $label: ferry-worker exited $rc"
    fi
    n=$(stage_count)
    [[ "$n" == "$ROWS" ]] || fail "ferry $label: stage holds $n rows, expected $ROWS"
    ledger=$(pg_psql tgt -At -c "SELECT rows FROM ferry.chunk_commits WHERE run_id = 'bench$RUN_SEQ' AND chunk_id = 0 AND committed_at IS NOT NULL")
    [[ "$ledger" == "$ROWS" ]] || fail "ferry $label: ledger row says '$ledger' rows, expected $ROWS"
    if grep -q "text COPY" "$d/worker.err"; then
        log "WARNING: ferry $label fell back to text COPY: $(grep -m1 'text COPY' "$d/worker.err")"
    fi
    read -r w u s rss <"$d/worker.time"
    record "$label" ferry "$(fsub "$t1" "$t0")" "$u" "$s" "$rss" "" "" "" "" "$n"
    log "$label ferry: $(tail -n 1 "$OUT/runs.tsv" | cut -f3,6,7)"
}

# ---------------------------------------------------------------- runs
if [[ "$WARMUP" == 1 ]]; then
    log "warm-up (untimed in the medians)"
    run_raw warmup
    run_ferry warmup
fi
for ((i = 1; i <= RUNS; i++)); do
    if [[ "$ORDER" == abba && $((i % 2)) -eq 0 ]]; then
        run_ferry "run$i"
        run_raw "run$i"
    else
        run_raw "run$i"
        run_ferry "run$i"
    fi
done

# ---------------------------------------------------------------- profiles
PROFILE_KIND=none
if [[ "$PROFILE" == 1 ]]; then
    if perf stat -e instructions true 2>&1 | grep -q "not supported\|not counted"; then
        PROFILE_KIND=callgrind
    elif perf stat -e instructions true >/dev/null 2>&1; then
        PROFILE_KIND=perf
    else
        PROFILE_KIND=callgrind
    fi
    log "profile: $PROFILE_KIND (perf stat -e instructions: $(perf stat -e instructions true 2>&1 | grep -m1 instructions | xargs || echo 'perf missing'))"
fi

if [[ "$PROFILE_KIND" == callgrind ]]; then
    command -v valgrind >/dev/null || fail "valgrind missing (apt-get install valgrind)"
    prows=$((PROFILE_ROWS < ROWS ? PROFILE_ROWS : ROWS))
    prepare_run
    log "callgrind: ferry-worker on acct_id in [1, $((prows + 1))) ($prows rows)"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
        "$FERRY" --standalone --job "$JOB" --range "1:$((prows + 1))" --run-id prof-callgrind \
        --chunk-id 0 --into public.stage >"$OUT/callgrind.log" 2>&1 ||
        { tail -n 30 "$OUT/callgrind.log" >&2; fail "callgrind run failed"; }
    n=$(stage_count)
    [[ "$n" == "$prows" ]] || fail "callgrind run: stage holds $n rows, expected $prows"
    callgrind_annotate --inclusive=no "$OUT/callgrind.out" >"$OUT/callgrind-self.txt" 2>&1 || true
    callgrind_annotate --inclusive=yes "$OUT/callgrind.out" >"$OUT/callgrind-inclusive.txt" 2>&1 || true
    echo "$prows" >"$OUT/callgrind.rows"
elif [[ "$PROFILE_KIND" == perf ]]; then
    prepare_run
    log "perf stat + record: one full ferry run"
    perf stat -e instructions,cycles,task-clock -o "$OUT/perf-stat.txt" -- \
        "$FERRY" --standalone --job "$JOB" --range : --run-id prof-perfstat --chunk-id 0 \
        --into public.stage >/dev/null 2>"$OUT/perf-stat.log" || fail "perf stat run failed"
fi

# Software-clock sampling of a full run: sees kernel time (socket copies)
# that callgrind does not. Not part of the medians.
if [[ "$PROFILE" == 1 && "$PERF_SAMPLE" == 1 ]] && command -v perf >/dev/null &&
    perf record -e cpu-clock -o "$HARNESS_TMP/probe.data" true >/dev/null 2>&1; then
    prepare_run
    log "perf record -e cpu-clock: one full ferry run"
    perf record -e cpu-clock -F 997 -o "$HARNESS_TMP/perf.data" -- \
        "$FERRY" --standalone --job "$JOB" --range : --run-id prof-perf --chunk-id 0 \
        --into public.stage >/dev/null 2>"$OUT/perf-record.log" || fail "perf record run failed"
    n=$(stage_count)
    [[ "$n" == "$ROWS" ]] || fail "perf run: stage holds $n rows, expected $ROWS"
    perf report -i "$HARNESS_TMP/perf.data" --no-children --sort dso,sym --stdio \
        >"$OUT/perf-report.txt" 2>/dev/null || true
    bench_perf_top "$OUT/perf-report.txt" 15 >"$OUT/perf-top.md"
    perf report -i "$HARNESS_TMP/perf.data" --no-children --sort comm,dso --stdio \
        >"$OUT/perf-report-dso.txt" 2>/dev/null || true
fi

# ---------------------------------------------------------------- summary
PYTHONPATH="$ROOT/bench" python3 - "$OUT" "$ROWS" "$RUNS" >"$OUT/summary.md" <<'PY'
import csv, math, os, re, statistics, sys
import summary
out, rows, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
_, R = summary.load(out)
def total(r):
    return float(r["cli_cpu_s"]) + float(r["src_srv_cpu_s"]) + float(r["tgt_srv_cpu_s"])
for r in R:
    r["total_cpu_s"] = "%.2f" % total(r)
    r["share"] = "%.3f" % (total(r) / float(r["wall_s"]))
def med(who, key):
    v = [float(r[key]) for r in R if r["contender"] == who and r[key] != ""]
    return statistics.median(v) if v else float("nan")
env = summary.env(out)
raw_w, fer_w = med("raw", "wall_s"), med("ferry", "wall_s")
raw_rps, fer_rps = rows / raw_w, rows / fer_w
pairs, first, second = [], [], []
for i in range(1, runs + 1):
    a = [r for r in R if r["label"] == "run%d" % i]
    rw = [float(r["wall_s"]) for r in a if r["contender"] == "raw"]
    fw = [float(r["wall_s"]) for r in a if r["contender"] == "ferry"]
    if rw and fw:
        pairs.append(rw[0] / fw[0])
        (first if a[0]["contender"] == "ferry" else second).append(rw[0] / fw[0])
def gmean(v):
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")
p = print
p("#### Standalone worker vs raw binary pipe: %s rows, %d runs each (%s UTC)" % (f"{rows:,}", runs, env.get("date_utc", "?")))
p()
p("Machine: %s cores, %s, kernel %s, %s; ferry %s (%s)." % (env.get("nproc"), env.get("mem"), env.get("kernel"),
  env.get("postgres"), env.get("git_head"), env.get("build_type")))
p()
p("Raw pipe query: `%s`; ferry's job query: `SELECT * FROM accounts ORDER BY acct_id` (read without the ORDER BY)." % env.get("raw_sql", "?"))
p()
p("| | raw binary pipe | ferry-worker --standalone | ferry / raw |")
p("|---|---|---|---|")
p("| median wall (s) | %.2f | %.2f | %.3f |" % (raw_w, fer_w, fer_w / raw_w))
p("| rows/s (median wall) | %s | %s | **%.3fx** |" % (f"{raw_rps:,.0f}", f"{fer_rps:,.0f}", fer_rps / raw_rps))
if pairs:
    p("| rows/s ratio, per interleaved pair | %s | | median %.3fx, geomean %.3fx |" % (
      ", ".join("%.3f" % x for x in pairs), statistics.median(pairs), gmean(pairs)))
    if first and second:
        p("| pair ratio by order (geomean) | ferry ran second: %.3fx (%d pairs) | ferry ran first: %.3fx (%d pairs) | |" % (
          gmean(second), len(second), gmean(first), len(first)))
p("| client CPU s (user+sys) | %.2f (psql out %.2f + psql in %.2f) | %.2f | %.2f |" % (
    med("raw", "cli_cpu_s"), med("raw", "out_cpu_s"), med("raw", "in_cpu_s"), med("ferry", "cli_cpu_s"),
    med("ferry", "cli_cpu_s") / med("raw", "cli_cpu_s")))
p("| client user / sys s | %.2f / %.2f | %.2f / %.2f | |" % (med("raw", "cli_user_s"), med("raw", "cli_sys_s"),
    med("ferry", "cli_user_s"), med("ferry", "cli_sys_s")))
p("| client peak RSS | %.1f MiB (psql out) / %.1f MiB (psql in) | %.1f MiB | |" % (
    med("raw", "out_rss_kb") / 1024, med("raw", "in_rss_kb") / 1024, med("ferry", "rss_kb") / 1024))
p("| source server CPU s | %.2f | %.2f | %.2f |" % (med("raw", "src_srv_cpu_s"), med("ferry", "src_srv_cpu_s"),
    med("ferry", "src_srv_cpu_s") / med("raw", "src_srv_cpu_s")))
p("| target server CPU s | %.2f | %.2f | %.2f |" % (med("raw", "tgt_srv_cpu_s"), med("ferry", "tgt_srv_cpu_s"),
    med("ferry", "tgt_srv_cpu_s") / med("raw", "tgt_srv_cpu_s")))
p("| total CPU s (client + source + target server) | %.2f | %.2f | %.3f |" % (
    med("raw", "total_cpu_s"), med("ferry", "total_cpu_s"), med("ferry", "total_cpu_s") / med("raw", "total_cpu_s")))
p("| rows per CPU-second (median total CPU) | %s | %s | **%.3fx** |" % (
    f"{rows / med('raw', 'total_cpu_s'):,.0f}", f"{rows / med('ferry', 'total_cpu_s'):,.0f}",
    med("raw", "total_cpu_s") / med("ferry", "total_cpu_s")))
p("| CPU share obtained (total CPU / wall, cores of 2) | %.2f | %.2f | |" % (med("raw", "share"), med("ferry", "share")))
p("| CPU s used by other processes on the machine during the run | %.2f | %.2f | |" % (
    med("raw", "other_cpu_s"), med("ferry", "other_cpu_s")))
p()
p("Targets (issue 2): ferry >= 0.95x raw rows/s: **%s** (%.3fx); worker peak RSS < 24 MB: **%s** (%.1f MiB max over runs)." % (
    "met" if fer_rps / raw_rps >= 0.95 else "MISSED", fer_rps / raw_rps,
    "met" if max(float(r["rss_kb"]) for r in R if r["contender"] == "ferry") < 24 * 1024 else "MISSED",
    max(float(r["rss_kb"]) for r in R if r["contender"] == "ferry") / 1024))
p()
p("Per run (warm-up runs are not in the medians; 'other CPU s' = machine busy time minus this run's processes; load1 at start):")
p()
p("| run | contender | wall s | rows/s | client CPU s | client RSS MiB | src CPU s | tgt CPU s | total CPU s | cores obtained | other CPU s | load1 |")
p("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in csv.DictReader(open(os.path.join(out, "runs.tsv")), delimiter="\t"):
    p("| %s | %s | %.2f | %s | %s | %.1f | %s | %s | %.2f | %.2f | %s | %s |" % (r["label"], r["contender"], float(r["wall_s"]),
      f"{rows / float(r['wall_s']):,.0f}", r["cli_cpu_s"], float(r["rss_kb"]) / 1024, r["src_srv_cpu_s"],
      r["tgt_srv_cpu_s"], total(r), total(r) / float(r["wall_s"]), r["other_cpu_s"], r["load1"]))
p()
cg = os.path.join(out, "callgrind-self.txt")
if os.path.exists(cg):
    prows = int(open(os.path.join(out, "callgrind.rows")).read())
    text = open(cg).read()
    m = re.search(r"^([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", text, re.M)
    total = int(m.group(1).replace(",", "")) if m else 0
    p("Callgrind, ferry-worker on %s rows: %s instructions (%.0f per row). Top functions by self instructions:" % (
      f"{prows:,}", f"{total:,}", total / prows if prows else 0))
    p()
    p("| Ir (self) | % | function |")
    p("|---|---|---|")
    n = 0
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S.*)$", line)
        if m and "PROGRAM TOTALS" not in line:
            fn = m.group(3).strip()
            lib = re.search(r"\[(.*)\]\s*$", fn)
            fn = re.sub(r"\s*\[.*\]\s*$", "", fn)
            fn = fn.split(":", 1)[1] if ":" in fn else fn
            p("| %s | %s | `%s` (%s) |" % (m.group(1), m.group(2), fn,
              os.path.basename(lib.group(1)) if lib else "?"))
            n += 1
            if n == 15:
                break
    p()
    inc = os.path.join(out, "callgrind-inclusive.txt")
    if os.path.exists(inc):
        parts = []
        for line in open(inc):
            m = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+\S*?:?(reader_thread|processor_thread|writer_thread|_dl_start) ", line)
            if m:
                parts.append("%s %s%%" % (m.group(3), m.group(2)))
        if parts:
            p("Inclusive by stage: " + ", ".join(parts) + " (`_dl_start` = dynamic linking at start-up).")
            p()
pr = os.path.join(out, "perf-top.md")
if os.path.exists(pr):
    p("perf record -e cpu-clock, one full ferry run (all threads), top samples:")
    p()
    p(open(pr).read().rstrip("\n"))
    p()
PY
log "summary: $OUT/summary.md"
cat "$OUT/summary.md"
