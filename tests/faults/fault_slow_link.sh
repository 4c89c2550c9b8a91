#!/usr/bin/env bash
# tests/faults/fault_slow_link.sh: a load over a slow link. The coordinator,
# the workers and the two PostgreSQL servers run as separate hosts in
# network namespaces (ferry_crd, ferry_wrk, ferry_src, ferry_tgt, each with
# a random suffix) on one bridge, 10.77.0.0/24, in a fifth namespace
# (ferry_net). Between the workers and the target: a 100 Mbit/s token
# bucket (tc tbf, both directions, only that path) and 50 ms round trip
# (tests/tools/delay_proxy, 25 ms each way, in front of the target: this
# kernel has tbf but no netem). The coordinator is started with
# cluster.bind on its own address and cluster.insecure: true (no CURVE;
# fault_curve_link.sh runs CURVE), so it sends no conninfos; two external
# ferry-worker --coordinator processes (2 slots each) get theirs from
# FERRY_SOURCE_DSN / FERRY_TARGET_DSN, the latter through the proxy.
#
# The scenario loads 20,000 rows of the reference workload (10 chunks,
# shared snapshot, merge publish) and checks: the latency and the rate are
# really there (10 queries through the proxy take >= 0.5 s; the shaped
# class carried the COPY data and hit its limit; the proxy carried it), the
# run publishes (exit 0), both workers leave with 0 on STOP and both did
# chunks, final == source row for row, and ferry.chunk_commits holds every
# planned chunk exactly once with the right row total. Any sanitizer
# report from a ferry process fails it.
#
#   bash tests/faults/fault_slow_link.sh            the scenario (root only)
#   bash tests/faults/fault_slow_link.sh --measure [--rows N]
#        [--writers "1 2 4"] [--chunks "5000 20000 50000"] [--repeat R]
#        [--concurrency "all 1 2 4 8 auto"]
#        [--delay-ms MS] [--rate-mbit M]
#       the same topology, no assertions beyond row counts: loads N rows
#       (default 300000) once per (writers, chunk_size) pair, with 2 workers
#       of WRITERS slots each, and prints wall time and rows/s for each
#       (docs/TUNING.md). --delay-ms 0 and/or --rate-mbit 0 take the delay
#       or the rate limit away, for a baseline.
#   bash tests/faults/fault_slow_link.sh --measure-backups [--rows N]
#        [--chunks SIZE] [--repeat R] [--rate-mbit M]
#       one fast worker and one slow one: wrk-a in the coordinator's
#       namespace, straight to the target; wrk-b behind the shaped link
#       and the proxy (default 2 Mbit/s), one slot each, concurrency 2;
#       N rows (default 200000) in chunks of SIZE (default 20000). Runs
#       pipeline.backups true and false in turn, R rounds (default 3), and
#       prints each run's wall and backups, then the medians and their
#       ratio (bench/RESULTS.md).
#
# Needs root (ip netns, veth, bridge, tc); a machine that cannot create
# network namespaces FAILS (never skips). Everything it creates (namespaces,
# processes, clusters, dirs) is removed at exit, pass or fail; a watchdog
# does it too if this shell is SIGKILLed.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=../lib/netns.sh
source "$(dirname "$0")/../lib/netns.sh"

mode="test"
rows=20000
chunk_list="5000 20000 50000"
writer_list="1 2 4"
conc_list="all"
repeat=1
delay_ms=25
rate_mbit=100
while [[ $# -gt 0 ]]; do
    case "$1" in
        --measure) mode=measure; rows=300000 ;;
        --measure-backups) mode=backups; rows=200000; chunk_list=20000; repeat=3; rate_mbit=2 ;;
        --rows) rows="$2"; shift ;;
        --writers) writer_list="$2"; shift ;;
        --chunks) chunk_list="$2"; shift ;;
        --concurrency) conc_list="$2"; shift ;;
        --repeat) repeat="$2"; shift ;;
        --delay-ms) delay_ms="$2"; shift ;;
        --rate-mbit) rate_mbit="$2"; shift ;;
        *) fail "unknown argument '$1' (see the header of $0)" ;;
    esac
    shift
done

