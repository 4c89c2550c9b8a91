#!/usr/bin/env bash
# tests/integration/deploy_rules.sh: deploy/prometheus/ferry-rules.yaml is
# a valid Prometheus rules file (promtool check rules), and its stall alert
# fires on a run whose rows stopped moving and stays quiet on one that
# moves (promtool test rules, series made up in the test).
# shellcheck source=../lib/pg.sh
source "$(dirname "$0")/../lib/pg.sh"

command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus)"
rules="$FERRY_SOURCE_DIR/deploy/prometheus/ferry-rules.yaml"
promtool check rules "$rules" >"$HARNESS_TMP/check.out" 2>&1 \
    || { cat "$HARNESS_TMP/check.out" >&2; fail "promtool check rules failed"; }
assert_contains "$(cat "$HARNESS_TMP/check.out")" "SUCCESS" "promtool check rules"

cp "$rules" "$HARNESS_TMP/rules.yaml"
cat >"$HARNESS_TMP/tests.yaml" <<'EOF'
rule_files: [ rules.yaml ]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # stuck: last progress at t=0 and never again, still loading
      - series: 'ferry_last_progress_time_seconds{instance="stuck:9187", job="ferry"}'
        values: '0x30'
      - series: 'ferry_run_phase{instance="stuck:9187", job="ferry", phase="loading"}'
        values: '1x30'
      # moving: progress time follows the clock
      - series: 'ferry_last_progress_time_seconds{instance="moving:9187", job="ferry"}'
        values: '0+60x30'
      - series: 'ferry_run_phase{instance="moving:9187", job="ferry", phase="loading"}'
        values: '1x30'
      - series: 'ferry_run_phase{instance="failed:9187", job="ferry", phase="failed"}'
        values: '1x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: FerryStalled
        exp_alerts:
          - exp_labels: { severity: critical, instance: "stuck:9187", job: ferry }
            exp_annotations:
              summary: "ferry run stuck:9187: no rows moved for 10 minutes"
              description: "Check the coordinator's log, ferry-coordinator status, and the workers."
      - eval_time: 5m
        alertname: FerryStalled
        exp_alerts: []
      - eval_time: 5m
        alertname: FerryRunFailed
        exp_alerts:
          - exp_labels: { severity: critical, instance: "failed:9187", job: ferry, phase: failed }
            exp_annotations:
              summary: "ferry run failed:9187 ended failed"
EOF
(cd "$HARNESS_TMP" && promtool test rules tests.yaml) >"$HARNESS_TMP/test.out" 2>&1 \
    || { cat "$HARNESS_TMP/test.out" >&2; fail "promtool test rules failed"; }
echo "deploy_rules: ok"
