#!/usr/bin/env bash
# tests/integration/worker_bad_job.sh: a worker given a JOB that would
# break it refuses the JOB (logs the protocol error, answers the ASSIGN
# with FAILED XX000 "ASSIGN before JOB") and leaves cleanly on STOP (exit
# 0), instead of aborting in csv.c at its first ASSIGN or failing every
# attempt (issue 10, 12b and 12d). The JOBs come from
# ferry_fake_coordinator (tests/tools/fake_coordinator.c), packed by hand
# so that the sender's own checks cannot stop them:
#   - csv_delimiter equal to csv_quote ('"');
#   - csv_delimiter '\n';
#   - processors 65;
#   - and a sound JOB as a control: the chunk loads (DONE), 2 rows.
# Each process runs under `timeout`, so a hang shows as exit 124.
# FERRY_TOOLS_DIR (default $FERRY_BIN_DIR/tests/tools) says where
# ferry_fake_coordinator is, so that older worker builds can be tested.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

worker=$(ferry_bin ferry-worker)
fake="${FERRY_TOOLS_DIR:-$FERRY_BIN_DIR/tests/tools}/ferry_fake_coordinator"
[[ -x "$fake" ]] || fail "ferry_fake_coordinator is not built: $fake missing"
pg_start tgt
tgt_dsn=$(pg_dsn tgt)
csv="$HARNESS_TMP/two.csv"
printf '1,one\n2,two\n' >"$csv"

# scenario MODE TABLE: runs the fake coordinator in MODE and one worker
# against it; leaves the outputs in $HARNESS_TMP/MODE.{fake,out,err}.
scenario() {
    local mode="$1" table="$2" ep
    pg_psql tgt -c "CREATE TABLE $table (a int, b text)"
    timeout 60 "$fake" "$mode" "$tgt_dsn" "public.$table" "$csv" >"$HARNESS_TMP/$mode.fake" 2>&1 &
    local fpid=$!
    poll_until 20 "the fake coordinator's endpoint" grep -q '^endpoint ' "$HARNESS_TMP/$mode.fake"
    ep=$(sed -n 's/^endpoint //p' "$HARNESS_TMP/$mode.fake")
    run_capture "$mode" timeout 60 "$worker" --coordinator "$ep" --name "w-$mode" --slots 1
    FAKE_RC=0
    wait "$fpid" || FAKE_RC=$?
    echo "$mode: worker exit $RUN_RC, fake coordinator exit $FAKE_RC:"
    sed 's/^/    /' "$HARNESS_TMP/$mode.fake"
    grep -E 'ERROR|WARN|ssertion' "$HARNESS_TMP/$mode.err" | head -5 | sed 's/^/    /' || true
}
# refused MODE MESSAGE: the worker refused the JOB with MESSAGE and left.
refused() {
    scenario "$1" "t_${1//-/_}"
    assert_eq 0 "$RUN_RC" "$1: the worker's exit status (0 after STOP)"
    assert_contains "$(cat "$HARNESS_TMP/$1.err")" "$2" "$1: the worker names the problem"
    assert_contains "$(cat "$HARNESS_TMP/$1.fake")" "recv FAILED XX000 ASSIGN before JOB" \
        "$1: the ASSIGN is refused"
    assert_contains "$(cat "$HARNESS_TMP/$1.fake")" "recv BYE" "$1: the worker said BYE"
    assert_eq 0 "$FAKE_RC" "$1: the fake coordinator's exit status"
    assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM t_${1//-/_}")" "$1: nothing loaded"
    no_sanitizer_reports "$1"
}

refused delim-eq-quote "protocol: JOB.job.csv_quote: must differ from the delimiter"
refused delim-newline "protocol: JOB.job.csv_delimiter: must not be a line break"
refused processors-65 "protocol: JOB.job.processors: 65 out of range (max 64)"

scenario ok t_ok
assert_eq 0 "$RUN_RC" "ok: the worker's exit status"
assert_contains "$(cat "$HARNESS_TMP/ok.fake")" "recv DONE" "ok: the chunk is done"
assert_eq 2 "$(pg_psql tgt -Atc "SELECT count(*) FROM t_ok")" "ok: the rows"
no_sanitizer_reports ok
echo "worker_bad_job: OK"
