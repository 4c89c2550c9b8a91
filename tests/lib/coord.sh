# tests/lib/coord.sh: the preamble the coordinator tests share, on top of
# tests/lib/pg.sh (which it sources): the binaries, python3, the two
# clusters, the reference workload, and the queries the tune tests compare
# before and after. Sourced by a test:
#
#   # shellcheck source=../lib/coord.sh
#   source "$(dirname "$0")/../lib/coord.sh"
#   coord_setup                      # or: coord_setup "max_connections = 8"
#   coord_accounts 40000
#   coord_job "$HARNESS_TMP/job.yaml" public.accounts \
#       "SELECT * FROM accounts ORDER BY acct_id" acct_id "chunk_size: 10000"
#
# shellcheck source=pg.sh
source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"

# The reference workload (the vendored copy of shared/workloads/accounts.sql
# in bench/workloads; psql -v rows=N).
COORD_WORKLOAD=${COORD_WORKLOAD:-$FERRY_SOURCE_DIR/bench/workloads/accounts.sql}

# coord_setup [TGT_SETTING...]: coord (the ferry-coordinator binary), the
# worker built (local workers find it), py (the system python3 when there
# is one: a version-manager shim in front of it, pyenv, costs about a
# second a call on a loaded machine), and the clusters src and tgt started
# (tgt with the postgresql.conf settings given).
coord_setup() {
    coord=$(ferry_bin ferry-coordinator)
    ferry_bin ferry-worker >/dev/null
    py=/usr/bin/python3
    [[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to read JSON)"
    pg_start src
    pg_start tgt "$@"
}

# coord_accounts ROWS: the workload's accounts table with ROWS rows in src,
# and the same definition (PRIMARY KEY included), empty, in tgt.
coord_accounts() {
    pg_psql src -v rows="$1" -f "$COORD_WORKLOAD" >/dev/null
    pg_psql tgt -v rows=0 -f "$COORD_WORKLOAD" >/dev/null
}

# coord_job FILE TABLE QUERY KEY PIPELINE [YAML_LINE...]: a job file from
# src to tgt's TABLE (ferry_write_job), with `pipeline: { PIPELINE }` (none
# when empty), the cluster bound to 'tcp://127.0.0.1:*' with a 200 ms
# heartbeat and liveness 10, then the YAML_LINEs.
coord_job() {
    local file="$1" table="$2" query="$3" key="$4" pipeline="$5"
    shift 5
    ferry_write_job "$file" src tgt "$table" "$query" "$key" \
        ${pipeline:+"pipeline: { $pipeline }"} \
        "cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200, liveness: 10 }" "$@"
}

# coord_names ROWS: a small table t (id int PRIMARY KEY, name text) with
# ROWS rows ('name-' || id) in src, analyzed.
coord_names() {
    pg_psql src -c "CREATE TABLE t (id int PRIMARY KEY, name text)" \
        -c "INSERT INTO t SELECT g, 'name-' || g FROM generate_series(1, $1) g" -c "ANALYZE t"
}

# coord_final_sum: the rows of tgt's accounts as "count md5".
coord_final_sum() {
    pg_psql tgt -At -c "SELECT count(*) || ' ' || md5(string_agg(a::text, ',' ORDER BY acct_id)) FROM accounts a"
}
# coord_published: tgt's published runs (kind 'run'), one string.
coord_published() {
    pg_psql tgt -At -c "SELECT string_agg(run_id || ' ' || status || ' ' || finished_at || ' ' || md5(report::text), ';' ORDER BY run_id) FROM ferry.runs WHERE kind = 'run'"
}
# coord_tune_scratch: how many scratch tables (ferry.tune_*) tune left.
coord_tune_scratch() {
    pg_psql tgt -At -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'ferry' AND tablename LIKE 'tune\\_%'"
}
