#!/usr/bin/env bash
# tests/faults/fault_curve_link.sh: CURVE on the control link between
# hosts (issue 15). Network namespaces as in fault_slow_link.sh (names
# fcv_ROLE_SUFFIX, their own bridge, 10.78.0.0/24): the coordinator
# (fcv_crd, 10.78.0.10), the source and target servers (fcv_src, fcv_tgt;
# password authentication over TCP), an authorized worker (fcv_wrk) and a
# host of strangers (fcv_bad). tcpdump records the coordinator's port on
# its eth0 during each run.
#
#   1. CURVE run (cluster.curve, bind on 10.78.0.10): from fcv_bad a worker
#      with a key the coordinator does not know and a worker without CURVE
#      are refused at the handshake (each logged once with its address, no
#      JOB, nothing in the ledger); then the authorized worker, with no DSN
#      of its own (the conninfos travel in JOB, encrypted), loads
#      everything: final == source row for row, each chunk once in the
#      ledger, all by that worker. The capture of the control link holds
#      neither the query text, nor a conninfo, nor the password.
#   2. The same load without CURVE (cluster.insecure: true; the worker
#      brings its DSNs): the capture holds the query text in clear (so the
#      check of run 1 can fail), and still no conninfo and no password
#      (none is sent on an insecure link).
#
# Needs root (ip netns, veth, bridge) and tcpdump (scripts/bootstrap.sh);
# fails, never skips, without them. Everything it creates is removed at
# exit; a watchdog does it too if this shell is SIGKILLed.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=../lib/netns.sh
source "$(dirname "$0")/../lib/netns.sh"

coord=$(ferry_bin ferry-coordinator)
worker=$(ferry_bin ferry-worker)
bindir=$(pg_bindir)
[[ $(id -u) -eq 0 ]] || fail "fault_curve_link needs root: it creates network namespaces and veth pairs"
command -v ip >/dev/null || fail "ip is missing: apt-get install iproute2"
tcpdump=$(command -v tcpdump) || fail "tcpdump is missing: apt-get install tcpdump (scripts/bootstrap.sh)"
workload="$FERRY_SOURCE_DIR/bench/workloads/accounts.sql"
[[ -f "$workload" ]] || fail "reference workload missing: $workload"
rows=20000
unset FERRY_SOURCE_DSN FERRY_TARGET_DSN FERRY_CLUSTER_SECRET FERRY_CURVE_KEY FERRY_COORDINATOR_KEY

# ---------------------------------------------------------------- topology
ADDR_CRD=10.78.0.10
ADDR_SRC=10.78.0.11
ADDR_TGT=10.78.0.12
ADDR_WRK=10.78.0.13
ADDR_BAD=10.78.0.14
PG_PORT=5432
CLUSTER_PORT=5570
EP="tcp://$ADDR_CRD:$CLUSTER_PORT"
PASSWORD="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

netns_hosts fcv ferry-curve-link crd src tgt wrk bad

# ----------------------------------------------------------------- servers
# The servers: other hosts must give the password (scram), the harness
# uses the unix socket.
netns_pg_start src "$NS_SRC" "$ADDR_SRC" scram-sha-256
netns_pg_start tgt "$NS_TGT" "$ADDR_TGT" scram-sha-256
pg_psql src -c "ALTER USER postgres PASSWORD '$PASSWORD'" >/dev/null
pg_psql tgt -c "ALTER USER postgres PASSWORD '$PASSWORD'" >/dev/null
SRC_TCP="host=$ADDR_SRC port=$PG_PORT user=postgres password=$PASSWORD dbname=postgres connect_timeout=10"
TGT_TCP="host=$ADDR_TGT port=$PG_PORT user=postgres password=$PASSWORD dbname=postgres connect_timeout=10"
"$bindir/psql" -X -q -d "host=$ADDR_SRC port=$PG_PORT user=postgres password=wrong dbname=postgres" \
    -c "SELECT 1" >/dev/null 2>&1 && fail "the source let a wrong password in"
