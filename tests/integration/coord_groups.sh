#!/usr/bin/env bash
# tests/integration/coord_groups.sh: small chunks go out in groups
# (pipeline.group_rows, issue 11): adjacent chunks copied through one COPY
# in one target transaction, one ledger row per chunk.
#   a) 60,000 rows as 30 chunks of 2,000 on one worker with 2 slots, by key
#      and by heap block (ctid): the workers say they committed groups;
#      final == source row for row; the ledger holds each of the 30 chunks
#      once, and each chunk's ledger rows equal the source rows of its own
#      range (so a group's rows are told apart per chunk, not lumped).
#   b) the same with group_rows: 0: no group, 30 COPYs.
#   c) a group whose COPY fails once (a trigger raising a serialization
#      failure the first time it sees one row) fails whole, and its chunks
#      are retried alone (attempt 2 in the ledger, more than one of them):
#      final == source, each chunk once in the ledger.
# Any sanitizer report fails the test.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"
# shellcheck disable=SC2154

coord_setup
coord_accounts 60000

# load RUN TABLE SPLIT GROUP_ROWS: a direct load of accounts into TABLE.
load() {
    local run="$1" table="$2" split="$3" group="$4"
    pg_psql tgt -c "CREATE TABLE $table (LIKE accounts INCLUDING ALL)" >/dev/null
    local job="$HARNESS_TMP/$run.yaml"
    ferry_write_job "$job" src tgt "public.$table" "SELECT * FROM accounts ORDER BY acct_id" acct_id \
        "pipeline: { chunk_size: 2000, min_rows_for_parallel: 1000, concurrency: 2, group_rows: $group }" \
        "cluster: { bind: 'tcp://127.0.0.1:*' }"
    # The split and publish mode are in the source/target sections.
    sed -i "s/^source:/source:\n  split: $split/; s/^target:/target:\n  publish: direct/;
            s/snapshot: none/snapshot: shared/" "$job"
    FERRY_LOG_LEVEL=info run_expect 0 "$run" "$coord" run "$job" --local-workers 1 --slots 2 \
        --run-id "$run"
    no_sanitizer_reports "$run"
    assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM $table" "$run: final == source"
    assert_eq "30|60000|30|0|29" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows),
        count(DISTINCT chunk_id), min(chunk_id), max(chunk_id)
        FROM ferry.chunk_commits WHERE run_id = '$run'")" "$run: each chunk once in the ledger"
}

# Each chunk's ledger rows against the source rows of its key range.
check_key_rows() {
    local run="$1" plan bad=0 id lo hi rows n
    plan=$(pg_psql tgt -AtF '|' -c "SELECT c.chunk_id, coalesce(c.lo, ''), coalesce(c.hi, ''),
        k.rows FROM ferry.chunks c JOIN ferry.chunk_commits k USING (run_id, chunk_id)
        WHERE c.run_id = '$run' ORDER BY c.chunk_id")
    [[ $(wc -l <<<"$plan") -eq 30 ]] || fail "$run: expected 30 planned chunks, got: $plan"
    while IFS='|' read -r id lo hi rows; do
        local cond="true"
        [[ -n "$lo" ]] && cond="$cond AND acct_id >= $lo"
        [[ -n "$hi" ]] && cond="$cond AND acct_id < $hi"
        n=$(pg_psql src -Atc "SELECT count(*) FROM accounts WHERE $cond")
        [[ "$n" == "$rows" ]] || { echo "chunk $id [$lo, $hi): ledger $rows, source $n" >&2; bad=1; }
    done <<<"$plan"
    [[ $bad -eq 0 ]] || fail "$run: per-chunk ledger rows differ from the source"
}

# a) by key, then by heap block.
load gk acc_gk key 500000
check_key_rows gk
groups=$(grep -c "(a group of" "$HARNESS_TMP/gk.err" || true)
[[ $groups -ge 2 ]] || fail "gk: expected the workers to commit groups, saw $groups: $(grep -m5 committed "$HARNESS_TMP/gk.err")"
load gc acc_gc ctid 500000
groups=$(grep -c "(a group of" "$HARNESS_TMP/gc.err" || true)
[[ $groups -ge 2 ]] || fail "gc: expected groups by heap block, saw $groups"

# b) grouping off: one COPY per chunk.
load g0 acc_g0 key 0
check_key_rows g0
assert_eq 0 "$(grep -c "(a group of" "$HARNESS_TMP/g0.err" || true)" "g0: no group with group_rows 0"
assert_eq 30 "$(grep -c "chunk [0-9]* committed" "$HARNESS_TMP/g0.err" || true)" "g0: 30 single COPYs"

# c) a group's COPY fails once (retryable); its chunks are retried alone.
pg_psql tgt -c "CREATE SEQUENCE fail_once;
CREATE TABLE acc_gf (LIKE accounts INCLUDING ALL);
CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    IF NEW.acct_id = 30000 AND nextval('fail_once') = 1 THEN
        RAISE EXCEPTION 'test: fail once' USING ERRCODE = '40001';
    END IF;
    RETURN NEW;
END \$\$;
CREATE TRIGGER fail_once BEFORE INSERT ON acc_gf FOR EACH ROW EXECUTE FUNCTION fail_once();" >/dev/null
job="$HARNESS_TMP/gf.yaml"
ferry_write_job "$job" src tgt public.acc_gf "SELECT * FROM accounts ORDER BY acct_id" acct_id \
    "pipeline: { chunk_size: 2000, min_rows_for_parallel: 1000, concurrency: 2 }" \
    "cluster: { bind: 'tcp://127.0.0.1:*' }"
sed -i "s/^source:/source:\n  split: key/; s/^target:/target:\n  publish: direct/;
        s/snapshot: none/snapshot: shared/" "$job"
FERRY_LOG_LEVEL=info run_expect 0 gf "$coord" run "$job" --local-workers 1 --slots 2 --run-id gf
no_sanitizer_reports gf
assert_eq 2 "$(pg_psql tgt -Atc "SELECT last_value FROM fail_once")" "gf: the trigger failed the COPY once"
assert_contains "$(cat "$HARNESS_TMP/gf.err")" "test: fail once" "gf: the failure was logged"
assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM acc_gf" "gf: final == source"
assert_eq "30|60000|30" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows), count(DISTINCT chunk_id)
    FROM ferry.chunk_commits WHERE run_id = 'gf'")" "gf: each chunk once in the ledger"
retried=$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = 'gf' AND attempt = 2")
[[ $retried -ge 2 ]] || fail "gf: expected the failed group's chunks (2 or more) to commit as attempt 2, got $retried"
for id in $(pg_psql tgt -Atc "SELECT chunk_id FROM ferry.chunk_commits WHERE run_id = 'gf' AND attempt = 2"); do
    grep -q "INFO: chunk $id committed" "$HARNESS_TMP/gf.err" \
        || fail "gf: retried chunk $id did not commit alone: $(grep "chunk $id\b" "$HARNESS_TMP/gf.err" | head -5)"
done
echo "coord_groups: ok"