coord=$(ferry_bin ferry-coordinator)
worker=$(ferry_bin ferry-worker)
# The cluster secret the workers prove to the coordinator (both inherit it).
FERRY_CLUSTER_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export FERRY_CLUSTER_SECRET
proxy=$(ferry_bin tests/tools/ferry_delay_proxy)
bindir=$(pg_bindir)
for prog in initdb pg_ctl postgres psql; do
    [[ -x "$bindir/$prog" ]] || fail "PostgreSQL binaries missing: $bindir/$prog (install postgresql-15 with scripts/bootstrap.sh, or set PG_BINDIR)"
done
[[ $(id -u) -eq 0 ]] || fail "fault_slow_link needs root: it creates network namespaces, veth pairs and tc qdiscs"
if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
    fail "ip and tc are missing: apt-get install iproute2"
fi
workload="$FERRY_SOURCE_DIR/bench/workloads/accounts.sql"
[[ -f "$workload" ]] || fail "reference workload missing: $workload"
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to read the JSON report)"

# ---------------------------------------------------------------- topology
ADDR_CRD=10.77.0.10
ADDR_SRC=10.77.0.11
ADDR_TGT=10.77.0.12
ADDR_WRK=10.77.0.13
PG_PORT=5432       # each server has its own namespace, so the port is free
PROXY_PORT=6432    # the delay proxy, in ferry_tgt, in front of the target
CLUSTER_PORT=5570  # the coordinator's ZeroMQ endpoint
netns_hosts ferry ferry-link crd src tgt wrk

# shape NS DST: on NS's eth0, traffic to DST goes through tbf at the link
# rate, everything else is not limited: htb with a fast default class and
# a class whose leaf is the tbf, chosen by a u32 match on the destination.
# Where htb or u32 is missing, the tbf becomes eth0's root qdisc (it then
# also limits that host's little control traffic to the others).
shaped_by_class=1
shape() {
    local ns="$1" dst="$2"
    local tbf=(tbf rate "${rate_mbit}mbit" burst 32kbit latency 400ms)
    if tc -n "$ns" qdisc add dev eth0 root handle 1: htb default 1 2>/dev/null &&
        tc -n "$ns" class add dev eth0 parent 1: classid 1:1 htb rate 10gbit quantum 60000 2>/dev/null &&
        tc -n "$ns" class add dev eth0 parent 1: classid 1:2 htb rate 10gbit quantum 60000 2>/dev/null &&
        tc -n "$ns" qdisc add dev eth0 parent 1:2 handle 20: "${tbf[@]}" 2>/dev/null &&
        tc -n "$ns" filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst "$dst/32" flowid 1:2 2>/dev/null; then
        return 0
    fi
    tc -n "$ns" qdisc del dev eth0 root 2>/dev/null || true
    shaped_by_class=0
    echo "fault_slow_link: htb/u32 unavailable; tbf is the root qdisc of $ns eth0" >&2
    netns_or_fail tc -n "$ns" qdisc add dev eth0 root handle 20: "${tbf[@]}"
}
if [[ "$rate_mbit" != 0 ]]; then
    shape "$NS_WRK" "$ADDR_TGT"   # worker -> target: the COPY data
    shape "$NS_TGT" "$ADDR_WRK"   # target -> worker: replies
fi

# tbf_stat NS FIELD: "sent" (bytes) or "overlimits" of the tbf on NS eth0.
tbf_stat() {
    tc -n "$1" -s qdisc show dev eth0 | awk -v field="$2" '
        $1 == "qdisc" { intbf = ($2 == "tbf") }
        intbf && $1 == "Sent" { sent = $2; for (i = 1; i < NF; i++) if ($i ~ /overlimits/) over = $(i + 1) }
        END { v = (field == "sent") ? sent : over; gsub(/[^0-9]/, "", v); print v + 0 }'
}

# ----------------------------------------------------------------- servers
# The servers: hosts of 10.77.0.0/24 are trusted.
netns_pg_start src "$NS_SRC" "$ADDR_SRC" trust "shared_buffers = 128MB"
netns_pg_start tgt "$NS_TGT" "$ADDR_TGT" trust "shared_buffers = 128MB"
# shellcheck disable=SC2154 # src_TCP/tgt_TCP are exported by netns_pg_start
SRC_TCP=$src_TCP TGT_TCP=$tgt_TCP
TGT_VIA_PROXY="host=$ADDR_TGT port=$PROXY_PORT user=postgres dbname=postgres connect_timeout=10"

