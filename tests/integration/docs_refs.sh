#!/usr/bin/env bash
# tests/integration/docs_refs.sh: the docs cite only what exists.
#
# Reads docs/ARCHITECTURE.md, docs/PROTOCOL.md, docs/OPERATIONS.md,
# docs/CONTRIBUTING.md, docs/TUNING.md,
# README.md and deploy/README.md (no PostgreSQL needed) and fails, listing
# each one, when a reference below names nothing in the tree.
#
# The rules (keep them in mind when you write docs):
#
# 1. Paths. Inside `backticks` (outside ``` fenced blocks), any word ending
#    in .c .h .sh .yaml .yml or .md is a cited file, e.g. `coordinator/auth.c`,
#    `tests/lib/pg.sh`, `k8s/configmap.yaml`, or a bare `writer_file.c`.
#    - with a slash: it must exist relative to the repository root or to
#      the directory of the doc that cites it;
#    - without a slash: a file of that name must exist somewhere in the tree.
#    Not checked: absolute paths (`/etc/ferry/job.yaml`, a deployed host's
#    files), URLs, and the placeholders in PLACEHOLDER_FILES below.
#    So: if you write `coordinator/auth.c` in a doc, that file must exist.
# 2. Links. Every relative markdown link target [text](target) must exist
#    (file or directory), relative to the doc's directory; the #anchor is
#    not checked. http(s)/mailto links are not checked.
# 3. Identifiers. A backticked span that is *only* a snake_case name with at
#    least one underscore, optionally followed by a call's parentheses, is
#    a cited C name: `ledger_begin_run`, `s_choose_split`, `slot_t`,
#    `pg_conninfo_redact (…)`, `clock_timestamp()`, `EXIT_CODE_OK`,
#    `FERRY_SOURCE_DSN`. It must appear as a word somewhere in the tree's
#    *.c, *.h or *.sh files (comments and string literals count: a SQL
#    function or column the code sends, like `pg_export_snapshot()`, passes
#    because the code names it). Spans holding anything else are not
#    checked: `pipeline.chunk_size` (a job file key), `ferry.chunk_commits`,
#    `SELECT pg_export_snapshot()`, `PQprepare` (camel case, libpq's),
#    `csv_*` (a pattern), names without an underscore.
#    Names that are cited on purpose but that our code never spells go in
#    EXTERNAL_NAMES below, each with the reason.
#
# FERRY_SOURCE_DIR (set by ctest) is the tree to check; default: this
# script's repository. This script itself is not part of the code searched.
set -euo pipefail

