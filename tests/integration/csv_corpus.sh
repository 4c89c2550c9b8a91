#!/usr/bin/env bash
# tests/integration/csv_corpus.sh: one CSV file (UTF-8 BOM, header) mixing
# about 2600 good records with one bad case per line: too few and too many
# fields, invalid UTF-8 in a text column, int4 overflow, an impossible
# date, an over-long varchar(5), an empty (NULL) value in a NOT NULL int
# column, malformed JSON in a jsonb column, a bad uuid, numeric(5,2)
# overflow, and an unterminated quote at the end of the file. Good cases
# that must load exactly: the first line after the BOM and header, CRLF
# line ends (a varchar(3) last column proves the CR is not data), blank
# lines (skipped, but counted in line numbers), embedded delimiters,
# doubled quotes and newlines in quoted fields, unquoted empty fields
# (NULL) and quoted "" (empty string). Chunks of 64 KiB (the planner's
# minimum) with two multi-line quoted records placed across the first two
# chunk boundaries: the plan must cut after them, never inside.
# ferry-coordinator run with 2 local workers must then: reject exactly the
# bad lines (ferry.rejects: line number, raw bytes, reason words), load
# exactly the good rows (final == expected), account for every record per
# chunk (chunk_commits rows + rejected == records of the range) and in the
# report, and write the rejects_file (one "file:line: reason" line per
# reject). Any sanitizer report fails the test.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

coord=$(ferry_bin ferry-coordinator)
ferry_bin ferry-worker >/dev/null
pg_start tgt
tgt_dsn=$(pg_dsn tgt)
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to build the corpus)"


dir="$HARNESS_TMP/corpus"
mkdir -p "$dir"
csv="$dir/corpus.csv"

# The corpus, and what must come of it: expected.tsv (the good rows as COPY
# text), rejects.tsv (line, reason words, raw bytes as hex), records.tsv
# (byte offset and kind of every record), special.txt (the offsets where
# the first two chunks must start).
"$py" - "$dir" <<'EOF'
import hashlib, os, sys
from datetime import date, timedelta

d = sys.argv[1]
CHUNK = 65536                       # the planner's minimum range size
COLS = ["id", "qty", "name", "note", "d", "amount", "u", "doc", "tag"]

out = bytearray(b"\xef\xbb\xbf" + ",".join(COLS).encode() + b"\n")
hdr_end = len(out)
line = 2                            # physical line of the next record
records = []                        # (offset, line, kind)
expected = []                       # COPY text rows
rejects = []                        # (line, needle, raw bytes)

def q(s):
    return '"' + s.replace('"', '""') + '"'

def copy_text(v):
    if v is None:
        return "\\N"
    return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

def put(raw, kind, row=None, needle=None):
    """Appends one record (raw bytes with terminator) or a blank line."""
    global line
    off = len(out)
    out.extend(raw)
    if kind == "blank":
        line += raw.count(b"\n")
        return
    records.append((off, line, kind))
    if kind == "good":
        expected.append("\t".join(copy_text(v) for v in row))
    else:
        rejects.append((line, needle, raw.rstrip(b"\r\n")))
    line += raw.count(b"\n")

def good(fields, values, term=b"\n"):
    """fields: the CSV text of each field; values: what the row must hold."""
    put(",".join(fields).encode() + term, "good", values)

def bad(text, needle):
    put(text if isinstance(text, bytes) else text.encode() + b"\n", "bad", needle=needle)

def pad(i):
    """A plain good record, about 100 bytes."""
    vid = str(1000 + i)
    u = hashlib.md5(str(i).encode()).hexdigest()
    u = "-".join((u[:8], u[8:12], u[12:16], u[16:20], u[20:]))
    doc = '{"i": %d, "t": "p"}' % i
    vals = [vid, str(i % 97), ("p%d" % i)[:5], "padding note %d %s" % (i, "x" * (i % 20)),
            (date(2020, 1, 1) + timedelta(days=i)).isoformat(), "%.2f" % ((i * 37) % 99999 / 100),
            u, doc, "ok"]
    fields = vals[:7] + [q(doc), "ok"]
    return fields, vals

