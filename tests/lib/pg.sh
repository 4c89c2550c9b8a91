# tests/lib/pg.sh: throwaway PostgreSQL clusters and assertions for the
# integration scenarios (bash; `source` it, do not execute it).
#
# Each scenario starts its own clusters (initdb + pg_ctl in a fresh temp dir
# on a free TCP port), runs real ferry processes against them and compares
# rows. Everything a scenario starts is torn down when its shell exits,
# whether it passes, fails, or is interrupted. PostgreSQL missing is a
# failure that names what is missing, never a skip (STYLE.md section 7).
#
# Sourcing this file turns on `set -euo pipefail` and installs EXIT, INT and
# TERM traps in the sourcing shell. Do NOT set your own `trap ... EXIT`
# afterwards (it would replace the harness's); register extra cleanup with
# harness_on_exit instead.
#
# Clusters
#   pg_start NAME [CONF_LINE...]
#       initdb (-N, --auth=trust, -U postgres, -E UTF8, --locale=C) into a
#       fresh dir under ${TMPDIR:-/tmp}; as root, initdb and pg_ctl run as the
#       unprivileged `postgres` user through runuser (the dir is chowned to
#       it). Picks a random free port in 10000 up to the kernel's ephemeral
#       range (32767 by default; another port is tried
#       when the server fails to bind), listens on 127.0.0.1 only, puts its
#       unix socket in the same dir, uses fast-but-unsafe settings (fsync,
#       synchronous_commit, full_page_writes off; shared_buffers 64MB;
#       max_connections 60) followed by the CONF_LINEs ("key = value"), and
#       starts with pg_ctl -w. Exports NAME_PORT, NAME_DIR (the data
#       directory, also the socket dir; server log is NAME_DIR/server.log)
#       and NAME_DSN ("host=127.0.0.1 port=P user=postgres dbname=postgres").
#       NAME must be a shell identifier. Fails (exit 1, "FAIL: ...") when the
#       PostgreSQL binaries are missing or the server does not start.
#       Takes about 1-1.5 s.
#   pg_stop NAME       pg_ctl stop -m fast -w (dir kept until exit).
#   pg_restart NAME    pg_ctl restart -m fast -w (same port and dir). Also
#                      brings back a cluster stopped by pg_stop or pg_kill.
#   pg_kill NAME       pg_ctl stop -m immediate: crash-like, no checkpoint.
#   pg_psql NAME [ARG...]
#                      psql -X -q -v ON_ERROR_STOP=1 on NAME's DSN; the ARGs
#                      follow (-c SQL, -f FILE, -At, ...). Returns psql's
#                      status.
#   pg_createdb NAME DB  CREATE DATABASE DB on cluster NAME.
#   pg_dsn NAME [DB]   echoes NAME's DSN, optionally for database DB.
#   pg_bindir          echoes the PostgreSQL bin dir in use (PG_BINDIR
#                      overrides; default /usr/lib/postgresql/15/bin).
#
# Cleanup
#   harness_on_exit CMD...
#       Registers CMD (joined with spaces, run through eval) to run at exit
#       before the clusters are stopped; commands run last-registered first
#       and a failing command does not stop the others. The exit status of
#       the scenario is preserved. Example: harness_on_exit "kill $pid".
#   At EXIT (and on INT/TERM, which exit 130/143) the trap runs the
#   registered commands, stops every cluster this shell started
#   (pg_ctl stop -m immediate) and removes their dirs and HARNESS_TMP.
#   A subshell that calls pg_start gets its own trap and cleans up only its
#   own clusters. A watchdog process per cluster (and one for HARNESS_TMP)
#   also stops it and removes its dir if the owning shell dies without
#   running its trap (SIGKILL, e.g. a ctest timeout).
#   HARNESS_TMP        a scratch dir for job files and outputs, removed at
#                      exit.
#
# Assertions and helpers (each `fail`s, i.e. exits 1, on mismatch)
#   fail MSG                     prints "FAIL: MSG" to stderr, exit 1.
#   assert_eq EXPECTED ACTUAL MSG
#   assert_contains HAYSTACK NEEDLE MSG
#   dump_sorted NAME SQL         COPY (SQL) TO STDOUT on NAME, sorted with
#                                LC_ALL=C sort; fails when psql fails.
#   assert_same_rows [--allow-empty] NAME1 SQL1 NAME2 SQL2 MSG
#                                the two sorted dumps must be identical (on
#                                mismatch: row counts and the first 20 diff
#                                lines); both must be non-empty unless
#                                --allow-empty is given.
#   poll_until SECONDS WHAT CMD...
#                                runs CMD every 0.1 s until it succeeds;
#                                fails with "timed out after SECONDS s
#                                waiting for WHAT" otherwise.
#   run_capture TAG CMD...       runs CMD with stdout in $HARNESS_TMP/TAG.out
#                                and stderr in $HARNESS_TMP/TAG.err; sets
#                                RUN_RC to its exit status; never fails.
#   run_expect RC TAG CMD...     run_capture, then fails (showing the tail of
#                                both outputs) unless the exit status is RC.
#   ferry_bin NAME               echoes the path of a built binary
#                                (ferry-worker -> $FERRY_BIN_DIR/worker/
#                                ferry-worker, ferry-coordinator -> .../
#                                coordinator/...); fails when it is not
#                                built. FERRY_BIN_DIR is set by ctest and
#                                defaults to $FERRY_SOURCE_DIR/build.
#   ferry_write_job FILE SRC TGT TABLE QUERY KEY [YAML_LINE...]
#                                writes a job file: source SRC's DSN, QUERY
#                                and KEY (snapshot: none), target TGT's DSN
#                                and TABLE, a quick retry section (5 retries,
#                                0.2 s doubling to 2 s), then the YAML_LINEs.
#   no_sanitizer_reports TAG...  the stderr of each run TAG ($HARNESS_TMP/
#                                TAG.err: a coordinator and the local
#                                workers it started, which share it) holds
#                                no ASan/LSan/UBSan report and no local
#                                worker that died.
#   assert_clean_stderr FILE...  no ASan/LSan/UBSan report in any of the
#                                files (for processes started without
#                                run_capture; a missing file is clean).
#   exited PID                   PID is gone (a CMD for poll_until).
#   ferry_run_job TAG JOB RC     ferry-coordinator run JOB --local-workers 2
#                                as run TAG (--run-id TAG, --report
#                                $HARNESS_TMP/TAG.json), run_expect RC, then
#                                no_sanitizer_reports TAG. Sets RUN=TAG. A
#                                job whose workers are all local binds
#                                'tcp://127.0.0.1:*' (no port to race for).
#   free_port                    echoes a TCP port nobody listens on now
#                                (for a coordinator that external workers
#                                must find; another process may still take
#                                it first).

