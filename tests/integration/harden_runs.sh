#!/usr/bin/env bash
# tests/integration/harden_runs.sh: the run-level holes found by
# adversarial testing (issue 10), each reproduced with real clusters and
# real ferry processes:
#  1. two publish: direct runs into one table without a unique key, the
#     second started while the first loads: the second is refused (the
#     first's claim on the table, naming its run), the first publishes, and
#     the table holds the source's rows once (it used to hold them twice);
#  12f. a second run on a cluster.bind port already in use fails before it
#     records anything: no ferry.runs row, no staging table left behind;
#  12c. a run whose local workers cannot be started (FERRY_WORKER_BIN not
#     executable) records the reason in ferry.runs.message and drops its
#     staging table (it used to leave message NULL and the table behind);
#  2. NULL merge keys in a merge run (ctid split, on_match update, a
#     nullable unique key) are refused at publish, naming the count;
#     nothing is published (a repeated run used to add them again);
#  4. the plan says which split it took and why (a plain scan: ctid,
#     resumable while the table is not written; a filtered query: key);
#  5. snapshot: none with more than one chunk warns at run time;
#  6. a CSV job without source.key or target.merge.key, publish: merge, is
#     refused before any data moves (exit 3; it used to load the whole file
#     and then fail to publish with "[42601] non-integer constant in GROUP
#     BY").
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

coord=$(ferry_bin ferry-coordinator)
ferry_bin ferry-worker >/dev/null
pg_start src
pg_start tgt