def multiline(vid, first_len):
    """A good record whose quoted note spans 7 physical lines; its first
    line is first_len bytes or more."""
    note = ("start " + "m" * first_len + "\nsecond, with a comma\n\"third\" quoted\n"
            "\n\nsixth ,\"\nseventh")
    good([vid, "1", "ml", q(note), "", "", "", "", "t"],
         [vid, "1", "ml", note, None, None, None, None, "t"])

# The head: a good first line, CRLF, blank lines, NULL markers, embedded
# delimiters, quotes and newlines, then bad lines, each among good ones.
good(["1", "10", "first", "the first line", "2024-02-29", "1.5",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", q('{"k": [1, 2]}'), "abc"],
     ["1", "10", "first", "the first line", "2024-02-29", "1.5",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", '{"k": [1, 2]}', "abc"])
good(["2", "20", "crlf", "crlf line", "2024-01-01", "2.25", "", "", "xyz"],
     ["2", "20", "crlf", "crlf line", "2024-01-01", "2.25", None, None, "xyz"], b"\r\n")
put(b"\n", "blank")
good(["3", "30", "crlfq", q("crlf, quoted last"), "", "", "", "", q("q,")],
     ["3", "30", "crlfq", "crlf, quoted last", None, None, None, None, "q,"], b"\r\n")
put(b"\r\n", "blank")
bad("100,1,abc", 'expected 9 fields, got 3')
good(["4", "0", "", '""', "", "", "", "", '""'],
     ["4", "0", None, "", None, None, None, None, ""])
good(["5", "50", q("a,b"), q('a,b "quoted", c'), "", "-999.99", "", q("[]"), "e"],
     ["5", "50", "a,b", 'a,b "quoted", c', None, "-999.99", None, "[]", "e"])
bad("101,1,a,b,2023-01-01,1.00,,{},t,extra", "expected 9 fields, got 10")
good(["6", "60", "multi", q('first\nsecond, with "comma"\n"third"'), "", "", "", "", "m"],
     ["6", "60", "multi", 'first\nsecond, with "comma"\n"third"', None, None, None, None, "m"])
bad("102,1,day,x,2023-02-30,,,,t", 'column "d": "2023-02-30" is not a valid date')
bad(b"103,1,utf,caf\xe9 au lait,,,,,t\n", 'column "note": value is not valid UTF-8')
put(b"\n\n", "blank")
good(["7", "70", "unic", q("caf\u00e9 \u00fcml\u00e4ut \U0001f600"), "", "", "", "", "u"],
     ["7", "70", "unic", "caf\u00e9 \u00fcml\u00e4ut \U0001f600", None, None, None, None, "u"])

i = 0
placed = 0                           # multi-line records placed at boundaries
boundary = [hdr_end]                 # where each chunk must start
later = {                            # bad lines further on, by padding index
    300: ("104,1,abcdef,x,,,,,t", 'column "name": value too long for varchar(5)'),
    1600: ("105,,nn,x,,,,,t", 'column "qty": NULL in a NOT NULL column'),
    1700: ('106,1,js,x,,,,"{""a"": 1,}",t', 'column "doc": "{"a": 1,}" is not valid jsonb'),
    1800: ("107,1,uu,x,,,not-a-uuid,,t", 'column "u": "not-a-uuid" is not a valid uuid'),
    2400: ("108,1,num,x,,1000.00,,,t", 'column "amount": value "1000.00" overflows numeric(5,2)'),
}
after_ml = [("109,3000000000,big,x,,,,,t", 'column "qty": value "3000000000" out of range for integer'),
            ("110,1,day,x,2023-02-30,,,,t", "is not a valid date")]
while i < 2600:
    fields, vals = pad(i)
    raw = ",".join(fields).encode() + b"\n"
    if placed < 2 and len(out) + len(raw) >= boundary[-1] + CHUNK:
        # The next record would end at or past the threshold: put a
        # multi-line record here instead, its first newline past it.
        gap = boundary[-1] + CHUNK - len(out)
        multiline(str(900 + placed), gap + 10)
        boundary.append(len(out))
        bad(*after_ml[placed])       # the first record of the next chunk
        placed += 1
        continue
    if i in later:
        bad(*later[i])
    good(fields, vals)
    i += 1
assert placed == 2
bad('999,1,abc,"never closed', "unterminated quoted field")

open(os.path.join(d, "corpus.csv"), "wb").write(out)
open(os.path.join(d, "expected.tsv"), "w").write("".join(r + "\n" for r in expected))
with open(os.path.join(d, "rejects.tsv"), "w") as f:
    for ln, needle, raw in rejects:
        f.write("%d\t%s\t%s\n" % (ln, needle, raw.hex()))
with open(os.path.join(d, "records.tsv"), "w") as f:
    for off, ln, kind in records:
        f.write("%d\t%d\t%s\n" % (off, ln, kind))
open(os.path.join(d, "special.txt"), "w").write(" ".join(map(str, boundary)) + "\n")
EOF

nrec=$(wc -l <"$dir/records.tsv")
ngood=$(wc -l <"$dir/expected.tsv")
nbad=$(wc -l <"$dir/rejects.tsv")
assert_eq 12 "$nbad" "corpus: bad records"
assert_eq $((ngood + nbad)) "$nrec" "corpus: records"

pg_psql tgt -c "CREATE TABLE corpus (
    id int PRIMARY KEY, qty int NOT NULL, name varchar(5), note text, d date,
    amount numeric(5,2), u uuid, doc jsonb, tag varchar(3));
  CREATE TABLE expected (LIKE corpus INCLUDING ALL)"
pg_psql tgt -c "\\copy expected FROM '$dir/expected.tsv'"
assert_eq "$ngood" "$(pg_psql tgt -Atc 'SELECT count(*) FROM expected')" "expected rows"

job="$HARNESS_TMP/corpus.yaml"
cat >"$job" <<EOF
source:
  kind: csv
  path: '$csv'
  format: { header: true }
  rejects_file: '$HARNESS_TMP/rejects.txt'
target:
  conninfo: '$tgt_dsn'
  table: public.corpus
  publish: merge
  merge: { key: [id] }
pipeline: { chunk_size: 50, min_rows_for_parallel: 0, batch_size: 100, read_buffer: 4096 }
retry: { max_retries: 2, initial_delay: 0.2, backoff: 2.0, max_delay: 1 }
cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200 }
EOF

# The plan: ranges tile the file from the end of the header, start on
# record starts (with the right first line), and the first two boundaries
# are just after the multi-line records, not inside them.
run_expect 0 plan "$coord" plan "$job"
"$py" - "$csv" "$HARNESS_TMP/plan.out" "$dir" <<'EOF' || fail "plan: wrong ranges ($(cat "$HARNESS_TMP/plan.out"))"
import sys
data = open(sys.argv[1], "rb").read()
d = sys.argv[3]
starts = {}
for l in open(d + "/records.tsv"):
    off, ln, kind = l.split("\t")
    starts[int(off)] = int(ln)
boundary = [int(x) for x in open(d + "/special.txt").read().split()]
ranges = []
for l in open(sys.argv[2]):
    f = l.split()
    if len(f) == 6 and f[0].isdigit():
        ranges.append((int(f[2]), int(f[3]), int(f[4])))
assert len(ranges) >= 4, ranges
pos = boundary[0]
for off, n, first in ranges:
    assert off == pos, ("gap or overlap", off, pos)
    # a record start, or a blank line before one; the line is exact
    assert first == data.count(b"\n", 0, off) + 1, ("first line", off, first)
    assert off in starts or data[off:off + 1] in (b"\n", b"\r"), ("not a record start", off)
    pos = off + n
assert pos == len(data), (pos, len(data))
assert [r[0] for r in ranges[:3]] == boundary, ("boundaries", [r[0] for r in ranges[:3]], boundary)
EOF

ferry_run_job corpus "$job" 0

# Every bad line rejected once, with its line, raw bytes and reason.
pg_psql tgt -At -F $'\t' -c "SELECT line, reason, encode(raw, 'hex'), file FROM ferry.rejects
    WHERE run_id = '$RUN' ORDER BY line" >"$HARNESS_TMP/rejects.got"
"$py" - "$dir/rejects.tsv" "$HARNESS_TMP/rejects.got" "$csv" <<'EOF' || fail "ferry.rejects differs from the bad lines (above)"
import sys
want = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
got = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
ok = len(want) == len(got)
if not ok:
    print("rejects: want %d, got %d" % (len(want), len(got)), file=sys.stderr)
for i in range(max(len(want), len(got))):
    w = want[i] if i < len(want) else ["-", "-", "-"]
    g = got[i] if i < len(got) else ["-", "-", "-", "-"]
    bad = []
    if w[0] != g[0]:
        bad.append("line")
    if w[1] not in g[1]:
        bad.append("reason")
    if w[2] != g[2]:
        bad.append("raw")
    if g[3:] and g[3] != sys.argv[3]:
        bad.append("file")
    if bad:
        ok = False
        print("reject %d: %s wrong; want line %s reason ~ %r raw %r; got line %s reason %r raw %r file %r"
              % (i, "/".join(bad), w[0], w[1], bytes.fromhex(w[2]) if w[2] != "-" else "-",
                 g[0], g[1:2], bytes.fromhex(g[2]) if len(g) > 2 and g[2] != "-" else "-", g[3:]),
              file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

# Every good line loaded exactly, nothing else.
assert_same_rows tgt "SELECT * FROM expected" tgt "SELECT * FROM corpus" "final == the good lines"

# Accounting: in total (report) and per chunk (ledger vs. the records of
# each planned range).
assert_eq "published $nrec $ngood $nbad" "$("$py" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["status"], r.get("rows_read"), r["rows_loaded"], r.get("rows_rejected"))' "$HARNESS_TMP/$RUN.json")" \
    "report: status rows_read rows_loaded rows_rejected"
pg_psql tgt -At -F $'\t' -c "SELECT c.byte_offset, c.byte_length, cc.rows, cc.rejected
    FROM ferry.chunks c JOIN ferry.chunk_commits cc USING (run_id, chunk_id)
    WHERE run_id = '$RUN' AND cc.committed_at IS NOT NULL ORDER BY c.byte_offset" >"$HARNESS_TMP/ledger.got"
"$py" - "$dir/records.tsv" "$HARNESS_TMP/ledger.got" "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunks WHERE run_id = '$RUN'")" <<'EOF' || fail "per-chunk accounting (above)"
import sys
recs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
chunks = [list(map(int, l.split("\t"))) for l in open(sys.argv[2])]
ok = len(chunks) == int(sys.argv[3]) and len(chunks) >= 4
if not ok:
    print("committed chunks %d of %s planned" % (len(chunks), sys.argv[3]), file=sys.stderr)
for off, n, rows, rejected in chunks:
    mine = [k for o, _, k in recs if off <= int(o) < off + n]
    want_bad = sum(1 for k in mine if k == "bad")
    if rows + rejected != len(mine) or rejected != want_bad:
        ok = False
        print("chunk at %d: %d rows + %d rejected, the range holds %d records (%d bad)"
              % (off, rows, rejected, len(mine), want_bad), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

# The rejects file: one "file:line: reason<TAB>record" line per reject, in
# line order.
[[ -f "$HARNESS_TMP/rejects.txt" ]] || fail "rejects_file was not written"
"$py" - "$dir/rejects.tsv" "$HARNESS_TMP/rejects.txt" "$csv" <<'EOF' || fail "rejects_file content (above; file: $(head -c 3000 "$HARNESS_TMP/rejects.txt"))"
import sys
want = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
got = open(sys.argv[2], "rb").read().split(b"\n")
assert got[-1] == b"", "no final newline"
got = got[:-1]
assert len(got) == len(want), ("lines", len(got), len(want))
for (ln, needle, raw), g in zip(want, got):
    prefix = ("%s:%s: " % (sys.argv[3], ln)).encode()
    assert g.startswith(prefix), (g, prefix)
    assert needle.encode() in g.split(b"\t")[0], (g, needle)
    assert b"\t" in g, g
EOF

echo "csv_corpus: OK"
