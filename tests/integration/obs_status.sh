#!/usr/bin/env bash
# tests/integration/obs_status.sh: `ferry-coordinator status` (issue 13),
# read from the target's ferry schema while a run goes and after it.
#   during  a direct run of 4000 rows in 4 chunks at concurrency 1 into a
#           table whose row trigger sleeps 4 ms (about 4 s per chunk):
#           status --json (without RUN_ID: the latest run of this job) is
#           polled until it shows a chunk done and one in flight (a COPY
#           running in the worker's session); then it also says: running,
#           status loading, 4 chunks of which 1..3 done, rows_loaded a
#           multiple of 1000 below 4000 of 4000 expected, rows/s > 0, an
#           ETA, a connected worker.
#   after   the same run published: status published, running false,
#           4 done, rows_loaded 4000, no ETA, no last error; the text form
#           names the run and the rows.
#   failed  a run whose trigger refuses id 2500 (P0001, permanent):
#           status --json RUN_ID says failed, a failed chunk, and the last
#           error names the SQLSTATE and the trigger's text.
#   errors  an unknown run id: exit 1 with a message; --help; no --job:
#           exit 2.
#   connect target.connect_timeout: 2 against a port that accepts TCP but
#           never answers (a listening socket nobody accepts on): status
#           gives up with libpq's "timeout expired" (exit 5) instead of
#           waiting for ever.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup
coord_names 4000
pg_psql tgt <<'SQL'
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.004);
    RETURN NEW;
END $$;
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 2500 THEN
        RAISE EXCEPTION 'row 2500 refused by trigger';
    END IF;
    RETURN NEW;
END $$;
CREATE TABLE t (id int PRIMARY KEY, name text);
CREATE TRIGGER slow BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION slow();
CREATE TABLE t_bad (id int PRIMARY KEY, name text);
CREATE TRIGGER refuse BEFORE INSERT ON t_bad FOR EACH ROW EXECUTE FUNCTION refuse();
SQL
for tag in slow bad; do
    table=t
    [[ $tag == bad ]] && table=t_bad
    coord_job "$HARNESS_TMP/$tag.yaml" "public.$table" "SELECT * FROM t ORDER BY id" id \
        "chunk_size: 1000, min_rows_for_parallel: 1000, concurrency: 1"
    sed -i '/^  table: /a\  publish: direct' "$HARNESS_TMP/$tag.yaml"
    sed -i 's/max_retries: 5/max_retries: 0/' "$HARNESS_TMP/$tag.yaml"
done

# jcheck FILE EXPR...: python expressions over s (the status object).
jcheck() {
    local file="$1"
    shift
    "$py" - "$file" "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
bad = [e for e in sys.argv[2:] if not eval(e)]
if bad:
    print("failed: " + "; ".join(bad), file=sys.stderr)
    print(json.dumps(s, indent=1), file=sys.stderr)
    sys.exit(1)
PY
}

# --- during
"$coord" run "$HARNESS_TMP/slow.yaml" --local-workers 1 --run-id st_slow \
    >"$HARNESS_TMP/slow.out" 2>"$HARNESS_TMP/slow.err" </dev/null &
run_pid=$!
harness_on_exit "kill $run_pid 2>/dev/null"
one_done() {
    "$coord" status --job "$HARNESS_TMP/slow.yaml" --json >"$HARNESS_TMP/during.json" \
        2>"$HARNESS_TMP/during.err" || return 1
    "$py" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["run_id"] == "st_slow" and s["chunks"]["done"] >= 1 and s["chunks"]["in_flight"] == 1 else 1)' \
        "$HARNESS_TMP/during.json"
}
poll_until 180 "status to show a committed chunk and one in flight" one_done
jcheck "$HARNESS_TMP/during.json" \
    's["running"] is True' 's["status"] == "loading"' 's["chunks"]["total"] == 4' \
    '1 <= s["chunks"]["done"] <= 3' 's["rows_loaded"] % 1000 == 0 and 1000 <= s["rows_loaded"] < 4000' \
    's["rows_expected"] == 4000' \
    '0 <= s["chunks"]["waiting"] <= 2' \
    's["rows_per_second"] > 0' 's["eta_seconds"] is not None and s["eta_seconds"] >= 0' \
    's["workers_connected"] >= 1' 'any(w["name"] == "local-1" for w in s["workers"])' \
    's["same_job"] is True' 's["publish"] == "direct"' ||
    fail "during: status --json (above)"
