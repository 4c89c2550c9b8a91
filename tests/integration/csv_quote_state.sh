#!/usr/bin/env bash
# tests/integration/csv_quote_state.sh: quotes that do not open a quoted
# field, and other records PostgreSQL's CSV mode would read differently
# from ferry's grammar. By the grammar of common/format/csv.c (which the planner
# and the processors share), a quote opens a quoted field only as the
# first byte of a field; elsewhere it is data ('5" screen'), and bytes
# after a closing quote are appended to the field ('"ab"c"d' is ab + c"d);
# a CR that is not a CRLF's is data. Such a quote must not change where
# the worker's reader cuts its batches: three files (through a glob, one
# range each, read in 4 KiB pieces), each with one such record early on
# and later a record whose quoted field spans three lines, followed by
# more than 4 KiB of plain records. Every record must load as written
# (the last file column skipped), nothing rejected, records read =
# records in the files. Then two small files: one column with "\." records
# (PostgreSQL's end-of-data marker when alone on a line), and escape '\'.
# Any sanitizer report fails the test.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

ferry_bin ferry-worker >/dev/null
pg_start tgt
tgt_dsn=$(pg_dsn tgt)
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to build the files)"


dir="$HARNESS_TMP/files"
mkdir -p "$dir"
"$py" - "$dir" <<'EOF'
import os, sys
d = sys.argv[1]
expected = []
def write(name, base, odd_raw, odd_value):
    lines = ["id,a,b,c"]
    def rec(i, a_raw, a_val, b="plain"):
        lines.append("%d,%s,%s,skipped" % (i, a_raw, b))
        expected.append("%d\t%s\t%s" % (i, a_val.replace("\n", "\\n").replace("\r", "\\r"), b))
    for i in range(base, base + 20):
        rec(i, "row %d" % i, "row %d" % i)
    rec(base + 20, odd_raw, odd_value)
    for i in range(base + 21, base + 60):
        rec(i, "row %d" % i, "row %d" % i)
    rec(base + 60, '"three\nphysical\nlines"', "three\nphysical\nlines")
    for i in range(base + 61, base + 300):
        rec(i, "row %d after the multi-line record" % i, "row %d after the multi-line record" % i)
    open(os.path.join(d, name), "w", newline="").write("\n".join(lines) + "\n")
write("q1.csv", 1000, '5" screen', '5" screen')
write("q2.csv", 2000, '"ab"c"d', 'abc"d')
write("q3.csv", 3000, 'bare\rcarriage return', 'bare\rcarriage return')
open(os.path.join(d, "expected.tsv"), "w").write("".join(r + "\n" for r in expected))
# One column; "\." alone on a line is a value here.
open(os.path.join(d, "one.txt"), "w").write("a\n\\.\n\\.x\nb\n")
open(os.path.join(d, "one.tsv"), "w").write("a\n\\\\.\n\\\\.x\nb\n")
# escape '\': \" and \\ inside quotes, a lone escape inside and outside.
open(os.path.join(d, "esc.csv"), "w").write(
    'id,v\n1,"a\\"b"\n2,"c\\\\d"\n3,x\\y\n4,"e\\f"\n5,"g,\\"\nh"\n')
open(os.path.join(d, "esc.tsv"), "w").write(
    '1\ta"b\n2\tc\\\\d\n3\tx\\\\y\n4\te\\\\f\n5\tg,"\\nh\n')
EOF
nrec=$(wc -l <"$dir/expected.tsv")

pg_psql tgt -c "CREATE TABLE q (id int PRIMARY KEY, a text, b text);
    CREATE TABLE expected (LIKE q);
    CREATE TABLE one (v text); CREATE TABLE one_expected (LIKE one);
    CREATE TABLE esc (id int, v text); CREATE TABLE esc_expected (LIKE esc)"
pg_psql tgt -c "\\copy expected FROM '$dir/expected.tsv'"
pg_psql tgt -c "\\copy one_expected FROM '$dir/one.tsv'"
pg_psql tgt -c "\\copy esc_expected FROM '$dir/esc.tsv'"

# check_run WHAT RECORDS: run $RUN published, RECORDS records read and
# loaded, none rejected.
check_run() {
    local rejects
    rejects=$(pg_psql tgt -Atc "SELECT string_agg(format('%s:%s: %s', file, line, reason), E'\\n' ORDER BY file, line)
        FROM ferry.rejects WHERE run_id = '$RUN'")
    [[ -z "$rejects" ]] || fail "$1: records rejected although every record is well-formed:
$rejects"
    assert_eq "published $2 $2 0" "$("$py" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["status"], r.get("rows_read"), r["rows_loaded"], r.get("rows_rejected"))' "$HARNESS_TMP/$RUN.json")" \
        "$1: report: status rows_read rows_loaded rows_rejected"
}

# The files, column c skipped.
cat >"$HARNESS_TMP/q.yaml" <<EOF
source: { kind: csv, path: '$dir/q*.csv', format: { header: true }, columns: [id, a, b, "-"] }
target: { conninfo: '$tgt_dsn', table: public.q, merge: { key: [id] } }
pipeline: { read_buffer: 4096, batch_size: 50 }
retry: { max_retries: 2, initial_delay: 0.2, backoff: 2.0, max_delay: 1 }
cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200 }
EOF
ferry_run_job q "$HARNESS_TMP/q.yaml" 0
check_run "quotes" "$nrec"
assert_same_rows tgt "SELECT * FROM expected" tgt "SELECT * FROM q" "quotes: final == the files"

# small_load TABLE FILE FORMAT RECORDS WHAT: a direct load of FILE (source
# format FORMAT) into public.TABLE as run TABLE: RECORDS loaded, none
# rejected, TABLE == TABLE_expected.
small_load() {
    cat >"$HARNESS_TMP/$1.yaml" <<EOF
source: { kind: csv, path: '$2', format: $3 }
target: { conninfo: '$tgt_dsn', table: public.$1, publish: direct }
cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200 }
EOF
    ferry_run_job "$1" "$HARNESS_TMP/$1.yaml" 0
    check_run "$5" "$4"
    assert_same_rows tgt "SELECT * FROM $1_expected" tgt "SELECT * FROM $1" "$5: final == the file"
}

# One column: "\." alone on a line is a value, not the end of the data.
small_load one "$dir/one.txt" "{ header: false }" 4 "one column"
# escape '\': read as ferry reads it.
small_load esc "$dir/esc.csv" "{ header: true, escape: '\\' }" 5 "escape"

echo "csv_quote_state: OK"
