#!/usr/bin/env bash
# bench/bench_verify.sh: what ferry-coordinator verify costs, against the
# hand-made check it replaces, on the reference `accounts` workload.
#
#   bench/bench_verify.sh                          # 1,000,000 rows, 5 rounds
#   ROWS=100000 RUNS=1 WARMUP=0 bench/bench_verify.sh   # quick dry run
#
# The source gets $ROWS rows, one ferry run (publish: direct, split: key,
# 2 local workers) loads them, then three contenders run interleaved, the order
# rotating every round:
#   verify     ferry-coordinator verify JOB (the job's chunk_size, 50000):
#              the key pass that plans the ranges, then count + hash sum
#              per range on both servers at once
#   verify-run ferry-coordinator verify JOB --run <the load's run>: the
#              same in the load's own chunks, without the key pass
#   sums-seq   by hand: one statement per server, one after the other:
#              SELECT count(*), sum(<the same 60-bit row hash>) FROM accounts
#              (a yes/no over the whole table, no keys named)
#   sums-par   the same two statements at once: the floor for this hash
#              work on these two servers
# Every round checks that the answer is "the same" (verify exit 0; the two
# sums equal). Wall, ferry's own CPU (/usr/bin/time) and each server's CPU
# (bench/lib.sh srv_ticks) are recorded per run; the summary gives the
# medians and verify's ratios to both.
# Output: bench/out/verify-<UTC stamp>/ (env.txt, runs.tsv, summary.md).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-5}
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
WAIT_FOR=${WAIT_FOR-'bench/bench_(worker|coordinator|csv|tune)'}

bench_need_int ROWS RUNS
bench_need_tools
bench_out verify
log "output: $OUT (ROWS=$ROWS RUNS=$RUNS WARMUP=$WARMUP)"
bench_ferry_setup
{
    bench_env_machine
    bench_env_ferry
    echo "ROWS=$ROWS RUNS=$RUNS WARMUP=$WARMUP"
} >"$OUT/env.txt"
bench_clusters src tgt
bench_load_source

JOB="$OUT/job.yaml"
bench_reference_job "$JOB" direct
# A key split, so that verify --run can use the load's chunks (a ctid
# split's are heap blocks).
sed -i '/^  query: /a\  split: key' "$JOB"
mkdir -p "$OUT/load"
bench_coord_run "$OUT/load" verify_load "the load" "$JOB" --local-workers 2
log "loaded in $(fsub "$T_END" "$T_START") s"
bench_quiesce

SUM_SQL="SELECT count(*), sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint) FROM accounts t"
bench_tsv_header label contender wall_s ferry_user_s ferry_sys_s src_cpu_s tgt_cpu_s same

run_one() {
    local label=$1 c=$2 d="$OUT/$1-$2" rc=0 same=no a b
    mkdir -p "$d"
    wait_quiet
    snapshot_before
    T_START=$(now)
    case "$c" in
    verify)
        /usr/bin/time -f "$TIMEFMT" -o "$d/time" "$COORD" verify "$JOB" \
            >"$d/out" 2>"$d/err" </dev/null || rc=$?
        [[ $rc == 0 ]] && same=yes ;;
    verify-run)
        /usr/bin/time -f "$TIMEFMT" -o "$d/time" "$COORD" verify "$JOB" --run verify_load \
            >"$d/out" 2>"$d/err" </dev/null || rc=$?
        [[ $rc == 0 ]] && same=yes ;;
    sums-seq)
        echo "0 0 0 0" >"$d/time"
        a=$(pg_psql src -At -c "$SUM_SQL")
        b=$(pg_psql tgt -At -c "$SUM_SQL")
        [[ "$a" == "$b" ]] && same=yes ;;
    sums-par)
        echo "0 0 0 0" >"$d/time"
        pg_psql src -At -c "$SUM_SQL" >"$d/src" &
        pg_psql tgt -At -c "$SUM_SQL" >"$d/tgt"
        wait $!
        [[ "$(cat "$d/src")" == "$(cat "$d/tgt")" ]] && same=yes ;;
    esac
    T_END=$(now)
    snapshot_after
    [[ $same == yes ]] || { cat "$d/out" "$d/err" 2>/dev/null | tail -n 20 >&2; fail "$label $c: not the same (exit $rc)"; }
    read -r _ u s _ <"$d/time"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$c" "$(fsub "$T_END" "$T_START")" "$u" "$s" \
        "$(awk -v a="$S0" -v b="$S1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')" \
        "$(awk -v a="$T0" -v b="$T1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')" \
        "$same" >>"$OUT/runs.tsv"
    log "$label $c: $(fsub "$T_END" "$T_START") s"
}

run_part verify verify verify-run sums-seq sums-par

python3 - "$OUT/runs.tsv" "$ROWS" >"$OUT/summary.md" <<'PY'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t") if r["label"] != "warmup"]
med = {}
for c in ("verify", "verify-run", "sums-seq", "sums-par"):
    rs = [r for r in rows if r["contender"] == c]
    med[c] = {k: statistics.median(float(r[k]) for r in rs)
              for k in ("wall_s", "ferry_user_s", "ferry_sys_s", "src_cpu_s", "tgt_cpu_s")}
    med[c]["n"] = len(rs)
print(f"verify of {int(sys.argv[2]):,} rows, medians of {med['verify']['n']} interleaved rounds\n")
print("| contender | wall s | ferry CPU s | source CPU s | target CPU s |")
print("|---|---|---|---|---|")
for c, m in med.items():
    print(f"| {c} | {m['wall_s']:.2f} | {m['ferry_user_s'] + m['ferry_sys_s']:.2f} | "
          f"{m['src_cpu_s']:.2f} | {m['tgt_cpu_s']:.2f} |")
v = med["verify"]["wall_s"]
print(f"\nverify / sums-seq wall: {v / med['sums-seq']['wall_s']:.3f}x; "
      f"verify / sums-par wall: {v / med['sums-par']['wall_s']:.3f}x")
vr = med["verify-run"]["wall_s"]
print(f"verify --run / sums-seq wall: {vr / med['sums-seq']['wall_s']:.3f}x; "
      f"verify --run / sums-par wall: {vr / med['sums-par']['wall_s']:.3f}x; "
      f"verify --run / verify: {vr / v:.3f}x")
PY
cat "$OUT/summary.md"
