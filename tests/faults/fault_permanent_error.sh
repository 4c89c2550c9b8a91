#!/usr/bin/env bash
# tests/faults/fault_permanent_error.sh: errors that no retry can fix fail
# the run at once (exit 1) with a message that names the SQLSTATE and the
# server's message, publish nothing, keep staging for inspection and mark
# the run failed in ferry.runs.
#  (a) one source value is too long for the target's varchar(5): 22001
#      while copying; the message names the chunk that holds the row.
#  (b) one source value breaks the target's CHECK constraint (same column
#      types, so the server says so): with publish: merge staging takes
#      every row and the publish fails with 23514; the final table stays
#      empty.
#  (c) the same CHECK with publish: direct: the chunk that holds the row
#      fails with 23514 and is named; none of its rows landed.
#  (d) a target role without INSERT on the final table (publish: direct;
#      schema ferry created beforehand by a superuser run, every other
#      privilege granted): 42501 permission denied, named.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

pg_start src
pg_start tgt
t0=$SECONDS
# 6000 rows, chunks of 1000: the bad row 4321 sits in chunk 4 [4001, 5001).
pg_psql src <<'EOF'
CREATE TABLE p (id bigint PRIMARY KEY, code text, qty int);
INSERT INTO p SELECT g, 'c' || (g % 1000), g % 50 FROM generate_series(1, 6000) g;
UPDATE p SET code = 'toolong', qty = -1 WHERE id = 4321;
ANALYZE p;
EOF
pg_psql tgt <<'EOF'
CREATE TABLE p_ok (id bigint PRIMARY KEY, code text, qty int);
CREATE TABLE p_narrow (id bigint PRIMARY KEY, code varchar(5), qty int);
CREATE TABLE p_check (id bigint PRIMARY KEY, code text, qty int CHECK (qty >= 0));
CREATE TABLE p_check_direct (LIKE p_check INCLUDING ALL);
CREATE TABLE p_priv (id bigint PRIMARY KEY, code text, qty int);
EOF

