#!/usr/bin/env bash
# tests/integration/csv_limits.sh: limits on rejects, formats and column
# mappings of CSV sources, through ferry-coordinator run with 2 local
# workers (publish: merge).
#   - source.max_errors: 2 with 3 bad records: exit 1, the message names
#     source.max_errors, the final table stays empty; max_errors: 3 with the
#     same file publishes the good records.
#   - source.max_error_rate: 0.01 with 5% bad records: exit 1, nothing
#     published; max_error_rate: 0.05 with the same file publishes.
#   - TSV (delimiter "\t", quoting off) with null marker \N: quotes, commas
#     and backslashes are data, \N is NULL, an empty field is ''.
#   - source.columns with a skipped file column ("-", holding values that
#     would not fit any column) and reordered columns (overriding a
#     misleading header): each value lands in its column.
#   - source.columns naming a column the target lacks: exit 1 before any
#     data moves, the message names the column.
# Any sanitizer report fails the test.
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

ferry_bin ferry-worker >/dev/null
pg_start tgt
tgt_dsn=$(pg_dsn tgt)
py=/usr/bin/python3
[[ -x "$py" ]] || py=$(command -v python3) || fail "python3 is missing (needed to read the JSON report)"

# report FIELD...: fields of the JSON report of run $RUN, space-separated.
report() {
    "$py" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(str(r.get(k)) for k in sys.argv[2:]))' "$HARNESS_TMP/$RUN.json" "$@"
}
# output: stdout and stderr of run $RUN.
output() {
    cat "$HARNESS_TMP/$RUN.out" "$HARNESS_TMP/$RUN.err"
}
# job TAG TABLE PATH [YAML_LINE...]: writes the job file $HARNESS_TMP/TAG.yaml
# for a CSV file with a header into public.TABLE (merge on id); the
# YAML_LINEs are added under source:.
job() {
    local tag="$1" table="$2" path="$3" line
    shift 3
    {
        echo "source:"
        echo "  kind: csv"
        echo "  path: '$path'"
        for line in "$@"; do
            echo "  $line"
        done
        echo "target: { conninfo: '$tgt_dsn', table: public.$table, publish: merge, merge: { key: [id] } }"
        echo "pipeline: { chunk_size: 100, min_rows_for_parallel: 0, batch_size: 50 }"
        echo "retry: { max_retries: 2, initial_delay: 0.2, backoff: 2.0, max_delay: 1 }"
        echo "cluster: { bind: 'tcp://127.0.0.1:*', heartbeat_ms: 200 }"
    } >"$HARNESS_TMP/$tag.yaml"
}
count() {
    pg_psql tgt -Atc "SELECT count(*) FROM $1"
}

# Files with bad records: v is an int column, "oops" does not fit it.
bad3="$HARNESS_TMP/bad3.csv"     # 300 records, 3 bad
rate="$HARNESS_TMP/rate.csv"     # 400 records, 20 bad (5%)
{
    echo "id,v,s"
    for i in $(seq 1 300); do
        if ((i % 100 == 50)); then echo "$i,oops,bad $i"; else echo "$i,$((i * 2)),good $i"; fi
    done
} >"$bad3"
{
    echo "id,v,s"
    for i in $(seq 1 400); do
        if ((i % 20 == 7)); then echo "$i,oops,bad $i"; else echo "$i,$((i * 2)),good $i"; fi
    done
} >"$rate"
pg_psql tgt -c "CREATE TABLE lim_errors (id int PRIMARY KEY, v int NOT NULL, s text);
    CREATE TABLE lim_rate (LIKE lim_errors INCLUDING ALL);
    CREATE TABLE ok_errors (LIKE lim_errors INCLUDING ALL);
    CREATE TABLE ok_rate (LIKE lim_errors INCLUDING ALL)"

# max_errors: 2, 3 bad records: failed, nothing published.
job max_errors lim_errors "$bad3" "format: { header: true }" "max_errors: 2"
ferry_run_job max_errors "$HARNESS_TMP/max_errors.yaml" 1
assert_contains "$(output)" "source.max_errors" "max_errors: message"
assert_contains "$(report message)" "max_errors" "max_errors: report message"
assert_eq failed "$(report status)" "max_errors: report status"
assert_eq failed "$(pg_psql tgt -Atc "SELECT status FROM ferry.runs WHERE run_id = '$RUN'")" \
    "max_errors: ferry.runs status"
assert_eq 0 "$(count lim_errors)" "max_errors: final table empty (nothing published)"

# max_errors: 3, the same file: published, 297 rows.
job ok_errors ok_errors "$bad3" "format: { header: true }" "max_errors: 3"
ferry_run_job ok_errors "$HARNESS_TMP/ok_errors.yaml" 0
assert_eq "published 300 297 3" "$(report status rows_read rows_loaded rows_rejected)" "max_errors 3: report"
assert_eq "297|0" "$(pg_psql tgt -Atc "SELECT count(*), count(*) FILTER (WHERE v <> id * 2 OR s <> 'good ' || id)
    FROM ok_errors")" "max_errors 3: the good rows"
