#!/usr/bin/env bash
# tests/faults/fault_publish_errors.sh: what goes wrong at publish time, and
# what the operator is told (issue 10 item 11). Each scenario is a merge run
# of 4 chunks of t (4000 rows) into its own final table on one target:
#  (lock)    a session holds LOCK TABLE final IN ACCESS EXCLUSIVE MODE: with
#            target.lock_timeout 1 the run fails (exit 1) instead of waiting,
#            naming the holder's pid and application_name and the resume
#            command; nothing is published; ferry.runs.message (and the
#            report's message) hold that same reason with its SQLSTATE;
#            once the lock is released, resume publishes exactly the
#            source rows.
#  (timeout) the target's statement_timeout (ALTER ROLE ... IN DATABASE)
#            cancels the slow publish statement: exit 1, [57014], the
#            timeout's value, nothing published, the resume command; after
#            RESET, resume publishes.
#  (restart) the target restarts (pg_ctl restart -m fast) while the publish
#            statement runs: the publish transaction is retried as a whole
#            and the run publishes every row exactly once (exit 0).
#  (lost)    the coordinator is killed (SIGKILL) while publish waits, after
#            every chunk committed; the target crashes (immediate stop) and
#            its crash recovery empties the UNLOGGED staging table: resume
#            says the staged rows were lost with the target's restart, loads
#            those chunks again and publishes every row once.
#  (trigger) a BEFORE INSERT trigger returning NULL for 1% of the rows: exit
#            1, the message names the trigger; with it disabled, resume
#            publishes.
#  (random)  a CSV "file" of random bytes under the default
#            source.max_error_rate: exit 1, "all N record(s) were rejected
#            and none loaded", what to check and the first rejects; nothing
#            published.
# PUB_SCENARIOS="lock timeout ..." runs only those. No sanitizer report.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

COORD=$(ferry_bin ferry-coordinator)
ferry_bin ferry-worker >/dev/null
scenarios=" ${PUB_SCENARIOS:-lock timeout restart lost trigger random} "
want() { [[ "$scenarios" == *" $1 "* ]]; }
t0=$SECONDS

pg_start src
pg_start tgt
ROWS=4000
pg_psql src <<EOF
CREATE TABLE t (id int PRIMARY KEY, name text, amount numeric(12,2));
INSERT INTO t SELECT g, 'name-' || g, g * 1.25 FROM generate_series(1, $ROWS) g;
ANALYZE t;
EOF

