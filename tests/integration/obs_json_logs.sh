#!/usr/bin/env bash
# tests/integration/obs_json_logs.sh: JSON logs (issue 13). Every stderr
# line of the coordinator and its local workers is one JSON object
# (decoded as strict UTF-8, then json.loads), with time, level, role,
# run_id, worker, chunk, message, source, and sqlstate on server errors:
#   ok      FERRY_LOG_FORMAT=json, a run that publishes: worker lines name
#           their worker, run and chunk; final == source.
#   bytes   a server message holding bytes that are not UTF-8: the target
#           conninfo (FERRY_TARGET_DSN: the environment takes any bytes)
#           names the database 'caf' + 0xe9 (LATIN1 'e acute'); the server
#           answers FATAL: database "caf\xe9" does not exist, before any
#           client_encoding applies, with the byte as it is (checked with
#           psql first). The coordinator (--log-format json) and a
#           standalone worker (FERRY_LOG_FORMAT=json) log it as valid JSON
#           with U+FFFD where the byte was, with a sqlstate; the --report
#           JSON is valid UTF-8 too.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup
coord_names 3000
pg_psql tgt -c "CREATE TABLE t (id int PRIMARY KEY, name text)"
bad_db=$(printf 'caf\xe9')
bad_dsn="$(pg_dsn tgt) dbname=$bad_db"
raw=$("$(pg_bindir)/psql" -X -d "$bad_dsn" -c "SELECT 1" 2>&1 || true)
printf '%s' "$raw" | grep -q "$(printf 'caf\xe9')\" does not exist" ||
    fail "the server's message does not hold the byte 0xe9: $raw"

job() {
    local tag="$1" db="$2" table="$3"
    coord_job "$HARNESS_TMP/$tag.yaml" "public.$table" "SELECT * FROM t ORDER BY id" id \
        "chunk_size: 1000, min_rows_for_parallel: 1000"
    if [[ $db != postgres ]]; then
        "$py" - "$HARNESS_TMP/$tag.yaml" "$(pg_dsn tgt)" "$(pg_dsn tgt "$db")" <<'PY'
import sys
p, old, new = sys.argv[1:]
s = open(p).read().replace("target:\n  conninfo: '%s'" % old, "target:\n  conninfo: '%s'" % new)
open(p, "w").write(s)
PY
        grep -q "dbname=$db" "$HARNESS_TMP/$tag.yaml" || fail "$tag: job file does not name $db"
    fi
    for line in "${@:4}"; do
        sed -i "/^  table: /a\\  $line" "$HARNESS_TMP/$tag.yaml"
    done
}

# check TAG RUN_ID [EXPECT...]: every line parses; the expectations are
# python expressions over `lines` (the parsed objects).
check() {
    local tag="$1" run_id="$2"
    shift 2
    "$py" - "$HARNESS_TMP/$tag.err" "$run_id" "$@" <<'PY' || fail "$tag: JSON log check failed (above)"
import json, sys
path, run_id, *expects = sys.argv[1:]
data = open(path, "rb").read()
errors = []
lines = []
for n, raw in enumerate(data.split(b"\n"), 1):
    if not raw:
        continue
    try:
        text = raw.decode("utf-8")          # strict: invalid UTF-8 fails
        obj = json.loads(text)
    except Exception as e:
        errors.append(f"line {n}: {e}: {raw[:200]!r}")
        continue
    if not isinstance(obj, dict):
        errors.append(f"line {n}: not an object")
        continue
    for k in ("time", "level", "role", "run_id", "worker", "chunk", "message", "source"):
        if k not in obj:
            errors.append(f"line {n}: no {k!r}: {text[:200]}")
    lines.append(obj)
if not lines:
    errors.append("no log lines at all")
for e in expects:
    if not eval(e):
        errors.append(f"expectation failed: {e}")
if errors:
    print("\n".join(errors[:20]), file=sys.stderr)
    for l in lines:
        if l.get("level") in ("warn", "error"):
            print(json.dumps(l, ensure_ascii=True), file=sys.stderr)
    sys.exit(1)
print(f"{path}: {len(lines)} JSON lines")
PY
}

# --- ok
job ok postgres t
FERRY_LOG_FORMAT=json run_expect 0 ok "$coord" run "$HARNESS_TMP/ok.yaml" --local-workers 2 --run-id j_ok
assert_same_rows src "SELECT * FROM t" tgt "SELECT * FROM t" "ok: final == source"
check ok j_ok \
    'any(l["role"] == "coordinator" and l["run_id"] == run_id for l in lines)' \
    'any(l["role"] == "worker" and l["run_id"] == run_id and l["worker"] in ("local-1", "local-2") for l in lines)' \
    'any(l["role"] == "worker" and isinstance(l["chunk"], int) for l in lines)' \
    'all(l["level"] in ("debug", "info", "warn", "error") for l in lines)' \
    'any("published 3000 rows" in l["message"] for l in lines)'
no_sanitizer_reports ok

# --- bytes: the coordinator, then a standalone worker
FERRY_TARGET_DSN="$bad_dsn" run_expect 5 bytes "$coord" run "$HARNESS_TMP/ok.yaml" \
    --local-workers 1 --run-id j_bytes --log-format json --report "$HARNESS_TMP/bytes.json"
grep -q "$(printf 'caf\xe9')" "$HARNESS_TMP/bytes.err" && fail "bytes: the raw byte reached the log"
check bytes j_bytes \
    'any(l["role"] == "coordinator" and l["level"] == "error" and l.get("sqlstate") and "database \"caf\ufffd\" does not exist" in l["message"] for l in lines)'
"$py" - "$HARNESS_TMP/bytes.json" <<'PY' || fail "bytes: the report is not valid UTF-8 JSON with the message"
import json, sys
r = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert r["status"] == "failed", r["status"]
assert "caf\ufffd" in r["message"], r["message"]
PY
no_sanitizer_reports bytes
worker=$(ferry_bin ferry-worker)
FERRY_LOG_FORMAT=json FERRY_TARGET_DSN="$bad_dsn" run_expect 5 wbytes "$worker" --standalone \
    --job "$HARNESS_TMP/ok.yaml" --range : --run-id j_wbytes --name w1
check wbytes j_wbytes \
    'any(l["role"] == "worker" and l["worker"] == "w1" and l["level"] == "error" and l.get("sqlstate") and "caf\ufffd" in l["message"] for l in lines)'
no_sanitizer_reports wbytes
echo "obs_json_logs: OK"
