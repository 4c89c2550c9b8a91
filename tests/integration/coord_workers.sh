#!/usr/bin/env bash
# tests/integration/coord_workers.sh: ferry-coordinator run with 1, 2 and 4
# local workers loads the reference workload (accounts, 60000 rows, 9
# chunks of 7000: enough that every local worker joins before the load
# ends, even on a loaded machine) into a fresh final table each time: final == source row
# for row, the run's ledger and bookkeeping add up, staging is gone, and
# the JSON report is consistent (status, row totals, chunk counts, one
# entry per worker whose chunks and rows sum to the totals, sane timings,
# concurrency = busy / load, and no speedup: there is no baseline). Then a
# --sequential run of one job and a parallel run of the same job: the
# second reports speedup = the sequential run's wall / its own wall and
# efficiency = speedup / slots used (issue 11: speedup only against a
# measured baseline).
# Any sanitizer report from the coordinator or its workers fails the test.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord_setup
coord_accounts 60000
assert_eq 60000 "$(pg_psql src -Atc 'SELECT count(*) FROM accounts')" "source rows"
# The workload must hold what a faithful copy has to carry: NULLs, jsonb,
# numeric, timestamptz.
assert_eq t "$(pg_psql src -Atc "SELECT count(*) FILTER (WHERE notes IS NULL) BETWEEN 10000 AND 25000
    AND count(DISTINCT tags) > 10 AND count(DISTINCT status) = 4 FROM accounts")" "source data variety"

for n in 1 2 4; do
    table="accounts_w$n"
    run="w$n"
    pg_psql tgt -c "CREATE TABLE $table (LIKE accounts INCLUDING ALL)"
    assert_eq "${table}_pkey" "$(pg_psql tgt -Atc "SELECT conname FROM pg_constraint
        WHERE conrelid = '$table'::regclass AND contype = 'p'")" "$table has a primary key"
    job="$HARNESS_TMP/$run.yaml"
    coord_job "$job" "public.$table" "SELECT * FROM accounts ORDER BY acct_id" acct_id \
        "chunk_size: 7000, min_rows_for_parallel: 1000"
    report="$HARNESS_TMP/$run.json"
    t0=$SECONDS
    run_expect 0 "$run" "$coord" run "$job" --local-workers "$n" --report "$report" --run-id "$run"
    echo "coord_workers: $n worker(s) took $((SECONDS - t0)) s"
    no_sanitizer_reports "$run"

    # The data.
    assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM $table" "$n worker(s): final == source"
    assert_eq 60000 "$(pg_psql tgt -Atc "SELECT count(*) FROM $table")" "$n worker(s): final row count"

    # The bookkeeping in the target.
    assert_eq "9|60000|9|0|1" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows), count(committed_at),
        min(chunk_id), count(DISTINCT run_id) FROM ferry.chunk_commits WHERE run_id = '$run'")" \
        "$n worker(s): ledger (chunks, rows, committed, first id, runs)"
    assert_eq "published|60000|60000|9" "$(pg_psql tgt -Atc "SELECT status, rows_source, rows_loaded, chunks_total
        FROM ferry.runs WHERE run_id = '$run'")" "$n worker(s): ferry.runs"
    assert_eq "" "$(pg_psql tgt -Atc "SELECT to_regclass('ferry.\"stage_$run\"')")" \
        "$n worker(s): staging dropped after publish"

    # The summary on stdout.
    out=$(cat "$HARNESS_TMP/$run.out")
    assert_contains "$out" "ferry run $run: published" "$n worker(s): summary"
    assert_contains "$out" "rows loaded     60000" "$n worker(s): summary rows"
    assert_contains "$out" "speedup         none: no sequential baseline of this job on the target" \
        "$n worker(s): no speedup without a baseline"

    # The report.
    "$py" - "$report" "$n" <<'EOF' || fail "$n worker(s): report check failed (above)"
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
check(r["status"] == "published", f"status {r['status']!r}")
check(r["run_id"] == f"w{n}", f"run_id {r['run_id']!r}")
check(r["rows_source"] == 60000, f"rows_source {r['rows_source']}")
check(r["rows_loaded"] == 60000, f"rows_loaded {r['rows_loaded']}")
check(r["chunks_total"] == 9, f"chunks_total {r['chunks_total']} (60000 rows / 7000)")
check(r["chunks_retried"] == 0, f"chunks_retried {r['chunks_retried']} on a healthy run")
w = r["workers"]
check(len(w) == n, f"{len(w)} workers listed, {n} started")
check(len({x["name"] for x in w}) == len(w), f"worker names not distinct: {[x['name'] for x in w]}")
check(sum(x["chunks"] for x in w) == 9, f"worker chunks sum to {sum(x['chunks'] for x in w)}")
check(sum(x["rows"] for x in w) == 60000, f"worker rows sum to {sum(x['rows'] for x in w)}")
for x in w:
    check(x["chunks"] >= 0 and x["rows"] >= 0, f"worker {x['name']}: negative counts")
    check((x["chunks"] > 0) == (x["rows"] > 0), f"worker {x['name']}: chunks {x['chunks']} vs rows {x['rows']}")
    check(x["busy_seconds"] >= 0 and (x["chunks"] == 0 or x["busy_seconds"] > 0),
          f"worker {x['name']}: busy_seconds {x['busy_seconds']}")
    check(0 < x["peak_rss_mb"] < 4096, f"worker {x['name']}: peak_rss_mb {x['peak_rss_mb']}")
if n == 1:
    check(w and w[0]["chunks"] == 9 and w[0]["rows"] == 60000, "the only worker did every chunk")
