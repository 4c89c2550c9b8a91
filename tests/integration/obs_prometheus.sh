#!/usr/bin/env bash
# tests/integration/obs_prometheus.sh: a real Prometheus server (Debian
# package prometheus; loopback, a free port, scrape interval 1 s, its own
# temp dir, deploy/prometheus/ferry-rules.yaml loaded) scrapes a coordinator
# (cluster.metrics) through a run of a few seconds (processors slowed with
# the FERRY_TEST_SLOW_PROCESS_MS test knob). The coordinator lingers after
# the run (--metrics-linger), so the last scrape holds the final values:
# Prometheus' HTTP API then answers ferry_rows_loaded_total with the run's
# exact row count, (the number of distinct values it scraped during the run is printed);
# promtool check metrics is clean on a scrape.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord=$(ferry_bin ferry-coordinator)
command -v prometheus >/dev/null || fail "prometheus is missing (Debian package prometheus)"
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus)"
command -v curl >/dev/null || fail "curl is missing"
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing"
rules="$FERRY_SOURCE_DIR/deploy/prometheus/ferry-rules.yaml"
[[ -f "$rules" ]] || fail "missing $rules"

pg_start src
pg_start tgt
pg_psql src <<'EOF'
CREATE TABLE x (id bigint PRIMARY KEY, v text);
INSERT INTO x SELECT g, 'r' || g FROM generate_series(1, 30000) g;
EOF
pg_psql tgt -c "CREATE TABLE x (id bigint PRIMARY KEY, v text)"
expected=$(pg_psql src -Atc "SELECT count(*) FROM x")

mport=$(free_port)
pport=$(free_port)
job="$HARNESS_TMP/prom.yaml"
ferry_write_job "$job" src tgt public.x "SELECT * FROM x ORDER BY id" id \
    "pipeline: { chunk_size: 5000, min_rows_for_parallel: 1000, read_buffer: 4096, processors: 1 }" \
    "cluster: { bind: 'tcp://127.0.0.1:$(free_port)', metrics: '127.0.0.1:$mport', metrics_linger: 120 }"

# Prometheus in its own directory.
pdir="$HARNESS_TMP/prometheus"
mkdir -p "$pdir/data"
cp "$rules" "$pdir/rules.yaml"
cat >"$pdir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [ rules.yaml ]
scrape_configs:
  - job_name: ferry
    static_configs:
      - targets: [ '127.0.0.1:$mport' ]
EOF
(cd "$pdir" && exec prometheus --config.file="$pdir/prometheus.yml" --storage.tsdb.path="$pdir/data" \
    --web.listen-address="127.0.0.1:$pport" --log.level=warn) >"$HARNESS_TMP/prom.out" 2>"$HARNESS_TMP/prom.err" </dev/null &
prom_pid=$!
harness_on_exit "kill $prom_pid 2>/dev/null; wait $prom_pid 2>/dev/null"
api="http://127.0.0.1:$pport"
poll_until 60 "Prometheus to be ready" bash -c "curl -sf '$api/-/ready' >/dev/null"
# Our rules file loaded into the real server.
curl -sf "$api/api/v1/rules" | grep -q '"name":"FerryStalled"' \
    || fail "Prometheus did not load ferry-rules.yaml: $(curl -s "$api/api/v1/rules")"

FERRY_TEST_SLOW_PROCESS_MS=50 "$coord" run "$job" --run-id prom --local-workers 1 --slots 2 \
    >"$HARNESS_TMP/coord.out" 2>"$HARNESS_TMP/coord.err" </dev/null &
coord_pid=$!
harness_on_exit "kill $coord_pid 2>/dev/null"
poll_until 120 "the run to end and linger" bash -c "grep -q 'serving the final values' '$HARNESS_TMP/coord.err' || ! kill -0 $coord_pid"
kill -0 "$coord_pid" 2>/dev/null || { tail -n 30 "$HARNESS_TMP/coord.err" >&2; fail "the coordinator exited instead of lingering"; }
assert_contains "$(cat "$HARNESS_TMP/coord.out")" "ferry run prom: published" "the run published"

curl -sf "http://127.0.0.1:$mport/metrics" >"$HARNESS_TMP/scrape"
promtool check metrics <"$HARNESS_TMP/scrape" >"$HARNESS_TMP/lint" 2>&1 \
    || { cat "$HARNESS_TMP/lint" >&2; fail "promtool check metrics is not clean"; }

# query EXPR: the first value of an instant query ("" when none).
query() {
    curl -sf --get "$api/api/v1/query" --data-urlencode "query=$1" | "$py" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}
# Prometheus scrapes the lingering endpoint once a second: wait for a
# scrape taken after the run ended.
poll_until 60 "Prometheus to scrape the final value" \
    bash -c "[[ \$(curl -sf --get '$api/api/v1/query' --data-urlencode 'query=ferry_rows_loaded_total{job=\"ferry\"}' | grep -o '\"$expected\"') ]]"
assert_eq "$expected" "$(query 'ferry_rows_loaded_total{job="ferry"}')" \
    "Prometheus' ferry_rows_loaded_total == the source's row count"
assert_eq "prom" "$(curl -sf --get "$api/api/v1/query" --data-urlencode 'query=ferry_run_info' \
    | "$py" -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["metric"]["run_id"])')" \
    "ferry_run_info's run_id label"
# How many distinct row counts Prometheus scraped while the run went
# (reported, not asserted: it depends on timing).
distinct=$(curl -sf --get "$api/api/v1/query" \
    --data-urlencode 'query=ferry_rows_loaded_total{job="ferry"}[10m]' | "$py" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(len({v for _, v in r[0]["values"]}) if r else 0)')
assert_eq "$expected" "$(pg_psql tgt -Atc "SELECT count(*) FROM x")" "target rows"
# Every query of the Grafana dashboard evaluates on this server.
"$py" - "$FERRY_SOURCE_DIR/deploy/grafana/ferry.json" "$api" <<'EOF' || fail "a dashboard query failed (above)"
import json, sys, urllib.parse, urllib.request
dash = json.load(open(sys.argv[1]))
bad = 0
for p in dash["panels"]:
    for t in p["targets"]:
        q = t["expr"].replace("$instance", ".*")
        url = sys.argv[2] + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            r = json.load(urllib.request.urlopen(url))
            ok = r["status"] == "success"
        except Exception as e:
            ok, r = False, str(e)
        if not ok:
            bad += 1
            print(f"{p['title']}: {q}: {r}")
sys.exit(1 if bad else 0)
EOF

kill -TERM "$coord_pid"
rc=0
wait "$coord_pid" || rc=$?
assert_eq 0 "$rc" "coordinator exit status"
if grep -qE 'Sanitizer|runtime error:' "$HARNESS_TMP/coord.err"; then
    grep -E -A30 'Sanitizer|runtime error:' "$HARNESS_TMP/coord.err" | head -60 >&2
    fail "sanitizer report"
fi
echo "obs_prometheus: ok ($expected rows, $distinct distinct values scraped)"
