#!/usr/bin/env bash
# tests/integration/worker_target_restart.sh: the target restarts in the
# middle of a chunk's COPY. The worker's transaction dies with it; the worker
# must notice, warn, back off, retry the whole chunk and commit it exactly
# once: staging equals the source row for row and the ledger has one row.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

worker=$(ferry_bin ferry-worker)
pg_start src
pg_start tgt

rows=200000
# ferry_slow sleeps on every 2000th key, so reading the whole table takes
# about 5 s and the COPY into the target is still streaming when we restart
# it. The table is clustered by id, so the ordered read is an index scan that
# streams rows while it sleeps.
pg_psql src <<EOF2
CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL, n int);
INSERT INTO big SELECT g, md5(g::text) || repeat('x', (g % 50)::int), g % 1000 FROM generate_series(1, $rows) g;
CREATE FUNCTION ferry_slow(k bigint) RETURNS boolean LANGUAGE plpgsql VOLATILE AS \$\$
BEGIN
  IF k % 2000 = 0 THEN PERFORM pg_sleep(0.05); END IF;
  RETURN true;
END \$\$;
VACUUM ANALYZE big;
EOF2
pg_psql tgt -c "CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL, n int)"
job="$HARNESS_TMP/job.yaml"
ferry_write_job "$job" src tgt public.big "SELECT id, payload, n FROM big WHERE ferry_slow(id) ORDER BY id" id

"$worker" --standalone --job "$job" --range : --run-id restart --chunk-id 1 \
    </dev/null >"$HARNESS_TMP/worker.out" 2>"$HARNESS_TMP/worker.err" &
worker_pid=$!
harness_on_exit "kill -KILL $worker_pid"

# copy_streaming: the worker's COPY is active on the target and has already
# stored rows (pg_stat_progress_copy), so the restart hits it mid-stream.
copy_streaming() {
    kill -0 "$worker_pid" 2>/dev/null || fail "worker exited (status $(wait "$worker_pid"; echo $?)) before its COPY was seen on the target:
$(tail -n 20 "$HARNESS_TMP/worker.err")"
    [[ "$(pg_psql tgt -Atc "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_progress_copy p USING (pid)
        WHERE a.state = 'active' AND a.query ILIKE 'COPY%' AND p.command = 'COPY FROM'
          AND p.tuples_processed > 5000" 2>/dev/null)" == 1 ]]
}
poll_until 60 "the worker's COPY to stream into the target" copy_streaming
pg_restart tgt

# The retry re-reads everything (~5 s more); give it ample time.
worker_alive() { kill -0 "$worker_pid" 2>/dev/null; }
deadline=$((SECONDS + 120))
while worker_alive; do
    [[ $SECONDS -lt $deadline ]] || fail "worker still running 120 s after the target restart:
$(tail -n 20 "$HARNESS_TMP/worker.err")"
    sleep 0.2
done
rc=0
wait "$worker_pid" || rc=$?
if [[ $rc -ne 0 ]]; then
    tail -n 40 "$HARNESS_TMP/worker.err" >&2
    fail "worker exited $rc after the target restart (expected 0: retried and committed)"
fi

err=$(cat "$HARNESS_TMP/worker.err")
assert_contains "$err" "retry" "worker stderr shows a retry warning"
assert_eq "1|$rows|1" "$(pg_psql tgt -Atc "SELECT count(*), max(rows), count(committed_at)
    FROM ferry.chunk_commits WHERE run_id = 'restart'")" "one ledger row with the full count"
assert_eq "$rows" "$(pg_psql tgt -Atc 'SELECT count(*) FROM ferry."stage_restart"')" "staging row count"
assert_same_rows src "SELECT id, payload, n FROM big" tgt 'SELECT id, payload, n FROM ferry."stage_restart"' \
    "staging == source after the restart"

echo "worker_target_restart: OK"