ip netns exec "$NS_WRK" "$bindir/psql" -X -q -d "$TGT_TCP" -Atc "SELECT 1" >/dev/null 2>&1 ||
    fail "from the worker's host, the target does not answer"
pg_psql src -v rows="$rows" -f "$workload" >/dev/null
pg_psql tgt -v rows=0 -f "$workload" >/dev/null

# ------------------------------------------------------------------- keys
keys="$LINK_TMP/keys"
run_expect 0 kg_c "$coord" keygen "$keys/coordinator" --name coordinator
run_expect 0 kg_w "$worker" keygen "$keys/authorized" --name wrk-a
run_expect 0 kg_s "$worker" keygen "$keys/stranger" --name stranger
QUERY='SELECT * FROM accounts ORDER BY acct_id'

# write_job FILE CLUSTER_EXTRA
write_job() {
    cat >"$1" <<EOF
source:
  conninfo: '$SRC_TCP'
  query: '$QUERY'
  snapshot: shared
target:
  conninfo: '$TGT_TCP'
  table: public.accounts
pipeline: { chunk_size: 2000, min_rows_for_parallel: 1000, writers: 2, concurrency: 2 }
retry: { max_retries: 5, initial_delay: 0.2, backoff: 2.0, max_delay: 2 }
cluster: { bind: '$EP', heartbeat_ms: 300, liveness: 10$2 }
EOF
}
show_logs() {
    local f
    for f in "$HARNESS_TMP/$1".*.err; do
        echo "--- $f (last 25 lines)" >&2
        tail -n 25 "$f" >&2
    done
}

# capture_start TAG / capture_stop: tcpdump on the coordinator's eth0, its
# port only (the control link; the servers' ports are not part of it).
capture_start() {
    CAP="$HARNESS_TMP/$1.pcap"
    ip netns exec "$NS_CRD" "$tcpdump" -Z root -i eth0 -U -s 0 -w "$CAP" "tcp port $CLUSTER_PORT" \
        >"$HARNESS_TMP/$1.tcpdump.out" 2>"$HARNESS_TMP/$1.tcpdump.log" </dev/null &
    CAP_PID=$!
    harness_on_exit "kill $CAP_PID 2>/dev/null"
    poll_until 10 "tcpdump to listen" grep -qs "listening on eth0" "$HARNESS_TMP/$1.tcpdump.log"
}
capture_stop() {
    kill -INT "$CAP_PID"
    poll_until 10 "tcpdump to stop" exited "$CAP_PID"
    wait "$CAP_PID" 2>/dev/null || true
    CAP_PACKETS=$("$tcpdump" -r "$CAP" 2>/dev/null | wc -l)
    CAP_BYTES=$(stat -c %s "$CAP")
}
# in_capture TEXT: true when TEXT is anywhere in the capture's bytes.
in_capture() { grep -aqF -- "$1" "$CAP"; }

# ------------------------------------------------------- 1. the CURVE run
run=curve_$sfx
pg_psql tgt -c "TRUNCATE accounts" >/dev/null
write_job "$HARNESS_TMP/$run.yaml" ", curve: { secret_key: '$keys/coordinator/coordinator_secret', authorized_keys: '$keys/authorized' }"
capture_start "$run"
t0=$SECONDS
ip netns exec "$NS_CRD" timeout 120 "$coord" run "$HARNESS_TMP/$run.yaml" --run-id "$run" \
    >"$HARNESS_TMP/$run.coord.out" 2>"$HARNESS_TMP/$run.coord.err" </dev/null &
coord_pid=$!
harness_on_exit "kill $coord_pid 2>/dev/null"
poll_until 60 "the coordinator to wait for workers" grep -qs "waiting for workers" "$HARNESS_TMP/$run.coord.err"

