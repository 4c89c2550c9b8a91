#!/usr/bin/env bash
# tests/integration/obs_endpoints.sh: the coordinator's HTTP endpoint
# (cluster.metrics, issue 13) answered with curl. A coordinator waits for
# external workers: /healthz is 200 "ok: loading", /readyz is 503 "not
# ready: no worker joined yet"; a worker joins: /readyz turns 200. After the
# run it keeps serving for --metrics-linger: /metrics then holds the run's
# exact row count, /healthz and /readyz name the published run, promtool
# check metrics is clean on both scrapes, an unknown path is 404, and
# SIGTERM cuts the linger short (exit 0: the run was published). A bad
# address is refused at start (exit 3) naming it.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord=$(ferry_bin ferry-coordinator)
worker=$(ferry_bin ferry-worker)
command -v curl >/dev/null || fail "curl is missing (scripts/bootstrap.sh installs it)"
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus)"
pg_start src
pg_start tgt
pg_psql src <<'EOF'
CREATE TABLE x (id bigint PRIMARY KEY, v text);
INSERT INTO x SELECT g, 'row ' || g FROM generate_series(1, 3000) g;
EOF
pg_psql tgt -c "CREATE TABLE x (id bigint PRIMARY KEY, v text)"

secret_file="$HARNESS_TMP/cluster.secret"
(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$secret_file")
port=$(free_port)
mport=$(free_port)
job="$HARNESS_TMP/obs.yaml"
ferry_write_job "$job" src tgt public.x "SELECT * FROM x ORDER BY id" id \
    "pipeline: { chunk_size: 500, min_rows_for_parallel: 1000 }" \
    "cluster: { bind: 'tcp://127.0.0.1:$port', heartbeat_ms: 200, liveness: 10, secret_file: '$secret_file', metrics: '127.0.0.1:$mport' }"
unset FERRY_CLUSTER_SECRET

# A bad address is refused before anything is recorded.
run_expect 3 badaddr "$coord" run "$job" --run-id obs-bad --metrics nonsense
assert_contains "$(cat "$HARNESS_TMP/badaddr.err")" "--metrics: metrics address 'nonsense': expected HOST:PORT" \
    "a bad --metrics address is named"

url="http://127.0.0.1:$mport"
# code PATH: the HTTP status of GET PATH; the body lands in $HARNESS_TMP/body.
code() {
    curl -s -o "$HARNESS_TMP/body" -w '%{http_code}' "$url$1" || true
}
"$coord" run "$job" --run-id obs --metrics-linger 300 \
    >"$HARNESS_TMP/coord.out" 2>"$HARNESS_TMP/coord.err" </dev/null &
coord_pid=$!
harness_on_exit "kill $coord_pid 2>/dev/null"
poll_until 30 "the coordinator to wait for workers" grep -q "waiting for workers" "$HARNESS_TMP/coord.err"
poll_until 10 "the first loop turn" bash -c "curl -s '$url/readyz' | grep -q 'no worker joined'"

assert_eq 200 "$(code /healthz)" "/healthz before any worker"
assert_eq "ok: loading" "$(cat "$HARNESS_TMP/body")" "/healthz body before any worker"
assert_eq 503 "$(code /readyz)" "/readyz before any worker"
assert_eq "not ready: no worker joined yet" "$(cat "$HARNESS_TMP/body")" "/readyz body before any worker"
assert_eq 404 "$(code /nope)" "an unknown path"
assert_eq 200 "$(code /metrics)" "/metrics before any worker"
cp "$HARNESS_TMP/body" "$HARNESS_TMP/scrape1"
promtool check metrics <"$HARNESS_TMP/scrape1" >"$HARNESS_TMP/lint1" 2>&1 \
    || { cat "$HARNESS_TMP/lint1" >&2; fail "promtool check metrics: the first scrape is not clean"; }
assert_contains "$(cat "$HARNESS_TMP/scrape1")" 'ferry_chunks{state="planned"} 6' "6 chunks planned"
assert_contains "$(cat "$HARNESS_TMP/scrape1")" "ferry_workers_live 0" "no worker live yet"

timeout 90 "$worker" --coordinator "tcp://127.0.0.1:$port" --slots 2 --name obs-w \
    --secret-file "$secret_file" >"$HARNESS_TMP/w.out" 2>"$HARNESS_TMP/w.err" </dev/null &
wpid=$!
harness_on_exit "kill $wpid 2>/dev/null"
poll_until 60 "/readyz to turn 200" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' '$url/readyz') == 200 ]]"
assert_contains "$(curl -s "$url/readyz")" "ready: " "/readyz body once a worker joined"

poll_until 60 "the run to end and linger" grep -q "serving the final values" "$HARNESS_TMP/coord.err"
assert_contains "$(cat "$HARNESS_TMP/coord.out")" "ferry run obs: published" "the run published"
assert_eq 200 "$(code /metrics)" "/metrics after the run"
cp "$HARNESS_TMP/body" "$HARNESS_TMP/scrape2"
promtool check metrics <"$HARNESS_TMP/scrape2" >"$HARNESS_TMP/lint2" 2>&1 \
    || { cat "$HARNESS_TMP/lint2" >&2; fail "promtool check metrics: the final scrape is not clean"; }
s2=$(cat "$HARNESS_TMP/scrape2")
assert_contains "$s2" "ferry_rows_loaded_total 3000" "the final row count"
assert_contains "$s2" 'ferry_chunks{state="done"} 6' "every chunk done"
assert_contains "$s2" 'ferry_run_phase{phase="published"} 1' "the phase"
assert_contains "$s2" 'ferry_run_info{run_id="obs",' "run_info names the run"
assert_contains "$s2" 'ferry_worker_cpu_seconds_total{worker="obs-w"}' "the worker's CPU time"
grep -qE '^ferry_batch_write_duration_seconds_count [1-9]' <<<"$s2" \
    || fail "no batch write latency from the worker: $(grep batch_write <<<"$s2")"
assert_eq 200 "$(code /healthz)" "/healthz after the run"
assert_eq "ok: published" "$(cat "$HARNESS_TMP/body")" "/healthz body after the run"
assert_eq 200 "$(code /readyz)" "/readyz after the run"
assert_contains "$(cat "$HARNESS_TMP/body")" "ready: published, 6 of 6 chunk(s) done" "/readyz body after the run"

# SIGTERM ends the linger at once; the run's outcome stands.
kill -TERM "$coord_pid"
poll_until 20 "the coordinator to exit" bash -c "! kill -0 $coord_pid 2>/dev/null"
rc=0
wait "$coord_pid" || rc=$?
assert_eq 0 "$rc" "exit status after a lingering published run"
assert_same_rows src "SELECT * FROM x" tgt "SELECT * FROM x" "final == source"
for f in coord.err w.err; do
    if grep -qE 'Sanitizer|runtime error:' "$HARNESS_TMP/$f"; then
        grep -E -A30 'Sanitizer|runtime error:' "$HARNESS_TMP/$f" | head -60 >&2
        fail "sanitizer report in $f"
    fi
done
echo "obs_endpoints: ok"