set -euo pipefail

if [[ -n "${_PG_HARNESS_LOADED:-}" && "${_PG_HARNESS_OWNER:-}" == "$BASHPID" ]]; then
    return 0
fi
_PG_HARNESS_LOADED=1

FERRY_SOURCE_DIR="${FERRY_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
FERRY_BIN_DIR="${FERRY_BIN_DIR:-$FERRY_SOURCE_DIR/build}"
export FERRY_SOURCE_DIR FERRY_BIN_DIR

# Per-shell state. Entries carry the pid of the shell that owns them, so a
# subshell (which inherits these arrays) never tears down its parent's work.
_PG_CLUSTERS=()        # "owner_pid name dir"
_PG_EXIT_CMDS=()       # "owner_pid cmd"
_PG_HARNESS_OWNER=""   # pid of the shell whose traps are ours

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

assert_eq() {
    local expected="$1" actual="$2" msg="${3:-values differ}"
    if [[ "$expected" != "$actual" ]]; then
        fail "$msg: expected '$expected', got '$actual'"
    fi
}

assert_contains() {
    local haystack="$1" needle="$2" msg="${3:-string not found}"
    if [[ "$haystack" != *"$needle"* ]]; then
        fail "$msg: '$needle' not found in: $(printf '%s' "$haystack" | head -c 2000)"
    fi
}