# job TAG TABLE [YAML_LINE...]: $HARNESS_TMP/TAG.yaml loads t into TABLE
# (created here like t) in chunks of 1000; YAML_LINEs are added under
# target:.
job() {
    local tag="$1" table="$2" file="$HARNESS_TMP/$1.yaml" line
    shift 2
    pg_psql tgt -c "CREATE TABLE $table (id int PRIMARY KEY, name text, amount numeric(12,2))"
    ferry_write_job "$file" src tgt "public.$table" "SELECT * FROM t ORDER BY id" id \
        "pipeline: { chunk_size: 1000, min_rows_for_parallel: 1000 }" \
        "cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200, liveness: 10 }"
    for line in "$@"; do
        sed -i "/^  table: /a\\  $line" "$file"
    done
}
# run RC TAG CMD_ARGS...: the coordinator (at most 90 s: a publish that
# waits forever must fail the test, not hang it), expecting exit RC.
run() {
    local rc="$1" tag="$2"
    shift 2
    run_expect "$rc" "$tag" timeout -k 5 90 "$COORD" "$@"
    no_sanitizer_reports "$tag"
}
output() { cat "$HARNESS_TMP/$1.out" "$HARNESS_TMP/$1.err"; }
# start_run TAG RUN: ferry-coordinator run $HARNESS_TMP/TAG.yaml with 2
# local workers as RUN, in the background (coord: its pid, killed at exit).
start_run() {
    "$COORD" run "$HARNESS_TMP/$1.yaml" --local-workers 2 --run-id "$2" \
        >"$HARNESS_TMP/$1.out" 2>"$HARNESS_TMP/$1.err" </dev/null &
    coord=$!
    harness_on_exit "kill -KILL $coord 2>/dev/null"
}
# wait_for_session TAG WHAT WHERE: until one target session matches WHERE
# (on pg_stat_activity); fails if TAG's coordinator exits first.
session_seen() {
    kill -0 "$coord" 2>/dev/null || { tail -n 30 "$HARNESS_TMP/$1.err" >&2; fail "($1) the coordinator exited early"; }
    [[ $(pg_psql tgt -Atc "SELECT count(*) FROM pg_stat_activity WHERE $3") == 1 ]]
}
wait_for_session() {
    poll_until 30 "$2" session_seen "$@"
}
# row_trigger TABLE NAME STATEMENT: a BEFORE INSERT trigger NAME on TABLE
# whose function runs the plpgsql STATEMENT, then returns NEW.
row_trigger() {
    pg_psql tgt -c "CREATE FUNCTION $2() RETURNS trigger LANGUAGE plpgsql AS \$f\$
BEGIN
    $3
    RETURN NEW;
END \$f\$" -c "CREATE TRIGGER $2 BEFORE INSERT ON $1 FOR EACH ROW EXECUTE FUNCTION $2()"
}
count() { pg_psql tgt -Atc "SELECT count(*) FROM $1"; }
status() { pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$1'"; }
same_as_source() {
    assert_same_rows src "SELECT * FROM t" tgt "SELECT * FROM $1" "$2: final == source"
}
# locker TAG TABLE: a psql session (application_name ferry-test-TAG) holding
# ACCESS EXCLUSIVE on TABLE in an open transaction, in the background; sets
# LOCKER_PID (the backend) once the lock is granted.
locker() {
    local tag="$1" table="$2"
    PGAPPNAME="ferry-test-$tag" "$(pg_bindir)/psql" -X -q -d "$(pg_dsn tgt)" \
        -c "BEGIN; LOCK TABLE $table IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);" \
        >/dev/null 2>&1 </dev/null &
    harness_on_exit "kill $! 2>/dev/null"
    locked() {
        LOCKER_PID=$(pg_psql tgt -Atc "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE a.application_name = 'ferry-test-$tag' AND l.granted AND l.mode = 'AccessExclusiveLock'
            AND l.relation = '$table'::regclass")
        [[ -n "$LOCKER_PID" ]]
    }
    poll_until 20 "the lock on $table" locked
}
unlock() {
    pg_psql tgt -Atc "SELECT pg_terminate_backend($1)" >/dev/null
    gone() { [[ $(pg_psql tgt -Atc "SELECT count(*) FROM pg_stat_activity WHERE pid = $1") == 0 ]]; }
    poll_until 20 "backend $1 to end" gone "$1"
}

if want lock; then
    job lock lk "lock_timeout: 1"
    locker lock lk
    run 1 lock run "$HARNESS_TMP/lock.yaml" --local-workers 2 --run-id lock1
    out=$(output lock)
    assert_contains "$out" "[55P03]" "(lock) SQLSTATE"
    assert_contains "$out" "target.lock_timeout (1s)" "(lock) the timeout"
    assert_contains "$out" "held by: pid $LOCKER_PID (application_name 'ferry-test-lock'" "(lock) the holder"
    assert_contains "$out" "AccessExclusiveLock on lk, query 'BEGIN; LOCK TABLE lk" "(lock) its lock and query"
    assert_contains "$out" "nothing was published" "(lock) outcome"
    assert_contains "$out" "ferry-coordinator resume lock1 --job $HARNESS_TMP/lock.yaml" "(lock) resume command"
    unlock "$LOCKER_PID"
    assert_eq 0 "$(count lk)" "(lock) nothing published"
    assert_eq failed "$(status lock1)" "(lock) run status"
    # The reason is stored as it was logged: SQLSTATE, what failed and why.
    msg=$(pg_psql tgt -Atc "SELECT message FROM ferry.runs WHERE run_id = 'lock1'")
    assert_contains "$msg" "publish failed: publish: locking the final table: [55P03]" \
        "(lock) ferry.runs.message: what failed, SQLSTATE"
    assert_contains "$msg" "held by: pid $LOCKER_PID" "(lock) ferry.runs.message: why"
    assert_eq "$msg" "$(pg_psql tgt -Atc "SELECT report->>'message' FROM ferry.runs WHERE run_id = 'lock1'")" \
        "(lock) the report's message is ferry.runs.message"
    run 0 lock_resume resume lock1 --job "$HARNESS_TMP/lock.yaml"
    same_as_source lk "(lock) after resume"
    echo "fault_publish_errors: (lock) OK ($((SECONDS - t0)) s)"
fi

if want timeout; then
    job timeout st
    # The publish statement sleeps 10 s at row 1; loading staging is fast.
    row_trigger st slow_row "IF NEW.id = 1 THEN PERFORM pg_sleep(10); END IF;"
    pg_psql tgt -c "ALTER ROLE postgres IN DATABASE postgres SET statement_timeout = '3s'"
    run 1 timeout run "$HARNESS_TMP/timeout.yaml" --local-workers 2 --run-id st1
    out=$(output timeout)
    assert_contains "$out" "[57014] canceling statement due to statement timeout" "(timeout) SQLSTATE"
    assert_contains "$out" "statement_timeout (3s for the coordinator's session" "(timeout) names the setting"
    assert_contains "$out" "nothing was published" "(timeout) outcome"
    assert_contains "$out" "ferry-coordinator resume st1 --job $HARNESS_TMP/timeout.yaml" "(timeout) resume command"
    pg_psql tgt -c "ALTER ROLE postgres IN DATABASE postgres RESET statement_timeout; DROP TRIGGER slow_row ON st"
    assert_eq 0 "$(count st)" "(timeout) nothing published"
    run 0 timeout_resume resume st1 --job "$HARNESS_TMP/timeout.yaml"
    same_as_source st "(timeout) after resume"
    echo "fault_publish_errors: (timeout) OK ($((SECONDS - t0)) s)"
fi

if want restart; then
    job restart rs
    # Only the first publish attempt sleeps (a sequence is not rolled back).
    pg_psql tgt -c "CREATE SEQUENCE rs_once"
    row_trigger rs slow_once "IF NEW.id = 1 AND nextval('rs_once') = 1 THEN PERFORM pg_sleep(60); END IF;"
    start_run restart rs1
    wait_for_session restart "the publish statement" \
        "query LIKE 'INSERT INTO \"public\".\"rs\"%' AND wait_event = 'PgSleep'"
    pg_restart tgt
    rc=0
    wait "$coord" || rc=$?
    [[ $rc == 0 ]] || { tail -n 30 "$HARNESS_TMP/restart.err" >&2; fail "(restart) exit $rc after a target restart during publish (expected 0)"; }
    no_sanitizer_reports restart
    assert_contains "$(output restart)" "the publish transaction rolled back; retry 1/5" "(restart) retried"
    same_as_source rs "(restart) published once"
    assert_eq published "$(status rs1)" "(restart) run status"
    echo "fault_publish_errors: (restart) OK ($((SECONDS - t0)) s)"
fi

if want lost; then
    job lost ls
    # Publish waits for this lock (target.lock_timeout 60 s by default)
    # while the coordinator is killed: every chunk committed, nothing
    # published.
    locker lost ls
    start_run lost ls1
    wait_for_session lost "publish to wait for the lock" \
        "query LIKE 'LOCK TABLE \"public\".\"ls\"%' AND wait_event_type = 'Lock'"
    kill -KILL "$coord"
    wait "$coord" 2>/dev/null || true
    assert_eq 4 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = 'ls1'")" "(lost) chunks committed"
    assert_eq "$ROWS" "$(count 'ferry."stage_ls1"')" "(lost) staging before the crash"
    unlock "$LOCKER_PID"
    pg_kill tgt
    pg_restart tgt
    assert_eq 0 "$(count 'ferry."stage_ls1"')" "(lost) crash recovery emptied staging"
    # resume loads the lost chunks again (those committed before the
    # restart), says why, and publishes every row once.
    run 0 lost_resume resume ls1 --job "$HARNESS_TMP/lost.yaml" --local-workers 2
    assert_contains "$(output lost_resume)" "were lost with it (crash recovery empties UNLOGGED tables" "(lost) why"
    assert_contains "$(output lost_resume)" "loading those chunk(s) again" "(lost) what resume does"
    same_as_source ls "(lost) after resume"
    echo "fault_publish_errors: (lost) OK ($((SECONDS - t0)) s)"
fi

if want trigger; then
    job trigger tg
    row_trigger tg skip_hundreds "IF NEW.id % 100 = 0 THEN RETURN NULL; END IF;"
    run 1 trigger run "$HARNESS_TMP/trigger.yaml" --local-workers 2 --run-id tg1
    out=$(output trigger)
    assert_contains "$out" "publishing wrote 3960 of the $ROWS rows of staging ferry.\"stage_tg1\" into public.tg" "(trigger) counts"
    assert_contains "$out" "table public.tg has trigger(s) skip_hundreds: a BEFORE trigger that returns NULL skips rows" "(trigger) names it"
    assert_contains "$out" "nothing was published" "(trigger) outcome"
    assert_eq 0 "$(count tg)" "(trigger) nothing published"
    pg_psql tgt -c "ALTER TABLE tg DISABLE TRIGGER skip_hundreds"
    run 0 trigger_resume resume tg1 --job "$HARNESS_TMP/trigger.yaml"
    same_as_source tg "(trigger) after resume with the trigger disabled"
    echo "fault_publish_errors: (trigger) OK ($((SECONDS - t0)) s)"
fi

if want random; then
    # 256 KiB of random bytes (fixed seed) where a CSV file is expected.
    python3 -c 'import random, sys
r = random.Random(20261205)
sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(262144)))' >"$HARNESS_TMP/random.csv"
    pg_psql tgt -c "CREATE TABLE rnd (id int PRIMARY KEY, v int, s text)"
    cat >"$HARNESS_TMP/random.yaml" <<EOF
