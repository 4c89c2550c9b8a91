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
#                       (WxS@N: with pipeline.chunk_size N, e.g. 2x2@50000;
#                       then +KEY=VALUE for pipeline.concurrency,
#                       pipeline.group_rows or target.analyze, e.g.
#                       2x4+concurrency=1, 2x2@500000+analyze=false)
#                       (the first of $CONFIGS is judged as "ferry's
#                       defaults" in the summary's issue-11 verdicts)
#     ferry-seq         the same with --local-workers 1 --sequential
#     pgcopydb-Np       pgcopydb copy table-data --table-jobs $PGCOPYDB_JOBS,
#                       the table split in N parts (PGCOPYDB_SPLIT_TABLES_
#                       LARGER_THAN), N in $PGCOPYDB_PARTS
#     raw-pipe          psql COPY (SELECT * FROM accounts) TO STDOUT binary
#                       | psql COPY accounts FROM STDIN binary; ANALYZE is
#                       timed apart (not in its wall; the summary also
#                       compares ferry with pipe + ANALYZE)
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
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
# (lib.sh: ROWS, RUNS, WARMUP, BUILD, BUILD_DIR, WORKLOAD, OUT_DIR)
PARTS=${PARTS:-"fresh merge"}
CONFIGS=${CONFIGS:-"1x1 1x2 2x1"}
MERGE_CONFIGS=${MERGE_CONFIGS:-$CONFIGS}
SEQUENTIAL=${SEQUENTIAL:-1}
PGCOPYDB_JOBS=${PGCOPYDB_JOBS:-2}
PGCOPYDB_PARTS=${PGCOPYDB_PARTS-"2 5"}   # empty: no pgcopydb
CHUNK_SIZE=${CHUNK_SIZE:-}            # empty: ferry's default (pipeline.chunk_size 50000)
SPLIT=${SPLIT:-}                      # empty: ferry's default (source.split auto: ctid here); key | ctid
TARGET_AUTOVACUUM=${TARGET_AUTOVACUUM:-on}   # off: autovacuum_enabled = false on the target's accounts (diagnostic)
WAIT_FOR=${WAIT_FOR-bench_worker.sh}   # empty: do not wait for anyone

bench_need_int ROWS RUNS
bench_need_tools
for c in $CONFIGS $MERGE_CONFIGS; do
    [[ "$c" =~ ^[1-9][0-9]*x[1-9][0-9]*(@[1-9][0-9]*)?(\+(concurrency|group_rows|analyze)=[a-z0-9]+)*$ ]] \
        || { echo "bad WxS[@CHUNK][+KEY=VALUE...] config '$c' (e.g. 2x1, 2x2@50000 for chunk_size 50000, 2x4+concurrency=1)" >&2; exit 2; }
done
if [[ " $PARTS " == *" fresh "* && -n "$PGCOPYDB_PARTS" ]]; then
    command -v pgcopydb >/dev/null || { echo "pgcopydb missing (apt-get install -y pgcopydb)" >&2; exit 2; }
fi

bench_out coordinator
log "output: $OUT (ROWS=$ROWS RUNS=$RUNS WARMUP=$WARMUP PARTS='$PARTS' CONFIGS='$CONFIGS' MERGE_CONFIGS='$MERGE_CONFIGS')"

# ---------------------------------------------------------------- build
bench_ferry_setup

# ---------------------------------------------------------------- provenance
{
    bench_env_machine
    echo "pgcopydb: $(pgcopydb --version 2>&1 | grep -m1 -o 'pgcopydb version [^ ]*' || echo missing)"
    bench_env_ferry
    echo "ROWS=$ROWS RUNS=$RUNS WARMUP=$WARMUP PARTS=$PARTS CONFIGS=$CONFIGS MERGE_CONFIGS=$MERGE_CONFIGS SEQUENTIAL=$SEQUENTIAL PGCOPYDB_JOBS=$PGCOPYDB_JOBS PGCOPYDB_PARTS=$PGCOPYDB_PARTS CHUNK_SIZE=${CHUNK_SIZE:-default} TARGET_AUTOVACUUM=$TARGET_AUTOVACUUM"
} >"$OUT/env.txt"

# ---------------------------------------------------------------- clusters
bench_clusters src tgt
SRC_URI="postgresql://postgres@127.0.0.1:$src_PORT/postgres"
TGT_URI="postgresql://postgres@127.0.0.1:$tgt_PORT/postgres"

bench_load_source
SRC_BYTES=$(pg_psql src -At -c "SELECT pg_table_size('accounts')")
read -r KEY_MIN KEY_MAX < <(pg_psql src -At -F ' ' -c "SELECT min(acct_id), max(acct_id) FROM accounts")
KEY_MID=$(((KEY_MIN + KEY_MAX + 1) / 2))

