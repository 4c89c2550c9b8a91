#!/usr/bin/env bash
# tests/faults/fault_resume_checks.sh: what `resume` must refuse or redo
# after the coordinator died (SIGKILL) with some chunks committed (issue 10).
#  (a) an edited job file: the query changed (one column replaced by
#      NULL). resume refuses it, naming source.query, and changes nothing;
#      resumed with the job file the run started with, it publishes the
#      source exactly (it used to exit 0 with rows of both queries mixed).
#  (b) the target crashed (immediate stop, crash recovery empties UNLOGGED
#      tables): the staged rows of the committed chunks are gone. resume
#      says so and loads those chunks again (all committed before the
#      restart); the run publishes the source exactly, each chunk committed
#      once (it used to fail at publish with a count mismatch).
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"
# shellcheck source=lib/faults.sh
source "$(dirname "$0")/lib/faults.sh"

faults_start 12000 100 0.1
pg_psql tgt -c "CREATE TABLE t_edit (LIKE t INCLUDING ALL); CREATE TABLE t_crash (LIKE t INCLUDING ALL)"
t0=$SECONDS
# (a) An edited job file.
job_a="$HARNESS_TMP/edit.yaml"
FAULT_SNAPSHOT=shared faults_job "$job_a" public.t_edit 1000
sed -i '/^  key: /a\  split: key' "$job_a"
kill_after_commits edit redit "$job_a"
committed_before=$N_BEFORE
cp "$job_a" "$HARNESS_TMP/edited.yaml"
sed -i "s|^  query: .*|  query: 'SELECT id, NULL::text AS name, amount, seen, attrs FROM t WHERE slow(id) ORDER BY id'|" \
    "$HARNESS_TMP/edited.yaml"
resume_run 1 resume_edited redit "$HARNESS_TMP/edited.yaml"
assert_said resume_edited \
    "run redit was started with another job file: source.query changed in $HARNESS_TMP/edited.yaml" \
    "(a) resume refuses an edited query, naming the key"
assert_said resume_edited \
    "Resume with the job file the run started with, or start a new run" "(a) what to do"
assert_eq "$committed_before" "$(committed redit)" "(a) the refused resume copied nothing"
resume_run 0 resume_edit redit "$job_a"
assert_final_is_source public.t_edit "(a) resumed with the original job"
assert_ledger_exact redit "$FAULT_ROWS" "(a) resumed with the original job"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM t_edit WHERE name IS NULL AND id % 7 <> 0")" \
    "(a) no row of the edited query"
echo "fault_resume_checks: (a) OK ($((SECONDS - t0)) s)"

# (b) The target crashes: UNLOGGED staging comes back empty.
job_b="$HARNESS_TMP/crash.yaml"
FAULT_SNAPSHOT=shared faults_job "$job_b" public.t_crash 1000
kill_after_commits crash rcrash "$job_b"
n_before=$N_BEFORE
planned=$PLANNED
pg_kill tgt
pg_restart tgt
assert_eq 0 "$(pg_psql tgt -Atc 'SELECT count(*) FROM ferry."stage_rcrash"')" \
    "(b) crash recovery emptied the UNLOGGED staging table"
resume_run 0 resume_crash rcrash "$job_b"
assert_said resume_crash \
    "run rcrash: staging ferry.\"stage_rcrash\" holds 0 rows but the ledger accounts for $((n_before * 1000)) committed rows: the staged rows of the $n_before chunk(s) committed before the target's restart at" \
    "(b) resume says the staged rows were lost"
assert_said resume_crash \
    "were lost with it (crash recovery empties UNLOGGED tables, and staging is one); loading those chunk(s) again" \
    "(b) resume loads them again"
assert_said resume_crash \
    "resuming run rcrash: 0 of $planned chunk(s) already committed, $planned to copy" \
    "(b) every chunk copied again"
assert_final_is_source public.t_crash "(b) target crashed, resumed"
assert_ledger_exact rcrash "$FAULT_ROWS" "(b) target crashed, resumed"
echo "fault_resume_checks: OK ($((SECONDS - t0)) s)"
