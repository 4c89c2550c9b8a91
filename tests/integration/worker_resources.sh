#!/usr/bin/env bash
# tests/integration/worker_resources.sh: a coordinated ferry-worker that
# cannot start its threads or its socket says so and exits 9
# (EXIT_CODE_NO_RESOURCES), instead of dying by SIGABRT inside libzmq with
# nothing logged (issue 10, item 10).
#   - FERRY_FAULT=threads (test hook: the start-up thread check fails as
#     if pthread_create returned EAGAIN): exit 9 and the exact message.
#   - FERRY_FAULT=memory (the check's 8 MiB of headroom cannot be
#     allocated): exit 9 and the exact message.
#   - FERRY_FAULT=socket (the first zsock_new fails): exit 9 and the exact
#     message, naming the endpoint; FERRY_FAULT=socket-reconnect (the
#     socket of the first reconnection fails, after the 5 s of silence
#     that make a worker reconnect): the same.
#   - Real limits, when the binary is not sanitized: under ulimit -v from
#     24 MB to 160 MB (8 MB steps) the worker never dies by a signal:
#     it either exits 9 with the thread message or gets as far as
#     connecting (then `timeout` ends it: 124); at least one limit gives
#     exit 9. A sanitized build cannot run under ulimit -v (ASan reserves
#     terabytes of address space): the step then says so and does not
#     run; the FERRY_FAULT steps cover the same code paths.
# Each worker runs under `timeout`, so a hang shows as exit 124.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

worker=$(ferry_bin ferry-worker)
ep="tcp://127.0.0.1:$(free_port)"     # nobody listens: the worker never gets a JOB

# expect_exit TAG RC MESSAGE: run TAG's exit status is RC and its stderr
# holds MESSAGE.
expect_exit() {
    echo "$1: exit $RUN_RC: $(tail -c 400 "$HARNESS_TMP/$1.err")"
    assert_eq "$2" "$RUN_RC" "$1: exit status"
    assert_contains "$(cat "$HARNESS_TMP/$1.err")" "$3" "$1: message"
    assert_eq "" "$(grep -E 'AddressSanitizer|runtime error|LeakSanitizer' "$HARNESS_TMP/$1.err" || true)" \
        "$1: no sanitizer report"
}

run_capture threads env FERRY_FAULT=threads timeout 20 "$worker" --coordinator "$ep" --slots 3
expect_exit threads 9 "ERROR: cannot start the worker's 5 threads (2 for ZeroMQ, 1 per slot): pthread_create: Resource temporarily unavailable (thread 1 of 5); raise the process's limits (ulimit -v, ulimit -u) or use fewer --slots"

run_capture memory env FERRY_FAULT=memory timeout 20 "$worker" --coordinator "$ep"
expect_exit memory 9 "ERROR: cannot start the worker's 4 threads (2 for ZeroMQ, 1 per slot): cannot allocate 8 MiB beside 4 threads; raise the process's limits (ulimit -v, ulimit -u) or use fewer --slots"

run_capture socket env FERRY_FAULT=socket timeout 20 "$worker" --coordinator "$ep"
expect_exit socket 9 "ERROR: cannot create a ZeroMQ socket to $ep: FERRY_FAULT=socket; raise the process's limits (ulimit -n, ulimit -v)"

# The socket of a reconnection (the coordinator stayed silent for
# liveness x heartbeat_ms, 5 x 1000 ms before any JOB).
run_capture reconnect env FERRY_FAULT=socket-reconnect timeout 60 "$worker" --coordinator "$ep"
expect_exit reconnect 9 "ERROR: cannot create a ZeroMQ socket to $ep: FERRY_FAULT=socket-reconnect; raise the process's limits (ulimit -n, ulimit -v)"

# (Captured first: with pipefail, `ldd | grep -q` fails when grep's early
# exit makes ldd die of SIGPIPE.)
libs=$(ldd "$worker" 2>/dev/null || true)
syms=$(nm -D "$worker" 2>/dev/null || true)
if grep -qE 'lib(asan|tsan|ubsan)' <<<"$libs" || grep -qE '__(asan|tsan)_init' <<<"$syms"; then
    echo "ulimit -v step: not run: $worker is built with a sanitizer (ASan reserves terabytes of address space, so ulimit -v cannot apply); the FERRY_FAULT steps above cover the same code paths"
else
    refused=0
    for mb in $(seq 24 8 160); do
        run_capture "ulimit$mb" bash -c 'ulimit -v "$1" && exec timeout 2 "$2" --coordinator "$3"' \
            _ $((mb * 1024)) "$worker" "$ep"
        rc=$RUN_RC
        echo "ulimit -v ${mb} MB: exit $rc"
        case $rc in
            9) assert_contains "$(cat "$HARNESS_TMP/ulimit$mb.err")" "cannot start the worker's 4 threads" \
                   "ulimit -v $mb MB: message"
               refused=$((refused + 1)) ;;
            124) assert_contains "$(cat "$HARNESS_TMP/ulimit$mb.err")" "connecting to $ep" \
                   "ulimit -v $mb MB: the worker started" ;;
            127) ;;   # the dynamic loader could not map the libraries: before any ferry code
            *) fail "ulimit -v $mb MB: exit $rc: $(tail -c 400 "$HARNESS_TMP/ulimit$mb.err")" ;;
        esac
    done
    ((refused > 0)) || fail "ulimit -v: no limit made the start-up check refuse"
fi
echo "worker_resources: OK"
