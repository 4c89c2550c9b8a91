#!/usr/bin/env bash
# scripts/bootstrap.sh: install the Debian packages ferry needs to build and
# test (compilers, libraries, PostgreSQL 15, sanitizer/valgrind tooling).
#
# Idempotent: asks dpkg-query which packages are missing and installs only
# those (one apt-get update, then a non-interactive install). Prints nothing
# when everything is already present. Uses sudo when not run as root. Never
# reads stdin.
set -euo pipefail

FERRY_PACKAGES="build-essential cmake pkg-config libzmq3-dev libczmq-dev libpq-dev libssl-dev libmsgpack-dev libyaml-dev libmicrohttpd-dev libjson-c-dev libcmocka-dev postgresql-15 postgresql-client-15 clang valgrind iproute2 procps psmisc prometheus curl nodejs tcpdump"

# s_is_installed PKG: true when dpkg records PKG as fully installed ("ii");
# "rc" (removed, config files left) and half-installed states count as missing.
s_is_installed() {
    local status
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
    [[ "$status" == ii* ]]
}

missing=()
for pkg in $FERRY_PACKAGES; do
    s_is_installed "$pkg" || missing+=("$pkg")
done
# npm (tests/integration/deploy_k8s.sh): Debian's package, unless the
# nodejs installed already carries its own npm (NodeSource's does, and
# conflicts with Debian's).
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "bootstrap: missing packages (${missing[*]}) and not root; sudo is not installed" >&2
        exit 1
    fi
    # -n: never prompt (we have no stdin); fail instead.
    sudo=(sudo -n)
fi

echo "bootstrap: installing ${missing[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" </dev/null

# Verify: a package apt could not install must not pass silently.
still=()
for pkg in "${missing[@]}"; do
    s_is_installed "$pkg" || still+=("$pkg")
done
if [[ ${#still[@]} -ne 0 ]]; then
    echo "bootstrap: still missing after install: ${still[*]}" >&2
    exit 1
fi
