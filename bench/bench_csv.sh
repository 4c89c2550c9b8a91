#!/usr/bin/env bash
# bench/bench_csv.sh: ferry CSV file loads (source.kind: csv) against psql
# \copy and pgloader (issue 5).
#
#   bench/bench_csv.sh                                  # 5,000,000 rows, 3 runs each
#   ROWS=200000 RUNS=1 WARMUP=0 PGLOADER_ROWS=50000 BIG_COPIES=2 bench/bench_csv.sh   # dry run
#
# What it does (knobs in bench/README.md):
#   1. builds ferry-coordinator and ferry-worker (Release) into $BUILD_DIR;
#   2. starts a source and a target cluster with tests/lib/pg.sh and the
#      anchors' settings; loads the reference table into the source and
#      exports it: `\copy (SELECT * FROM accounts ORDER BY acct_id) TO
#      'accounts.csv' CSV HEADER`, its two halves (each with the header), a
#      $PGLOADER_ROWS-row prefix for pgloader, and (BIG=1) a >= 4 GB file of
#      $BIG_COPIES copies of the table with keys shifted by max(acct_id) per
#      copy; records an order-independent checksum of the rows; then stops
#      the source (the CSV runs only use the target);
#   3. main rounds, contenders interleaved (order rotated each round), one
#      untimed warm-up each, $RUNS timed runs each:
#        ferry-csv-direct-WxS  ferry-coordinator run (kind csv, publish
#                              direct) into the empty final table, WxS in
#                              $CONFIGS (W local workers x S slots; then
#                              +KEY=VALUE for pipeline.concurrency or
#                              group_rows, or target.analyze: 2x4+concurrency=1)
#        ferry-csv-merge-WxS   the same with publish: merge (UNLOGGED
#                              staging, then INSERT ... SELECT), $MERGE_CONFIGS
#        copy-final            psql \copy accounts FROM 'accounts.csv' CSV HEADER
#        copy2-stage           two \copy of the halves into UNLOGGED `stage`,
#                              in parallel
#   4. pgloader rounds on the $PGLOADER_ROWS-row prefix (pgloader is ~10x
#      slower): pgloader into the final table vs the best ferry direct
#      config on the same file, interleaved;
#   5. (BIG=1) one load of the big file with the best direct config into
#      `accounts_big` (PK): peak RSS of the coordinator and each worker;
#   6. (PROFILE=1) one more ferry direct load of accounts.csv with
#      `perf record -e cpu-clock -g -p <worker pid>` for $PROFILE_SECONDS s;
#   7. writes bench/out/csv-<UTC stamp>/ (runs.tsv, summary.md, reports,
#      logs, perf reports) and prints summary.md.
# Before every run: wait while another benchmark ($WAIT_FOR) runs, TRUNCATE
# the tables, DROP SCHEMA ferry CASCADE, CHECKPOINT, no autovacuum running.
# Every run is verified: row count and the rows' checksum against the source.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
# (lib.sh: ROWS, RUNS, WARMUP, BUILD, BUILD_DIR, WORKLOAD, OUT_DIR)
CONFIGS=${CONFIGS:-"1x1 1x2 2x1"}
MERGE_CONFIGS=${MERGE_CONFIGS:-$CONFIGS}
PGLOADER=${PGLOADER:-1}
PGLOADER_ROWS=${PGLOADER_ROWS:-1000000}
PGLOADER_WITH=${PGLOADER_WITH:-"workers = 4, concurrency = 2"}
BIG=${BIG:-1}
BIG_COPIES=${BIG_COPIES:-5}
PROFILE=${PROFILE:-1}
PROFILE_SECONDS=${PROFILE_SECONDS:-10}
WAIT_FOR=${WAIT_FOR-bench_worker.sh}   # empty: do not wait for anyone

bench_need_int ROWS RUNS PGLOADER_ROWS
bench_need_tools
for c in $CONFIGS $MERGE_CONFIGS; do
    [[ "$c" =~ ^[1-9][0-9]*x[1-9][0-9]*(\+(concurrency|group_rows|analyze)=[a-z0-9]+)*$ ]] \
        || { echo "bad WxS[+KEY=VALUE...] config '$c' (e.g. 2x1, 2x4+concurrency=1)" >&2; exit 2; }
