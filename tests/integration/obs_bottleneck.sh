#!/usr/bin/env bash
# tests/integration/obs_bottleneck.sh: the end summary names, per worker,
# the stage that bounded it, with the stages' busy times (issue 13).
#   1. Processors made slow on purpose (FERRY_TEST_SLOW_PROCESS_MS, one
#      processor): the summary says "process", and the monitor logs the
#      guides' diagnosis (raw queue over 80% full: processors too slow).
#   2. A target whose trigger sleeps per row on a small table: the
#      summary says "write/commit".
# Both runs publish every row.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck disable=SC2154 # src_*/tgt_* are exported by pg_start

coord=$(ferry_bin ferry-coordinator)
pg_start src
pg_start tgt
pg_psql src <<'EOF'
CREATE TABLE big (id bigint PRIMARY KEY, v text);
INSERT INTO big SELECT g, repeat('v', 40) || g FROM generate_series(1, 20000) g;
CREATE TABLE small (id bigint PRIMARY KEY, v text);
INSERT INTO small SELECT g, 'r' || g FROM generate_series(1, 400) g;
EOF
pg_psql tgt <<'EOF'
CREATE TABLE big (id bigint PRIMARY KEY, v text);
CREATE TABLE small (id bigint PRIMARY KEY, v text);
EOF

# 1. Slow processors: one per chunk, 60 ms more per batch.
job="$HARNESS_TMP/slowproc.yaml"
ferry_write_job "$job" src tgt public.big "SELECT * FROM big ORDER BY id" id \
    "pipeline: { chunk_size: 10000, min_rows_for_parallel: 1000, processors: 1, raw_queue_max: 4, read_buffer: 4096 }" \
    "cluster: { bind: 'tcp://127.0.0.1:$(free_port)' }"
FERRY_TEST_SLOW_PROCESS_MS=60 run_expect 0 slowproc "$coord" run "$job" --local-workers 1 --slots 2 \
    --run-id slowproc
out=$(cat "$HARNESS_TMP/slowproc.out")
grep -E '^  bottleneck ' <<<"$out" || true
grep -qE '^  bottleneck +local-1: process \(stage busy time: read [0-9.]+ s, process [0-9.]+ s over 1 processor\(s\), write [0-9.]+ s, commit [0-9.]+ s\)$' <<<"$out" \
    || fail "slow processors: the summary does not name the process stage: $(grep -E 'bottleneck' <<<"$out")"
assert_contains "$(cat "$HARNESS_TMP/slowproc.err")" \
    "bottleneck on worker local-1: raw queue over 80% full: the processors are too slow" \
    "slow processors: the monitor's WARN line"
assert_same_rows src "SELECT * FROM big" tgt "SELECT * FROM big" "slow processors: final == source"

# 2. A slow target: a trigger that sleeps 10 ms per row.
pg_psql tgt <<'EOF'
CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$;
EOF
job="$HARNESS_TMP/slowtgt.yaml"
ferry_write_job "$job" src tgt public.small "SELECT * FROM small ORDER BY id" id \
    "target: { publish: direct }" \
    "cluster: { bind: 'tcp://127.0.0.1:$(free_port)' }"
# direct publish COPYs into small itself: the trigger runs for every row.
sed -i '/^target:$/,/^retry:/{/^  table:/a\  publish: direct
}' "$job"
sed -i '/^target: { publish: direct }$/d' "$job"
pg_psql tgt -c "CREATE TRIGGER slow BEFORE INSERT ON small FOR EACH ROW EXECUTE FUNCTION slow_row()"
run_expect 0 slowtgt "$coord" run "$job" --local-workers 1 --slots 1 --run-id slowtgt
out=$(cat "$HARNESS_TMP/slowtgt.out")
grep -E '^  bottleneck ' <<<"$out" || true
grep -qE '^  bottleneck +local-1: write/commit \(stage busy time: read [0-9.]+ s, process [0-9.]+ s over [0-9]+ processor\(s\), write [0-9.]+ s, commit [0-9.]+ s\)$' <<<"$out" \
    || fail "slow target: the summary does not name write/commit: $(grep -E 'bottleneck' <<<"$out")"
assert_same_rows src "SELECT * FROM small" tgt "SELECT * FROM small" "slow target: final == source"
no_sanitizer_reports slowproc slowtgt
echo "obs_bottleneck: ok"
