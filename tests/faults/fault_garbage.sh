#!/usr/bin/env bash
# tests/faults/fault_garbage.sh: while a run is in progress, the
# coordinator's ROUTER port gets garbage:
#   - plain TCP clients (no ZeroMQ): random bytes, an HTTP request, a
#     ZMTP greeting with a bogus version, a connection that says nothing;
#   - a real ZeroMQ DEALER (ferry_zmq_garbage) sending random frames,
#     malformed msgpack, wrong protocol versions and multi-frame messages;
#   - a fake worker that floods HELLOs and never proves the cluster
#     secret: it must get CHALLENGEs only, never a JOB or an ASSIGN.
# The run must complete with the right result (final == source row for
# row, each chunk once), the coordinator must log what it dropped, and it
# must never crash: exit 0, no sanitizer report from any ferry process.
#
# With FAULT_CURVE=1 (fault_garbage_curve.sh) the job has cluster.curve and
# the local workers come in with the run's own keys: the plain TCP garbage
# and every plain-ZMTP peer are refused at the handshake (logged once per
# address and reason), the DEALER garbage comes in with an authorized key
# (so the decoder still meets it, through CURVE), and the HELLO flood comes
# with a key the coordinator does not know: refused at the handshake, it
# receives nothing at all.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

garbage=$(ferry_bin tests/faults/ferry_zmq_garbage)
curve=${FAULT_CURVE:-0}
# 40 chunks of 1000 rows, ~2.5 s each inside a worker's COPY: ~25 s of load
# with 2 workers x 2 slots, longer than the garbage takes to send even on a
# loaded machine (at ~1 s a chunk the run outran the garbage there; with
# CURVE the DEALER garbage also goes through CURVE, and there are more
# peers: a plain DEALER, a refused flood).
faults_start 40000 100 0.25 1000
run=garbage
if [[ $curve == 1 ]]; then
    keys="$HARNESS_TMP/keys"
    run_expect 0 kg_coord "$COORD" keygen "$keys" --name coordinator
    run_expect 0 kg_garbage "$WORKER" keygen "$keys/authorized" --name garbage
    run_expect 0 kg_flood "$WORKER" keygen "$keys/unknown" --name flood
    sed -i "s|liveness: 5 }|liveness: 5, curve: { secret_key: '$keys/coordinator_secret', authorized_keys: '$keys/authorized' } }|" "$job"
    grep -q "curve:" "$job" || fail "job file: could not add cluster.curve"
    export FERRY_COORDINATOR_KEY="$keys/coordinator"
    run=garbage_curve
fi
# garbage_env KEY: the environment of a ferry_zmq_garbage peer: with CURVE,
# its key (authorized or unknown); without, nothing.
garbage_env() {
    if [[ $curve == 1 ]]; then echo "FERRY_CURVE_KEY=$keys/$1"; else echo "FERRY_GARBAGE_PLAIN=1"; fi
}
t0=$SECONDS

start_coordinator coord run "$job" --local-workers 2 --run-id "$run" --report "$HARNESS_TMP/report.json"
poll_until 60 "a first committed chunk" run_has_commits "$run" 1

# A fake worker: HELLO after HELLO, never a chunk (in the background, while
# the rest of the garbage goes in).
env "$(garbage_env unknown/flood_secret)" "$garbage" "$FAULT_EP" hello-flood 300 >"$HARNESS_TMP/garbage_flood.out" 2>"$HARNESS_TMP/garbage_flood.err" &
flood_pid=$!
harness_on_exit "kill -KILL $flood_pid 2>/dev/null"

# Plain TCP, no ZeroMQ handshake.
tcp_send() {   # tcp_send CMD: CMD's stdout goes to the coordinator's port
    { exec 3<>"/dev/tcp/127.0.0.1/$FAULT_PORT"; } 2>/dev/null || return 0   # refused: fine
    # The coordinator may hang up first: a write then fails with EPIPE (in a
    # subshell that ignores SIGPIPE, so that printf, a builtin, does not
    # kill this shell).
    ( trap '' PIPE; "$@" ) >&3 2>/dev/null || true
    sleep 0.1
    exec 3>&-
    return 0
}
for _ in 1 2 3 4 5; do
    tcp_send head -c 4096 /dev/urandom
done
tcp_send printf 'GET / HTTP/1.1\r\nHost: ferry\r\n\r\n'
# An unversioned (ZMTP 1.0) peer whose first frame claims 16 TiB: 0xff,
# an 8-byte length, and a 10th byte with its low bit clear.
tcp_send printf '\xff\x00\x00\x10\x00\x00\x00\x00\x00\x00'
# The same with 4 GiB, and a ZMTP 2 style long frame header.
tcp_send printf '\xff\x00\x00\x00\x01\x00\x00\x00\x00\x00'
tcp_send printf '\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x01\x05\x02\x00\x00\x00\x10\x00\x00\x00\x00'
# ZMTP 3 signature with a bogus major version, then junk.
tcp_send printf '\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x63\x00NULL\x00\x00junkjunkjunk'
# A ZMTP greeting that stops halfway, held open for a while.
exec 4<>"/dev/tcp/127.0.0.1/$FAULT_PORT"
( trap '' PIPE; printf '\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f' ) >&4 2>/dev/null || true
harness_on_exit "exec 4>&-"
coord_alive
echo "fault_garbage: plain TCP garbage sent ($((SECONDS - t0)) s)"