done
[[ "$PGLOADER" != 1 ]] || command -v pgloader >/dev/null || { echo "pgloader missing (apt-get install -y pgloader)" >&2; exit 2; }
((PGLOADER_ROWS > ROWS)) && PGLOADER_ROWS=$ROWS

bench_out csv
log "output: $OUT (ROWS=$ROWS RUNS=$RUNS WARMUP=$WARMUP CONFIGS='$CONFIGS' MERGE_CONFIGS='$MERGE_CONFIGS' PGLOADER_ROWS=$PGLOADER_ROWS BIG=$BIG x$BIG_COPIES)"

# ---------------------------------------------------------------- build
bench_ferry_setup
DATA="$HARNESS_TMP/data"          # CSV files; removed with HARNESS_TMP at exit
mkdir -p "$DATA"

{
    bench_env_machine
    echo "pgloader: $(pgloader --version 2>&1 | head -n 1)"
    bench_env_ferry
    echo "ROWS=$ROWS RUNS=$RUNS WARMUP=$WARMUP CONFIGS=$CONFIGS MERGE_CONFIGS=$MERGE_CONFIGS PGLOADER_ROWS=$PGLOADER_ROWS PGLOADER_WITH=$PGLOADER_WITH BIG=$BIG BIG_COPIES=$BIG_COPIES"
} >"$OUT/env.txt"

# ---------------------------------------------------------------- clusters, files
bench_clusters src tgt
bench_load_source
# Checksums are order-independent sums over the rows' text form.
CHECKSUM_SQL="SELECT count(*) || ':' || coalesce(sum(hashtext(t::text)::bigint), 0) FROM"
SUM_ALL=$(pg_psql src -At -c "$CHECKSUM_SQL accounts t")
SUM_PGL=$(pg_psql src -At -c "$CHECKSUM_SQL (SELECT * FROM accounts ORDER BY acct_id LIMIT $PGLOADER_ROWS) t")
KEY_MAX=$(pg_psql src -At -c "SELECT max(acct_id) FROM accounts")

CSV="$DATA/accounts.csv"
log "exporting $CSV"
t0=$(date +%s)
pg_psql src -c "\\copy (SELECT * FROM accounts ORDER BY acct_id) TO '$CSV' CSV HEADER"
log "exported in $(($(date +%s) - t0)) s: $(du -h "$CSV" | cut -f1) ($(stat -c %s "$CSV") bytes)"
HALF=$(((ROWS + 1) / 2))
awk -v h="$HALF" -v a="$DATA/half1.csv" -v b="$DATA/half2.csv" \
    'NR == 1 { print > a; print > b; next } NR <= h + 1 { print > a; next } { print > b }' "$CSV"
[[ $(($(wc -l <"$DATA/half1.csv") + $(wc -l <"$DATA/half2.csv"))) == $((ROWS + 2)) ]] ||
    fail "halves do not add up to $ROWS records (a record with a newline inside?)"
if [[ "$PGLOADER_ROWS" -lt "$ROWS" ]]; then
    PGL_CSV="$DATA/accounts-$PGLOADER_ROWS.csv"
    head -n $((PGLOADER_ROWS + 1)) "$CSV" >"$PGL_CSV"
else
    PGL_CSV="$CSV"
fi
if [[ "$BIG" == 1 ]]; then
    BIG_CSV="$DATA/accounts-big.csv"
    log "writing $BIG_CSV: $BIG_COPIES copies, keys shifted by $KEY_MAX per copy"
    head -n 1 "$CSV" >"$BIG_CSV"
    for ((k = 0; k < BIG_COPIES; k++)); do
        pg_psql src -c "COPY (SELECT acct_id + $((k * KEY_MAX)), customer_name, email, balance, opened_at,
                                     status, branch_id, notes, tags FROM accounts ORDER BY acct_id)
                        TO STDOUT (FORMAT csv)" >>"$BIG_CSV"
    done
    BIG_ROWS=$((ROWS * BIG_COPIES))
    log "big file: $(du -h "$BIG_CSV" | cut -f1) ($(stat -c %s "$BIG_CSV") bytes, $BIG_ROWS records)"
fi
pg_stop src
BENCH_WATCH=tgt                   # the source is stopped: watch the target alone
log "source stopped; disk: $(df -h --output=avail "$DATA" | tail -n 1 | xargs) free"

