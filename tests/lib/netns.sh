# tests/lib/netns.sh: hosts in network namespaces for the scenarios that
# need a real network between ferry's processes and the servers
# (tests/faults/fault_slow_link.sh, fault_curve_link.sh). Sourced after
# tests/lib/pg.sh; needs root (ip netns, veth, bridge) and FAILS, never
# skips, on a machine that cannot build them.
#
#   netns_hosts PREFIX TMPNAME ROLE...
#       one namespace PREFIX_ROLE_SFX per ROLE (NS_ROLE, upper case, names
#       it), each with lo up and an eth0 at $ADDR_ROLE/24 (set by the
#       caller) on the bridge br0 of a hub namespace PREFIX_net_SFX
#       (NS_HUB); sfx is a random suffix, LINK_TMP a fresh dir (mode 755:
#       the postgres user keeps its clusters there) named after TMPNAME.
#       All of it is removed at exit, and by a watchdog if the test's shell
#       is SIGKILLed. Needs bindir (pg_bindir).
#   netns_or_fail CMD...     runs an ip/tc command; a failure is the machine's.
#   netns_pg_start NAME NS ADDR AUTH [CONF_LINE...]
#       a throwaway cluster like pg_start's whose postmaster runs in NS and
#       listens on ADDR:PG_PORT (the other hosts of ADDR's /24 log in with
#       the pg_hba method AUTH) and on a unix socket in its dir under
#       LINK_TMP; CONF_LINEs go to postgresql.conf. Exports NAME_DIR,
#       NAME_PORT, NAME_DSN (the unix socket, so pg_psql, dump_sorted and
#       assert_same_rows work) and NAME_TCP (the conninfo for other hosts).

# netns_teardown PREFIX SFX DIR BINDIR ROLE...: stops the clusters under
# DIR, kills every process left in the namespaces PREFIX_ROLE_SFX and
# PREFIX_net_SFX (all started by the scenario), deletes the namespaces
# (and with them the veths, the bridge and the qdiscs) and removes DIR.
# Never fails; safe to run twice. Also run by the watchdog, so it uses
# nothing but its arguments.
netns_teardown() {
    local prefix="$1" sfx="$2" dir="$3" bindir="$4" ns d pid role left
    shift 4
    for d in "$dir"/pg_*; do
        [[ -f "$d/postmaster.pid" ]] || continue
        (cd / && runuser -u postgres -- "$bindir/pg_ctl" stop -D "$d" -m immediate -w -t 20) >/dev/null 2>&1
    done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        left=0
        for role in "$@" net; do
            ns="${prefix}_${role}_$sfx"
            [[ -e "/run/netns/$ns" || -e "/var/run/netns/$ns" ]] || continue
            for pid in $(ip netns pids "$ns" 2>/dev/null); do
                kill -KILL "$pid" 2>/dev/null && left=1
            done
        done
        [[ $left -eq 1 ]] || break
        sleep 0.2
    done
    for role in "$@" net; do
        ip netns del "${prefix}_${role}_$sfx" 2>/dev/null
    done
    rm -rf "$dir"
    return 0
}

netns_or_fail() {
    local out
    out=$("$@" 2>&1) || fail "cannot build the test network: '$*' failed: $out (this scenario needs root with CAP_NET_ADMIN, network namespaces, veth and bridge support; it does not skip)"
}

netns_hosts() {
    local prefix="$1" tmpname="$2" role ns addr_var owner_pid
    shift 2
    sfx=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    NS_HUB=${prefix}_net_$sfx
    for role in "$@"; do
        printf -v "NS_${role^^}" '%s' "${prefix}_${role}_$sfx"
    done
    LINK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$tmpname.XXXXXX")
    chmod 755 "$LINK_TMP"
    harness_on_exit "netns_teardown $prefix $sfx $LINK_TMP $bindir $*"
    # The watchdog: the same teardown once this shell is gone, however it went.
    owner_pid=$BASHPID
    # shellcheck disable=SC2016 # the watchdog's own code, expanded by its bash
    setsid bash -c "$(declare -f netns_teardown)"'
        owner=$1; shift
        while kill -0 "$owner" 2>/dev/null; do sleep 1; done
        netns_teardown "$@"' ferry-netns-watchdog "$owner_pid" "$prefix" "$sfx" "$LINK_TMP" "$bindir" "$@" \
        </dev/null >/dev/null 2>&1 &
    disown $! 2>/dev/null || true

    netns_or_fail ip netns add "$NS_HUB"
    netns_or_fail ip -n "$NS_HUB" link add br0 type bridge
    netns_or_fail ip -n "$NS_HUB" link set br0 up
    for role in "$@"; do
        ns="${prefix}_${role}_$sfx"
        addr_var="ADDR_${role^^}"
        netns_or_fail ip netns add "$ns"
        netns_or_fail ip -n "$ns" link set lo up
        # One veth per host: "eth0" in the host, "p_ROLE" on the bridge.
        netns_or_fail ip -n "$NS_HUB" link add "p_$role" type veth peer name eth0 netns "$ns"
        netns_or_fail ip -n "$NS_HUB" link set "p_$role" master br0 up
        netns_or_fail ip -n "$ns" addr add "${!addr_var}/24" dev eth0
        netns_or_fail ip -n "$ns" link set eth0 up
    done
}

netns_pg_start() {
    local name="$1" ns="$2" addr="$3" auth="$4" dir out
    shift 4
    dir="$LINK_TMP/pg_$name"
    mkdir "$dir" || fail "netns_pg_start $name: cannot create $dir"
    chown postgres: "$dir" || fail "netns_pg_start $name: cannot chown $dir to postgres"
    if ! out=$(cd / && runuser -u postgres -- "$bindir/initdb" -N --auth=trust -U postgres -E UTF8 \
        --locale=C -D "$dir" 2>&1); then
        printf '%s\n' "$out" >&2
        fail "netns_pg_start $name: initdb -D $dir failed"
    fi
    {
        echo "listen_addresses = '$addr'"
        echo "port = $PG_PORT"
        echo "unix_socket_directories = '$dir'"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "max_connections = 60"
        printf '%s\n' "$@"
    } >>"$dir/postgresql.conf"
    echo "host all all ${addr%.*}.0/24 $auth" >>"$dir/pg_hba.conf"
    if ! (cd / && ip netns exec "$ns" runuser -u postgres -- "$bindir/pg_ctl" start -D "$dir" \
        -l "$dir/server.log" -w -t 60) >/dev/null 2>&1; then
        tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
        fail "netns_pg_start $name: the server in $ns did not start (log above)"
    fi
    export "${name}_DIR=$dir" "${name}_PORT=$PG_PORT"
    export "${name}_DSN=host=$dir port=$PG_PORT user=postgres dbname=postgres"
    export "${name}_TCP=host=$addr port=$PG_PORT user=postgres dbname=postgres connect_timeout=10"
}
