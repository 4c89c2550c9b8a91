#!/usr/bin/env bash
# tests/integration/coord_history.sh: ferry-coordinator history (issue 14).
# Three published runs of a job and a fourth that fails (publish cannot
# take the final table's lock: another session holds it), then:
# - history --job --json lists the four, newest first, with their figures
#   (rows, wall, rows/s, chunks, concurrency; the failed one with its
#   status), and the job's baseline: the median wall and rows/s of the
#   three published runs (the failed one does not count);
# - the table (history --job) shows the baseline and one line per run;
# - history --target lists the same runs; another job's runs are left out
#   by --job.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup
coord_accounts 40000
pg_psql tgt -c "CREATE TABLE other (LIKE accounts INCLUDING ALL)"
job="$HARNESS_TMP/job.yaml"
coord_job "$job" public.accounts "SELECT * FROM accounts ORDER BY acct_id" acct_id \
    "chunk_size: 10000, min_rows_for_parallel: 1000"
for i in 1 2 3; do
    run_expect 0 "h$i" "$coord" run "$job" --local-workers 2 --run-id "h$i"
done
# The same job (lock_timeout is not part of its fingerprint) fails to publish.
sed 's/^  table: .*/&\n  lock_timeout: 1/' "$job" >"$HARNESS_TMP/locked.yaml"
pg_psql tgt -c "BEGIN; LOCK TABLE accounts; SELECT pg_sleep(60)" >/dev/null 2>&1 &
lockpid=$!
harness_on_exit "kill $lockpid 2>/dev/null || true"
locked() { [[ $(pg_psql tgt -At -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'accounts' AND l.mode = 'AccessExclusiveLock' AND l.granted") == 1 ]]; }
poll_until 10 "the lock on accounts" locked
run_expect 1 h4 "$coord" run "$HARNESS_TMP/locked.yaml" --local-workers 2 --run-id h4
kill "$lockpid" 2>/dev/null || true
# Another job into another table: not this job's.
coord_job "$HARNESS_TMP/other.yaml" public.other "SELECT * FROM accounts ORDER BY acct_id" acct_id ""
run_expect 0 o1 "$coord" run "$HARNESS_TMP/other.yaml" --local-workers 1 --run-id o1

run_expect 0 hist "$coord" history --job "$job" --json
"$py" - "$HARNESS_TMP/hist.out" <<'PY' || fail "history --json: check failed (above)"
import json, statistics, sys
d = json.load(open(sys.argv[1]))
runs = d["runs"]
ids = [r["run_id"] for r in runs]
assert ids == ["h4", "h3", "h2", "h1"], ids
for r in runs[1:]:
    assert r["status"] == "published" and r["kind"] == "run", r
    assert r["rows_loaded"] == 40000 and r["chunks_total"] == 4, r
    assert r["wall_seconds"] > 0 and r["rows_per_second"] > 0, r
    assert r["chunks_retried"] == 0 and isinstance(r["alerts"], list), r
    assert r["concurrency_mode"].startswith("auto"), r
assert runs[0]["status"] == "failed" and "lock" in (runs[0]["message"] or ""), runs[0]
b = d["baseline"]
walls = [r["wall_seconds"] for r in runs[1:]]
rates = [r["rows_per_second"] for r in runs[1:]]
assert b["runs"] == 3, b
assert abs(b["wall_seconds"] - statistics.median(walls)) < 0.0015, (b, walls)
assert abs(b["rows_per_second"] - statistics.median(rates)) < 0.15, (b, rates)
assert d["job_hash"] and all(r["job_hash"] == d["job_hash"] for r in runs)
print(f"baseline {b['wall_seconds']} s of walls {walls}")
PY
run_expect 0 histtext "$coord" history --job "$job"
text=$(cat "$HARNESS_TMP/histtext.out")
assert_contains "$text" "baseline: " "history: the baseline line"
assert_contains "$text" "(median of the last 3 published run(s))" "history: the baseline's runs"
for id in h1 h2 h3 h4; do
    grep -qE "^[0-9-]+ [0-9:]+  $id " <<<"$text" || { echo "$text" >&2; fail "history: no line for $id"; }
done
grep -qE "  h4 +failed " <<<"$text" || { echo "$text" >&2; fail "history: h4 is failed"; }
if grep -q " o1 " <<<"$text"; then fail "history --job lists another job's run"; fi
run_expect 0 histall "$coord" history --target "$(pg_dsn tgt)" --last 10
for id in h1 h2 h3 h4 o1; do
    assert_contains "$(cat "$HARNESS_TMP/histall.out")" " $id " "history --target lists $id"
done
no_sanitizer_reports h1 h2 h3 h4 o1 hist histtext histall
echo "coord_history: OK"