# The delay proxy, in the target's namespace, for the workers only (the
# coordinator talks to the target directly).
ip netns exec "$NS_TGT" "$proxy" "$ADDR_TGT:$PROXY_PORT" "$ADDR_TGT:$PG_PORT" "$delay_ms" \
    >"$HARNESS_TMP/proxy.out" 2>"$HARNESS_TMP/proxy.err" </dev/null &
proxy_pid=$!
harness_on_exit "kill $proxy_pid 2>/dev/null"
poll_until 10 "the delay proxy to listen" grep -qs "listening on" "$HARNESS_TMP/proxy.out"

# Every host reaches the others.
for ns in "$NS_CRD" "$NS_WRK"; do
    for dsn in "$SRC_TCP" "$TGT_TCP"; do
        ip netns exec "$ns" "$bindir/psql" -X -q -d "$dsn" -Atc "SELECT 1" >/dev/null 2>&1 ||
            fail "from $ns, psql '$dsn' does not connect"
    done
done

# The latency is there: 10 queries through the proxy are 10 round trips.
t0=$EPOCHREALTIME
ip netns exec "$NS_WRK" "$bindir/psql" -X -q -d "$TGT_VIA_PROXY" -At \
    -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" \
    -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" >/dev/null ||
    fail "psql through the delay proxy failed"
t_proxy=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
t0=$EPOCHREALTIME
ip netns exec "$NS_WRK" "$bindir/psql" -X -q -d "$TGT_TCP" -At \
    -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" \
    -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" -c "SELECT 1" >/dev/null
t_direct=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
echo "fault_slow_link: 10 queries from the workers' host: ${t_proxy}s through the proxy, ${t_direct}s direct"
if [[ "$delay_ms" != 0 ]]; then
    awk -v t="$t_proxy" -v d="$delay_ms" 'BEGIN { exit !(t >= 10 * 2 * d / 1000) }' ||
        fail "10 queries through the proxy took ${t_proxy}s: less than 10 round trips of $((2 * delay_ms)) ms"
fi

# ---------------------------------------------------------------- the load
pg_psql src -v rows="$rows" -f "$workload" >/dev/null
pg_psql tgt -v rows=0 -f "$workload" >/dev/null
assert_eq "$rows" "$(pg_psql src -Atc 'SELECT count(*) FROM accounts')" "source rows"

# show_logs TAG: the tails of one run's process outputs, for a failure.
show_logs() {
    local f
    for f in "$1".coord.out "$1".coord.err "$1".wa.err "$1".wb.err proxy.err; do
        echo "--- $f (last 30 lines)" >&2
        tail -n 30 "$HARNESS_TMP/$f" >&2 2>/dev/null || true
    done
}