root=${FERRY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
root=$(cd "$root" && pwd)
DOCS=(docs/ARCHITECTURE.md docs/PROTOCOL.md docs/OPERATIONS.md docs/CONTRIBUTING.md docs/TUNING.md README.md deploy/README.md)

# Placeholders written like file names, never meant to exist.
PLACEHOLDER_FILES=(
    "file.c"        # the "(file.c:line)" of the log line format (ARCHITECTURE.md section 12)
    "JOB.yaml"      # "ferry-coordinator run JOB.yaml": the operator's job file
    "EXCLUDED.c"    # SQL, not a file: "DO UPDATE SET c = EXCLUDED.c" (ARCHITECTURE.md 2.6)
)

# Names cited on purpose that our C and shell code never spells.
EXTERNAL_NAMES=(
    "ROUTER_MANDATORY"  # ZeroMQ's socket option; the code sets it by czmq's zsock_set_router_mandatory
    "FERRY_SLOTS"       # read by deploy/systemd/ferry-worker@.service (--slots), not by the code
    "safe_load_all"     # PyYAML's loader, used to check the deploy YAML by hand (deploy/README.md)
    "tcp_rmem"          # Linux sysctls (net.ipv4.*) docs/TUNING.md tells the operator to check
    "tcp_wmem"
    "tcp_adv_win_scale"
    "ferry_common"      # CMake library names (common/CMakeLists.txt, worker/, coordinator/)
    "ferry_coordinator_core"
    "ferry_worker_core"
)

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for d in "${DOCS[@]}"; do
    [[ -f "$root/$d" ]] || fail "$d is missing (listed in DOCS of $0)"
done

# The tree: every file, without .git, build directories and run output.
(cd "$root" && find . \( -name .git -o -path './build*' -o -path './.ferry' -o -path './bench/out' \) \
    -prune -o -type f -print) | sed 's|^\./||' | LC_ALL=C sort > "$tmp/files"
[[ -s "$tmp/files" ]] || fail "no files under $root"
grep -q '^coordinator/main\.c$' "$tmp/files" || fail "$root does not look like the ferry tree"
sed 's|.*/||' "$tmp/files" | LC_ALL=C sort -u > "$tmp/basenames"

# Every word of the code (*.c, *.h, *.sh), this script excepted.
self=tests/integration/docs_refs.sh
grep -E '\.(c|h|sh)$' "$tmp/files" | grep -vxF "$self" > "$tmp/code"
(cd "$root" && tr '\n' '\0' < "$tmp/code" | xargs -0 cat) \
    | grep -oE '[A-Za-z_][A-Za-z0-9_]*' | LC_ALL=C sort -u > "$tmp/words"
[[ $(wc -l < "$tmp/words") -gt 1000 ]] || fail "found too few words in the code ($(wc -l < "$tmp/words"))"

in_list() {   # in_list NEEDLE ITEMS...
    local needle=$1 x
    shift
    for x in "$@"; do [[ "$x" == "$needle" ]] && return 0; done
    return 1
}

# One line per paragraph (inline code may wrap), fenced blocks dropped.
paragraphs() {
    awk '
        /^[[:space:]]*(```|~~~)/ { fence = !fence; next }
        fence { next }
        /^[[:space:]]*$/ { if (p != "") print p; p = ""; next }
        { p = (p == "" ? $0 : p " " $0) }
        END { if (p != "") print p }
    ' "$1"
}

where() {     # where DOC TEXT: "DOC:LINE" of the first line holding TEXT
    local n
    n=$(grep -nF -- "$2" "$root/$1" | head -n 1 | cut -d: -f1 || true)
    echo "$1${n:+:$n}"
}

checked_paths=0 checked_links=0 checked_names=0
problems=()

for doc in "${DOCS[@]}"; do
    docdir=$(dirname "$doc")
    paragraphs "$root/$doc" > "$tmp/para"

    # 1. Paths inside backticks.
    grep -oE '`[^`]+`' "$tmp/para" | sed 's/^`//; s/`$//' > "$tmp/spans" || true
    grep -oE '[A-Za-z0-9_@.+/-]*[A-Za-z0-9_@+-]\.(c|h|sh|yaml|yml|md)\b' "$tmp/spans" \
        | LC_ALL=C sort -u > "$tmp/paths" || true
    while IFS= read -r p; do
        # Absolute paths and URLs are not about this tree.
        [[ "$p" == /* ]] && continue
        grep -qF -- "://$p" "$tmp/spans" && continue
        in_list "$p" "${PLACEHOLDER_FILES[@]}" && continue
        checked_paths=$((checked_paths + 1))
        if [[ "$p" == */* ]]; then
            [[ -e "$root/$p" || -e "$root/$docdir/$p" ]] && continue
            problems+=("$(where "$doc" "$p"): cites \`$p\`, which is not a file (from the repository root or $docdir/)")
        else
            grep -qxF -- "$p" "$tmp/basenames" && continue
            problems+=("$(where "$doc" "$p"): cites \`$p\`, and no file of that name is in the tree")
        fi
    done < "$tmp/paths"

    # 2. Relative link targets.
    grep -oE '\]\([^)[:space:]]+\)' "$tmp/para" | sed 's/^](//; s/)$//' \
        | LC_ALL=C sort -u > "$tmp/links" || true
    while IFS= read -r l; do
        [[ "$l" =~ ^(https?|mailto|ftp): ]] && continue
        target=${l%%#*}
        [[ -z "$target" ]] && continue        # an anchor in the same page
        checked_links=$((checked_links + 1))
        [[ -e "$root/$docdir/$target" ]] && continue
        problems+=("$(where "$doc" "]($l)"): links to $target, which does not exist (from $docdir/)")
    done < "$tmp/links"

    # 3. Identifiers: a span that is one snake_case name, maybe with ( ).
    sed -nE 's/^([a-z][a-z0-9]*(_[a-z0-9]+)+|[A-Z][A-Z0-9]*(_[A-Z0-9]+)+) ?(\(.*\))?$/\1/p' \
        "$tmp/spans" | LC_ALL=C sort -u > "$tmp/names"
    while IFS= read -r n; do
        in_list "$n" "${EXTERNAL_NAMES[@]}" && continue
        checked_names=$((checked_names + 1))
        grep -qxF -- "$n" "$tmp/words" && continue
        problems+=("$(where "$doc" "\`$n"): cites \`$n\`, which no *.c, *.h or *.sh file in the tree spells")
    done < "$tmp/names"
done

echo "checked ${#DOCS[@]} docs: $checked_paths file references, $checked_links links," \
     "$checked_names code names"
if [[ ${#problems[@]} -gt 0 ]]; then
    for p in "${problems[@]}"; do echo "FAIL: $p" >&2; done
    fail "${#problems[@]} reference(s) name nothing in the tree (rules: top of $self)"
fi
echo "PASS: every reference names something in the tree"