pg_bindir() {
    local d
    if [[ -n "${PG_BINDIR:-}" ]]; then
        echo "$PG_BINDIR"
        return 0
    fi
    for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        if [[ -x "$d/initdb" ]]; then
            echo "$d"
            return 0
        fi
    done
    echo /usr/lib/postgresql/15/bin
}

# _pg_check_binaries: fails naming every missing PostgreSQL program.
_pg_check_binaries() {
    local bindir prog missing=()
    bindir=$(pg_bindir)
    for prog in initdb pg_ctl postgres psql; do
        [[ -x "$bindir/$prog" ]] || missing+=("$bindir/$prog")
    done
    if [[ ${#missing[@]} -ne 0 ]]; then
        fail "PostgreSQL binaries missing: ${missing[*]} (install postgresql-15 with scripts/bootstrap.sh, or set PG_BINDIR)"
    fi
}

# _pg_as_postgres CMD...: runs CMD as the postgres user when we are root
# (PostgreSQL refuses to run as root), else as ourselves. Runs from / so
# a cwd the postgres user cannot read does not upset initdb or pg_ctl.
_pg_as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

_pg_valid_name() {
    [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail "cluster name '$1' is not a shell identifier"
}

# _pg_dir NAME: the data dir of a cluster this shell knows about.
_pg_dir() {
    local var="${1}_DIR"
    [[ -n "${!var:-}" ]] || fail "no cluster named '$1' (call pg_start $1 first)"
    echo "${!var}"
}

_pg_install_traps() {
    if [[ "$_PG_HARNESS_OWNER" == "$BASHPID" ]]; then
        return 0
    fi
    _PG_HARNESS_OWNER=$BASHPID
    trap '_pg_on_exit' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

harness_on_exit() {
    [[ $# -gt 0 ]] || fail "harness_on_exit: no command"
    _pg_install_traps
    _PG_EXIT_CMDS+=("$BASHPID $*")
}

_pg_on_exit() {
    local rc=$? i entry owner rest name dir
    set +e
    for ((i = ${#_PG_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
        entry="${_PG_EXIT_CMDS[$i]}"
        owner="${entry%% *}"
        [[ "$owner" == "$BASHPID" ]] || continue
        eval "${entry#* }" >/dev/null 2>&1
    done
    for ((i = ${#_PG_CLUSTERS[@]} - 1; i >= 0; i--)); do
        read -r owner name dir <<<"${_PG_CLUSTERS[$i]}"
        [[ "$owner" == "$BASHPID" ]] || continue
        _pg_destroy "$dir"
    done
    if [[ -n "${HARNESS_TMP:-}" && "${_PG_TMP_OWNER:-}" == "$BASHPID" && -z "${HARNESS_KEEP:-}" ]]; then
        rm -rf "$HARNESS_TMP"
    fi
    exit "$rc"
}

# _pg_destroy DIR: immediate stop, then remove the dir. Never fails.
_pg_destroy() {
    local dir="$1" pid
    if [[ -f "$dir/postmaster.pid" ]]; then
        _pg_as_postgres "$(pg_bindir)/pg_ctl" stop -D "$dir" -m immediate -w -t 30 >/dev/null 2>&1
        # pg_ctl gave up or is missing: do not leave a postmaster behind.
        if [[ -f "$dir/postmaster.pid" ]]; then
            pid=$(head -n 1 "$dir/postmaster.pid" 2>/dev/null)
            [[ "$pid" =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -rf "$dir"
}

# _pg_watchdog OWNER_PID DIR: detached process that stops the cluster in
# DIR (if DIR holds one) and removes DIR once OWNER_PID is gone. The normal path is the EXIT trap; this covers a
# shell killed with SIGKILL, where no trap runs. It holds none of the test's
# file descriptors, so ctest does not wait for it.
_pg_watchdog() {
    local owner="$1" dir="$2" bindir
    bindir=$(pg_bindir)
    setsid bash -c '
        owner=$1 dir=$2 bindir=$3
        while kill -0 "$owner" 2>/dev/null && [[ -d "$dir" ]]; do sleep 1; done
        [[ -d "$dir" ]] || exit 0
        if [[ -f "$dir/postmaster.pid" ]]; then
            if [[ $(id -u) -eq 0 ]]; then
                (cd / && runuser -u postgres -- "$bindir/pg_ctl" stop -D "$dir" -m immediate -w -t 30)
            else
                (cd / && "$bindir/pg_ctl" stop -D "$dir" -m immediate -w -t 30)
            fi
        fi
        rm -rf "$dir"
    ' ferry-pg-watchdog "$owner" "$dir" "$bindir" </dev/null >/dev/null 2>&1 &
    disown $! 2>/dev/null || true
}

# _pg_port_in_use PORT: true when something listens on TCP PORT.
_pg_port_in_use() {
    [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]
}

pg_start() {
    [[ $# -ge 1 ]] || fail "usage: pg_start NAME [CONF_LINE...]"
    local name="$1"
    shift
    _pg_valid_name "$name"
    _pg_check_binaries
    _pg_install_traps
    local bindir dir out port line
    bindir=$(pg_bindir)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ferry-pg-$name.XXXXXX") || fail "pg_start $name: mktemp under ${TMPDIR:-/tmp} failed"
    _PG_CLUSTERS+=("$BASHPID $name $dir")
    _pg_watchdog "$BASHPID" "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$dir" || fail "pg_start $name: chown postgres $dir failed"
        runuser -u postgres -- test -w "$dir" ||
            fail "pg_start $name: user postgres cannot write $dir (is ${TMPDIR:-/tmp} traversable by postgres?)"
    fi
    if ! out=$(_pg_as_postgres "$bindir/initdb" -N --auth=trust -U postgres -E UTF8 --locale=C -D "$dir" 2>&1); then
        printf '%s\n' "$out" >&2
        fail "pg_start $name: initdb -D $dir failed"
    fi
    {
        echo "# ferry test harness"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "shared_buffers = 64MB"
        echo "max_connections = 60"
        echo "include_if_exists = 'ferry_port.conf'"
        for line in "$@"; do
            echo "$line"
        done
    } >>"$dir/postgresql.conf"

    for _ in 1 2 3 4 5 6 7 8; do
        port=$(_pg_random_port)
        _pg_port_in_use "$port" && continue
        echo "port = $port" >"$dir/ferry_port.conf"
        [[ $(id -u) -ne 0 ]] || chown postgres: "$dir/ferry_port.conf"
        if _pg_as_postgres "$bindir/pg_ctl" start -D "$dir" -l "$dir/server.log" -w -t 60 >/dev/null 2>&1; then
            export "${name}_PORT=$port" "${name}_DIR=$dir"
            export "${name}_DSN=host=127.0.0.1 port=$port user=postgres dbname=postgres"
            return 0
        fi
        # Lost a race for the port: try another. Anything else is fatal.
        if ! grep -qE 'could not bind|Address already in use|could not create any TCP/IP sockets' "$dir/server.log" 2>/dev/null; then
            break
        fi
        : >"$dir/server.log"
    done
    tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
    fail "pg_start $name: server in $dir did not start (last port tried: $port; log above)"
}

# _pg_ctl_stop CALLER NAME MODE: pg_ctl stop -m MODE -w on cluster NAME.
_pg_ctl_stop() {
    local dir
    dir=$(_pg_dir "$2")
    _pg_as_postgres "$(pg_bindir)/pg_ctl" stop -D "$dir" -m "$3" -w -t 60 >/dev/null ||
        fail "$1 $2: pg_ctl stop -m $3 failed"
}

pg_stop() { _pg_ctl_stop pg_stop "$1" fast; }

pg_restart() {
    local dir
    dir=$(_pg_dir "$1")
    _pg_as_postgres "$(pg_bindir)/pg_ctl" restart -D "$dir" -l "$dir/server.log" -m fast -w -t 60 >/dev/null 2>&1 || {
        tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
        fail "pg_restart $1: pg_ctl restart failed (log above)"
    }
}

pg_kill() { _pg_ctl_stop pg_kill "$1" immediate; }

pg_dsn() {
    local var="${1}_DSN"
    [[ -n "${!var:-}" ]] || fail "no cluster named '$1' (call pg_start $1 first)"
    if [[ $# -ge 2 ]]; then
        echo "${!var% dbname=*} dbname=$2"
    else
        echo "${!var}"
    fi
}

# pg_server_log NAME: the path of a cluster's server log.
pg_server_log() {
    echo "$(_pg_dir "$1")/server.log"
}

pg_psql() {
    [[ $# -ge 1 ]] || fail "usage: pg_psql NAME [psql args...]"
    local dsn
    dsn=$(pg_dsn "$1")
    shift
    PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}" \
        "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -d "$dsn" "$@"
}

pg_createdb() {
    [[ $# -eq 2 ]] || fail "usage: pg_createdb NAME DB"
    pg_psql "$1" -c "CREATE DATABASE \"${2//\"/\"\"}\"" || fail "pg_createdb $1 $2 failed"
}

dump_sorted() {
    [[ $# -eq 2 ]] || fail "usage: dump_sorted NAME SQL"
    local rc=0
    pg_psql "$1" -c "COPY ($2) TO STDOUT" | LC_ALL=C sort || rc=$?
    if [[ $rc -ne 0 ]]; then
        echo "FAIL: dump_sorted $1: COPY ($2) TO STDOUT failed" >&2
        return "$rc"
    fi
}

assert_same_rows() {
    local allow_empty=0
    if [[ "${1:-}" == "--allow-empty" ]]; then
        allow_empty=1
        shift
    fi
    [[ $# -eq 5 ]] || fail "usage: assert_same_rows [--allow-empty] NAME1 SQL1 NAME2 SQL2 MSG"
    local n1="$1" q1="$2" n2="$3" q2="$4" msg="$5" f1 f2 c1 c2
    f1=$(mktemp "$HARNESS_TMP/rows1.XXXXXX")
    f2=$(mktemp "$HARNESS_TMP/rows2.XXXXXX")
    dump_sorted "$n1" "$q1" >"$f1" || fail "$msg: query on $n1 failed: $q1"
    dump_sorted "$n2" "$q2" >"$f2" || fail "$msg: query on $n2 failed: $q2"
    c1=$(wc -l <"$f1")
    c2=$(wc -l <"$f2")
    if ! cmp -s "$f1" "$f2"; then
        echo "rows differ: $n1 has $c1 rows ($q1), $n2 has $c2 rows ($q2); first diff lines (< $n1, > $n2):" >&2
        diff "$f1" "$f2" | head -n 20 | cut -c 1-500 >&2 || true
        rm -f "$f1" "$f2"
        fail "$msg: rows differ"
    fi
    rm -f "$f1" "$f2"
    if [[ $allow_empty -eq 0 && $c1 -eq 0 ]]; then
        fail "$msg: both sides are empty ($n1: $q1)"
    fi
}

poll_until() {
    [[ $# -ge 3 ]] || fail "usage: poll_until SECONDS WHAT CMD..."
    local secs="$1" what="$2" deadline
    shift 2
    deadline=$((SECONDS + secs))
    until "$@"; do
        [[ $SECONDS -lt $deadline ]] || fail "timed out after $secs s waiting for $what"
        sleep 0.1
    done
}

run_capture() {
    [[ $# -ge 2 ]] || fail "usage: run_capture TAG CMD..."
    local tag="$1"
    shift
    RUN_RC=0
    "$@" >"$HARNESS_TMP/$tag.out" 2>"$HARNESS_TMP/$tag.err" </dev/null || RUN_RC=$?
}

run_expect() {
    [[ $# -ge 3 ]] || fail "usage: run_expect RC TAG CMD..."
    local want="$1" tag="$2"
    shift 2
    run_capture "$tag" "$@"
    if [[ "$RUN_RC" != "$want" ]]; then
        echo "--- $tag: $*" >&2
        echo "--- stdout (last 40 lines):" >&2
        tail -n 40 "$HARNESS_TMP/$tag.out" >&2
        echo "--- stderr (last 40 lines):" >&2
        tail -n 40 "$HARNESS_TMP/$tag.err" >&2
        fail "$tag: expected exit status $want, got $RUN_RC"
    fi
}

ferry_write_job() {
    [[ $# -ge 6 ]] || fail "usage: ferry_write_job FILE SRC TGT TABLE QUERY KEY [YAML_LINE...]"
    local file="$1" src="$2" tgt="$3" table="$4" query="$5" key="$6" line sq="'" dsq="''"
    shift 6
    {
        echo "source:"
        echo "  conninfo: '$(pg_dsn "$src")'"
        echo "  query: '${query//$sq/$dsq}'"
        echo "  key: '${key//$sq/$dsq}'"
        echo "  snapshot: none"
        echo "target:"
        echo "  conninfo: '$(pg_dsn "$tgt")'"
        echo "  table: '${table//$sq/$dsq}'"
        echo "retry: { max_retries: 5, initial_delay: 0.2, backoff: 2.0, max_delay: 2 }"
        for line in "$@"; do
            echo "$line"
        done
    } >"$file"
}

no_sanitizer_reports() {
    local tag f
    for tag in "$@"; do
        f="$HARNESS_TMP/$tag.err"
        if grep -qE 'Sanitizer|runtime error:' "$f"; then
            grep -E -B2 -A40 'Sanitizer|runtime error:' "$f" | head -n 120 >&2
            fail "$tag: sanitizer report in the ferry processes' stderr (above)"
        fi
        if grep -qE 'local worker .* (exited with status|killed by signal)' "$f"; then
            grep -E 'local worker' "$f" >&2
            fail "$tag: a local worker died"
        fi
    done
}

# assert_clean_stderr FILE...: no sanitizer report (ASan, LSan, UBSan) in
# any of the files (a missing file is clean).
assert_clean_stderr() {
    local f
    for f in "$@"; do
        [[ -f "$f" ]] || continue
        if grep -qE 'Sanitizer|runtime error:|==[0-9]+==ERROR' "$f"; then
            grep -E -B2 -A40 'Sanitizer|runtime error:|==[0-9]+==ERROR' "$f" | head -n 120 >&2
            fail "sanitizer report in $f (above)"
        fi
    done
}

# exited PID: PID is gone (for poll_until).
exited() {
    ! kill -0 "$1" 2>/dev/null
}

ferry_run_job() {
    [[ $# -eq 3 ]] || fail "usage: ferry_run_job TAG JOB RC"
    # shellcheck disable=SC2034 # RUN is for the scenario
    RUN="$1"
    run_expect "$3" "$1" "$(ferry_bin ferry-coordinator)" run "$2" --local-workers 2 \
        --report "$HARNESS_TMP/$1.json" --run-id "$1"
    no_sanitizer_reports "$1"
}

# _pg_random_port: a random port below the kernel's ephemeral range
# (ip_local_port_range, 32768-60999 by default), from 10000 up: client
# sockets and wildcard binds (tcp://127.0.0.1:*) take their ports from that
# range, so a port picked there could be taken between the check and the
# bind (seen: a coordinator's cluster.bind "Address already in use" while
# tests ran in parallel).
_pg_random_port() {
    local low=32768 range
    range=$(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) && low=${range%%[[:space:]]*}
    ((low > 11000)) || low=32768
    echo $((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
}

free_port() {
    local p
    for _ in $(seq 50); do
        p=$(_pg_random_port)
        [[ -n "$(ss -Htln "sport = :$p" 2>/dev/null)" ]] || { echo "$p"; return 0; }
    done
    fail "no free TCP port found"
}

ferry_bin() {
    [[ $# -eq 1 ]] || fail "usage: ferry_bin NAME"
    local path
    case "$1" in
        ferry-worker | worker) path="$FERRY_BIN_DIR/worker/ferry-worker" ;;
        ferry-coordinator | coordinator) path="$FERRY_BIN_DIR/coordinator/ferry-coordinator" ;;
        *) path="$FERRY_BIN_DIR/$1" ;; # a path relative to the build dir
    esac
    [[ -x "$path" ]] || fail "$1 is not built: $path missing (build first; FERRY_BIN_DIR=$FERRY_BIN_DIR)"
    echo "$path"
}

_pg_install_traps
HARNESS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-test.XXXXXX")
_PG_TMP_OWNER=$BASHPID
export HARNESS_TMP
_pg_watchdog "$BASHPID" "$HARNESS_TMP"