# run_load RUN_ID WRITERS CHUNK_SIZE [CONCURRENCY]: one ferry run in the
# topology: the coordinator in ferry_crd, then two workers (WRITERS slots
# each) in ferry_wrk. CONCURRENCY is pipeline.concurrency (a number,
# "auto", or "all": pinned at every slot, 2 x WRITERS, the default). Waits
# for all three; sets COORD_RC, WA_RC, WB_RC and REPORT.
run_load() {
    local run="$1" writers="$2" chunk="$3" conc="${4:-all}" job coord_pid wa_pid wb_pid
    [[ "$conc" == all ]] && conc=$((2 * writers))
    job="$HARNESS_TMP/$run.yaml"
    REPORT="$HARNESS_TMP/$run.json"
    cat >"$job" <<EOF
source:
  conninfo: '$SRC_TCP'
  query: 'SELECT * FROM accounts ORDER BY acct_id'
  snapshot: shared
target:
  conninfo: '$TGT_TCP'
  table: public.accounts
pipeline: { chunk_size: $chunk, min_rows_for_parallel: 1000, writers: $writers, concurrency: $conc, backups: ${BACKUPS:-true} }
retry: { max_retries: 5, initial_delay: 0.2, backoff: 2.0, max_delay: 2 }
cluster: { bind: 'tcp://$ADDR_CRD:$CLUSTER_PORT', heartbeat_ms: 500, liveness: 10, insecure: true }
EOF
    ip netns exec "$NS_CRD" timeout 600 "$coord" run "$job" --report "$REPORT" --run-id "$run" \
        >"$HARNESS_TMP/$run.coord.out" 2>"$HARNESS_TMP/$run.coord.err" </dev/null &
    coord_pid=$!
    harness_on_exit "kill $coord_pid 2>/dev/null"
    poll_until 60 "the coordinator to wait for workers" grep -qs "waiting for workers" "$HARNESS_TMP/$run.coord.err"
    # A coordinator on a non-loopback endpoint says the workers need the DSNs.
    assert_contains "$(cat "$HARNESS_TMP/$run.coord.err")" "FERRY_TARGET_DSN" \
        "the coordinator tells remote workers to bring their conninfos"
    # FAST_A=1: wrk-a runs beside the coordinator, straight to the target.
    local a_ns="$NS_WRK" a_tgt="$TGT_VIA_PROXY"
    [[ "${FAST_A:-0}" == 1 ]] && a_ns="$NS_CRD" a_tgt="$TGT_TCP"
    ip netns exec "$a_ns" env FERRY_SOURCE_DSN="$SRC_TCP" FERRY_TARGET_DSN="$a_tgt" \
        timeout 600 "$worker" --coordinator "tcp://$ADDR_CRD:$CLUSTER_PORT" --slots "$writers" --name "wrk-a" \
        >"$HARNESS_TMP/$run.wa.out" 2>"$HARNESS_TMP/$run.wa.err" </dev/null &
    wa_pid=$!
    harness_on_exit "kill $wa_pid 2>/dev/null"
    ip netns exec "$NS_WRK" env FERRY_SOURCE_DSN="$SRC_TCP" FERRY_TARGET_DSN="$TGT_VIA_PROXY" \
        timeout 600 "$worker" --coordinator "tcp://$ADDR_CRD:$CLUSTER_PORT" --slots "$writers" --name "wrk-b" \
        >"$HARNESS_TMP/$run.wb.out" 2>"$HARNESS_TMP/$run.wb.err" </dev/null &
    wb_pid=$!
    harness_on_exit "kill $wb_pid 2>/dev/null"
    if ! poll_until_quiet 600 exited "$coord_pid"; then
        show_logs "$run"
        fail "$run: the coordinator did not finish within 600 s"
    fi
    COORD_RC=0
    wait "$coord_pid" || COORD_RC=$?
    if ! poll_until_quiet 30 exited "$wa_pid" || ! poll_until_quiet 30 exited "$wb_pid"; then
        show_logs "$run"
        fail "$run: a worker did not leave within 30 s of the coordinator's end"
    fi
    WA_RC=0 WB_RC=0
    wait "$wa_pid" || WA_RC=$?
    wait "$wb_pid" || WB_RC=$?
}
# poll_until_quiet SECONDS CMD...: poll_until without failing: false on timeout.
poll_until_quiet() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [[ $SECONDS -lt $deadline ]] || return 1
        sleep 0.1
    done
}
# report_field FILE EXPR: a value from the JSON report (python expression on r).
report_field() {
    "$py" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

if [[ "$mode" == measure ]]; then
    echo "fault_slow_link --measure: $rows rows, 2 workers, delay ${delay_ms} ms each way, rate ${rate_mbit} Mbit/s"
    results="$HARNESS_TMP/results.txt"
    : >"$results"
    # Repeats outermost, so a drift in the machine's load hits every setting.
    for r in $(seq "$repeat"); do
        for w in $writer_list; do
            for c in $chunk_list; do
              for k in $conc_list; do
                run="m_w${w}_c${c}_k${k}_$r"
                pg_psql tgt -c "TRUNCATE accounts"
                t0=$SECONDS
                run_load "$run" "$w" "$c" "$k"
                if [[ $COORD_RC -ne 0 ]]; then
                    show_logs "$run"
                    fail "$run: coordinator exit $COORD_RC"
                fi
                assert_eq "$rows" "$(pg_psql tgt -Atc 'SELECT count(*) FROM accounts')" "$run: final rows"
                line=$(report_field "$REPORT" '"%d %d %.2f %.2f %.2f %.2f %.2f" % (r["chunks_total"], r.get("slots_total", 0), r["wall_seconds"], r["load_seconds"], r["merge_seconds"], r["chunk_seconds"]["p50"], r["chunk_seconds"]["p95"])')
                echo "$w/$k $c $r $line" >>"$results"
                echo "writers=$w concurrency=$k chunk_size=$c run $r: chunks slots wall load publish chunk-p50 chunk-p95 = $line ($((SECONDS - t0)) s with start-up)"
              done
            done
        done
    done
    # The table: medians over the repeats (each run's figures above).
    "$py" - "$results" "$rows" <<'PY'
import statistics, sys
rows = int(sys.argv[2])
runs = {}
for line in open(sys.argv[1]):
    w, c, r, chunks, slots, wall, load, pub, p50, p95 = line.split()
    runs.setdefault((w, int(c)), []).append(
        (int(chunks), int(slots), float(wall), float(load), float(pub), float(p50), float(p95)))
print()
print("| writers/concurrency | chunk_size | chunks | slots | runs | wall s | load s | publish s | rows/s (wall) | rows/s (load) | chunk p50 s | chunk p95 s |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (w, c), v in sorted(runs.items()):
    med = lambda i: statistics.median(x[i] for x in v)
    print(f"| {w} | {c} | {v[0][0]} | {v[0][1]} | {len(v)} | {med(2):.1f} | {med(3):.1f} | {med(4):.1f} "
          f"| {rows / med(2):,.0f} | {rows / med(3):,.0f} | {med(5):.2f} | {med(6):.2f} |")
PY
    exit 0
fi

if [[ "$mode" == backups ]]; then
    echo "fault_slow_link --measure-backups: $rows rows in chunks of $chunk_list, wrk-a fast, wrk-b behind ${rate_mbit} Mbit/s and ${delay_ms} ms each way"
    results="$HARNESS_TMP/results.txt"
    : >"$results"
    for r in $(seq "$repeat"); do
        order="true false"
        [[ $((r % 2)) == 0 ]] && order="false true"
        for b in $order; do
            run="b_${b}_$r"
            pg_psql tgt -c "TRUNCATE accounts"
            BACKUPS=$b FAST_A=1 run_load "$run" 1 "$chunk_list" 2
            if [[ $COORD_RC -ne 0 ]]; then
                show_logs "$run"
                fail "$run: coordinator exit $COORD_RC"
            fi
            assert_eq "$rows" "$(pg_psql tgt -Atc 'SELECT count(*) FROM accounts')" "$run: final rows"
            line=$(report_field "$REPORT" '"%.2f %.2f %d %d" % (r["wall_seconds"], r["load_seconds"], r["backups"]["started"], r["backups"]["won"])')
            echo "$b $line" >>"$results"
            echo "backups=$b round $r: wall load backups-started backups-won = $line"
        done
    done
    "$py" - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    b, wall, load, started, won = line.split()
    runs.setdefault(b, []).append((float(wall), float(load), int(started), int(won)))
print()
print("| pipeline.backups | runs | wall s (median) | load s (median) | backups started / won (all runs) |")
print("|---|---:|---:|---:|---|")
for b in ("true", "false"):
    v = runs.get(b, [])
    if v:
        print(f"| {b} | {len(v)} | {statistics.median(x[0] for x in v):.2f} | "
              f"{statistics.median(x[1] for x in v):.2f} | {sum(x[2] for x in v)} / {sum(x[3] for x in v)} |")
if runs.get("true") and runs.get("false"):
    print(f"\nbackups on / off, wall: {statistics.median(x[0] for x in runs['true']) / statistics.median(x[0] for x in runs['false']):.3f}x")
PY
    exit 0
fi

# ------------------------------------------------------------ the scenario
run="slow_$sfx"
sent0=$(tbf_stat "$NS_WRK" sent)
t0=$SECONDS
run_load "$run" 2 2000
elapsed=$((SECONDS - t0))
echo "fault_slow_link: run $run took $elapsed s (coordinator $COORD_RC, workers $WA_RC $WB_RC)"
for f in coord.err wa.err wb.err; do
    assert_clean_stderr "$HARNESS_TMP/$run.$f"
done
if [[ $COORD_RC -ne 0 || $WA_RC -ne 0 || $WB_RC -ne 0 ]]; then
    show_logs "$run"
    fail "$run: exit status coordinator $COORD_RC, workers $WA_RC $WB_RC (expected 0 0 0)"
fi
assert_contains "$(cat "$HARNESS_TMP/$run.coord.out")" "ferry run $run: published" "summary"

# The data.
assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM accounts" "final == source"

# The bookkeeping: every planned chunk committed exactly once, rows add up.
nchunks=$(pg_psql tgt -Atc "SELECT chunks_total FROM ferry.runs WHERE run_id = '$run'")
[[ "$nchunks" =~ ^[0-9]+$ && $nchunks -ge 9 && $nchunks -le 11 ]] ||
    fail "ferry.runs: chunks_total '$nchunks' for $rows rows in chunks of 2000 (expected about 10)"
assert_eq "published|$rows|$rows" "$(pg_psql tgt -Atc "SELECT status, rows_source, rows_loaded
    FROM ferry.runs WHERE run_id = '$run'")" "ferry.runs"
assert_eq "$nchunks|$nchunks|$nchunks|0|$((nchunks - 1))|$rows|0" "$(pg_psql tgt -Atc "SELECT count(*),
    count(DISTINCT chunk_id), count(committed_at), min(chunk_id), max(chunk_id), sum(rows),
    count(*) FILTER (WHERE rows IS NULL OR rows <= 0)
    FROM ferry.chunk_commits WHERE run_id = '$run'")" \
    "ferry.chunk_commits (commits, distinct chunks, committed, first id, last id, rows, empty)"
assert_eq "0|0" "$(pg_psql tgt -Atc "SELECT
    (SELECT count(*) FROM ferry.chunks c WHERE c.run_id = '$run' AND NOT EXISTS
        (SELECT 1 FROM ferry.chunk_commits k WHERE k.run_id = c.run_id AND k.chunk_id = c.chunk_id
            AND k.committed_at IS NOT NULL)),
    (SELECT count(*) FROM ferry.chunk_commits k WHERE k.run_id = '$run' AND NOT EXISTS
        (SELECT 1 FROM ferry.chunks c WHERE c.run_id = k.run_id AND c.chunk_id = k.chunk_id))")" \
    "planned chunks without a commit | commits of no planned chunk"
assert_eq "wrk-a,wrk-b" "$(pg_psql tgt -Atc "SELECT string_agg(DISTINCT worker, ',' ORDER BY worker)
    FROM ferry.chunk_commits WHERE run_id = '$run'")" "both workers committed chunks"

# The report agrees.
assert_eq "published $rows $nchunks 4" "$(report_field "$REPORT" \
    '"%s %d %d %d" % (r["status"], r["rows_loaded"], r["chunks_total"], r.get("slots_total", 4))')" \
    "report: status, rows, chunks, slots"

# The COPY data went through the shaped path and the proxy, at the limit.
if [[ "$rate_mbit" != 0 ]]; then
    sent=$(($(tbf_stat "$NS_WRK" sent) - sent0))
    over=$(tbf_stat "$NS_WRK" overlimits)
    bytes=$(pg_psql tgt -Atc "SELECT sum(bytes) FROM ferry.chunk_commits WHERE run_id = '$run'")
    how="its own class"
    [[ $shaped_by_class -eq 1 ]] || how="the root qdisc"
    echo "fault_slow_link: tbf worker->target ($how) sent $sent bytes (chunks' COPY bytes $bytes), overlimits $over"
    [[ $sent -ge $bytes ]] || fail "the worker->target tbf sent $sent bytes, less than the $bytes COPY bytes"
    [[ $over -gt 0 ]] || fail "the worker->target tbf never hit its ${rate_mbit} Mbit/s limit"
fi
kill "$proxy_pid"
poll_until 10 "the delay proxy to stop" exited "$proxy_pid"
proxy_up=$(sed -n 's/.* \([0-9]*\) bytes up.*/\1/p' "$HARNESS_TMP/proxy.err")
[[ -n "$proxy_up" && $proxy_up -ge ${bytes:-1} ]] ||
    fail "the delay proxy carried ${proxy_up:-?} bytes to the target, less than the COPY data: $(cat "$HARNESS_TMP/proxy.err")"
assert_clean_stderr "$HARNESS_TMP/proxy.err"

echo "fault_slow_link: OK ($rows rows, $nchunks chunks over 50 ms RTT and ${rate_mbit} Mbit/s in $elapsed s)"