# Target: the final table (accounts.sql with 0 rows, made by
# bench_load_source), the UNLOGGED staging table of the two-stream
# baseline, and the big file's table.
pg_psql tgt -c "CREATE UNLOGGED TABLE stage (LIKE accounts);
                ALTER TABLE stage SET (autovacuum_enabled = false);
                CREATE TABLE accounts_big (LIKE accounts INCLUDING ALL)"

write_job() {   # FILE PATH PUBLISH [TABLE [KEY=VALUE...]]
    local kv
    {
        echo "source:"
        echo "  kind: csv"
        echo "  path: \"$2\""
        echo "  format: { header: true }"
        echo "target:"
        echo "  conninfo: \"$tgt_DSN\""
        echo "  table: ${4:-public.accounts}"
        echo "  publish: $3"
        [[ "$3" == merge ]] && echo "  merge: { key: [acct_id] }"
        for kv in "${@:5}"; do
            [[ "${kv%%=*}" != analyze ]] || echo "  analyze: ${kv#*=}"
        done
        echo "cluster:"
        echo "  bind: \"tcp://127.0.0.1:*\""
        [[ $# -lt 5 ]] || echo "pipeline:"
        for kv in "${@:5}"; do
            [[ "${kv%%=*}" == analyze ]] || echo "  ${kv%%=*}: ${kv#*=}"
        done
    } >"$1"
}
# job_for PUBLISH CONFIG: the job file of a WxS[+KEY=VALUE...] config.
job_for() {
    local f kvs=()
    if [[ "$2" != *+* ]]; then
        [[ "$1" == direct ]] && echo "$JOB_DIRECT" || echo "$JOB_MERGE"
        return
    fi
    IFS=+ read -ra kvs <<<"${2#*+}"
    f="$OUT/job-$1-${2//[^A-Za-z0-9_]/_}.yaml"
    [[ -f "$f" ]] || write_job "$f" "$CSV" "$1" public.accounts "${kvs[@]}"
    echo "$f"
}
JOB_DIRECT="$OUT/job-direct.yaml"
JOB_MERGE="$OUT/job-merge.yaml"
JOB_PGL="$OUT/job-direct-pgloader-subset.yaml"
write_job "$JOB_DIRECT" "$CSV" direct
write_job "$JOB_MERGE" "$CSV" merge
write_job "$JOB_PGL" "$PGL_CSV" direct
[[ "$BIG" == 1 ]] && write_job "$OUT/job-big.yaml" "$BIG_CSV" direct public.accounts_big

PGL_LOAD="$OUT/pgloader.load"
cat >"$PGL_LOAD" <<EOF
LOAD CSV
     FROM '$PGL_CSV'
          (acct_id, customer_name, email, balance, opened_at, status, branch_id, notes, tags)
     INTO postgresql://postgres@127.0.0.1:$tgt_PORT/postgres?accounts
          (acct_id, customer_name, email, balance, opened_at, status, branch_id, notes, tags)
     WITH skip header = 1,
          fields optionally enclosed by '"',
          fields escaped by double-quote,
          fields terminated by ',',
          $PGLOADER_WITH;
EOF

# ---------------------------------------------------------------- helpers
prepare_run() { bench_reset accounts stage accounts_big; }

checksum_of() { pg_psql tgt -At -c "$CHECKSUM_SQL $1 t"; }
bench_tsv_header label part contender rows wall_s load_s publish_s report_wall_s cli_user_s cli_sys_s cli_cpu_s \
    cli_rss_kb coord_rss_mb worker_rss_mb tgt_srv_cpu_s machine_busy_s other_cpu_s load1 autovac detail

# record LABEL PART CONTENDER ROWS WALL LOAD PUBLISH REPORT_WALL CU CS RSS COORD_RSS WORKER_RSS DETAIL
record() {
    python3 - "$@" "$((T1 - T0))" "$((B1 - B0))" "$TICK" "$LOAD1" "$(av_delta)" >>"$OUT/runs.tsv" <<'PY'
import sys
(label, part, who, rows, wall, load, pub, rwall, cu, cs, rss, crss, wrss, detail, td, bd, tick, load1, av) = sys.argv[1:]
tick = float(tick)
tgt, busy = int(td) / tick, int(bd) / tick
cli = float(cu) + float(cs)
print("\t".join([label, part, who, rows, "%.3f" % float(wall), load, pub, rwall, cu, cs, "%.2f" % cli, rss, crss, wrss,
                 "%.2f" % tgt, "%.2f" % busy, "%.2f" % (busy - cli - tgt), load1, av, detail]))
PY
    log "$1 $3: $(tail -n 1 "$OUT/runs.tsv" | awk -F'\t' '{printf "%s rows, wall %s s (load %s, publish %s), cli cpu %s s, tgt %s s, rss coord %s / worker %s MB", $4, $5, $6, $7, $11, $15, $13, $14}')"
}

RUN_SEQ=0
# run_ferry LABEL PART CONTENDER JOB TABLE ROWS WANT_SUM ARGS...
run_ferry() {
    local label=$1 part=$2 who=$3 job=$4 table=$5 rows=$6 want=$7
    shift 7
    local d="$OUT/$label-$who" got=""
    mkdir -p "$d"
    prepare_run
    RUN_SEQ=$((RUN_SEQ + 1))
    bench_coord_run "$d" "csv_${STAMP//-/_}_$RUN_SEQ" "ferry $label $who" "$job" "$@"
    if [[ -n "$want" ]]; then
        got=$(checksum_of "$table")
        [[ "$got" == "$want" ]] || fail "ferry $label $who: $table holds count:checksum $got, the source $want"
    fi
    local fields ok load pub rwall crss wrss detail
    fields=$(python3 - "$d/report.json" "$rows" "$(pg_psql tgt -At -c "SELECT count(*) FROM $table")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows, n = int(sys.argv[2]), int(sys.argv[3])
ok = r["status"] == "published" and r["rows_loaded"] == rows and n == rows and r.get("rows_rejected", 0) == 0
wr = "/".join("%.1f" % w["peak_rss_mb"] for w in r["workers"]) or "0"
print("%s %.3f %.3f %.3f %.1f %s %s" % ("ok" if ok else "BAD", r["load_seconds"], r["merge_seconds"],
      r["wall_seconds"], r["coordinator_peak_rss_mb"], wr,
      "chunks=%d,status=%s,rows_loaded=%s,rejected=%s,count=%d,strategy=%s" % (r["chunks_total"], r["status"],
      r["rows_loaded"], r.get("rows_rejected"), n, r.get("publish_strategy"))))
PY
    )
    read -r ok load pub rwall crss wrss detail <<<"$fields"
    [[ "$ok" == ok ]] || fail "ferry $label $who: expected $rows rows published: $detail"
    local w u s rss
    read -r w u s rss <"$d/coord.time"
    record "$label" "$part" "$who" "$rows" "$(fsub "$T_END" "$T_START")" "$load" "$pub" "$rwall" "$u" "$s" "$rss" \
        "$crss" "$wrss" "$detail${want:+,checksum=ok}"
}

run_copy_final() {
    local label=$1 who=copy-final d t0 t1 got
    d="$OUT/$label-$who"
    mkdir -p "$d"
    prepare_run
    snapshot_before
    t0=$(now)
    /usr/bin/time -f "$TIMEFMT" -o "$d/psql.time" \
        "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$tgt_DSN" -c "\\copy accounts FROM '$CSV' CSV HEADER" \
        >"$d/psql.out" 2>"$d/psql.err" || { cat "$d/psql.err" >&2; fail "\\copy $label failed"; }
    t1=$(now)
    snapshot_after
    got=$(checksum_of accounts)
    [[ "$got" == "$SUM_ALL" ]] || fail "copy-final $label: accounts holds $got, the source $SUM_ALL"
    local u s rss
    read -r u s rss < <(sum_time "$d/psql.time")
    record "$label" main "$who" "$ROWS" "$(fsub "$t1" "$t0")" "$(fsub "$t1" "$t0")" "" "" "$u" "$s" "$rss" "" "" "checksum=ok"
}

run_copy2_stage() {
    local label=$1 who=copy2-stage d t0 t1 got p1 p2 rc1=0 rc2=0 i
    d="$OUT/$label-$who"
    mkdir -p "$d"
    prepare_run
    snapshot_before
    t0=$(now)
    for i in 1 2; do
        /usr/bin/time -f "$TIMEFMT" -o "$d/psql$i.time" \
            "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$tgt_DSN" -c "\\copy stage FROM '$DATA/half$i.csv' CSV HEADER" \
            >"$d/psql$i.out" 2>"$d/psql$i.err" &
        eval "p$i=\$!"
    done
    wait "$p1" || rc1=$?
    wait "$p2" || rc2=$?
    t1=$(now)
    snapshot_after
    [[ $rc1 -eq 0 && $rc2 -eq 0 ]] || { cat "$d"/*.err >&2; fail "copy2-stage $label: a \\copy failed"; }
    got=$(checksum_of stage)
    [[ "$got" == "$SUM_ALL" ]] || fail "copy2-stage $label: stage holds $got, the source $SUM_ALL"
    local u s rss
    read -r u s rss < <(sum_time "$d"/psql*.time)
    record "$label" main "$who" "$ROWS" "$(fsub "$t1" "$t0")" "$(fsub "$t1" "$t0")" "" "" "$u" "$s" "$rss" "" "" "checksum=ok"
}

run_pgloader() {
    local label=$1 who=pgloader d t0 t1 got rc=0
    d="$OUT/$label-$who"
    mkdir -p "$d"
    prepare_run
    snapshot_before
    t0=$(now)
    /usr/bin/time -f "$TIMEFMT" -o "$d/pgloader.time" \
        pgloader --root-dir "$HARNESS_TMP/pgloader-$label" "$PGL_LOAD" \
        >"$d/pgloader.out" 2>"$d/pgloader.err" </dev/null || rc=$?
    t1=$(now)
    snapshot_after
    [[ $rc -eq 0 ]] || { tail -n 30 "$d/pgloader.err" "$d/pgloader.out" >&2; fail "pgloader $label exited $rc"; }
    got=$(checksum_of accounts)
    [[ "$got" == "$SUM_PGL" ]] || { tail -n 30 "$d/pgloader.out" >&2; fail "pgloader $label: accounts holds $got, the source prefix $SUM_PGL"; }
    local u s rss
    read -r u s rss < <(sum_time "$d/pgloader.time")
    record "$label" pgloader "$who" "$PGLOADER_ROWS" "$(fsub "$t1" "$t0")" "" "" "" "$u" "$s" "$rss" "" "" \
        "checksum=ok,$PGLOADER_WITH"
}

run_one() {   # LABEL CONTENDER
    local label=$1 who=$2 w s c
    case "$who" in
        ferry-csv-direct-*) c=${who#ferry-csv-direct-}; w=${c%%+*}; s=${w#*x}; w=${w%x*}
            run_ferry "$label" main "$who" "$(job_for direct "$c")" accounts "$ROWS" "$SUM_ALL" --local-workers "$w" --slots "$s" ;;
        ferry-csv-merge-*) c=${who#ferry-csv-merge-}; w=${c%%+*}; s=${w#*x}; w=${w%x*}
            run_ferry "$label" main "$who" "$(job_for merge "$c")" accounts "$ROWS" "$SUM_ALL" --local-workers "$w" --slots "$s" ;;
        ferry-pgl-direct-*) w=${who#ferry-pgl-direct-}; s=${w#*x}; w=${w%x*}
            run_ferry "$label" pgloader "$who" "$JOB_PGL" accounts "$PGLOADER_ROWS" "$SUM_PGL" --local-workers "$w" --slots "$s" ;;
        copy-final) run_copy_final "$label" ;;
        copy2-stage) run_copy2_stage "$label" ;;
        pgloader) run_pgloader "$label" ;;
        *) fail "unknown contender $who" ;;
    esac
}

# best_direct: the direct config with the lowest median wall in the main rounds
best_direct() {
    python3 - "$OUT/runs.tsv" <<'PY'
import csv, statistics, sys
R = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t")
     if r["label"].startswith("run") and r["contender"].startswith("ferry-csv-direct-")]
w = {}
for r in R:
    w.setdefault(r["contender"], []).append(float(r["wall_s"]))
print(min(w, key=lambda k: statistics.median(w[k]))[len("ferry-csv-direct-"):])
PY
}

# ---------------------------------------------------------------- runs
main=()
for c in $CONFIGS; do main+=("ferry-csv-direct-$c"); done
for c in $MERGE_CONFIGS; do main+=("ferry-csv-merge-$c"); done
main+=(copy-final copy2-stage)
run_part main "${main[@]}"
BEST=$(best_direct)
BEST=${BEST%%+*}      # its WxS (the pgloader and big-file runs take the defaults)
log "best ferry direct config: $BEST"

if [[ "$PGLOADER" == 1 ]]; then
    run_part pgloader pgloader "ferry-pgl-direct-$BEST"
fi

if [[ "$BIG" == 1 ]]; then
    log "big file: one ferry direct load ($BEST) of $BIG_ROWS records"
    run_ferry big big "ferry-big-direct-$BEST" "$OUT/job-big.yaml" accounts_big "$BIG_ROWS" "" \
        --local-workers "${BEST%x*}" --slots "${BEST#*x}"
    pg_psql tgt -c "TRUNCATE accounts_big"
    rm -f "$BIG_CSV"
fi

if [[ "$PROFILE" == 1 ]]; then
    if perf record -e cpu-clock -o "$HARNESS_TMP/probe.data" true >/dev/null 2>&1; then
        log "profile: ferry direct ($BEST) load of accounts.csv, perf record -e cpu-clock -g on one worker for $PROFILE_SECONDS s"
        prepare_run
        pd="$OUT/profile"
        mkdir -p "$pd"
        "$COORD" run "$JOB_DIRECT" --local-workers "${BEST%x*}" --slots "${BEST#*x}" --report "$pd/report.json" \
            --run-id "csv_${STAMP//-/_}_profile" >"$pd/coord.out" 2>"$pd/coord.err" </dev/null &
        cpid=$!
        wpid=""
        for _ in $(seq 1 600); do
            wpid=$(pgrep -P "$cpid" -f ferry-worker | head -n 1 || true)
            [[ -n "$wpid" ]] && grep -q "joined run" "$pd/coord.err" 2>/dev/null && break
            sleep 0.1
        done
        [[ -n "$wpid" ]] || fail "profile: no worker process under coordinator $cpid"
        sleep 1                 # past the worker's start-up
        perf record -e cpu-clock -g -p "$wpid" -o "$HARNESS_TMP/perf.data" -- sleep "$PROFILE_SECONDS" \
            >"$pd/perf-record.log" 2>&1 || log "WARNING: perf record failed ($(tail -n 1 "$pd/perf-record.log"))"
        wait "$cpid" || fail "profile run: ferry-coordinator failed"
        perf report -i "$HARNESS_TMP/perf.data" --stdio 2>/dev/null | head -n 200 >"$pd/perf-report-children.txt" || true
        perf report -i "$HARNESS_TMP/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null \
            >"$pd/perf-report-self.txt" || true
        bench_perf_top "$pd/perf-report-self.txt" 20 >"$pd/perf-top.md"
        perf report -i "$HARNESS_TMP/perf.data" --stdio --no-children --sort dso 2>/dev/null \
            >"$pd/perf-report-dso.txt" || true
        perf report -i "$HARNESS_TMP/perf.data" --stdio --no-children --sort tid,sym -g none 2>/dev/null \
            >"$pd/perf-report-tid.txt" || true
        perf report -i "$HARNESS_TMP/perf.data" --stdio --no-children --sort sym -g caller,0.5,callee --percent-limit 2 2>/dev/null \
            | head -n 400 >"$pd/perf-report-callers.txt" || true
    else
        log "profile: perf record -e cpu-clock does not work here; skipped"
    fi
fi

# ---------------------------------------------------------------- summary
PYTHONPATH="$ROOT/bench" python3 - "$OUT" "$ROWS" "$RUNS" "$PGLOADER_ROWS" "$BEST" >"$OUT/summary.md" <<'PY'
import math, os, re, statistics, sys
import summary
out, rows, runs, pgl_rows, best = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ALL, R = summary.load(out)
f = summary.num
def med(who, key):
    if key == "total":
        v = [f(r, "cli_cpu_s") + f(r, "tgt_srv_cpu_s") for r in R if r["contender"] == who]
    elif key == "worker_rss_mb":
        v = [max(float(x) for x in r[key].split("/")) for r in R if r["contender"] == who and r[key]]
    else:
        v = [f(r, key) for r in R if r["contender"] == who]
    v = [x for x in v if not math.isnan(x)]
    return statistics.median(v) if v else float("nan")
def mx(rs, key):
    v = []
    for r in rs:
        if r[key]:
            v += [float(x) for x in r[key].split("/")]
    return max(v) if v else float("nan")
def who_in(part):
    return summary.contenders(R, part)
def pair(a, b, ka="wall_s", kb="wall_s"):
    return summary.ratios(R, runs, a, b, ka, kb)
env = summary.env(out)
p = print
s2 = lambda x, fmt="%.2f": "" if math.isnan(x) else fmt % x
p("#### CSV: ferry kind csv vs psql \\copy and pgloader: %s rows, %d runs each (%s UTC)" % (f"{rows:,}", runs, env.get("date_utc", "?")))
p()
p("Machine: %s cores, %s, kernel %s, %s, %s; ferry %s (%s, %s)." % (env.get("nproc"), env.get("mem"), env.get("kernel"),
  env.get("postgres"), env.get("pgloader"), env.get("git_head"), env.get("build_type"), env.get("cflags_release")))
p()
def table(part, base):
    ws = who_in(part)
    bw = med(base, "wall_s")
    p("| contender | rows | median wall s | rows/s | vs %s (rows/s) | load s | publish s | client CPU s | target server CPU s | total CPU s | rows/CPU-s | peak RSS MB (time, tree) | coordinator RSS MB | worker RSS MB (max) |" % base)
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in ws:
        rs = [r for r in R if r["contender"] == w]
        n = int(rs[0]["rows"])
        wall = med(w, "wall_s")
        p("| %s | %s | %.2f | %s | %.3fx | %s | %s | %.2f | %.2f | %.2f | %s | %.1f | %s | %s |" % (
          w, f"{n:,}", wall, f"{n / wall:,.0f}", (n / wall) / (int([r for r in R if r["contender"] == base][0]["rows"]) / bw),
          s2(med(w, "load_s")), s2(med(w, "publish_s")), med(w, "cli_cpu_s"), med(w, "tgt_srv_cpu_s"), med(w, "total"),
          f"{n / med(w, 'total'):,.0f}", mx(rs, "cli_rss_kb") / 1024, s2(mx(rs, "coord_rss_mb"), "%.1f"),
          s2(mx(rs, "worker_rss_mb"), "%.1f")))
    p()
verdicts = []
main = who_in("main")
if main:
    p("Main rounds: the %s-row file (`accounts.csv`, ORDER BY acct_id, CSV HEADER):" % f"{rows:,}")
    p()
    table("main", "copy-final")
    fd = [w for w in main if w.startswith("ferry-csv-direct-")]
    fm = [w for w in main if w.startswith("ferry-csv-merge-")]
    if fd and "copy-final" in main:
        bf = min(fd, key=lambda w: med(w, "wall_s"))
        ratio = med("copy-final", "wall_s") / med(bf, "wall_s")
        p("Best ferry direct: **%s**; vs `\\copy` into the final table: **%.3fx** rows/s (per round: %s)." % (
          bf, ratio, ", ".join("%.3f" % x for x in pair(bf, "copy-final"))))
        verdicts.append("ferry direct ahead of \\copy into the final table: **%s** (%.3fx, %s)" % (
          "met" if ratio > 1 else "NOT met", ratio, bf))
    if fm and "copy2-stage" in main:
        bl = min(fm, key=lambda w: med(w, "load_s"))
        bw = min(fm, key=lambda w: med(w, "wall_s"))
        ratio = med("copy2-stage", "wall_s") / med(bl, "load_s")
        p("ferry merge, load into staging (report load_seconds) vs two `\\copy` streams into UNLOGGED staging: best "
          "**%s** %.2f s vs %.2f s: **%.3fx** (per round: %s). Best merge end to end: %s, %.2f s (load %.2f + publish %.2f + rest %.2f); "
          "vs `\\copy` into the final table: %.3fx." % (bl, med(bl, "load_s"), med("copy2-stage", "wall_s"), ratio,
          ", ".join("%.3f" % x for x in pair(bl, "copy2-stage", "load_s", "wall_s")), bw, med(bw, "wall_s"), med(bw, "load_s"),
          med(bw, "publish_s"), med(bw, "wall_s") - med(bw, "load_s") - med(bw, "publish_s"),
          med("copy-final", "wall_s") / med(bw, "wall_s")))
        verdicts.append("ferry load into staging >= 0.9x two raw streams: **%s** (%.3fx, %s)" % (
          "met" if ratio >= 0.9 else "NOT met", ratio, bl))
    p()
pg = who_in("pgloader")
if "pgloader" in pg:
    fw = [w for w in pg if w != "pgloader"][0]
    ratio = med("pgloader", "wall_s") / med(fw, "wall_s")
    p("pgloader rounds (%s-row prefix of the same file%s; pgloader `%s`):" % (f"{pgl_rows:,}",
      "" if pgl_rows == rows else ", a subset because pgloader is slow", [r for r in R if r["contender"] == "pgloader"][0]["detail"].split(",", 1)[1]))
    p()
    table("pgloader", "pgloader")
    extra = ""
    if main:
        bf = min([w for w in main if w.startswith("ferry-csv-direct-")], key=lambda w: med(w, "wall_s"))
        extra = " ferry direct on the full file (%s, main rounds) vs pgloader on the prefix, rows/s: %.2fx." % (
          bf, (rows / med(bf, "wall_s")) / (pgl_rows / med("pgloader", "wall_s")))
    p("ferry (%s) vs pgloader on the same file: **%.2fx** rows/s (per round: %s).%s" % (fw, ratio,
      ", ".join("%.2f" % x for x in pair(fw, "pgloader")), extra))
    verdicts.append(">= 10x pgloader: **%s** (%.2fx on %s rows)" % ("met" if ratio >= 10 else "NOT met", ratio, f"{pgl_rows:,}"))
    p()
big = [r for r in ALL if r["part"] == "big"]
if big:
    r = big[0]
    wr = [float(x) for x in r["worker_rss_mb"].split("/")]
    cr = f(r, "coord_rss_mb")
    p("Big file (one run): %s records, %s, %s: wall %.1f s (%s rows/s), client CPU %.1f s, target server CPU %.1f s; "
      "coordinator peak RSS **%.1f MB**, worker peak RSS **%s MB**; /usr/bin/time max over the tree %.1f MB." % (
      f"{int(r['rows']):,}", r["contender"], r["detail"].split(",")[0], f(r, "wall_s"), f"{int(r['rows']) / f(r, 'wall_s'):,.0f}",
      f(r, "cli_cpu_s"), f(r, "tgt_srv_cpu_s"), cr, " / ".join("%.1f" % x for x in wr), f(r, "cli_rss_kb") / 1024))
    verdicts.append("big CSV: worker peak RSS < 64 MB: **%s** (%.1f MB); coordinator < 32 MB: **%s** (%.1f MB)" % (
      "met" if max(wr) < 64 else "NOT met", max(wr), "met" if cr < 32 else "NOT met", cr))
    p()
fer = [r for r in ALL if r["contender"].startswith("ferry")]
p("Targets (issue 5): " + "; ".join(verdicts) + ".")
p()
p("Peak RSS over all ferry runs: coordinator %.1f MB, worker %.1f MB." % (mx(fer, "coord_rss_mb"), mx(fer, "worker_rss_mb")))
p()
prof = os.path.join(out, "profile", "perf-top.md")
if os.path.exists(prof):
    p("perf record -e cpu-clock -g on one ferry-worker (direct, %s) for the profile window, top symbols by self samples:" % best)
    p()
    p(open(prof).read().rstrip("\n"))
    p()
    dso = os.path.join(out, "profile", "perf-report-dso.txt")
    parts = []
    for line in open(dso):
        m = re.match(r"^\s+([\d.]+)%\s+(\S+)\s*$", line)
        if m:
            parts.append("%s %s%%" % (m.group(2), m.group(1)))
    if parts:
        p("By DSO: " + ", ".join(parts[:8]) + ".")
        p()
p("Per run:")
p()
p("| run | contender | rows | wall s | load s | publish s | client CPU s | tgt CPU s | other CPU s | load1 | autovacuum passes | coord / worker RSS MB | detail |")
p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in ALL:
    p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (r["label"], r["contender"], r["rows"], r["wall_s"],
      r["load_s"], r["publish_s"], r["cli_cpu_s"], r["tgt_srv_cpu_s"], r["other_cpu_s"], r["load1"], r["autovac"],
      (r["coord_rss_mb"] + " / " + r["worker_rss_mb"]) if r["coord_rss_mb"] else "", r["detail"]))
PY
log "summary: $OUT/summary.md"
cat "$OUT/summary.md"