echo "during: $(cat "$HARNESS_TMP/during.json")"
wait "$run_pid" || fail "the slow run failed: $(tail -n 20 "$HARNESS_TMP/slow.err")"
assert_same_rows src "SELECT * FROM t" tgt "SELECT * FROM t" "slow: final == source"

# --- after
run_expect 0 after "$coord" status st_slow --job "$HARNESS_TMP/slow.yaml" --json
jcheck "$HARNESS_TMP/after.out" \
    's["status"] == "published"' 's["running"] is False' 's["chunks"]["done"] == 4' \
    's["rows_loaded"] == 4000' 's["eta_seconds"] is None' 's["last_error"] is None' \
    's["finished_at"] is not None' 's["workers_connected"] == 0' \
    's["rows_expected"] == 4000 and s["rows_expected_exact"] is True' ||
    fail "after: status --json (above)"
run_expect 0 after_text "$coord" status --job "$HARNESS_TMP/slow.yaml"
assert_contains "$(cat "$HARNESS_TMP/after_text.out")" "ferry run st_slow: published" "after: text names the run"
assert_contains "$(cat "$HARNESS_TMP/after_text.out")" "4000 loaded of 4000" "after: text gives the rows"

# --- failed
run_expect 1 bad "$coord" run "$HARNESS_TMP/bad.yaml" --local-workers 1 --run-id st_bad
run_expect 0 bad_status "$coord" status st_bad --job "$HARNESS_TMP/bad.yaml" --json
jcheck "$HARNESS_TMP/bad_status.out" \
    's["status"] == "failed"' 's["running"] is False' 's["chunks"]["failed"] >= 1' \
    's["last_error"] is not None and "P0001" in s["last_error"]["message"]' \
    '"row 2500 refused by trigger" in s["last_error"]["message"]' 's["last_error"]["chunk"] == 2' \
    '"row 2500 refused by trigger" in (s["message"] or "")' ||
    fail "failed: status --json (above)"

# --- errors
run_expect 1 unknown "$coord" status nosuchrun --job "$HARNESS_TMP/bad.yaml"
assert_contains "$(cat "$HARNESS_TMP/unknown.err")" "no run nosuchrun on the target" "unknown run: message"
run_expect 0 help "$coord" status --help
assert_contains "$(cat "$HARNESS_TMP/help.out")" "status [RUN_ID] --job JOB.yaml [--json]" "status --help"
run_expect 2 nojob "$coord" status st_bad
# --- connect: a server that never answers.
port=$(free_port)
"$py" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
time.sleep(120)' "$port" &
harness_on_exit "kill $! 2>/dev/null"
listening() { "$py" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; }
poll_until 20 "the silent listener" listening
sed "s|^  conninfo: '$(pg_dsn tgt)'|  conninfo: 'host=127.0.0.1 port=$port user=postgres dbname=postgres'\n  connect_timeout: 2|" \
    "$HARNESS_TMP/slow.yaml" >"$HARNESS_TMP/silent.yaml"
grep -q "connect_timeout: 2" "$HARNESS_TMP/silent.yaml" || fail "connect: the job file was not rewritten"
run_expect 5 silent "$coord" status --job "$HARNESS_TMP/silent.yaml"
assert_contains "$(cat "$HARNESS_TMP/silent.err")" "timeout expired" "connect: libpq's connect_timeout fired"
no_sanitizer_reports slow bad after bad_status unknown silent
echo "obs_status: OK"