# A real DEALER with bad payloads (each within 60 s: a hang fails with exit 124).
for mode in random-bytes bad-msgpack wrong-version multi-frame; do
    run_expect 0 "garbage_$mode" timeout 60 env "$(garbage_env authorized/garbage_secret)" "$garbage" "$FAULT_EP" "$mode"
    coord_alive
done
if [[ $curve == 1 ]]; then
    # A DEALER without CURVE: refused at the handshake (mechanism mismatch).
    run_expect 0 garbage_plain timeout 60 "$garbage" "$FAULT_EP" random-bytes 20
    coord_alive
fi
echo "fault_garbage: ZeroMQ garbage sent ($((SECONDS - t0)) s)"
wait_rc "$flood_pid" 30 "the HELLO flood"
[[ "$WAIT_RC" == 0 ]] || { cat "$HARNESS_TMP/garbage_flood.err" >&2; fail "ferry_zmq_garbage hello-flood exited $WAIT_RC"; }
coord_alive
exec 4>&-
done_now=$(committed "$run")
echo "fault_garbage: HELLO flood sent ($((SECONDS - t0)) s, $done_now chunk(s) committed so far)"
# The garbage must have hit a run in progress, and the fake worker, which
# never proved the cluster secret, must have been challenged and given
# nothing else.
[[ $done_now -lt $(chunks_planned "$run") ]] ||
    fail "the run had finished before the garbage was all sent: make the chunks slower"
if [[ $curve == 1 ]]; then
    grep -qE "^received:\$" "$HARNESS_TMP/garbage_flood.out" ||
        { cat "$HARNESS_TMP/garbage_flood.out" >&2; fail "the fake worker with an unknown key got something"; }
else
    grep -qE "^received: [0-9]+ CHALLENGE\$" "$HARNESS_TMP/garbage_flood.out" ||
        { cat "$HARNESS_TMP/garbage_flood.out" >&2; fail "the fake worker got something besides CHALLENGEs"; }
fi

wait_rc "$COORD_PID" 120 "coordinator after the garbage"
err="$HARNESS_TMP/coord.err"
assert_clean_stderr "$err"
wait_rc_ok "coordinator exited $WAIT_RC after garbage (expected 0)" "$HARNESS_TMP/coord.out" "$err"
cat "$HARNESS_TMP"/garbage_*.out
# The drops are logged, with the decoder's reasons.
for reason in "dropped" "expected one frame" "unsupported version" "malformed msgpack" "truncated message" \
              "expected a map at top level" "trailing bytes" "nested too deeply" \
              "unknown type" "empty message"; do
    grep -q -- "$reason" "$err" || { grep -E "dropped" "$err" | sort | uniq -c | sort -rn | head -n 30 >&2;
        fail "the coordinator's stderr does not mention '$reason'"; }
done
echo "fault_garbage: $(grep -c 'dropped' "$err") drop(s) logged"
if grep -q "worker fake-flood joined" "$err"; then
    fail "the fake worker joined without proving the cluster secret"
fi
if [[ $curve == 1 ]]; then
    grep "refused at the handshake" "$err" | sed 's/^/fault_garbage: /'
    # Refused at the handshake, once per address and reason.
    assert_eq 1 "$(grep -c 'peer 127.0.0.1 refused at the handshake: its CURVE key is not in cluster.curve.authorized_keys' "$err")" \
        "log lines about the fake worker's unknown key"
    assert_eq 1 "$(grep -c 'peer 127.0.0.1 refused at the handshake: it does not speak CURVE' "$err")" \
        "log lines about plain ZMTP peers"
    if grep -q "fake-flood" "$err"; then fail "a HELLO of the fake worker reached the dispatcher"; fi
else
    # Logged once, however many HELLOs it sent.
    assert_eq 1 "$(grep -c 'as worker fake-flood' "$err")" "log lines about the fake worker"
    grep -qE "said HELLO as worker fake-flood .* did not prove the cluster secret" "$err" ||
        { grep "fake-flood" "$err" | tail -n 5 >&2; fail "the unproven fake worker was not logged"; }
fi
# The local workers never died.
if grep -qE 'local worker .* (exited with status|killed by signal)' "$err"; then
    grep -E 'local worker' "$err" >&2
    fail "a local worker died"
fi

assert_published "$run" public.t "after garbage" "run status"
no_workers_left 10
echo "fault_garbage: OK ($((SECONDS - t0)) s)"