assert_eq "50 150 250" "$(pg_psql tgt -Atc "SELECT string_agg(line - 1 || '', ' ' ORDER BY line)
    FROM ferry.rejects WHERE run_id = '$RUN'")" "max_errors 3: the rejected records (line - 1 = id)"

# max_error_rate: 0.01, 5% bad: failed, nothing published.
job max_rate lim_rate "$rate" "format: { header: true }" "max_error_rate: 0.01"
ferry_run_job max_rate "$HARNESS_TMP/max_rate.yaml" 1
assert_contains "$(output)" "source.max_error_rate" "max_error_rate: message"
assert_eq failed "$(report status)" "max_error_rate: report status"
assert_eq 0 "$(count lim_rate)" "max_error_rate: final table empty (nothing published)"

# max_error_rate: 0.05, the same file (exactly 5%): published.
job ok_rate ok_rate "$rate" "format: { header: true }" "max_error_rate: 0.05"
ferry_run_job ok_rate "$HARNESS_TMP/ok_rate.yaml" 0
assert_eq "published 400 380 20" "$(report status rows_read rows_loaded rows_rejected)" "max_error_rate 0.05: report"
assert_eq 380 "$(count ok_rate)" "max_error_rate 0.05: the good rows"

# TSV, quoting off, null marker \N.
tsv="$HARNESS_TMP/t.tsv"
printf '%s\n' $'id\tt\tn\td' \
    $'1\tsay "hi", ok\t\\N\t2024-01-01' \
    $'2\t\t5\t\\N' \
    $'3\t"quoted"\t7\t2024-02-29' \
    $'4\tback\\slash, "\t-8\t2000-01-01' \
    $'5\t\\N\t\t1999-12-31' >"$tsv"
pg_psql tgt -c "CREATE TABLE tsv (id int PRIMARY KEY, t text, n text, d date);
    CREATE TABLE tsv_expected (LIKE tsv);
    INSERT INTO tsv_expected VALUES
        (1, 'say \"hi\", ok', NULL, '2024-01-01'), (2, '', '5', NULL), (3, '\"quoted\"', '7', '2024-02-29'),
        (4, E'back\\\\slash, \"', '-8', '2000-01-01'), (5, NULL, '', '1999-12-31')"
job tsv tsv "$tsv" 'format: { header: true, delimiter: "\t", quote: "", null: "\\N" }'
ferry_run_job tsv "$HARNESS_TMP/tsv.yaml" 0
assert_eq "published 5 5 0" "$(report status rows_read rows_loaded rows_rejected)" "tsv: report"
assert_same_rows tgt "SELECT * FROM tsv_expected" tgt "SELECT * FROM tsv" "tsv: final == expected"

# source.columns: file columns c, (skipped), a, b; the header says otherwise.
cols="$HARNESS_TMP/cols.csv"
printf '%s\n' 'id,a,b,c,d' \
    '1,2024-03-01,not an int,10,one' \
    '2,2024-03-02,"x,y",20,"two, quoted"' \
    '3,,99999999999,30,' >"$cols"
pg_psql tgt -c "CREATE TABLE cols (id int PRIMARY KEY, a int, b text, c date, d text DEFAULT 'dflt');
    CREATE TABLE cols_expected (LIKE cols);
    INSERT INTO cols_expected VALUES
        (1, 10, 'one', '2024-03-01', 'dflt'), (2, 20, 'two, quoted', '2024-03-02', 'dflt'),
        (3, 30, NULL, NULL, 'dflt')"
job cols cols "$cols" "format: { header: true }" 'columns: [id, c, "-", a, b]'
ferry_run_job cols "$HARNESS_TMP/cols.yaml" 0
assert_eq "published 3 3 0" "$(report status rows_read rows_loaded rows_rejected)" "columns: report"
assert_same_rows tgt "SELECT * FROM cols_expected" tgt "SELECT * FROM cols" "columns: final == expected"

# source.columns naming a missing column: fails before any data moves.
pg_psql tgt -c "CREATE TABLE cols2 (LIKE cols INCLUDING ALL)"
job missing cols2 "$cols" "format: { header: true }" 'columns: [id, c, "-", nope, b]'
ferry_run_job missing "$HARNESS_TMP/missing.yaml" 1
assert_contains "$(output)" 'column "nope"' "missing column: message names it"
assert_contains "$(output)" "does not exist" "missing column: message"
assert_eq 0 "$(count cols2)" "missing column: final table empty"
assert_eq 0 "$(pg_psql tgt -Atc "SELECT count(*) FROM ferry.chunk_commits WHERE run_id = '$RUN'")" \
    "missing column: no chunk was loaded"

echo "csv_limits: OK"
