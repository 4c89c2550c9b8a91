#!/usr/bin/env bash
# tests/faults/fault_backup.sh: a slow chunk at the tail gets a backup
# attempt (pipeline.backups, coordinator/straggler.h). Two local workers
# with one slot each, concurrency pinned at 2, 10 chunks; the test-only
# hook FERRY_FAULT_STALL_CHUNK=3 freezes attempt 1 of chunk 3 (it keeps
# heartbeating and sending PROGRESS), and cluster.chunk_stall_timeout is
# 120 s, so the stall guard does not move it: a slow chunk, not a stuck
# one. Once every other chunk is done and attempt 1 has run 5 s, the
# coordinator must start a backup attempt 2 on the other worker, which
# commits; attempt 1 is cancelled (CANCEL) and rolls back. The run
# publishes every source row once, chunk 3's ledger row is attempt 2 on
# the other worker, the report counts one backup, won, and no retry.
# Then a group (group_rows 6000) whose lead is frozen: backed up whole.
# Then the same with publish: direct: no backup (two attempts on the final
# table would meet on its unique index); the stall guard (3 s) moves the
# chunk instead.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

# 10 chunks of 2000 rows; slow(id) never sleeps.
faults_start 20000 1000000000 0 2000
faults_job_edit "$job" 's/liveness: 5 }/liveness: 5, chunk_stall_timeout: 120 }/' \
    "chunk_stall_timeout: 120" "set cluster.chunk_stall_timeout"
faults_job_edit "$job" 's/group_rows: 0 }/group_rows: 0, concurrency: 2 }/' \
    "concurrency: 2" "pin pipeline.concurrency"
run=backup
t0=$SECONDS
FERRY_FAULT_STALL_CHUNK=3 start_coordinator coord run "$job" --run-id "$run" \
    --local-workers 2 --slots 1 --report "$HARNESS_TMP/report.json"
# Without backups the run would wait for the 120 s stall guard.
wait_rc "$COORD_PID" 90 "coordinator with a slow chunk"
wait_rc_ok "coordinator exited $WAIT_RC (expected 0)" "$HARNESS_TMP/coord.out" "$HARNESS_TMP/coord.err"
assert_clean_stderr "$HARNESS_TMP/coord.err"
no_sanitizer_reports coord
err=$(cat "$HARNESS_TMP/coord.err")
assert_contains "$err" "FERRY_FAULT_STALL_CHUNK: freezing chunk 3 attempt 1" "the hook froze chunk 3"
line=$(grep -E "chunk 3: attempt 1 on local-[12] has run [0-9.]+ s \(0 of ~2000 rows, no rows yet\) while that takes ~[0-9.]+ s here: backup attempt 2 on local-[12]; the first to commit counts, the other is cancelled" \
    "$HARNESS_TMP/coord.err") || { show_tail "$HARNESS_TMP/coord.err"; fail "no backup attempt for chunk 3"; }
slow=$(grep -oE "attempt 1 on local-[12]" <<<"$line" | grep -oE "local-[12]")
fast=$(grep -oE "backup attempt 2 on local-[12]" <<<"$line" | grep -oE "local-[12]")
[[ $slow != "$fast" ]] || fail "the backup ran on the slow worker ($slow)"
assert_contains "$err" "chunk 3: attempt 2 committed it (the backup); cancelling attempt 1 on $slow" \
    "the coordinator cancels the slow attempt"
assert_contains "$err" "chunk 3 attempt 1: cancelled by the coordinator (another attempt committed the chunk); rolling back" \
    "the worker rolls the slow attempt back"
if grep -q "stalled: no progress" "$HARNESS_TMP/coord.err"; then
    fail "the stall guard moved a chunk (the backup should have ended the wait)"
fi
assert_published "$run" public.t "after a backup attempt" "run status"
assert_eq "2|$fast" "$(pg_psql tgt -Atc "SELECT attempt || '|' || worker FROM ferry.chunk_commits
    WHERE run_id = '$run' AND chunk_id = 3")" "chunk 3 committed by the backup"