wall, load, merge = r["wall_seconds"], r["load_seconds"], r["merge_seconds"]
check(0 < load <= wall and 0 <= merge <= wall, f"timings wall {wall} load {load} merge {merge}")
check(load + merge <= wall + 0.01, f"load {load} + merge {merge} > wall {wall}")
rps = r["rows_per_second"]
check(abs(rps - 60000 / wall) <= 0.02 * rps + 1, f"rows_per_second {rps} vs 60000 / {wall}")
cs = r["chunk_seconds"]
check(0 < cs["mean"] and 0 < cs["p50"] <= cs["p95"] <= cs["p99"], f"chunk_seconds {cs}")
check(cs["p99"] <= wall, f"chunk p99 {cs['p99']} > wall {wall}")
# report.h: concurrency = sum of chunk busy time / load wall time.
busy = sum(x["busy_seconds"] for x in w)
check(abs(r["concurrency"] - busy / load) <= 0.05 * r["concurrency"] + 0.01,
      f"concurrency {r['concurrency']} vs busy {busy} / load {load}")
check(abs(busy - cs["mean"] * r["chunks_total"]) <= 0.01 * r["chunks_total"],
      f"workers' busy {busy} vs mean chunk time {cs['mean']} x {r['chunks_total']}")
slots = r.get("slots_total", n * 2)
check(slots == n * 2, f"slots_total {slots}, expected {n} x 2 (pipeline.writers)")
check(1 <= r["slots_used"] <= slots, f"slots_used {r['slots_used']} of {slots}")
check(0 < r["concurrency"] <= r["slots_used"] + 0.05, f"concurrency {r['concurrency']} > slots used")
# No sequential run of this job: no speedup, no efficiency.
check(r["baseline"] is None and r["speedup"] is None and r["efficiency"] is None,
      f"speedup without a baseline: {r['baseline']} {r['speedup']} {r['efficiency']}")
o = r["overhead_seconds"]
check(abs(o["total"] - (o["plan"] + o["dispatch_start"] + o["idle"] + o["verify"] + o["publish"] + o["analyze"] + o["other"])) <= 0.02,
      f"overhead parts do not add up: {o}")
check(0 <= o["total"] <= wall, f"overhead {o['total']} vs wall {wall}")
check(r["success_rate"] == 1.0 and r["chunk_attempts"] == 9, f"success {r['success_rate']} attempts {r['chunk_attempts']}")
check(r["bytes"] > 0 and r["mb_per_second"] > 0, f"bytes {r['bytes']} MB/s {r['mb_per_second']}")
check(abs(r["chunks_per_second"] - 9 / wall) <= 0.02 * r["chunks_per_second"] + 0.01,
      f"chunks_per_second {r['chunks_per_second']} vs 9 / {wall}")
if errors:
    print("report " + sys.argv[1] + ":\n  " + "\n  ".join(errors), file=sys.stderr)
    print(json.dumps(r, indent=1), file=sys.stderr)
    sys.exit(1)
EOF
done

# Every run wrote its own ledger and left the others alone.
assert_eq "w1:9|w2:9|w4:9" "$(pg_psql tgt -Atc "SELECT string_agg(run_id || ':' || n, '|' ORDER BY run_id)
    FROM (SELECT run_id, count(*) AS n FROM ferry.chunk_commits GROUP BY run_id) s")" "ledger per run"

# A sequential baseline, then the same job in parallel (merge into one
# table: the second run upserts the same rows).
pg_psql tgt -c "CREATE TABLE accounts_base (LIKE accounts INCLUDING ALL)"
job="$HARNESS_TMP/base.yaml"
coord_job "$job" public.accounts_base "SELECT * FROM accounts ORDER BY acct_id" acct_id \
    "chunk_size: 7000, min_rows_for_parallel: 1000"
run_expect 0 seq "$coord" run "$job" --local-workers 1 --sequential --report "$HARNESS_TMP/seq.json" --run-id seq
assert_contains "$(cat "$HARNESS_TMP/seq.out")" "this --sequential run is the baseline for later runs of this job" \
    "the sequential run says it is the baseline"
run_expect 0 par "$coord" run "$job" --local-workers 2 --report "$HARNESS_TMP/par.json" --run-id par
no_sanitizer_reports seq par
assert_contains "$(cat "$HARNESS_TMP/par.out")" "x vs sequential run seq (" "the parallel run names its baseline"
"$py" - "$HARNESS_TMP/seq.json" "$HARNESS_TMP/par.json" <<'EOF' || fail "baseline: report check failed (above)"
import json, sys
seq = json.load(open(sys.argv[1]))
par = json.load(open(sys.argv[2]))
errors = []
if not seq["sequential"] or seq["speedup"] is not None:
    errors.append(f"sequential run: sequential {seq['sequential']} speedup {seq['speedup']}")
b = par["baseline"]
if not b or b["run_id"] != "seq" or abs(b["wall_seconds"] - seq["wall_seconds"]) > 0.002:
    errors.append(f"baseline {b} vs the sequential run's wall {seq['wall_seconds']}")
else:
    want = seq["wall_seconds"] / par["wall_seconds"]
    if abs(par["speedup"] - want) > 0.002 * want + 0.001:
        errors.append(f"speedup {par['speedup']} vs {seq['wall_seconds']} / {par['wall_seconds']} = {want}")
    if abs(par["efficiency"] - par["speedup"] / par["slots_used"]) > 0.002:
        errors.append(f"efficiency {par['efficiency']} vs speedup / slots used {par['slots_used']}")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
EOF

echo "coord_workers: OK"