# The final table (accounts.sql with 0 rows: same definition, PK; made by
# bench_load_source) and the UNLOGGED staging table of the raw merge baselines.
pg_psql tgt -c "CREATE UNLOGGED TABLE stage (LIKE accounts);
                ALTER TABLE stage SET (autovacuum_enabled = false)"
if [[ "$TARGET_AUTOVACUUM" == off ]]; then
    log "DIAGNOSTIC: autovacuum_enabled = false on the target's accounts"
    pg_psql tgt -c "ALTER TABLE accounts SET (autovacuum_enabled = false)"
fi

write_job() {   # FILE PUBLISH [CHUNK_SIZE [KEY=VALUE...]]
    local f=$1 publish=$2 chunk=${3:-$CHUNK_SIZE} kv pipe="" tgt=""
    shift $(($# < 3 ? $# : 3))
    for kv in "$@"; do
        case "${kv%%=*}" in
            analyze) tgt+="  ${kv%%=*}: ${kv#*=}"$'\n' ;;
            *) pipe+="  ${kv%%=*}: ${kv#*=}"$'\n' ;;
        esac
    done
    [[ -z "$chunk" ]] || pipe="  chunk_size: $chunk"$'\n'"$pipe"
    cat >"$f" <<EOF
source:
  conninfo: "$src_DSN"
  query: "SELECT * FROM accounts ORDER BY acct_id"
${SPLIT:+  split: $SPLIT
}target:
  conninfo: "$tgt_DSN"
  table: public.accounts
  publish: $publish
${tgt}cluster:
  bind: "tcp://127.0.0.1:*"
EOF
    [[ -z "$pipe" ]] || printf 'pipeline:\n%s' "$pipe" >>"$f"
}
# job_for PUBLISH CONFIG: the job file of a WxS[@CHUNK][+KEY=VALUE...] config.
job_for() {
    local publish=$1 c=$2 f opts chunk="" kvs=()
    opts=${c#*x}
    opts=${opts#"${opts%%[@+]*}"}      # what follows WxS
    if [[ -z "$opts" ]]; then
        [[ "$publish" == direct ]] && echo "$JOB_DIRECT" || echo "$JOB_MERGE"
        return
    fi
    if [[ "$opts" == @* ]]; then
        chunk=${opts#@}
        chunk=${chunk%%+*}
    fi
    [[ "$opts" != *+* ]] || IFS=+ read -ra kvs <<<"${opts#*+}"
    f="$OUT/job-$publish-${opts//[^A-Za-z0-9_]/_}.yaml"
    [[ -f "$f" ]] || write_job "$f" "$publish" "$chunk" "${kvs[@]}"
    echo "$f"
}
JOB_DIRECT="$OUT/job-direct.yaml"
JOB_MERGE="$OUT/job-merge.yaml"
write_job "$JOB_DIRECT" direct
write_job "$JOB_MERGE" merge
"$COORD" plan "$JOB_DIRECT" >"$OUT/plan.txt" 2>&1 || { cat "$OUT/plan.txt" >&2; fail "ferry-coordinator plan failed"; }

# ---------------------------------------------------------------- helpers
prepare_run() { bench_reset accounts stage; }

count_of() { pg_psql tgt -At -c "SELECT count(*) FROM $1"; }

bench_tsv_header label part contender wall_s load_s publish_s analyze_s report_wall_s cli_user_s cli_sys_s cli_cpu_s \
    cli_rss_kb coord_rss_mb worker_rss_mb src_srv_cpu_s tgt_srv_cpu_s machine_busy_s other_cpu_s load1 rows autovac detail

# record LABEL PART CONTENDER WALL LOAD PUBLISH ANALYZE REPORT_WALL CU CS RSS COORD_RSS WORKER_RSS ROWS DETAIL
record() {
    python3 - "$@" "$((S1 - S0))" "$((T1 - T0))" "$((B1 - B0))" "$TICK" "$LOAD1" "$(av_delta)" >>"$OUT/runs.tsv" <<'PY'
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
    local d="$OUT/$label-$who" n
    mkdir -p "$d"
    prepare_run
    RUN_SEQ=$((RUN_SEQ + 1))
    bench_coord_run "$d" "bench_${STAMP//-/_}_$RUN_SEQ" "ferry $label $who" "$job" "$@"
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
    record "$label" "$part" "$who" "$(fsub "$T_END" "$T_START")" "$load" "$pub" "" "$rwall" "$u" "$s" "$rss" \
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
    # ANALYZE (which ferry and pgcopydb include) timed apart, outside the CPU
    # window: from its own start (snapshot_after sleeps 1 s)
    local ta
    ta=$(now)
    /usr/bin/time -f "$TIMEFMT" -o "$d/analyze.time" "$PSQL" -X -q -d "$tgt_DSN" -c "ANALYZE accounts"
    t2=$(now)
    n=$(count_of accounts)
    [[ "$n" == "$ROWS" ]] || fail "raw pipe $label: accounts holds $n rows, expected $ROWS"
    local u s rss
    read -r u s rss < <(sum_time "$d"/p1-*.time)
    record "$label" fresh "$who" "$(fsub "$t1" "$t0")" "$(fsub "$t1" "$t0")" "" "$(fsub "$t2" "$ta")" "" \
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
        ferry-direct-*) c=${who#ferry-direct-}; w=${c%%[@+]*}; s=${w#*x}; w=${w%x*}
            run_ferry "$label" fresh "$who" "$(job_for direct "$c")" --local-workers "$w" --slots "$s" ;;
        ferry-seq) run_ferry "$label" fresh "$who" "$JOB_DIRECT" --local-workers 1 --sequential ;;
        ferry-merge-seq) run_ferry "$label" merge "$who" "$JOB_MERGE" --local-workers 1 --sequential ;;
        ferry-merge-*) c=${who#ferry-merge-}; w=${c%%[@+]*}; s=${w#*x}; w=${w%x*}
            run_ferry "$label" merge "$who" "$(job_for merge "$c")" --local-workers "$w" --slots "$s" ;;
        pgcopydb-*p) w=${who#pgcopydb-}; run_pgcopydb "$label" "${w%p}" ;;
        raw-pipe) run_raw_pipe "$label" ;;
        raw-merge1) run_raw_merge "$label" 1 ;;
        raw-merge2) run_raw_merge "$label" 2 ;;
        *) fail "unknown contender $who" ;;
    esac
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
PYTHONPATH="$ROOT/bench" python3 - "$OUT" "$ROWS" "$RUNS" >"$OUT/summary.md" <<'PY'
import math, statistics, sys
import summary
out, rows, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ALL, R = summary.load(out)
f = summary.num
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
    return summary.contenders(R, part)