# The strangers first: an unknown key, and no CURVE at all.
ip netns exec "$NS_BAD" env FERRY_SOURCE_DSN="$SRC_TCP" FERRY_TARGET_DSN="$TGT_TCP" \
    timeout 120 "$worker" --coordinator "$EP" --name stranger \
    --curve-key "$keys/stranger/stranger_secret" --coordinator-key "$keys/coordinator/coordinator" \
    >"$HARNESS_TMP/$run.stranger.out" 2>"$HARNESS_TMP/$run.stranger.err" </dev/null &
stranger_pid=$!
harness_on_exit "kill $stranger_pid 2>/dev/null"
ip netns exec "$NS_BAD" env FERRY_SOURCE_DSN="$SRC_TCP" FERRY_TARGET_DSN="$TGT_TCP" \
    FERRY_CLUSTER_SECRET=0123456789abcdef0123456789abcdef \
    timeout 120 "$worker" --coordinator "$EP" --name plain \
    >"$HARNESS_TMP/$run.plain.out" 2>"$HARNESS_TMP/$run.plain.err" </dev/null &
plain_pid=$!
harness_on_exit "kill $plain_pid 2>/dev/null"
key_refused="peer $ADDR_BAD refused at the handshake: its CURVE key is not in cluster.curve.authorized_keys"
plain_refused="peer $ADDR_BAD refused at the handshake: it does not speak CURVE (plain ZMTP, not ZMTP at all, or it hung up"
poll_until 30 "the unknown key to be refused" grep -qF "$key_refused" "$HARNESS_TMP/$run.coord.err"
poll_until 30 "the plain worker to be refused" grep -qF "$plain_refused" "$HARNESS_TMP/$run.coord.err"
# Give the plain worker time to try again (libzmq reconnects every 100 ms):
# still one line each.
sleep 1

# The authorized worker, without any DSN.
ip netns exec "$NS_WRK" timeout 120 "$worker" --coordinator "$EP" --name wrk-a --slots 2 \
    --curve-key "$keys/authorized/wrk-a_secret" --coordinator-key "$keys/coordinator/coordinator" \
    >"$HARNESS_TMP/$run.wrk.out" 2>"$HARNESS_TMP/$run.wrk.err" </dev/null &
wrk_pid=$!
harness_on_exit "kill $wrk_pid 2>/dev/null"
poll_until 90 "the CURVE run to end" exited "$coord_pid"
rc=0
wait "$coord_pid" || rc=$?
[[ $rc -eq 0 ]] || { show_logs "$run"; fail "$run: the coordinator exited $rc (expected 0)"; }
poll_until 20 "the authorized worker to leave" exited "$wrk_pid"
rc=0
wait "$wrk_pid" || rc=$?
[[ $rc -eq 0 ]] || { show_logs "$run"; fail "$run: the authorized worker exited $rc (expected 0)"; }
kill "$stranger_pid" "$plain_pid" 2>/dev/null
wait "$stranger_pid" "$plain_pid" 2>/dev/null || true
capture_stop
echo "fault_curve_link: CURVE run in $((SECONDS - t0)) s; capture: $CAP_PACKETS packets, $CAP_BYTES bytes"
assert_clean_stderr "$HARNESS_TMP/$run".{coord,wrk,stranger,plain}.err

assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM accounts" "$run: final == source"
nchunks=$(pg_psql tgt -Atc "SELECT chunks_total FROM ferry.runs WHERE run_id = '$run'")
assert_eq "published|$rows" "$(pg_psql tgt -Atc "SELECT status, rows_loaded FROM ferry.runs WHERE run_id = '$run'")" "$run: ferry.runs"
assert_eq "$nchunks|$nchunks|$rows|wrk-a" "$(pg_psql tgt -Atc "SELECT count(*), count(DISTINCT chunk_id),
    sum(rows), string_agg(DISTINCT worker, ',') FROM ferry.chunk_commits
    WHERE run_id = '$run' AND committed_at IS NOT NULL")" \
    "$run: ledger (commits, distinct chunks, rows, workers)"
