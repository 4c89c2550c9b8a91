#!/usr/bin/env bash
# scripts/demo.sh: the newcomer's first real load, on a fresh Debian 12.
#
# Installs missing packages, builds ferry (release), starts a private
# PostgreSQL (a throwaway cluster under $TMPDIR, removed when the demo ends;
# never the system cluster), creates the reference workload (accounts,
# ROWS rows, default 1,000,000) in database `src`, an empty `accounts`
# table in database `tgt`, and runs ferry-coordinator with 3 local workers.
# Then it compares source and target and prints what it did.
#
#   ROWS=200000 scripts/demo.sh        a smaller table
#   KEEP=1 scripts/demo.sh             keep the cluster up until Enter
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
ROWS=${ROWS:-1000000}

step() { printf '\n== %s\n' "$*"; }

step "1/6 packages (scripts/bootstrap.sh)"
bash scripts/bootstrap.sh

step "2/6 build (release, build-release/)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
coord=$repo/build-release/coordinator/ferry-coordinator
echo "built $coord and build-release/worker/ferry-worker"

step "3/6 a private PostgreSQL cluster"
export FERRY_BIN_DIR=$repo/build-release
# shellcheck source=../tests/lib/pg.sh
source tests/lib/pg.sh
pg_start demo "shared_buffers = 256MB" "max_wal_size = 2GB"
pg_createdb demo src
pg_createdb demo tgt
echo "cluster in $demo_DIR, port $demo_PORT (removed when the demo ends)"

step "4/6 reference workload: $ROWS rows of accounts in database src"
db() { local d=$1; shift; "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -d "$(pg_dsn demo "$d")" "$@"; }
db src -v rows="$ROWS" -f "$repo/bench/workloads/accounts.sql" >/dev/null
db tgt -c "
  CREATE TABLE accounts (acct_id bigint PRIMARY KEY, customer_name text NOT NULL,
    email text, balance numeric(14,2), opened_at timestamptz, status char(1),
    branch_id int, notes text, tags jsonb)"

port=$((20000 + RANDOM % 40000))
job=$HARNESS_TMP/demo.yaml
cat > "$job" <<YAML
source:
  conninfo: "$(pg_dsn demo src)"
  query: "SELECT * FROM accounts ORDER BY acct_id"
target:
  conninfo: "$(pg_dsn demo tgt)"
  table: public.accounts
pipeline:
  chunk_size: 100000   # so that the 3 workers share a small demo table; default 50000
cluster:
  bind: "tcp://127.0.0.1:$port"
YAML
echo "job file:"; sed 's/^/    /' "$job"

step "5/6 ferry-coordinator plan + run with 3 local workers"
"$coord" plan "$job" | head -8
echo "    ..."
"$coord" run "$job" --local-workers 3 --report "$HARNESS_TMP/report.json"

step "6/6 check: source and target, row for row"
src_sum=$(db src -At -c "SELECT count(*), md5(string_agg(a::text, '|' ORDER BY acct_id)) FROM accounts a")
tgt_sum=$(db tgt -At -c "SELECT count(*), md5(string_agg(a::text, '|' ORDER BY acct_id)) FROM accounts a")
echo "source: $src_sum"
echo "target: $tgt_sum"
[[ "$src_sum" == "$tgt_sum" ]] || fail "source and target differ"
echo "identical. The JSON report was:"
sed 's/^/    /' "$HARNESS_TMP/report.json"
if [[ "${KEEP:-0}" == 1 ]]; then
  echo "cluster still up: psql \"$(pg_dsn demo tgt)\"; press Enter to stop and remove it"
  read -r _
fi
