#!/usr/bin/env bash
# tests/integration/coord_ctid.sh: the ctid split. With the shared
# snapshot (the default) and a query that scans one table whole, the
# coordinator splits the table's heap into block ranges (no planning pass
# over the key) and every chunk reads `<query> WHERE ctid >= ... AND ctid <
# ...` (a TID Range Scan). Shown here, on a heap with holes (deleted rows)
# and moved rows (updated after the load):
#   (a) merge with 2 workers: final == source, the run says split ctid,
#       chunk bounds are block tids, the first and last are open-ended;
#   (b) publish: direct with 2 workers, and a query ending in a -- comment:
#       final == source;
#   (c) `plan` prints the block ranges and moves nothing;
#   (d) queries that are not a plain scan of one table (a WHERE, a view, a
#       join) fall back to the key split with source.split: auto, and are
#       refused with the reason under source.split: ctid;
#   (e) source.split: key keeps the key split; split: ctid with snapshot:
#       none is a job file error (exit 3).
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord_setup

output() { cat "$HARNESS_TMP/$1.out" "$HARNESS_TMP/$1.err"; }
# write_job TAG TABLE QUERY [YAML_LINE...]: the shared snapshot, chunks of
# 700 rows.
write_job() {
    local tag="$1" table="$2" query="$3"
    shift 3
    coord_job "$HARNESS_TMP/$tag.yaml" "public.$table" "$query" acct_id \
        "chunk_size: 700, min_rows_for_parallel: 1000" "$@"
    sed -i 's/^  snapshot: none$/  snapshot: shared/' "$HARNESS_TMP/$tag.yaml"
}
split_of() { pg_psql tgt -Atc "SELECT split FROM ferry.runs WHERE run_id = '$1'"; }

coord_accounts 8000
# Holes and moved rows: a deleted stretch leaves blocks half empty, the
# updated rows' new versions sit at the end of the heap.
pg_psql src -c "DELETE FROM accounts WHERE acct_id % 7 = 3 OR acct_id BETWEEN 2000 AND 2600;
                UPDATE accounts SET balance = balance + 1 WHERE acct_id % 11 = 0;
                ANALYZE accounts" >/dev/null
src_rows=$(pg_psql src -Atc "SELECT count(*) FROM accounts")
[[ "$src_rows" -gt 6000 ]] || fail "source rows after the deletes: $src_rows"
assert_eq t "$(pg_psql src -Atc "SELECT (SELECT ctid FROM accounts WHERE acct_id = 11) >
    (SELECT ctid FROM accounts WHERE acct_id = 7999)")" \
    "updated rows moved to the end of the heap"

# --- (a) merge, 2 workers.
pg_psql tgt -c "CREATE TABLE a_merge (LIKE accounts INCLUDING ALL)"
write_job merge a_merge "SELECT * FROM accounts ORDER BY acct_id"
run_expect 0 merge "$coord" run "$HARNESS_TMP/merge.yaml" --local-workers 2 --run-id merge
no_sanitizer_reports merge
assert_contains "$(output merge)" "splitting public.accounts by heap block (ctid)" "(a) ctid split chosen"
assert_eq ctid "$(split_of merge)" "(a) ferry.runs.split"
assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM a_merge" "(a) merge: final == source"
nchunks=$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunks WHERE run_id = 'merge'")
[[ "$nchunks" -ge 5 ]] || fail "(a) expected several chunks, got $nchunks"
echo "coord_ctid: (a) $nchunks chunks over $src_rows rows"
assert_eq "$nchunks|$src_rows" "$(pg_psql tgt -Atc "SELECT count(*), sum(rows) FROM ferry.chunk_commits
    WHERE run_id = 'merge' AND committed_at IS NOT NULL")" "(a) every chunk committed once, rows add up"
# Bounds: open first and last, block tids in between, each hi the next lo.
assert_eq "t|t|t|t" "$(pg_psql tgt -Atc "
    SELECT bool_and(c.lo IS NULL) FILTER (WHERE c.chunk_id = 0),
           bool_and(c.hi IS NULL) FILTER (WHERE c.chunk_id = $nchunks - 1),
           bool_and(coalesce(c.lo, '(1,0)') ~ '^\\([0-9]+,0\\)$' AND coalesce(c.hi, '(1,0)') ~ '^\\([0-9]+,0\\)$'),
           bool_and(c.hi = n.lo) FILTER (WHERE n.chunk_id IS NOT NULL)
    FROM ferry.chunks c LEFT JOIN ferry.chunks n ON n.run_id = c.run_id AND n.chunk_id = c.chunk_id + 1
    WHERE c.run_id = 'merge'")" "(a) chunk bounds"
