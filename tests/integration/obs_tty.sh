#!/usr/bin/env bash
# tests/integration/obs_tty.sh: on a terminal the progress line never
# shares a line with a log line, and it keeps moving through publish
# (issue 13). The coordinator runs with --local-workers 2 under a pseudo
# terminal (python3's pty module: stdin, stdout and stderr on the pty) on
# 100,000 rows in 10 chunks (every worker logs per chunk), into a final
# table whose statement trigger sleeps 3 s, so the publish takes at least
# 3 s. The raw bytes are replayed through a small terminal model (\r, \n,
# ESC[K, overwrite) into the lines a user sees; then:
#   - no visible line holds both a log line's timestamp and progress text,
#     and every timestamp starts its line (nothing glued before it);
#   - the publish redrew its line at least twice with different times
#     ("publishing by insert: N.N s"), and the final line shows it;
#   - final == source.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

coord=$(ferry_bin ferry-coordinator)
ferry_bin ferry-worker >/dev/null
py=$(command -v python3) || fail "python3 is missing"
pg_start src
pg_start tgt
pg_psql src -v rows=100000 -f "$FERRY_SOURCE_DIR/bench/workloads/accounts.sql" >/dev/null
pg_psql tgt -v rows=0 -f "$FERRY_SOURCE_DIR/bench/workloads/accounts.sql" >/dev/null
pg_psql tgt <<'SQL'
CREATE FUNCTION slow_publish() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(3);
    RETURN NULL;
END $$;
CREATE TRIGGER slow_publish AFTER INSERT ON accounts FOR EACH STATEMENT
    EXECUTE FUNCTION slow_publish();
SQL
ferry_write_job "$HARNESS_TMP/tty.yaml" src tgt public.accounts "SELECT * FROM accounts ORDER BY acct_id" acct_id \
    "pipeline: { chunk_size: 10000, min_rows_for_parallel: 1000 }" \
    "cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200, liveness: 10 }"

"$py" - "$HARNESS_TMP/tty.raw" "$coord" run "$HARNESS_TMP/tty.yaml" --local-workers 2 --run-id tty1 <<'PY' ||
import os, pty, subprocess, sys
out, cmd = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
data = bytearray()
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:            # EIO: every writer closed the pty
        break
    if not chunk:
        break
    data += chunk
rc = p.wait()
open(out, "wb").write(bytes(data))
sys.exit(rc)
PY
{ tail -c 3000 "$HARNESS_TMP/tty.raw" | cat -v >&2; fail "the run under a pty failed"; }
cp "$HARNESS_TMP/tty.raw" "$HARNESS_TMP/tty.err"
no_sanitizer_reports tty

"$py" - "$HARNESS_TMP/tty.raw" <<'PY' || fail "terminal check failed (above)"
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
# The terminal model: what a user sees, line by line.
lines, line, col, i = [], [], 0, 0
while i < len(data):
    c = data[i]
    if data.startswith("\x1b[K", i):
        del line[col:]
        i += 3
        continue
    if c == "\r":
        col = 0
    elif c == "\n":
        lines.append("".join(line))
        line, col = [], 0
    else:
        if col < len(line):
            line[col] = c
        else:
            line.append(c)
        col += 1
    i += 1
lines.append("".join(line))
stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z (coordinator|worker)")
progress = re.compile(r"\d+\.\d%\s+\d+/\d+ rows|publishing( by \S+)?: \d+\.\d s|verifying: \d+\.\d s")
errors = []
nlog = nprog = 0
for n, l in enumerate(lines, 1):
    s = [m.start() for m in stamp.finditer(l)]
    p = progress.search(l)
    nlog += bool(s)
    nprog += bool(p)
    if s and p:
        errors.append(f"line {n}: a log line and progress share it: {l!r}")
    if s and s[0] != 0:
        errors.append(f"line {n}: something before the log line's timestamp: {l!r}")
    if len(s) > 1:
        errors.append(f"line {n}: two log lines glued: {l!r}")
redraws = set(re.findall(r"publishing by \S+: (\d+\.\d) s", data))
if len(redraws) < 2:
    errors.append(f"the publish line was drawn with {len(redraws)} distinct time(s), expected >= 2 "
                  "(the publish takes >= 3 s)")
if not any(re.search(r"publishing by \S+: ([3-9]|\d\d+)\.\d s", l) for l in lines):
    errors.append("no visible line shows the publish's final time (>= 3 s)")
if nlog < 10:
    errors.append(f"only {nlog} log lines: the scenario did not log per chunk")
if errors:
    print("\n".join(errors[:20]), file=sys.stderr)
    print("--- visible lines:", file=sys.stderr)
    print("\n".join(lines[-60:]), file=sys.stderr)
    sys.exit(1)
print(f"{len(lines)} visible lines: {nlog} log, {nprog} progress; publish drawn at {sorted(redraws)} s")
PY
assert_same_rows src "SELECT * FROM accounts" tgt "SELECT * FROM accounts" "tty: final == source"
echo "obs_tty: OK"
