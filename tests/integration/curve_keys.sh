#!/usr/bin/env bash
# tests/integration/curve_keys.sh: CURVE on one host (issue 15).
#   - keygen: both binaries write a zcert pair (public 0644, secret 0600),
#     never overwrite, --help;
#   - the job: cluster.curve needs both keys; a public certificate given as
#     the secret one, a world-readable secret and a missing directory are
#     refused (exit 3) naming the key; a non-loopback bind without CURVE is
#     refused unless cluster.insecure: true;
#   - a CURVE run with --local-workers 2 (the run's own key pair for them)
#     publishes: final == source;
#   - a CURVE run waiting for an external worker on loopback: the worker
#     with an authorized key loads everything with no DSN of its own (the
#     conninfos travel in JOB, encrypted), and one with an unknown key is
#     refused at the handshake (logged once with its address) and never
#     gets a JOB.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord=$(ferry_bin ferry-coordinator)
worker=$(ferry_bin ferry-worker)
keys="$HARNESS_TMP/keys"

# --- keygen
run_expect 0 kg_coord "$coord" keygen "$keys"
run_expect 0 kg_w1 "$worker" keygen "$keys/workers" --name w1
run_expect 0 kg_stranger "$worker" keygen "$HARNESS_TMP/other" --name stranger
assert_eq "644 600" "$(stat -c %a "$keys/coordinator") $(stat -c %a "$keys/coordinator_secret")" "key modes"
assert_eq "700" "$(stat -c %a "$keys/workers")" "a directory keygen made"
grep -q 'secret-key = ' "$keys/workers/w1_secret" || fail "w1_secret holds no secret key"
if grep -q 'secret-key' "$keys/workers/w1"; then fail "the public certificate holds a secret key"; fi
assert_contains "$(cat "$HARNESS_TMP/kg_w1.out")" "public key: $(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$keys/workers/w1")" \
    "keygen prints the public key"
run_expect 1 kg_again "$coord" keygen "$keys"
assert_contains "$(cat "$HARNESS_TMP/kg_again.err")" "already exists; keys are never overwritten" "no overwrite"
run_expect 2 kg_badname "$worker" keygen "$keys" --name "../x"
run_expect 0 kg_help "$coord" keygen --help
assert_contains "$(cat "$HARNESS_TMP/kg_help.out")" "cluster.curve.authorized_keys" "keygen --help"
run_expect 0 w_help "$worker" --help
assert_contains "$(cat "$HARNESS_TMP/w_help.out")" "--coordinator-key FILE" "worker --help"

pg_start src
pg_start tgt
pg_psql src <<'EOF'
CREATE TABLE x (id bigint PRIMARY KEY, v text);
INSERT INTO x SELECT g, 'secret-row ' || g FROM generate_series(1, 4000) g;
EOF
pg_psql tgt -c "CREATE TABLE x (id bigint PRIMARY KEY, v text)"

# job FILE BIND CLUSTER_EXTRA: a job for x with cluster.bind BIND.
job() {
    ferry_write_job "$1" src tgt public.x "SELECT * FROM x ORDER BY id" id \
        "pipeline: { chunk_size: 500, min_rows_for_parallel: 1000, concurrency: 2 }" \
        "cluster: { bind: '$2', heartbeat_ms: 200, liveness: 10$3 }"
}
curve="curve: { secret_key: '$keys/coordinator_secret', authorized_keys: '$keys/workers' }"

# --- the job's keys
job "$HARNESS_TMP/half.yaml" "tcp://127.0.0.1:*" ", curve: { secret_key: '$keys/coordinator_secret' }"
run_expect 3 half "$coord" run "$HARNESS_TMP/half.yaml" --local-workers 1
assert_contains "$(cat "$HARNESS_TMP/half.err")" "cluster.curve: give both secret_key" "one key only"
install -m 600 "$keys/coordinator" "$HARNESS_TMP/pubonly"
job "$HARNESS_TMP/pub.yaml" "tcp://127.0.0.1:*" ", curve: { secret_key: '$HARNESS_TMP/pubonly', authorized_keys: '$keys/workers' }"
run_expect 1 pub "$coord" run "$HARNESS_TMP/pub.yaml" --local-workers 1 --run-id pubkey
assert_contains "$(cat "$HARNESS_TMP/pub.err")" "cluster.curve.secret_key $HARNESS_TMP/pubonly: holds no secret key" \
    "a public certificate as the secret key"
