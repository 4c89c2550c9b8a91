# shellcheck shell=bash
# tests/faults/lib/faults.sh: helpers shared by the fault-injection
# scenarios in tests/faults/ (bash; `source` it after tests/lib/pg.sh).
#
# Every scenario loads the same kind of workload: a source table t (bigint
# key, text, numeric, timestamptz, jsonb, NULLs) read through slow(id), a
# plpgsql function that sleeps now and then, but only inside a worker's
# COPY (current_query() starts with COPY), so the coordinator's count and
# planning passes stay fast while chunks take long enough to be hit
# mid-flight.
#
#   faults_workload ROWS EVERY SECS [TABLE]
#       creates TABLE (default t) with ROWS rows and slow(id) on src (a chunk
#       worker sleeps SECS every EVERY keys), and the same TABLE, empty, on
#       tgt. Exports FAULT_ROWS.
#   faults_job FILE TABLE CHUNK [YAML_LINE...]
#       a job: SELECT * FROM t WHERE slow(id) ORDER BY id into TABLE, chunks
#       of CHUNK rows, quick retries, heartbeat 200 ms x liveness 5 on a
#       fresh port (exported as FAULT_PORT and FAULT_EP), then YAML_LINEs
#       (which may override source.snapshot through FAULT_SNAPSHOT=...).
#   committed RUN                chunks committed in the ledger for RUN.
#   chunks_planned RUN           rows of ferry.chunks for RUN.
#   copies_in_flight [APP]       active COPY ... FROM STDIN on tgt (of
#                                worker APP when given: application_name
#                                APP or ferry/<run>/APP).
#   pid_of_copy_client           pid of a process with an active target
#                                COPY ... FROM STDIN (via its TCP port).
#   assert_ledger_exact RUN ROWS MSG
#       ferry.chunk_commits holds every planned chunk exactly once:
#       count(*) = count(DISTINCT chunk_id) = committed = planned chunks (=
#       ferry.runs.chunks_total when set), ids 0..n-1, sum(rows) = ROWS.
#   assert_final_is_source TABLE MSG   final TABLE on tgt == t on src.
#   (assert_clean_stderr FILE... is tests/lib/pg.sh's.)
#   faults_start ROWS EVERY SECS [CHUNK]
#                                clusters src and tgt, then faults_workload
#                                (table t); with CHUNK also the job file
#                                job=$HARNESS_TMP/job.yaml (faults_job into
#                                public.t, chunks of CHUNK rows).
#   faults_job_edit FILE SED TEXT WHAT
#                                sed -i SED on job FILE, which must then
#                                hold TEXT (else: fail, could not WHAT).
#   faults_forger                echoes the path of ferry_zmq_garbage, the
#                                current build's forger (FERRY_TOOL_DIR,
#                                default FERRY_BIN_DIR); fails when missing.
#   wait_rc_ok MSG FILE...       after wait_rc: WAIT_RC is 0, else the
#                                FILEs' tails and fail MSG.
#   assert_retried FILE WHAT     a coordinator stderr FILE says a chunk
#                                failed and will be retried.
#   assert_published RUN TABLE WHAT STATUS_WHAT
#                                final TABLE == t, the ledger of RUN exact
#                                (FAULT_ROWS rows), ferry.runs says published.
#   assert_report_retried REPORT WHAT
#                                the --report JSON: published, FAULT_ROWS
#                                rows loaded, at least one chunk retried.
#   start_shared_run FILE TABLE CHUNK TAG RUN [WORKER]
#                                a shared-snapshot job FILE into TABLE
#                                (chunks of CHUNK), its coordinator started
#                                as TAG with --run-id RUN: with 2 local
#                                workers, or with WORKER, an external
#                                worker of that name (2 slots; WORKER_PID).
#   signal_after_commits SIG RUN N
#                                once RUN has N committed chunks, kill -SIG
#                                the coordinator (COORD_PID).
#   resume_run RC TAG RUN JOB    ferry-coordinator resume RUN --job JOB
#                                --local-workers 2 as TAG: exit RC, no
#                                sanitizer report.
#   assert_said TAG TEXT MSG     run TAG's stderr holds TEXT.
#   wait_pid_gone SECONDS PID... all PIDs gone within SECONDS, else fail.
#   workers_of_endpoint EP       pids of `ferry-worker --coordinator EP`.
#   show_tail FILE...            last lines of each file on stderr.
#   kill_after_commits TAG RUN JOB   run, SIGKILL the coordinator after 3
#                                commits (see below); sets N_BEFORE, PLANNED.
#
# It also exports a random FERRY_CLUSTER_SECRET for the coordinator and
# the workers of the scenario.

