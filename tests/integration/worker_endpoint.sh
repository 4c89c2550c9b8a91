#!/usr/bin/env bash
# tests/integration/worker_endpoint.sh: ferry-worker --coordinator with a
# malformed endpoint exits 2 (usage) at once, naming the endpoint and the
# forms it expects, instead of retrying for ever (issue 10, 12e). Each
# worker runs under `timeout 20`, so a worker that keeps retrying shows as
# exit 124, not as a hung test. Endpoints: "tcp://", "foo",
# "tcp://host:notaport", "tcp://:5570" (no host), "tcp://host:0",
# "tcp://host:65536", "ipc://" (no path), "" (empty).
# No PostgreSQL needed: the worker must refuse before connecting anywhere.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

worker=$(ferry_bin ferry-worker)
i=0
for ep in "tcp://" "foo" "tcp://host:notaport" "tcp://:5570" "tcp://host:0" "tcp://host:65536" \
          "ipc://" ""; do
    i=$((i + 1))
    run_capture "ep$i" timeout 20 "$worker" --coordinator "$ep" --name "ep$i"
    echo "--coordinator '$ep': exit $RUN_RC: $(head -c 300 "$HARNESS_TMP/ep$i.err")"
    assert_eq 2 "$RUN_RC" "--coordinator '$ep': exit status"
    assert_eq "ferry-worker: --coordinator '$ep': not an endpoint; expected tcp://HOST:PORT (port 1-65535) or ipc://PATH" \
        "$(cat "$HARNESS_TMP/ep$i.err")" "--coordinator '$ep': the message"
done
echo "worker_endpoint: OK"
