#!/usr/bin/env bash
# tests/integration/harness_selftest.sh: checks the cluster harness itself
# (tests/lib/pg.sh): two clusters are distinct and reachable, a restart
# keeps port and data, the exit trap stops clusters and removes their dirs
# even when the shell fails, and harness_on_exit commands run.
source "$(dirname "$0")/../lib/pg.sh"

t0=$SECONDS
pg_start one
pg_start two "work_mem = 8MB"
echo "two clusters started in $((SECONDS - t0)) s"

[[ "$one_PORT" != "$two_PORT" ]] || fail "both clusters got port $one_PORT"
[[ "$one_DIR" != "$two_DIR" ]] || fail "both clusters got dir $one_DIR"
assert_eq "host=127.0.0.1 port=$one_PORT user=postgres dbname=postgres" "$one_DSN" "one_DSN"
assert_eq "$one_PORT" "$(pg_psql one -Atc 'SHOW port')" "cluster one answers on its port"
assert_eq "$two_PORT" "$(pg_psql two -Atc 'SHOW port')" "cluster two answers on its port"
assert_eq "8MB" "$(pg_psql two -Atc 'SHOW work_mem')" "extra conf line applied"
assert_eq "off" "$(pg_psql one -Atc 'SHOW fsync')" "fsync off"
assert_eq "UTF8" "$(pg_psql one -Atc 'SHOW server_encoding')" "encoding"
assert_eq "C" "$(pg_psql one -Atc 'SHOW lc_collate')" "locale"

# Distinct: a table made in one is not in two.
pg_psql one -c "CREATE TABLE only_here (id int); INSERT INTO only_here SELECT generate_series(1, 10)"
assert_eq "0" "$(pg_psql two -Atc "SELECT count(*) FROM pg_class WHERE relname = 'only_here'")" "clusters are distinct"
# Postmaster runs as postgres, not root.
pid=$(head -n 1 "$one_DIR/postmaster.pid")
assert_eq "postgres" "$(ps -o user= -p "$pid" | tr -d ' ')" "postmaster owner"

# Restart keeps port and data; the old backend connection is gone.
old_start=$(pg_psql one -Atc 'SELECT pg_postmaster_start_time()')
pg_restart one
assert_eq "10" "$(pg_psql one -Atc 'SELECT count(*) FROM only_here')" "data survives restart"
[[ "$(pg_psql one -Atc 'SELECT pg_postmaster_start_time()')" != "$old_start" ]] || fail "restart did not restart"

# Kill then restart brings it back (crash recovery).
pg_kill one
if pg_psql one -Atc 'SELECT 1' >/dev/null 2>&1; then fail "cluster one still answers after pg_kill"; fi
pg_restart one
assert_eq "10" "$(pg_psql one -Atc 'SELECT count(*) FROM only_here')" "data survives kill + restart"

pg_createdb two otherdb
assert_eq "otherdb" "$(psql_out=$("$(pg_bindir)/psql" -X -Atc 'SELECT current_database()' -d "$(pg_dsn two otherdb)"); echo "$psql_out")" "pg_createdb + pg_dsn"

# Assertions: identical rows pass, different rows fail, empty fails.
assert_same_rows one "SELECT id FROM only_here" one "SELECT * FROM generate_series(1, 10)" "same rows"
if (assert_same_rows one "SELECT id FROM only_here" one "SELECT * FROM generate_series(1, 11)" "x") 2>/dev/null; then
    fail "assert_same_rows accepted different rows"
fi
if (assert_same_rows one "SELECT 1 WHERE false" two "SELECT 1 WHERE false" "x") 2>/dev/null; then
    fail "assert_same_rows accepted two empty sets"
