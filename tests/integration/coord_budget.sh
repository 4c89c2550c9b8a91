#!/usr/bin/env bash
# tests/integration/coord_budget.sh: the chunks in flight stay within the
# servers' connection budget (issue 11). The target allows 8 connections,
# 3 of them reserved for superusers; a direct run's coordinator holds 2
# (ledger; table claim, on whose connection the autovacuum guard holds its
# lock): room for 3 more, less a margin of one, so at most 2 chunks may be
# in flight (the coordinator says so),
# although 3 workers offer 6 slots and the job pins concurrency at 6. The
# run publishes the source exactly, the report's slots_used (the most
# chunks in flight at once) is within what the coordinator announced, and
# no chunk was refused a connection ("too many clients", 53300) or
# retried.
# Then pipeline.concurrency: auto on the same budget: the same bound holds
# and the report names the mode.
# Every session ferry opens names itself from its first packet (the
# target logs connections): a session that showed in pg_stat_activity
# before it took its name would count as another application's and cost
# the budget a chunk (a CI run saw 1 instead of 2 that way).
# Then the refusal (issue 13): three idle sessions hold connections, so
# the target has 8 - 3 reserved - 5 in use (the three, and the
# coordinator's ledger and table claim) = 0 free while a direct run needs
# 1 more (a worker's connection): the run fails before dispatch (exit 1)
# with those numbers in the message and in ferry.runs, no worker started
# (the check comes before the workers, which a new run starts before it
# plans), nothing committed, the table empty.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup "max_connections = 8" "log_connections = on"
coord_accounts 40000
pg_psql tgt -c "CREATE TABLE accounts_auto (LIKE accounts INCLUDING ALL)"

check_run() {
    local tag="$1" table="$2" mode="$3" budget
    budget=$(grep -o "at most [0-9]* chunk(s) in flight by the servers' free connections" \
        "$HARNESS_TMP/$tag.err" | head -n 1 | grep -o '[0-9]*')
    assert_eq 2 "$budget" "$tag: the budget the coordinator announced"
    "$py" - "$HARNESS_TMP/$tag.json" "$mode" "$budget" <<'PY' || fail "$tag: report check failed (above)"
import json, sys
r = json.load(open(sys.argv[1]))
errors = []
if r["status"] != "published" or r["rows_loaded"] != 40000:
    errors.append(f"status {r['status']} rows {r['rows_loaded']}")
if not (1 <= r["slots_used"] <= int(sys.argv[3])):
    errors.append(f"slots_used {r['slots_used']}: more chunks in flight than the budget of {sys.argv[3]}")
if r["chunks_retried"] != 0:
    errors.append(f"chunks_retried {r['chunks_retried']}")
if r["slots_total"] != 6:
    errors.append(f"slots_total {r['slots_total']} (3 workers x 2)")
if not (r["concurrency_mode"] or "").startswith(sys.argv[2]):
    errors.append(f"concurrency_mode {r['concurrency_mode']!r}, expected {sys.argv[2]!r}")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY
    assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM $table" "$tag: final == source"
    if grep -qiE "too many clients|53300" "$HARNESS_TMP/$tag.err"; then
        grep -iE "too many clients|53300" "$HARNESS_TMP/$tag.err" | head -n 5 >&2
        fail "$tag: a connection was refused by the target's limit"
    fi
    no_sanitizer_reports "$tag"
}

# unnamed_sessions FROM: the target's connections logged after byte FROM
# of its server log that did not send an application name starting with
# ferry/ (the test's own psql sessions say application_name=psql).
unnamed_sessions() {
    tail -c +"$(($1 + 1))" "$(pg_server_log tgt)" | grep "connection authorized" \
        | grep -v "application_name=psql" | grep -v "application_name=ferry/" || true
}

for mode in pinned auto; do
    table=accounts
    [[ $mode == auto ]] && table=accounts_auto
    conc=6
    [[ $mode == auto ]] && conc=auto
    coord_job "$HARNESS_TMP/$mode.yaml" "public.$table" "SELECT * FROM accounts ORDER BY acct_id" acct_id \
        "chunk_size: 2000, min_rows_for_parallel: 1000, concurrency: $conc"
    sed -i '/^  table: /a\  publish: direct' "$HARNESS_TMP/$mode.yaml"
    log_from=$(stat -c %s "$(pg_server_log tgt)")
    run_expect 0 "$mode" "$coord" run "$HARNESS_TMP/$mode.yaml" --local-workers 3 --slots 2 \
        --report "$HARNESS_TMP/$mode.json" --run-id "b_$mode"
    want=pinned
    [[ $mode == auto ]] && want=auto
    check_run "$mode" "$table" "$want"
    unnamed=$(unnamed_sessions "$log_from")
    [[ -z $unnamed ]] || { printf '%s\n' "$unnamed" | head -n 5 >&2;
        fail "$mode: a session connected without its ferry/ application name"; }
    [[ $(tail -c +"$((log_from + 1))" "$(pg_server_log tgt)" | grep -c "connection authorized.*application_name=ferry/b_$mode/") -ge 4 ]] ||
        fail "$mode: the server log shows fewer than 4 of the run's sessions (log_connections)"
done
# --- refusal: fill the target.
pg_psql tgt -c "CREATE TABLE accounts_full (LIKE accounts INCLUDING ALL)"
for i in 1 2 3; do
    PGAPPNAME=ferry-test-hold "$(pg_bindir)/psql" -X -q -d "$(pg_dsn tgt)" -c "SELECT pg_sleep(120)" \
        >/dev/null 2>&1 </dev/null &
    harness_on_exit "kill $! 2>/dev/null"
done
held() { [[ $(pg_psql tgt -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ferry-test-hold'") == 3 ]]; }
poll_until 20 "three idle sessions on the target" held
coord_job "$HARNESS_TMP/full.yaml" public.accounts_full "SELECT * FROM accounts ORDER BY acct_id" acct_id \
    "chunk_size: 2000, min_rows_for_parallel: 1000"
sed -i '/^  table: /a\  publish: direct' "$HARNESS_TMP/full.yaml"
run_expect 1 full "$coord" run "$HARNESS_TMP/full.yaml" --local-workers 3 --slots 2 --run-id b_full
want="target: not enough free connections to load even one chunk at a time: max_connections 8 - superuser_reserved_connections 3 - in use 5 (this coordinator's among them) = 0 free, and the run needs 1 more (one worker connection). Nothing was dispatched."
assert_contains "$(cat "$HARNESS_TMP/full.err")" "$want" "refusal: the message gives the numbers"
assert_contains "$(pg_psql tgt -Atc "SELECT status || ': ' || message FROM ferry.runs WHERE run_id = 'b_full'")" \
    "failed: $want" "refusal: ferry.runs records it"
if grep -qE "worker\[|started [0-9]+ local worker" "$HARNESS_TMP/full.err"; then
    grep -E "worker\[|started [0-9]+ local worker" "$HARNESS_TMP/full.err" | head -n 5 >&2
    fail "refusal: a worker was started"
fi
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = 'b_full'")" "refusal: nothing committed"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM accounts_full")" "refusal: the table is empty"
no_sanitizer_reports full
echo "coord_budget: OK"