output() { cat "$HARNESS_TMP/$1.out" "$HARNESS_TMP/$1.err"; }
status_of() { pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$1'" 2>/dev/null || true; }

# 20,000 rows; a chunk's COPY sleeps 0.3 s every 1,000 keys, so a chunk
# of 5,000 rows takes about 1.5 s: long enough for a second run to start
# while the first has committed nothing.
pg_psql src <<'EOF2'
CREATE TABLE s (id bigint PRIMARY KEY, v text);
INSERT INTO s SELECT g, 'v' || g FROM generate_series(1, 20000) g;
CREATE FUNCTION slow(id bigint) RETURNS bool LANGUAGE plpgsql AS $f$
BEGIN
    IF id % 1000 = 0 AND current_query() LIKE 'COPY%' THEN PERFORM pg_sleep(0.3); END IF;
    RETURN true;
END $f$;
CREATE TABLE n (id bigint, v text);
INSERT INTO n SELECT CASE WHEN g % 100 = 0 THEN NULL ELSE g END, 'n' || g FROM generate_series(1, 3000) g;
ANALYZE s, n;
EOF2
pg_psql tgt <<'EOF2'
CREATE TABLE d (id bigint, v text);            -- no unique key
CREATE TABLE m (id bigint, v text);
CREATE UNIQUE INDEX m_id ON m (id);           -- nullable unique key
CREATE TABLE side (id bigint PRIMARY KEY, v text);
EOF2

port=$(free_port)
ferry_write_job "$HARNESS_TMP/a.yaml" src tgt public.d "SELECT * FROM s WHERE slow(id) ORDER BY id" id \
    "pipeline: { chunk_size: 5000, min_rows_for_parallel: 1000 }" \
    "cluster: { bind: 'tcp://127.0.0.1:$port', heartbeat_ms: 200, liveness: 10 }"
sed -i 's/^  snapshot: none$/  snapshot: shared/; /^  table: /a\  publish: direct' "$HARNESS_TMP/a.yaml"
cp "$HARNESS_TMP/a.yaml" "$HARNESS_TMP/b.yaml"
sed -i "s|127.0.0.1:$port|127.0.0.1:*|" "$HARNESS_TMP/b.yaml"

# --- 1 and 12f: run a loads d; b (direct into d) and c (merge, a's port)
#     start while a has committed nothing.
"$coord" run "$HARNESS_TMP/a.yaml" --local-workers 2 --run-id hr_a \
    >"$HARNESS_TMP/a.out" 2>"$HARNESS_TMP/a.err" &
a_pid=$!
harness_on_exit "kill $a_pid 2>/dev/null"
loading() { [[ "$(status_of hr_a)" == loading ]]; }
poll_until 30 "run hr_a to start loading" loading
commits_a=$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = 'hr_a'")
run_expect 1 b "$coord" run "$HARNESS_TMP/b.yaml" --local-workers 2 --run-id hr_b
[[ "$commits_a" == 0 ]] || echo "harden_runs: note: hr_a had $commits_a commit(s) when hr_b started"
assert_contains "$(output b)" "target.table public.d is being loaded by another direct run: run hr_a" \
    "1: the second direct run is refused, naming the first"
assert_contains "$(output b)" "this run is refused and changed nothing" "1: what the refusal means"
assert_eq "" "$(status_of hr_b)" "1: the refused run recorded nothing"

ferry_write_job "$HARNESS_TMP/c.yaml" src tgt public.side "SELECT * FROM s ORDER BY id" id \
    "cluster: { bind: 'tcp://127.0.0.1:$port' }"
run_expect 1 c "$coord" run "$HARNESS_TMP/c.yaml" --local-workers 1 --run-id hr_c
assert_contains "$(output c)" "cluster.bind: cannot bind tcp://127.0.0.1:$port" "12f: port in use"
assert_contains "$(output c)" "nothing was changed on the target" "12f: says nothing was created"
assert_eq "" "$(status_of hr_c)" "12f: no ferry.runs row for the run that could not bind"
assert_eq "" "$(pg_psql tgt -Atc "SELECT to_regclass('ferry.\"stage_hr_c\"')")" \
    "12f: no staging table left behind"

wait "$a_pid" && a_rc=0 || a_rc=$?
[[ $a_rc -eq 0 ]] || { tail -n 30 "$HARNESS_TMP/a.err" >&2; fail "1: run hr_a exited $a_rc"; }
assert_eq 20000 "$(pg_psql tgt -Atc "SELECT count(*) FROM d")" "1: d holds every source row once"
assert_same_rows src "SELECT * FROM s" tgt "SELECT * FROM d" "1: d == s"
no_sanitizer_reports a b c

# --- 12c: the workers cannot be started.
ferry_write_job "$HARNESS_TMP/w.yaml" src tgt public.side "SELECT * FROM s ORDER BY id" id \
    "cluster: { bind: 'tcp://127.0.0.1:*' }"
FERRY_WORKER_BIN=/nonexistent/ferry-worker run_expect 1 w "$coord" run "$HARNESS_TMP/w.yaml" \
    --local-workers 1 --run-id hr_w
assert_eq failed "$(status_of hr_w)" "12c: the run is recorded as failed"
assert_contains "$(pg_psql tgt -Atc "SELECT message FROM ferry.runs WHERE run_id = 'hr_w'")" \
    "FERRY_WORKER_BIN=/nonexistent/ferry-worker: not an executable file" \
    "12c: ferry.runs.message names the cause"
assert_contains "$(pg_psql tgt -Atc "SELECT report->>'message' FROM ferry.runs WHERE run_id = 'hr_w'")" \
    "not an executable file" "12c: the report names the cause"
assert_eq "" "$(pg_psql tgt -Atc "SELECT to_regclass('ferry.\"stage_hr_w\"')")" \
    "12c: the staging table of a run that loaded nothing is dropped"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunks WHERE run_id = 'hr_w'")" \
    "12c: its plan is dropped too"
no_sanitizer_reports w

# --- 2: NULL merge keys (ctid split: a plain scan of n).
ferry_write_job "$HARNESS_TMP/n.yaml" src tgt public.m "SELECT id, v FROM n" id \
    "pipeline: { chunk_size: 1000, min_rows_for_parallel: 100 }" \
    "cluster: { bind: 'tcp://127.0.0.1:*' }"
sed -i 's/^  snapshot: none$/  snapshot: shared/' "$HARNESS_TMP/n.yaml"
run_expect 1 n "$coord" run "$HARNESS_TMP/n.yaml" --local-workers 1 --run-id hr_n
assert_contains "$(output n)" "splitting public.n by heap block (ctid)" "2: the ctid split"
assert_contains "$(output n)" "30 source row(s) have a NULL merge key (\"id\"): a NULL key never matches" \
    "2: NULL merge keys refused at publish"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM m")" "2: nothing published"
no_sanitizer_reports n

# --- 4: the plan names the split and why.
run_expect 0 plan_n "$coord" plan "$HARNESS_TMP/n.yaml"
assert_contains "$(output plan_n)" "split: ctid (source.split: auto: a plain scan of one table; resumable while nobody inserts or updates its rows, else set source.split: key)" \
    "4: the plan says ctid and why"
run_expect 0 plan_a "$coord" plan "$HARNESS_TMP/a.yaml"
assert_contains "$(output plan_a)" "split: key (source.split: auto: the query is not a plain scan of one table" \
    "4: the plan says key and why"

# --- 5: snapshot none with several chunks.
pg_psql tgt -c "TRUNCATE side"
ferry_write_job "$HARNESS_TMP/none.yaml" src tgt public.side "SELECT * FROM s ORDER BY id" id \
    "pipeline: { chunk_size: 5000, min_rows_for_parallel: 1000 }" \
    "cluster: { bind: 'tcp://127.0.0.1:*' }"
run_expect 0 none "$coord" run "$HARNESS_TMP/none.yaml" --local-workers 1 --run-id hr_none
assert_contains "$(output none)" "WARN: source.snapshot is none and the plan has 4 chunks: each chunk reads its own snapshot" \
    "5: snapshot none warns"
assert_same_rows src "SELECT * FROM s" tgt "SELECT * FROM side" "5: side == s"
no_sanitizer_reports none

# --- 6: a CSV merge job with no key at all.
printf 'id,v\n1,a\n2,b\n' >"$HARNESS_TMP/k.csv"
cat >"$HARNESS_TMP/k.yaml" <<EOF2
source:
  kind: csv
  path: '$HARNESS_TMP/k.csv'
  format: { header: true }
target:
  conninfo: '$(pg_dsn tgt)'
  table: public.side
cluster: { bind: 'tcp://127.0.0.1:*' }
EOF2
run_expect 3 k "$coord" run "$HARNESS_TMP/k.yaml" --local-workers 1 --run-id hr_k
assert_contains "$(output k)" "target.merge.key: required for publish: merge when source.key is not set" \
    "6: a merge without a key is refused before any data moves"
assert_eq "" "$(status_of hr_k)" "6: nothing recorded"
echo "harden_runs: OK"