[[ -n "${HARNESS_TMP:-}" ]] || { echo "FAIL: source tests/lib/pg.sh before faults.sh" >&2; exit 1; }

COORD=$(ferry_bin ferry-coordinator)
WORKER=$(ferry_bin ferry-worker)
export COORD WORKER
# The cluster secret that workers prove to the coordinator (FERRY/1
# CHALLENGE/AUTH): the coordinator and the external workers of
# start_worker share it through the environment, as an operator would.
FERRY_CLUSTER_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export FERRY_CLUSTER_SECRET

faults_workload() {
    local rows="$1" every="$2" secs="$3" table="${4:-t}"
    local ddl="CREATE TABLE $table (id bigint PRIMARY KEY, name text, amount numeric(12,2),
        seen timestamptz, attrs jsonb)"
    pg_psql src <<EOF
$ddl;
INSERT INTO $table SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'name-' || g || repeat('x', g % 13) END,
    CASE WHEN g % 11 = 0 THEN NULL ELSE round((g * 1.37)::numeric, 2) END,
    timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
    CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('g', g, 'odd', g % 2 = 1) END
FROM generate_series(1, $rows) g;
ANALYZE $table;
CREATE OR REPLACE FUNCTION slow(id bigint) RETURNS bool LANGUAGE plpgsql AS \$f\$
BEGIN
    IF id % $every = 0 AND current_query() LIKE 'COPY%' THEN
        PERFORM pg_sleep($secs);
    END IF;
    RETURN true;
END \$f\$;
EOF
    pg_psql tgt -c "$ddl"
    FAULT_ROWS="$rows"
    export FAULT_ROWS
}

faults_job() {
    local file="$1" table="$2" chunk="$3"
    shift 3
    FAULT_PORT=$(free_port)
    FAULT_EP="tcp://127.0.0.1:$FAULT_PORT"
    export FAULT_PORT FAULT_EP
    # group_rows: the scenarios freeze, kill and fence ONE chunk at a time
    # (FAULT_GROUP_ROWS=N runs them with small chunks grouped, as by
    # default; tests/integration/coord_groups.sh covers groups).
    ferry_write_job "$file" src tgt "$table" "SELECT * FROM t WHERE slow(id) ORDER BY id" id \
        "pipeline: { chunk_size: $chunk, min_rows_for_parallel: 1000, group_rows: ${FAULT_GROUP_ROWS:-0} }" \
        "cluster: { bind: '$FAULT_EP', heartbeat_ms: 200, liveness: 5 }" "$@"
    # ferry_write_job writes "snapshot: none" and a 0.2 s .. 2 s retry;
    # the brief asks for max_delay 1.
    sed -i 's/max_delay: 2 }/max_delay: 1 }/' "$file"
    if [[ -n "${FAULT_SNAPSHOT:-}" ]]; then
        sed -i "s/^  snapshot: none\$/  snapshot: $FAULT_SNAPSHOT/" "$file"
    fi
}

committed() {
    pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = '$1'
        AND committed_at IS NOT NULL" 2>/dev/null || echo 0
}

chunks_planned() {
    pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunks WHERE run_id = '$1'" 2>/dev/null || echo 0
}

