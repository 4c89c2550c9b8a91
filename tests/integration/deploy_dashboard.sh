#!/usr/bin/env bash
# tests/integration/deploy_dashboard.sh: deploy/grafana/ferry.json uses
# only metrics the coordinator exports, checked against a real scrape of a
# coordinator (cluster.metrics, waiting for workers: every metric family is
# there), and docs/OPERATIONS.md describes every exported metric
# (tests/tools/check_dashboard.py). The checker itself fails on a dashboard
# that names a metric the coordinator does not export.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord=$(ferry_bin ferry-coordinator)
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing"
dash="$FERRY_SOURCE_DIR/deploy/grafana/ferry.json"
check="$FERRY_SOURCE_DIR/tests/tools/check_dashboard.py"
doc="$FERRY_SOURCE_DIR/docs/OPERATIONS.md"
pg_start src
pg_start tgt
pg_psql src -c "CREATE TABLE x (id bigint PRIMARY KEY); INSERT INTO x SELECT generate_series(1, 100)"
pg_psql tgt -c "CREATE TABLE x (id bigint PRIMARY KEY)"
mport=$(free_port)
job="$HARNESS_TMP/dash.yaml"
ferry_write_job "$job" src tgt public.x "SELECT * FROM x ORDER BY id" id \
    "cluster: { bind: 'tcp://127.0.0.1:$(free_port)', metrics: '127.0.0.1:$mport' }"
FERRY_CLUSTER_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n') timeout 60 "$coord" run "$job" \
    --run-id dash >"$HARNESS_TMP/coord.out" 2>"$HARNESS_TMP/coord.err" </dev/null &
coord_pid=$!
harness_on_exit "kill $coord_pid 2>/dev/null"
poll_until 30 "the coordinator to plan" bash -c "curl -s 'http://127.0.0.1:$mport/readyz' | grep -q 'no worker joined'"
curl -sf "http://127.0.0.1:$mport/metrics" >"$HARNESS_TMP/scrape" || fail "scrape failed"
kill -INT "$coord_pid"
wait "$coord_pid" || true

"$py" "$check" "$dash" "$HARNESS_TMP/scrape" "$doc" >"$HARNESS_TMP/check.out" 2>&1 \
    || { cat "$HARNESS_TMP/check.out" >&2; fail "the dashboard or the docs do not match the coordinator's metrics"; }
cat "$HARNESS_TMP/check.out"
# The check can fail: a dashboard naming a metric that is not exported.
sed 's/ferry_rows_per_second/ferry_rows_per_fortnight/' "$dash" >"$HARNESS_TMP/bad.json"
if "$py" "$check" "$HARNESS_TMP/bad.json" "$HARNESS_TMP/scrape" >"$HARNESS_TMP/bad.out" 2>&1; then
    fail "the checker accepted a dashboard with ferry_rows_per_fortnight"
fi
assert_contains "$(cat "$HARNESS_TMP/bad.out")" "ferry_rows_per_fortnight is not exported" "the checker names it"
echo "deploy_dashboard: ok"