assert_contains "$(cat "$HARNESS_TMP/coord.out")" \
    "backups         1 slow attempt(s) backed up at the tail, 1 won by the backup" "the summary counts the backup"
assert_eq "1 1 0" "$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(r["backups"]["started"], r["backups"]["won"], r["chunks_retried"])' "$HARNESS_TMP/report.json")" \
    "report: backups started, won; chunks retried"

# A group: chunks of 2000 rows go out 3 at a time (group_rows 6000); chunk
# 0 leads the first group and is frozen. The group is backed up whole and
# its lead's CANCEL ends the frozen COPY.
pg_psql tgt -c "TRUNCATE t"
faults_job_edit "$job" 's/group_rows: 0, concurrency: 2 }/group_rows: 6000, concurrency: 2 }/' \
    "group_rows: 6000" "set pipeline.group_rows"
FERRY_FAULT_STALL_CHUNK=0 start_coordinator group run "$job" --run-id backup_group \
    --local-workers 2 --slots 1 --report "$HARNESS_TMP/group.json"
wait_rc "$COORD_PID" 90 "coordinator with a slow group"
wait_rc_ok "group run exited $WAIT_RC (expected 0)" "$HARNESS_TMP/group.out" "$HARNESS_TMP/group.err"
no_sanitizer_reports group
line=$(grep -E "chunks 0-([0-9]+) \(a group\): attempt 1 on local-[12] has run [0-9.]+ s .* backup attempt 2 on local-[12]" \
    "$HARNESS_TMP/group.err") || { show_tail "$HARNESS_TMP/group.err"; fail "no backup attempt for the frozen group"; }
last=$(sed -E 's/.*chunks 0-([0-9]+) \(a group\).*/\1/' <<<"$line")
gfast=$(grep -oE "backup attempt 2 on local-[12]" <<<"$line" | grep -oE "local-[12]")
assert_contains "$(cat "$HARNESS_TMP/group.err")" "chunk 0: attempt 2 committed it (the backup); cancelling attempt 1 on" \
    "the frozen group is cancelled by its lead"
assert_published backup_group public.t "after a group's backup" "group run status"
assert_eq "$((last + 1))|2|$gfast" "$(pg_psql tgt -Atc "SELECT count(*), min(attempt) || '|' || max(worker)
    FROM ferry.chunk_commits WHERE run_id = 'backup_group' AND chunk_id <= $last AND attempt = 2")" \
    "every chunk of the group committed by the backup"
assert_eq "1 1" "$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(r["backups"]["started"], r["backups"]["won"])' "$HARNESS_TMP/group.json")" \
    "report: one backup (the group), won"

# publish: direct: no backup, the stall guard instead.
pg_psql tgt -c "TRUNCATE t"
faults_job_edit "$job" 's/chunk_stall_timeout: 120 }/chunk_stall_timeout: 3 }/' \
    "chunk_stall_timeout: 3" "shorten cluster.chunk_stall_timeout"
sed -i '/^  table: /a\  publish: direct' "$job"
FERRY_FAULT_STALL_CHUNK=3 start_coordinator direct run "$job" --run-id backup_direct \
    --local-workers 2 --slots 1
wait_rc "$COORD_PID" 90 "direct run with a slow chunk"
wait_rc_ok "direct run exited $WAIT_RC (expected 0)" "$HARNESS_TMP/direct.out" "$HARNESS_TMP/direct.err"
no_sanitizer_reports direct
if grep -q "backup attempt" "$HARNESS_TMP/direct.err"; then
    fail "a direct run started a backup attempt"
fi
assert_contains "$(cat "$HARNESS_TMP/direct.err")" "chunk 3 stalled: no progress" "direct: the stall guard moved chunk 3"
assert_published backup_direct public.t "direct, after a stalled chunk" "direct run status"
echo "fault_backup: OK ($((SECONDS - t0)) s)"