copies_in_flight() {
    local app_filter=""
    # ferry names its backends ferry/<run>/<worker> (pg.c application_name)
    [[ $# -ge 1 ]] && app_filter="AND (application_name = '$1' OR application_name LIKE 'ferry/%/$1')"
    pg_psql tgt -Atc "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'
        AND query LIKE 'COPY %FROM STDIN%' $app_filter" 2>/dev/null || echo 0
}

pid_of_copy_client() {
    local port line
    for port in $(pg_psql tgt -Atc "SELECT client_port FROM pg_stat_activity WHERE state = 'active'
            AND query LIKE 'COPY %FROM STDIN%' AND client_port IS NOT NULL ORDER BY backend_start"); do
        line=$(ss -Htnp state established "( sport = :$port )" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1)
        if [[ -n "$line" ]]; then
            echo "${line#pid=}"
            return 0
        fi
    done
    return 1
}

assert_ledger_exact() {
    local run="$1" rows="$2" msg="$3" planned total got
    planned=$(chunks_planned "$run")
    [[ "$planned" -ge 1 ]] || fail "$msg: run $run has no plan in ferry.chunks"
    total=$(pg_psql tgt -Atc "SELECT coalesce(chunks_total::text, 'null') FROM ferry.runs WHERE run_id = '$run'")
    if [[ "$total" != "null" ]]; then
        assert_eq "$planned" "$total" "$msg: ferry.runs.chunks_total vs ferry.chunks"
    fi
    got=$(pg_psql tgt -Atc "SELECT count(*) || '|' || count(DISTINCT chunk_id) || '|' || count(committed_at)
        || '|' || coalesce(min(chunk_id), -1) || '|' || coalesce(max(chunk_id), -1) || '|' || coalesce(sum(rows), 0)
        FROM ferry.chunk_commits WHERE run_id = '$run'")
    assert_eq "$planned|$planned|$planned|0|$((planned - 1))|$rows" "$got" \
        "$msg: ledger of $run (count, distinct chunks, committed, min id, max id, sum rows)"
}

assert_final_is_source() {
    local table="$1" msg="$2"
    assert_same_rows src "SELECT * FROM t" tgt "SELECT * FROM $table" "$msg: final == source"
}

faults_start() {
    pg_start src
    pg_start tgt
    faults_workload "$1" "$2" "$3"
    if [[ $# -ge 4 ]]; then
        job="$HARNESS_TMP/job.yaml"
        faults_job "$job" public.t "$4"
    fi
}

faults_job_edit() {
    sed -i "$2" "$1"
    grep -qF "$3" "$1" || fail "job file $1: could not $4"
}

faults_forger() {
    local forger="${FERRY_TOOL_DIR:-$FERRY_BIN_DIR}/tests/faults/ferry_zmq_garbage"
    [[ -x "$forger" ]] || fail "ferry_zmq_garbage is not built: $forger missing"
    echo "$forger"
}

wait_rc_ok() {
    [[ "$WAIT_RC" == 0 ]] && return 0
    show_tail "${@:2}"
    fail "$1"
}

assert_retried() {
    grep -qE "chunk [0-9]+ attempt [0-9]+ on local-[0-9]+ failed, will retry" "$1" ||
        { show_tail "$1"; fail "$2"; }
}

assert_published() {
    local run="$1" table="$2" what="$3"
    assert_final_is_source "$table" "$what"
    assert_ledger_exact "$run" "$FAULT_ROWS" "$what"
    assert_eq published "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$run'")" "$4"
}

assert_report_retried() {
    python3 - "$1" "$FAULT_ROWS" "$2" <<'PY' || fail "report check failed (above)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "published", r["status"]
assert r["chunks_retried"] >= 1, f"chunks_retried {r['chunks_retried']} after {sys.argv[3]}"
assert r["rows_loaded"] == int(sys.argv[2]), r["rows_loaded"]
PY
}

start_shared_run() {
    FAULT_SNAPSHOT=shared faults_job "$1" "$2" "$3"
    if [[ $# -ge 6 ]]; then
        start_coordinator "$4" run "$1" --run-id "$5"
        start_worker "$6" "$6" --slots 2
    else
        start_coordinator "$4" run "$1" --local-workers 2 --run-id "$5"
    fi
}

signal_after_commits() {
    poll_until 60 "$3 committed chunk(s) of $2" run_has_commits "$2" "$3"
    kill "-$1" "$COORD_PID"
}

resume_run() {
    run_expect "$1" "$2" "$COORD" resume "$3" --job "$4" --local-workers 2
    assert_clean_stderr "$HARNESS_TMP/$2.err"
}

assert_said() {
    assert_contains "$(cat "$HARNESS_TMP/$1.err")" "$2" "$3"
}

wait_pid_gone() {
    local secs="$1" deadline p alive
    shift
    deadline=$((SECONDS + secs))
    while :; do
        alive=()
        for p in "$@"; do
            kill -0 "$p" 2>/dev/null && alive+=("$p")
        done
        [[ ${#alive[@]} -eq 0 ]] && return 0
        [[ $SECONDS -lt $deadline ]] || fail "processes still running after $secs s: ${alive[*]} ($(ps -o pid=,args= -p "${alive[*]// /,}" 2>/dev/null | tr '\n' ';'))"
        sleep 0.1
    done
}

workers_of_endpoint() {
    pgrep -f "ferry-worker --coordinator $1( |\$)" || true
}

show_tail() {
    local f
    for f in "$@"; do
        echo "--- $f (last 40 lines):" >&2
        tail -n 40 "$f" >&2 2>/dev/null || true
    done
}

# kill_workers_of EP: SIGKILL, by pid, the ferry-worker processes this
# scenario started for endpoint EP (cleanup only).
kill_workers_of() {
    local p
    for p in $(workers_of_endpoint "$1"); do
        kill -KILL "$p" 2>/dev/null || true
    done
}

# start_coordinator TAG ARGS...: ferry-coordinator ARGS in the background,
# stdout/stderr in $HARNESS_TMP/TAG.out/.err; sets COORD_PID; killed at
# exit (with the workers of $FAULT_EP) if still running.
start_coordinator() {
    local tag="$1"
    shift
    "$COORD" "$@" >"$HARNESS_TMP/$tag.out" 2>"$HARNESS_TMP/$tag.err" </dev/null &
    COORD_PID=$!
    harness_on_exit "kill -KILL $COORD_PID 2>/dev/null; kill_workers_of '$FAULT_EP'"
}

# start_worker TAG NAME [ARGS...]: an external ferry-worker for $FAULT_EP
# in the background (application_name NAME on its target connections, so
# pg_stat_activity tells the workers apart); sets WORKER_PID.
start_worker() {
    local tag="$1" name="$2"
    shift 2
    FERRY_TARGET_DSN="$(pg_dsn tgt) application_name=$name" \
        "$WORKER" --coordinator "$FAULT_EP" --name "$name" "$@" \
        >"$HARNESS_TMP/$tag.out" 2>"$HARNESS_TMP/$tag.err" </dev/null &
    WORKER_PID=$!
    harness_on_exit "kill -CONT $WORKER_PID 2>/dev/null; kill -KILL $WORKER_PID 2>/dev/null"
}

# wait_rc PID SECONDS WHAT: waits for a background child of this shell and
# sets WAIT_RC to its exit status; fails (after killing it) when it is
# still running after SECONDS.
wait_rc() {
    local pid="$1" secs="$2" what="$3" deadline
    deadline=$((SECONDS + secs))
    while kill -0 "$pid" 2>/dev/null; do
        if [[ $SECONDS -ge $deadline ]]; then
            kill -KILL "$pid" 2>/dev/null || true
            fail "$what: still running after $secs s"
        fi
        sleep 0.1
    done
    # shellcheck disable=SC2034 # read by the scenarios
    WAIT_RC=0
    # shellcheck disable=SC2034
    wait "$pid" || WAIT_RC=$?
}

# has_commits RUN N: at least N chunks of RUN committed.
has_commits() { [[ $(committed "$1") -ge "$2" ]]; }

# coord_alive: fails (showing its output) when the background coordinator
# started by start_coordinator has exited; for use inside poll_until
# conditions, so a coordinator that died early fails fast and says why.
coord_alive() {
    if ! kill -0 "$COORD_PID" 2>/dev/null; then
        local rc=0
        wait "$COORD_PID" || rc=$?
        show_tail "$HARNESS_TMP"/*.out "$HARNESS_TMP"/*.err
        fail "the coordinator (pid $COORD_PID) exited early with status $rc"
    fi
}

# run_has_commits RUN N: the coordinator is still running and at least N
# chunks of RUN are committed.
run_has_commits() { coord_alive && has_commits "$@"; }

# no_workers_left SECONDS: every ferry-worker of $FAULT_EP is gone within
# SECONDS.
no_workers_left() {
    local pids
    mapfile -t pids < <(workers_of_endpoint "$FAULT_EP")
    [[ ${#pids[@]} -eq 0 ]] || wait_pid_gone "$1" "${pids[@]}"
}

# have_workers: some ferry-worker of $FAULT_EP is running.
have_workers() { [[ -n "$(workers_of_endpoint "$FAULT_EP")" ]]; }

# kill_after_commits TAG RUN JOB: starts RUN of JOB with 2 local workers
# (output in $HARNESS_TMP/TAG.out/.err), kills the coordinator (SIGKILL)
# once 3 chunks committed, waits for its workers to leave, and checks that
# 3 or more but not all chunks had committed. Sets N_BEFORE and PLANNED.
kill_after_commits() {
    local tag="$1" run="$2" job="$3" pids
    start_coordinator "$tag" run "$job" --local-workers 2 --run-id "$run"
    poll_until 60 "3 committed chunks of $run" run_has_commits "$run" 3
    poll_until 10 "the local workers" have_workers
    pids=$(workers_of_endpoint "$FAULT_EP")
    kill -KILL "$COORD_PID"
    wait "$COORD_PID" 2>/dev/null || true
    # shellcheck disable=SC2086 # a list of pids
    wait_pid_gone 8 $pids
    assert_clean_stderr "$HARNESS_TMP/$tag.err"
    N_BEFORE=$(committed "$run")
    PLANNED=$(chunks_planned "$run")
    [[ $N_BEFORE -ge 3 && $N_BEFORE -lt $PLANNED ]] ||
        fail "$run: $N_BEFORE of $PLANNED chunks committed at the kill"
    echo "$(basename "$0" .sh): killed $run with $N_BEFORE of $PLANNED chunk(s) committed"
}
