#!/usr/bin/env bash
# bench/bench_csv_stage.sh: the one comparison of issue 5 that sits close to
# its line, alone and with more rounds than bench_csv.sh gives it: ferry's
# CSV load into staging (publish: merge, report load_seconds) against two
# psql `\copy` streams of the file's halves into an UNLOGGED table.
#
#   bench/bench_csv_stage.sh                                # 5M rows, 5 rounds
#   VARIANTS="chunk_size: 500000|chunk_size: 2500000" RUNS=3 bench/bench_csv_stage.sh
#
# Knobs: ROWS (5000000), RUNS (5), BUILD_DIR (build-bench2, built Release
# here), WORKERS (2) x SLOTS (1), VARIANTS: '|'-separated `pipeline:`
# bodies, one ferry contender each (default: the defaults, "").
# Each round runs every variant, then the two streams, each after TRUNCATE,
# DROP SCHEMA ferry and CHECKPOINT; every ferry run must load all rows.
# Prints one line per run and the medians; nothing is written to bench/out.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${ROWS:-5000000}
RUNS=${RUNS:-5}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench2}
WORKERS=${WORKERS:-2}
SLOTS=${SLOTS:-1}
IFS='|' read -r -a VARIANTS <<<"${VARIANTS:-}"
[[ ${#VARIANTS[@]} -gt 0 ]] || VARIANTS=("")
cd "$ROOT"
# shellcheck source=lib.sh
source bench/lib.sh
bench_pg

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" --target ferry-coordinator ferry-worker -j2 >/dev/null
pg_start tgt "${BENCH_CONF[@]}"
pg_psql tgt -v rows="$ROWS" -f bench/workloads/accounts.sql >/dev/null
D=$HARNESS_TMP
chmod 755 "$D"
half=$((ROWS / 2))
pg_psql tgt -c "\\copy (SELECT * FROM accounts ORDER BY acct_id) TO '$D/a.csv' CSV HEADER"
pg_psql tgt -c "\\copy (SELECT * FROM accounts WHERE acct_id <= $half ORDER BY acct_id) TO '$D/h0.csv' CSV HEADER"
pg_psql tgt -c "\\copy (SELECT * FROM accounts WHERE acct_id > $half ORDER BY acct_id) TO '$D/h1.csv' CSV HEADER"
chmod 644 "$D"/*.csv
pg_psql tgt -c "TRUNCATE accounts;
    CREATE UNLOGGED TABLE stage (LIKE accounts) WITH (autovacuum_enabled = false)" >/dev/null

prep() {
    pg_psql tgt -c "TRUNCATE accounts, stage" >/dev/null
    pg_psql tgt -c "DROP SCHEMA IF EXISTS ferry CASCADE" >/dev/null 2>&1
    pg_psql tgt -c CHECKPOINT >/dev/null
    sleep 1
}
results=()
ferry() {   # VARIANT_INDEX
    local v="${VARIANTS[$1]}" load
    cat >"$D/job.yaml" <<EOT
source: { kind: csv, path: '$D/a.csv', format: { header: true } }
target: { conninfo: "$tgt_DSN", table: public.accounts, publish: merge, merge: { key: [acct_id] } }
pipeline: { $v }
cluster: { bind: "tcp://127.0.0.1:*" }
EOT
    prep
    PATH="$BUILD_DIR/worker:$PATH" "$BUILD_DIR/coordinator/ferry-coordinator" run "$D/job.yaml" \
        --local-workers "$WORKERS" --slots "$SLOTS" --report "$D/r.json" >/dev/null 2>"$D/err" ||
        { tail "$D/err" >&2; fail "ferry run failed"; }
    read -r load rows < <(python3 -c "import json; r = json.load(open('$D/r.json'))
print(r['load_seconds'], r['rows_loaded'])")
    [[ "$rows" == "$ROWS" ]] || fail "ferry loaded $rows rows, not $ROWS"
    printf 'ferry {%s}  load %6.2f s\n' "$v" "$load"
    results+=("v$1 $load")
}
copy2() {
    local t0 t1 p1 p2
    prep
    t0=$(date +%s.%N)
    "$PSQL" -X -q -d "$tgt_DSN" -c "\\copy stage FROM '$D/h0.csv' CSV HEADER" & p1=$!
    "$PSQL" -X -q -d "$tgt_DSN" -c "\\copy stage FROM '$D/h1.csv' CSV HEADER" & p2=$!
    wait "$p1"
    wait "$p2"
    t1=$(date +%s.%N)
    [[ $(pg_psql tgt -Atc "SELECT count(*) FROM stage") == "$ROWS" ]] || fail "copy2: wrong row count"
    printf 'copy2  load %6.2f s\n' "$(echo "$t1 - $t0" | bc)"
    results+=("c $(echo "$t1 - $t0" | bc)")
}
for ((r = 1; r <= RUNS; r++)); do
    for i in "${!VARIANTS[@]}"; do ferry "$i"; done
    copy2
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys, statistics
v = {}
for l in sys.stdin:
    k, x = l.split()
    v.setdefault(k, []).append(float(x))
c = statistics.median(v.pop("c"))
print("median two \\copy streams: %.2f s" % c)
for k in sorted(v):
    m = statistics.median(v[k])
    print("variant %s: median load %.2f s, two streams / ferry = %.3fx" % (k[1:], m, c / m))'