source: { kind: csv, path: '$HARNESS_TMP/random.csv' }
target: { conninfo: '$(pg_dsn tgt)', table: public.rnd, merge: { key: [id] } }
pipeline: { chunk_size: 500, min_rows_for_parallel: 0 }
retry: { max_retries: 2, initial_delay: 0.2, backoff: 2.0, max_delay: 1 }
cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200 }
EOF
    run 1 random run "$HARNESS_TMP/random.yaml" --local-workers 2 --run-id rnd1
    out=$(output random)
    rejected=$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.rejects WHERE run_id = 'rnd1'")
    [[ $rejected -gt 0 ]] || fail "(random) no rejects recorded"
    assert_contains "$out" "source: all $rejected record(s) were rejected and none loaded" "(random) what happened"
    assert_contains "$out" "check source.format: delimiter, quote, header; source.format.encoding" "(random) what to check"
    assert_contains "$out" "; first rejects: $HARNESS_TMP/random.csv:1: " "(random) names the rejects"
    assert_contains "$out" "nothing was published" "(random) outcome"
    assert_eq 0 "$(count rnd)" "(random) nothing published"
    assert_eq failed "$(status rnd1)" "(random) run status"
    echo "fault_publish_errors: (random) OK ($((SECONDS - t0)) s)"
fi
echo "fault_publish_errors: OK ($((SECONDS - t0)) s)"