cp "$keys/coordinator_secret" "$HARNESS_TMP/open_secret"
chmod 644 "$HARNESS_TMP/open_secret"
job "$HARNESS_TMP/open.yaml" "tcp://127.0.0.1:*" ", curve: { secret_key: '$HARNESS_TMP/open_secret', authorized_keys: '$keys/workers' }"
run_expect 1 open "$coord" run "$HARNESS_TMP/open.yaml" --local-workers 1 --run-id openkey
assert_contains "$(cat "$HARNESS_TMP/open.err")" "accessible to every user (mode 644); chmod 600 it" "world-readable secret"
job "$HARNESS_TMP/nodir.yaml" "tcp://127.0.0.1:*" ", curve: { secret_key: '$keys/coordinator_secret', authorized_keys: '$HARNESS_TMP/nope' }"
run_expect 1 nodir "$coord" run "$HARNESS_TMP/nodir.yaml" --local-workers 1 --run-id nodir
assert_contains "$(cat "$HARNESS_TMP/nodir.err")" "cluster.curve.authorized_keys $HARNESS_TMP/nope: No such file" "missing directory"
# A bind other hosts reach, without CURVE: refused unless insecure.
port=$(free_port)
job "$HARNESS_TMP/wild.yaml" "tcp://0.0.0.0:$port" ""
run_expect 1 wild "$coord" run "$HARNESS_TMP/wild.yaml" --local-workers 1 --run-id wild
assert_contains "$(cat "$HARNESS_TMP/wild.err")" "cluster.bind: tcp://0.0.0.0:$port accepts peers from other hosts" "insecure bind refused"
assert_contains "$(cat "$HARNESS_TMP/wild.err")" "cluster.insecure: true" "the refusal names the way out"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'ferry'")" "nothing recorded by the refused runs"

# --- CURVE with local workers.
job "$HARNESS_TMP/local.yaml" "tcp://127.0.0.1:*" ", $curve"
run_expect 0 local "$coord" run "$HARNESS_TMP/local.yaml" --local-workers 2 --run-id curvelocal
no_sanitizer_reports local
assert_contains "$(cat "$HARNESS_TMP/local.err")" "CURVE on: the control link is encrypted" "CURVE said on"
assert_same_rows src "SELECT * FROM x" tgt "SELECT * FROM x" "CURVE, local workers: final == source"
assert_eq "8|4000" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows) FROM ferry.chunk_commits WHERE run_id = 'curvelocal'")" "ledger"
if ls -d "${TMPDIR:-/tmp}"/ferry-curve-* 2>/dev/null | grep -q .; then
    ls -ld "${TMPDIR:-/tmp}"/ferry-curve-* >&2
    echo "curve_keys: note: ferry-curve-* directories exist (another run's?)" >&2
fi

# --- CURVE, external workers: one authorized, one stranger. Neither has a DSN.
pg_psql tgt -c "TRUNCATE x"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
job "$HARNESS_TMP/ext.yaml" "$ep" ", $curve"
unset FERRY_SOURCE_DSN FERRY_TARGET_DSN FERRY_CLUSTER_SECRET
timeout 90 "$coord" run "$HARNESS_TMP/ext.yaml" --run-id curveext \
    >"$HARNESS_TMP/coord.out" 2>"$HARNESS_TMP/coord.err" </dev/null &
coord_pid=$!
harness_on_exit "kill $coord_pid 2>/dev/null"
poll_until 30 "the coordinator to wait" grep -q "waiting for workers" "$HARNESS_TMP/coord.err"
timeout 60 "$worker" --coordinator "$ep" --name stranger --curve-key "$HARNESS_TMP/other/stranger_secret" \
    --coordinator-key "$keys/coordinator" >"$HARNESS_TMP/stranger.out" 2>"$HARNESS_TMP/stranger.err" </dev/null &
stranger_pid=$!
harness_on_exit "kill $stranger_pid 2>/dev/null"
poll_until 30 "the stranger to be refused" grep -q "refused at the handshake" "$HARNESS_TMP/coord.err"
FERRY_CURVE_KEY="$keys/workers/w1_secret" FERRY_COORDINATOR_KEY="$keys/coordinator" \
    timeout 60 "$worker" --coordinator "$ep" --name w1 --slots 2 \
    >"$HARNESS_TMP/w1.out" 2>"$HARNESS_TMP/w1.err" </dev/null &
w1_pid=$!
harness_on_exit "kill $w1_pid 2>/dev/null"
rc=0
wait "$coord_pid" || rc=$?
[[ $rc -eq 0 ]] || { tail -n 30 "$HARNESS_TMP/coord.err" "$HARNESS_TMP/w1.err" >&2; fail "coordinator exited $rc"; }
rc=0
wait "$w1_pid" || rc=$?
[[ $rc -eq 0 ]] || { tail -n 30 "$HARNESS_TMP/w1.err" >&2; fail "worker w1 exited $rc"; }
kill "$stranger_pid" 2>/dev/null
wait "$stranger_pid" 2>/dev/null || true
no_sanitizer_reports coord w1 stranger
assert_same_rows src "SELECT * FROM x" tgt "SELECT * FROM x" "CURVE, external worker without DSNs: final == source"
assert_eq "8|4000|w1" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows), string_agg(DISTINCT worker, ',')
    FROM ferry.chunk_commits WHERE run_id = 'curveext'")" "ledger: every chunk once, all by w1"
assert_eq 1 "$(grep -c 'peer 127.0.0.1 refused at the handshake: its CURVE key is not in cluster.curve.authorized_keys' "$HARNESS_TMP/coord.err")" \
    "the stranger, logged once"
if grep -q "worker stranger joined" "$HARNESS_TMP/coord.err"; then fail "the stranger joined"; fi
if grep -q "curveext" "$HARNESS_TMP/stranger.err"; then fail "the stranger learnt of the run"; fi
echo "curve_keys: OK"