# Every chunk read something: the estimate spreads rows over the blocks.
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = 'merge' AND rows = 0")" \
    "(a) no empty chunk"

# --- (b) direct, and a query with a trailing -- comment.
pg_psql tgt -c "CREATE TABLE b_direct (LIKE accounts INCLUDING ALL)"
write_job direct b_direct "SELECT * FROM accounts -- every account"
sed -i '/^  table: /a\  publish: direct' "$HARNESS_TMP/direct.yaml"
run_expect 0 direct "$coord" run "$HARNESS_TMP/direct.yaml" --local-workers 2 --run-id direct
no_sanitizer_reports direct
assert_eq ctid "$(split_of direct)" "(b) ferry.runs.split"
# The final table was kept from autovacuum while the chunks committed.
if grep -q "cannot keep autovacuum off" "$HARNESS_TMP/direct.err"; then
    fail "(b) direct: $(grep "cannot keep autovacuum off" "$HARNESS_TMP/direct.err")"
fi
assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM b_direct" "(b) direct: final == source"

# --- (c) plan.
run_expect 0 plan "$coord" plan "$HARNESS_TMP/merge.yaml"
no_sanitizer_reports plan
assert_contains "$(output plan)" "chunk(s), split by heap block (ctid) of public.accounts" "(c) plan header"
assert_contains "$(output plan)" "(start)" "(c) plan: open first range"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.runs WHERE run_id NOT IN ('merge', 'direct')")" \
    "(c) plan recorded no run"

# --- (d) not a plain scan of one table: the key split, or refused.
pg_psql src -c "CREATE VIEW every_account AS SELECT * FROM accounts;
                CREATE TABLE owners (acct_id bigint PRIMARY KEY);
                INSERT INTO owners SELECT acct_id FROM accounts WHERE acct_id % 2 = 0" >/dev/null
queries=("SELECT * FROM accounts WHERE balance > 0 ORDER BY acct_id"
         "SELECT * FROM every_account ORDER BY acct_id"
         "SELECT a.* FROM accounts a JOIN owners o USING (acct_id) ORDER BY acct_id")
# A view plans as a plain scan of its table but has no ctid of its own.
reasons=("the query is not a plain scan of one table"
         "the query does not take a ctid condition"
         "the query is not a plain scan of one table")
for i in 0 1 2; do
    q=${queries[$i]}
    pg_psql tgt -c "CREATE TABLE d$i (LIKE accounts INCLUDING ALL)"
    write_job "auto$i" "d$i" "$q"
    run_expect 0 "auto$i" "$coord" run "$HARNESS_TMP/auto$i.yaml" --local-workers 2 --run-id "auto$i"
    no_sanitizer_reports "auto$i"
    assert_eq key "$(split_of "auto$i")" "(d) $q: key split"
    assert_same_rows src "$q" tgt "SELECT * FROM d$i" "(d) $q: final == source"
    write_job "forced$i" "d$i" "$q"
    sed -i '/^  snapshot: shared$/a\  split: ctid' "$HARNESS_TMP/forced$i.yaml"
    run_expect 1 "forced$i" "$coord" run "$HARNESS_TMP/forced$i.yaml" --local-workers 1 --run-id "forced$i"
    no_sanitizer_reports "forced$i"
    assert_contains "$(output "forced$i")" "source.split: ctid: ${reasons[$i]}" "(d) $q: split: ctid refused"
    assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.runs WHERE run_id = 'forced$i'")" \
        "(d) $q: split: ctid refused before the run was recorded"
done

# --- (e) split: key, and split: ctid without the shared snapshot.
pg_psql tgt -c "CREATE TABLE e_key (LIKE accounts INCLUDING ALL)"
write_job bykey e_key "SELECT * FROM accounts ORDER BY acct_id"
sed -i '/^  snapshot: shared$/a\  split: key' "$HARNESS_TMP/bykey.yaml"
run_expect 0 bykey "$coord" run "$HARNESS_TMP/bykey.yaml" --local-workers 2 --run-id bykey
no_sanitizer_reports bykey
assert_eq key "$(split_of bykey)" "(e) split: key"
assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM e_key" "(e) split: key: final == source"
write_job nosnap e_key "SELECT * FROM accounts ORDER BY acct_id"
sed -i 's/^  snapshot: shared$/  snapshot: none\n  split: ctid/' "$HARNESS_TMP/nosnap.yaml"
run_expect 3 nosnap "$coord" run "$HARNESS_TMP/nosnap.yaml" --local-workers 1 --run-id nosnap
assert_contains "$(output nosnap)" "source.split: ctid needs source.snapshot: shared" "(e) ctid without the snapshot"
echo "coord_ctid: OK"