def pair(a, b):  # per-round wall ratios b / a (a's rows/s over b's)
    return summary.ratios(R, runs, a, b)
env = summary.env(out)
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
    def rounds(a, b):   # per-round b / a walls, and their median
        pr = pair(a, b)
        return "%.3fx median of rounds (%s)" % (statistics.median(pr) if pr else float("nan"),
                                                ", ".join("%.3f" % x for x in pr))
    # The issue 11 yardsticks: the faster of {raw pipe, ferry --sequential}
    # (the pipe's wall leaves its ANALYZE out, ferry's includes its own
    # unless the config says +analyze=false: both ways are shown), and the
    # best pgcopydb (its wall includes its VACUUM ANALYZE).
    if "raw-pipe" in fresh:
        rw, ra = med("raw-pipe", "wall_s"), med("raw-pipe", "analyze_s")
        p("Raw pipe: %.2f s, its ANALYZE %.2f s apart (pipe + ANALYZE %.2f s)." % (rw, ra, rw + ra))
    if "ferry-seq" in fresh:
        p("ferry --sequential: %.2f s." % med("ferry-seq", "wall_s"))
    p()
    bp = min(pg, key=lambda w: med(w, "wall_s")) if pg else None
    for w in fd:
        fw = med(w, "wall_s")
        parts = []
        if "raw-pipe" in fresh:
            parts.append("vs raw pipe %.3fx (%s)" % (rw / fw, rounds(w, "raw-pipe")))
            if "analyze=false" not in w:    # like for like: both analyze
                parts.append("vs raw pipe + its ANALYZE %.3fx" % ((rw + ra) / fw))
        if "ferry-seq" in fresh:
            parts.append("vs --sequential %.3fx (%s)" % (med("ferry-seq", "wall_s") / fw, rounds(w, "ferry-seq")))
        if bp:
            parts.append("vs %s %.3fx (%s)" % (bp, med(bp, "wall_s") / fw, rounds(w, bp)))
        p("- %s (%.2f s): %s." % (w, fw, "; ".join(parts)))
    if fd and bp:
        bf = min(fd, key=lambda w: med(w, "wall_s"))
        ratio = med(bp, "wall_s") / med(bf, "wall_s")
        verdicts.append("best ferry direct >= 1.3x pgcopydb (issue 11): **%s** (%.3fx, %s vs %s)" % (
          "met" if ratio >= 1.3 else "NOT met", ratio, bf, bp))
    if fd and ("raw-pipe" in fresh or "ferry-seq" in fresh):
        cands = [c for c in ("raw-pipe", "ferry-seq") if c in fresh]
        base = min(cands, key=lambda c: med(c, "wall_s"))
        w = fd[0]
        ratio = med(base, "wall_s") / med(w, "wall_s")
        verdicts.append("%s >= 1.0x the faster of {raw pipe, --sequential} (issue 11, defaults): **%s** (%.3fx vs %s)" % (
          w, "met" if ratio >= 1.0 else "NOT met", ratio, base))
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
p("Targets: " + "; ".join(verdicts) + ".")
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