# job FILE TABLE [YAML_LINE...]: p into TABLE, chunks of 1000.
job() {
    local file="$1" table="$2"
    shift 2
    ferry_write_job "$file" src tgt "$table" "SELECT * FROM p ORDER BY id" id \
        "pipeline: { chunk_size: 1000, min_rows_for_parallel: 1000 }" \
        "cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200, liveness: 5 }" "$@"
}
run_status() { pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$1'"; }
staging_exists() { pg_psql tgt -Atc "SELECT to_regclass('ferry.\"stage_$1\"') IS NOT NULL"; }
# expect_failure TAG RUN: ran, exited 1, no sanitizer report; sets OUT.
expect_failure() {
    local tag="$1" run="$2"
    shift 2
    local t=$SECONDS
    run_expect 1 "$tag" "$COORD" run "$@" --local-workers 2 --run-id "$run"
    [[ $((SECONDS - t)) -lt 60 ]] || fail "$tag: a permanent error took $((SECONDS - t)) s to fail the run"
    assert_clean_stderr "$HARNESS_TMP/$tag.err"
    OUT=$(cat "$HARNESS_TMP/$tag.out" "$HARNESS_TMP/$tag.err")
    assert_eq failed "$(run_status "$run")" "$tag: ferry.runs.status"
    if grep -qE "failed, will retry: \[(22|23|42)[0-9A-Z]{3}\]" <<<"$OUT"; then
        grep -E "will retry" <<<"$OUT" >&2
        fail "$tag: a permanent error was retried"
    fi
}

# Baseline, as superuser: the same job into a plain table works (and
# creates schema ferry for (d)).
job "$HARNESS_TMP/ok.yaml" public.p_ok
run_expect 0 ok "$COORD" run "$HARNESS_TMP/ok.yaml" --local-workers 2 --run-id perm_ok
assert_same_rows src "SELECT * FROM p" tgt "SELECT * FROM p_ok" "baseline"

# (a) varchar(5).
job "$HARNESS_TMP/narrow.yaml" public.p_narrow
expect_failure narrow perm_narrow "$HARNESS_TMP/narrow.yaml"
assert_contains "$OUT" "chunk 4" "(a) the message names the chunk holding the long value"
assert_contains "$OUT" "22001" "(a) the message names the SQLSTATE"
assert_contains "$OUT" "value too long for type character varying(5)" "(a) the server's message"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM p_narrow")" "(a) nothing published"
assert_eq t "$(staging_exists perm_narrow)" "(a) staging kept for inspection"
grep -E "coordinator.*ERROR" "$HARNESS_TMP/narrow.err" | head -n 2 | cut -c 1-300
echo "fault_permanent_error: (a) varchar(5) OK ($((SECONDS - t0)) s)"

# (b) CHECK, publish: merge.
job "$HARNESS_TMP/check.yaml" public.p_check
expect_failure check perm_check "$HARNESS_TMP/check.yaml"
assert_contains "$OUT" "23514" "(b) the message names the SQLSTATE"
assert_contains "$OUT" 'violates check constraint "p_check_qty_check"' "(b) the server's message"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM p_check")" "(b) nothing published"
assert_eq t "$(staging_exists perm_check)" "(b) staging kept for inspection"
grep -E "coordinator.*ERROR" "$HARNESS_TMP/check.err" | head -n 2 | cut -c 1-300
echo "fault_permanent_error: (b) CHECK, merge OK ($((SECONDS - t0)) s)"

# (c) CHECK, publish: direct.
job "$HARNESS_TMP/check_direct.yaml" public.p_check_direct "  publish: direct"
sed -i "s/^  publish: direct\$//; s/^  table: 'public.p_check_direct'\$/  table: 'public.p_check_direct'\n  publish: direct/" \
    "$HARNESS_TMP/check_direct.yaml"
expect_failure check_direct perm_check_direct "$HARNESS_TMP/check_direct.yaml"
assert_contains "$OUT" "chunk 4" "(c) the message names the chunk holding the bad value"
assert_contains "$OUT" "23514" "(c) the message names the SQLSTATE"
assert_contains "$OUT" 'violates check constraint "p_check_qty_check"' "(c) the server's message"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM p_check_direct WHERE id >= 4001 AND id < 5001")" \
    "(c) no row of the failed chunk landed"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = 'perm_check_direct'
    AND chunk_id = 4")" "(c) no ledger row for the failed chunk"
# Whatever landed is exactly the committed chunks' rows, once.
assert_eq "$(pg_psql tgt -Atc "SELECT coalesce(sum(rows), 0) FROM ferry.chunk_commits
    WHERE run_id = 'perm_check_direct' AND committed_at IS NOT NULL")" \
    "$(pg_psql tgt -Atc "SELECT count(*) FROM p_check_direct")" "(c) final rows == committed ledger rows"
echo "fault_permanent_error: (c) CHECK, direct OK ($((SECONDS - t0)) s)"

# (d) No INSERT on the final table.
pg_psql tgt <<'EOF'
CREATE ROLE loader LOGIN;
GRANT USAGE ON SCHEMA ferry TO loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ferry TO loader;
GRANT SELECT ON p_priv TO loader;
EOF
job "$HARNESS_TMP/priv.yaml" public.p_priv
# shellcheck disable=SC2154 # tgt_PORT is exported by pg_start
sed -i "s/^  conninfo: '\(host=127.0.0.1 port=$tgt_PORT\) user=postgres /  conninfo: '\1 user=loader /; s/^  table: 'public.p_priv'\$/  table: 'public.p_priv'\n  publish: direct/" \
    "$HARNESS_TMP/priv.yaml"
grep -q "user=loader" "$HARNESS_TMP/priv.yaml" || fail "(d) job file does not use the loader role"
expect_failure priv perm_priv "$HARNESS_TMP/priv.yaml"
assert_contains "$OUT" "42501" "(d) the message names the SQLSTATE"
assert_contains "$OUT" "permission denied for table p_priv" "(d) the server's message"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM p_priv")" "(d) nothing published"
grep -E "coordinator.*ERROR" "$HARNESS_TMP/priv.err" | head -n 2 | cut -c 1-300
echo "fault_permanent_error: OK ($((SECONDS - t0)) s)"
