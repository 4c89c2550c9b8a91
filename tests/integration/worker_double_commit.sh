#!/usr/bin/env bash
# tests/integration/worker_double_commit.sh: the ledger fence. Running the
# same (run_id, chunk_id) twice commits once: the second ferry-worker exits
# 6 (EXIT_CODE_ALREADY_COMMITTED) saying "already committed", and neither
# staging nor the ledger changes. Another chunk id of the same run still
# commits.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

worker=$(ferry_bin ferry-worker)
pg_start src
pg_start tgt

pg_psql src <<'EOF2'
CREATE TABLE acct (id bigint PRIMARY KEY, name text, balance numeric(12,2));
INSERT INTO acct SELECT g, 'name ' || g, g * 1.25 FROM generate_series(1, 5000) g;
ANALYZE acct;
EOF2
pg_psql tgt -c "CREATE TABLE acct (id bigint PRIMARY KEY, name text, balance numeric(12,2))"
job="$HARNESS_TMP/job.yaml"
ferry_write_job "$job" src tgt public.acct "SELECT * FROM acct ORDER BY id" id

staging_count() { pg_psql tgt -Atc 'SELECT count(*) FROM ferry."stage_dc"'; }
ledger() {
    pg_psql tgt -Atc "SELECT count(*) || ':' || coalesce(string_agg(chunk_id || '/' || attempt || '/' || rows
        || '/' || token || '/' || committed_at, ','), '') FROM ferry.chunk_commits WHERE run_id = 'dc'"
}

run_expect 0 first "$worker" --standalone --job "$job" --range 1000:3000 --run-id dc --chunk-id 7
assert_eq 2000 "$(staging_count)" "first run: staging rows"
ledger_before=$(ledger)
assert_contains "$ledger_before" "1:7/1/2000/" "first run: one ledger row, chunk 7, attempt 1, 2000 rows"

# Same chunk again, even with another attempt number and worker name.
run_expect 6 second "$worker" --standalone --job "$job" --range 1000:3000 --run-id dc --chunk-id 7 \
    --attempt 2 --name other-worker
assert_contains "$(cat "$HARNESS_TMP/second.err")" "already committed" "second run: stderr"
assert_eq 2000 "$(staging_count)" "second run: staging rows unchanged"
assert_eq "$ledger_before" "$(ledger)" "second run: ledger unchanged"

# A third time with a different range: still refused, still nothing added.
run_expect 6 third "$worker" --standalone --job "$job" --range : --run-id dc --chunk-id 7
assert_contains "$(cat "$HARNESS_TMP/third.err")" "already committed" "third run: stderr"
assert_eq 2000 "$(staging_count)" "third run: staging rows unchanged"
assert_eq "$ledger_before" "$(ledger)" "third run: ledger unchanged"

# The fence is per chunk: chunk 8 of the same run goes in.
run_expect 0 other "$worker" --standalone --job "$job" --range 3000: --run-id dc --chunk-id 8
assert_eq 4001 "$(staging_count)" "chunk 8: staging rows"
assert_eq "2|2000,2001" "$(pg_psql tgt -Atc "SELECT count(*) || '|' || string_agg(rows::text, ',' ORDER BY chunk_id)
    FROM ferry.chunk_commits WHERE run_id = 'dc'")" "chunk 8: ledger"
assert_same_rows src "SELECT * FROM acct WHERE id >= 1000" tgt 'SELECT * FROM ferry."stage_dc"' "staging == source [1000, inf)"

echo "worker_double_commit: OK"
