#!/usr/bin/env bash
# tests/integration/csv_server_reject.sh: values the validator lets through
# (inet is not checked before sending) but the server refuses. A 5000-line
# CSV file (header) into a table with an inet column, publish: direct,
# batch_size 100 (so each COPY group of the careful mode holds 100 rows),
# 2 local workers and several chunks. A chunk streams as one COPY; one that
# holds a refused row is copied again in groups, and only those. Six bad inet values: the first record of the file, two
# adjacent records (the same group), one in a later chunk, one with a
# quoted field holding the delimiter, and the last record. The refused
# groups must be bisected down to exactly those records, rejected with the
# server's message ("rejected by the server", SQLSTATE 22P02), their line
# numbers and the row as sent; every other record loads (final == expected), and records
# read = loaded + rejected in the report and per chunk. Any sanitizer
# report fails the test.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

ferry_bin ferry-worker >/dev/null
pg_start tgt
tgt_dsn=$(pg_dsn tgt)
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to build the file)"


dir="$HARNESS_TMP/data"
mkdir -p "$dir"
csv="$dir/hosts.csv"
# hosts.csv; expected.tsv (the good rows, COPY text); bad.tsv (line, the
# row as sent, hex); records.tsv (byte offset and kind of every record).
"$py" - "$dir" <<'EOF'
import os, sys
d = sys.argv[1]
n = 5000
bad_at = {1: "not-an-ip", 1201: "300.1.1.1", 1202: "10.0.0.1/33", 2900: "::gg",
          3500: "1.2.3.4, the delimiter", n: "bogus"}
out = bytearray(b"id,addr,note\n")
expected, bad, records = [], [], []
for i in range(1, n + 1):
    line = i + 1
    if i in bad_at:
        addr = bad_at[i]
    elif i % 3 == 0:
        addr = "2001:db8::%x/64" % i
    else:
        addr = "10.%d.%d.%d" % (i // 65536, (i // 256) % 256, i % 256)
    note = "host %d, rack %d" % (i, i % 40) if i % 2 else "host%d" % i
    fields = [str(i), ('"%s"' % addr) if "," in addr else addr, ('"%s"' % note) if "," in note else note]
    raw = ",".join(fields).encode()
    records.append("%d\t%s" % (len(out), "bad" if i in bad_at else "good"))
    out.extend(raw + b"\n")
    if i in bad_at:
        # The stored record of a server reject is the row as sent (COPY
        # text, tab-separated; docs/OPERATIONS.md), not the file's bytes.
        sent = "\t".join((str(i), addr, note)).encode()
        bad.append("%d\t%s" % (line, sent.hex()))
    else:
        expected.append("%d\t%s\t%s" % (i, addr, note))
open(os.path.join(d, "hosts.csv"), "wb").write(out)
for name, rows in (("expected.tsv", expected), ("bad.tsv", bad), ("records.tsv", records)):
    open(os.path.join(d, name), "w").write("".join(r + "\n" for r in rows))
EOF
nrec=$(wc -l <"$dir/records.tsv")
ngood=$(wc -l <"$dir/expected.tsv")
nbad=$(wc -l <"$dir/bad.tsv")
assert_eq "5000 4994 6" "$nrec $ngood $nbad" "file: records, good, bad"

pg_psql tgt -c "CREATE TABLE hosts (id int, addr inet, note text);
    CREATE TABLE expected (LIKE hosts)"
pg_psql tgt -c "\\copy expected FROM '$dir/expected.tsv'"

job="$HARNESS_TMP/hosts.yaml"
cat >"$job" <<EOF
source: { kind: csv, path: '$csv', format: { header: true } }
target: { conninfo: '$tgt_dsn', table: public.hosts, publish: direct }
pipeline: { chunk_size: 50, min_rows_for_parallel: 0, batch_size: 100 }
retry: { max_retries: 2, initial_delay: 0.2, backoff: 2.0, max_delay: 1 }
cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200 }
EOF
ferry_run_job hosts "$job" 0
# Chunks stream as one COPY; those with a refused row are copied again in
# groups (the careful mode), the others are not.
careful=$(grep -c "copying it again in groups of 100 rows to isolate the refused row(s)" "$HARNESS_TMP/$RUN.err" || true)
with_bad=$(pg_psql tgt -Atc "SELECT count(*) FROM (SELECT first_line AS lo,
    lead(first_line) OVER (ORDER BY chunk_id) AS hi FROM ferry.chunks WHERE run_id = '$RUN') c
    WHERE EXISTS (SELECT 1 FROM unnest(ARRAY[2, 1202, 1203, 2901, 3501, 5001]) b
                  WHERE b >= c.lo AND (c.hi IS NULL OR b < c.hi))")
assert_eq "$with_bad" "$careful" "chunks copied again carefully = chunks holding a refused record"

# Exactly the bad records, each alone, with the server's reason.
pg_psql tgt -At -F $'\t' -c "SELECT line, encode(raw, 'hex'), reason FROM ferry.rejects
    WHERE run_id = '$RUN' ORDER BY line" >"$HARNESS_TMP/rejects.got"
"$py" - "$dir/bad.tsv" "$HARNESS_TMP/rejects.got" <<'EOF' || fail "ferry.rejects differs from the bad records (above)"
import sys
want = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
got = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
ok = len(want) == len(got)
if not ok:
    print("rejects: want lines %s, got %s" % ([w[0] for w in want], [g[0] for g in got]), file=sys.stderr)
for w, g in zip(want, got):
    why = []
    if w[0] != g[0]:
        why.append("line")
    if "rejected by the server" not in g[2] or "22P02" not in g[2] or "inet" not in g[2]:
        why.append("reason")
    if w[1] != g[1]:
        why.append("raw")
    if why:
        ok = False
        print("line %s: %s wrong: want raw %r; got line %s raw %r reason %r"
              % (w[0], "/".join(why), bytes.fromhex(w[1]), g[0], bytes.fromhex(g[1]), g[2]),
              file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

# Everything else loaded, once.
assert_same_rows tgt "SELECT * FROM expected" tgt "SELECT * FROM hosts" "final == the good records"

# Accounting: the report, and every chunk against its planned range.
assert_eq "published $nrec $ngood $nbad" "$("$py" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["status"], r.get("rows_read"), r["rows_loaded"], r.get("rows_rejected"))' "$HARNESS_TMP/$RUN.json")" \
    "report: status rows_read rows_loaded rows_rejected"
pg_psql tgt -At -F $'\t' -c "SELECT c.byte_offset, c.byte_length, cc.rows, cc.rejected
    FROM ferry.chunks c JOIN ferry.chunk_commits cc USING (run_id, chunk_id)
    WHERE run_id = '$RUN' AND cc.committed_at IS NOT NULL ORDER BY c.byte_offset" >"$HARNESS_TMP/ledger.got"
"$py" - "$dir/records.tsv" "$HARNESS_TMP/ledger.got" <<'EOF' || fail "per-chunk accounting (above)"
import sys
recs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
chunks = [list(map(int, l.split("\t"))) for l in open(sys.argv[2])]
ok = len(chunks) >= 3
if not ok:
    print("only %d committed chunks" % len(chunks), file=sys.stderr)
for off, n, rows, rejected in chunks:
    mine = [k for o, k in recs if off <= int(o) < off + n]
    want_bad = mine.count("bad")
    if rows + rejected != len(mine) or rejected != want_bad:
        ok = False
        print("chunk at %d: %d rows + %d rejected, the range holds %d records (%d bad)"
              % (off, rows, rejected, len(mine), want_bad), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

echo "csv_server_reject: OK"
