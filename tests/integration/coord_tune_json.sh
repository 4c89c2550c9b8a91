#!/usr/bin/env bash
# tests/integration/coord_tune_json.sh: ferry-coordinator tune --json
# (issue 14) parses, with 3 configurations (sequential, one fixed, auto) on
# a 50,000-row sample of a 100,000-row source (acct_id < 50001), each with
# its figures, one marked best, and the recommendation; no scratch table
# is left.
# shellcheck source=../lib/coord.sh
source "$(dirname "$0")/../lib/coord.sh"

coord_setup
coord_accounts 100000
job="$HARNESS_TMP/job.yaml"
coord_job "$job" public.accounts "SELECT * FROM accounts ORDER BY acct_id" acct_id ""

run_expect 0 tunejson "$coord" tune "$job" --rows 50000 --chunk-sizes 25000 --workers 2 --json
"$py" - "$HARNESS_TMP/tunejson.out" <<'PY' || fail "tune --json: check failed (above)"
import json, sys
d = json.load(open(sys.argv[1]))
kinds = [c["kind"] for c in d["configurations"]]
assert kinds == ["sequential", "fixed", "auto"], kinds
assert d["sample"]["rows"] == 50000 and d["sample"]["below"] == "50001", d["sample"]
for c in d["configurations"]:
    assert c["runs"] == 1 and c["wall_seconds"] > 0 and c["rows"] == 50000, c
assert sum(c["best"] for c in d["configurations"]) == 1
assert d["configurations"][1]["speedup"] > 0
p = d["recommendation"]["pipeline"]
assert p["chunk_size"] == 25000 and p["writers"] == 2, p
assert d["recommendation"]["bound"] in ("source", "target", "ferry")
PY
assert_eq 0 "$(coord_tune_scratch)" "tune --json dropped its scratch tables"

assert_eq 0 "$(pg_psql tgt -At -c "SELECT count(*) FROM accounts")" "tune --json left the final table alone"
no_sanitizer_reports tunejson
echo "coord_tune_json: OK"