fi
assert_same_rows --allow-empty one "SELECT 1 WHERE false" two "SELECT 1 WHERE false" "empty allowed"
if (assert_eq a b x) 2>/dev/null; then fail "assert_eq a b passed"; fi
if (assert_contains "hello world" planet x) 2>/dev/null; then fail "assert_contains passed"; fi
assert_contains "hello world" "o w" "assert_contains"
if (dump_sorted one "SELECT nonsense FROM nowhere") >/dev/null 2>&1; then fail "dump_sorted hid a failing query"; fi

# The trap: a subshell starts a cluster, registers a cleanup command and
# fails. Its dir must be gone and its postmaster dead; ours must survive.
marker="$HARNESS_TMP/on_exit_ran"
rc=0
(
    pg_start doomed
    echo "$doomed_DIR" >"$HARNESS_TMP/doomed_dir"
    head -n 1 "$doomed_DIR/postmaster.pid" >"$HARNESS_TMP/doomed_pid"
    harness_on_exit "touch '$marker'"
    exit 3
) || rc=$?
assert_eq 3 "$rc" "failing subshell exit status preserved by the trap"
doomed_dir=$(cat "$HARNESS_TMP/doomed_dir")
doomed_pid=$(cat "$HARNESS_TMP/doomed_pid")
[[ ! -e "$doomed_dir" ]] || fail "trap left $doomed_dir behind"
# (A zombie awaiting init's reaping is dead enough.)
if [[ "$(ps -o stat=,comm= -p "$doomed_pid" 2>/dev/null)" =~ ^[^Z]+\ postgres$ ]]; then
    fail "trap left postmaster $doomed_pid running"
fi
[[ -e "$marker" ]] || fail "harness_on_exit command did not run"
# The parent's clusters are untouched by the subshell's trap.
assert_eq "1" "$(pg_psql one -Atc 'SELECT 1')" "cluster one alive after subshell cleanup"
[[ -d "$two_DIR" ]] || fail "subshell trap removed the parent's cluster"

# A shell killed by SIGTERM also cleans up. (The child waits with `wait`,
# which a trapped signal interrupts; its sleep holds none of our fds.)
child='source "$1"; pg_start c; echo "$HARNESS_TMP" >"$2.tmp"; echo "$c_DIR" >"$2"; sleep 60 </dev/null >/dev/null 2>&1 & echo $! >"$2.sleep"; wait'
harness_on_exit 'kill $(cat "$HARNESS_TMP"/*.sleep 2>/dev/null) 2>/dev/null'
bash -c "$child" _ "$(dirname "$0")/../lib/pg.sh" "$HARNESS_TMP/sig_dir" &
sig_shell=$!
poll_until 120 "the SIGTERM child to start its cluster" test -s "$HARNESS_TMP/sig_dir"
kill -TERM "$sig_shell"
rc=0
wait "$sig_shell" || rc=$?
assert_eq 143 "$rc" "SIGTERM exit status"
[[ ! -e "$(cat "$HARNESS_TMP/sig_dir")" ]] || fail "SIGTERM left $(cat "$HARNESS_TMP/sig_dir") behind"
[[ ! -e "$(cat "$HARNESS_TMP/sig_dir.tmp")" ]] || fail "SIGTERM left $(cat "$HARNESS_TMP/sig_dir.tmp") behind"

# A shell killed by SIGKILL runs no trap: the watchdog cleans up.
bash -c "$child" _ "$(dirname "$0")/../lib/pg.sh" "$HARNESS_TMP/kil_dir" &
kil_shell=$!
disown "$kil_shell" # no "Killed" job report
poll_until 120 "the SIGKILL child to start its cluster" test -s "$HARNESS_TMP/kil_dir"
kill -KILL "$kil_shell"
kil_dir=$(cat "$HARNESS_TMP/kil_dir")
poll_until 90 "the watchdog to remove $kil_dir" test ! -e "$kil_dir"
kil_tmp=$(cat "$HARNESS_TMP/kil_dir.tmp")
poll_until 90 "the watchdog to remove $kil_tmp" test ! -e "$kil_tmp"

echo "harness_selftest: OK"