[[ $nchunks -ge 9 ]] || fail "$run: $nchunks chunks (expected about 10)"
# The worker had no DSN: it ran on what JOB carried.
assert_contains "$(cat "$HARNESS_TMP/$run.wrk.err")" "joined run $run" "$run: the authorized worker got the JOB"
# The strangers: logged once each, with their address; no JOB, no chunk.
assert_eq 1 "$(grep -cF "$key_refused" "$HARNESS_TMP/$run.coord.err")" "$run: log lines about the unknown key"
assert_eq 1 "$(grep -cF "$plain_refused" "$HARNESS_TMP/$run.coord.err")" "$run: log lines about the plain worker"
for who in stranger plain; do
    if grep -q "joined run" "$HARNESS_TMP/$run.$who.err"; then fail "$run: $who got a JOB"; fi
    if grep -qE "worker $who joined" "$HARNESS_TMP/$run.coord.err"; then fail "$run: $who joined"; fi
done
# The capture: traffic, but nothing readable.
[[ $CAP_PACKETS -ge 20 ]] || fail "$run: the capture holds $CAP_PACKETS packets: was the control link recorded?"
for secret in "$QUERY" "acct_id" "accounts" "$PASSWORD" "host=$ADDR_SRC" "host=$ADDR_TGT" "password=" "user=postgres"; do
    if in_capture "$secret"; then fail "$run: the capture of the CURVE link holds '$secret'"; fi
done

# ---------------------------------------- 2. the same without CURVE (control)
run=plain_$sfx
pg_psql tgt -c "TRUNCATE accounts" >/dev/null
write_job "$HARNESS_TMP/$run.yaml" ", insecure: true, secret_file: '$LINK_TMP/secret'"
(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$LINK_TMP/secret")
capture_start "$run"
ip netns exec "$NS_CRD" timeout 120 "$coord" run "$HARNESS_TMP/$run.yaml" --run-id "$run" \
    >"$HARNESS_TMP/$run.coord.out" 2>"$HARNESS_TMP/$run.coord.err" </dev/null &
coord_pid=$!
harness_on_exit "kill $coord_pid 2>/dev/null"
poll_until 60 "the coordinator to wait for workers" grep -qs "waiting for workers" "$HARNESS_TMP/$run.coord.err"
ip netns exec "$NS_WRK" env FERRY_SOURCE_DSN="$SRC_TCP" FERRY_TARGET_DSN="$TGT_TCP" \
    timeout 120 "$worker" --coordinator "$EP" --name wrk-a --slots 2 --secret-file "$LINK_TMP/secret" \
    >"$HARNESS_TMP/$run.wrk.out" 2>"$HARNESS_TMP/$run.wrk.err" </dev/null &
wrk_pid=$!
harness_on_exit "kill $wrk_pid 2>/dev/null"
poll_until 90 "the insecure run to end" exited "$coord_pid"
rc=0
wait "$coord_pid" || rc=$?
[[ $rc -eq 0 ]] || { show_logs "$run"; fail "$run: the coordinator exited $rc (expected 0)"; }
poll_until 20 "the worker to leave" exited "$wrk_pid"
capture_stop
echo "fault_curve_link: insecure run; capture: $CAP_PACKETS packets, $CAP_BYTES bytes"
assert_clean_stderr "$HARNESS_TMP/$run".{coord,wrk}.err
assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM accounts" "$run: final == source"
in_capture "$QUERY" || fail "$run: the capture of the plain link does not hold the query text: the check of the CURVE run proves nothing"
for secret in "$PASSWORD" "host=$ADDR_SRC" "host=$ADDR_TGT" "password="; do
    if in_capture "$secret"; then fail "$run: a conninfo or the password crossed the insecure link ('$secret')"; fi
done
echo "fault_curve_link: OK"
