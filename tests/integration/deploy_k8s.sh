#!/usr/bin/env bash
# tests/integration/deploy_k8s.sh: the Kubernetes manifests of deploy/k8s,
# checked offline (no cluster, no PostgreSQL):
#   - `npm ci` of deploy/check (kubernetes-models 5.1.0: the Kubernetes 1.36
#     OpenAPI schemas compiled by ajv; yaml), into its git-ignored
#     node_modules;
#   - deploy/k8s rendered by deploy/check/check.mjs (its kustomization only
#     lists resources:), and, where kubectl is installed, by `kubectl
#     kustomize`: both renderings must hold the same objects, and both are
#     checked;
#   - every object, secret.example.yaml's included: its kind's schema, no
#     field the schema lacks, the six app.kubernetes.io/* labels; every pod
#     template: the restricted Pod Security Standard, a read-only root,
#     resources, Secret volumes of mode 0400 (check.mjs lists the rules);
#   - the check can fail: copies of the manifests without seccompProfile,
#     with a misspelt field, with a wrong type, without a label, with a
#     kustomization the renderer does not know, are refused with the
#     problem named;
#   - the coordinator Job passes --run-id $(FERRY_RUN_ID), the Job's uid, and
#     retries its pod (backoffLimit > 0, podReplacementPolicy Failed); the
#     worker Job has no activeDeadlineSeconds;
#   - deploy/compose.yaml, the systemd unit (with worker.env.example) and
#     the k8s worker give a worker the same variables (FERRY_CURVE_KEY,
#     FERRY_COORDINATOR_KEY, FERRY_GIVE_UP_AFTER, FERRY_CLUSTER_SECRET,
#     the DSNs), and the unit restarts it between runs;
#   - where systemd-analyze is installed, it verifies the unit.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
check="$root/deploy/check"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v node >/dev/null || fail "node is not installed (scripts/bootstrap.sh installs nodejs and npm)"
(cd "$check" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1) ||
    { cat "$tmp/npm.log" >&2; fail "npm ci in deploy/check"; }

out=$(node "$check/check.mjs" check "$root/deploy/k8s" "$root/deploy/k8s/secret.example.yaml") ||
    { echo "$out" >&2; fail "deploy/k8s does not pass check.mjs"; }
echo "deploy_k8s: $out"
[[ "$out" == "8 object(s), 2 pod template(s): "*": OK" ]] || fail "unexpected summary: $out"

if command -v kubectl >/dev/null; then
    kubectl kustomize "$root/deploy/k8s" >"$tmp/kubectl.yaml" || fail "kubectl kustomize deploy/k8s"
    node "$check/check.mjs" same "$root/deploy/k8s" "$tmp/kubectl.yaml" ||
        fail "check.mjs renders deploy/k8s otherwise than kubectl kustomize"
    out=$(node "$check/check.mjs" check - "$tmp/kubectl.yaml") ||
        { echo "$out" >&2; fail "kubectl kustomize's rendering does not pass check.mjs"; }
    echo "deploy_k8s: kubectl kustomize ($(kubectl version --client 2>/dev/null | head -n 1)): $out"
else
    echo "deploy_k8s: no kubectl here: checked check.mjs's own rendering only"
fi

# expect_refused NAME EDIT-PYTHON LINE: a copy of deploy/k8s with EDIT
# applied must be refused, saying LINE.
expect_refused() {
    local name="$1" edit="$2" line="$3" got rc=0
    rm -rf "$tmp/$name"
    cp -r "$root/deploy/k8s" "$tmp/$name"
    python3 - "$tmp/$name" <<<"$edit" || fail "$name: the edit failed"
    got=$(node "$check/check.mjs" check "$tmp/$name" 2>&1) || rc=$?
    [[ $rc -ne 0 ]] || fail "$name: check.mjs accepted it: $got"
    grep -qxF -- "$line" <<<"$got" || fail "$name: expected the line
  $line
got:
$got"
    echo "deploy_k8s: refused $name: $line"
}
edit_prelude='import sys; d = sys.argv[1]
def sub(f, a, b, n=1):
    p = d + "/" + f; s = open(p).read(); assert a in s, (f, a); open(p, "w").write(s.replace(a, b, n))'

expect_refused no-seccomp "$edit_prelude
sub('worker-job.yaml', '        seccompProfile:\n          type: RuntimeDefault\n      containers:', '      containers:')
sub('worker-job.yaml', '            seccompProfile:\n              type: RuntimeDefault\n', '')" \
    "worker-job.yaml: Job/ferry-worker: /spec/template/spec/containers/worker: seccompProfile.type must be RuntimeDefault or Localhost (restricted), got none"
expect_refused misspelt "$edit_prelude
sub('coordinator-job.yaml', 'readOnlyRootFilesystem: true', 'readOnlyRootFileSystem: true')" \
    "coordinator-job.yaml: Job/ferry-coordinator: /spec/template/spec/containers/0/securityContext/readOnlyRootFileSystem: unknown field (not in the schema)"
expect_refused wrong-type "$edit_prelude
sub('coordinator-job.yaml', 'backoffLimit: 4', 'backoffLimit: \"4\"')" \
    "coordinator-job.yaml: Job/ferry-coordinator: schema: data/spec/backoffLimit must be integer"
expect_refused escalation "$edit_prelude
sub('coordinator-job.yaml', 'allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: true')" \
    "coordinator-job.yaml: Job/ferry-coordinator: /spec/template/spec/containers/coordinator/securityContext/allowPrivilegeEscalation: must be false (restricted)"
expect_refused no-label "$edit_prelude
sub('coordinator-service.yaml', '    app.kubernetes.io/managed-by: kustomize\n', '')" \
    "coordinator-service.yaml: Service/ferry-coordinator: /metadata/labels: missing app.kubernetes.io/managed-by"
expect_refused secret-mode "$edit_prelude
sub('worker-job.yaml', 'defaultMode: 256', 'defaultMode: 0644')" \
    "worker-job.yaml: Job/ferry-worker: /spec/template/spec/volumes/curve/secret/defaultMode: must be 0400 (256), got 420"
rm -rf "$tmp/kust"
cp -r "$root/deploy/k8s" "$tmp/kust"
printf 'commonLabels:\n  team: data\n' >>"$tmp/kust/kustomization.yaml"
got=$(node "$check/check.mjs" check "$tmp/kust" 2>&1) && fail "a kustomization with commonLabels was rendered: $got"
[[ "$got" == *'"commonLabels": this renderer knows only resources:'* ]] || fail "commonLabels: $got"

# The coordinator Job: one run id for all its pods (FERRY_RUN_ID, the Job's
# uid), retried pods (backoffLimit > 0), never two pods at once.
cj="$root/deploy/k8s/coordinator-job.yaml"
grep -qF 'args: ["run", "/etc/ferry/job.yaml", "--run-id", "$(FERRY_RUN_ID)"]' "$cj" ||
    fail "coordinator-job.yaml: the coordinator must run with --run-id \$(FERRY_RUN_ID)"
grep -A3 -- '- name: FERRY_RUN_ID' "$cj" | grep -qF "fieldPath: metadata.labels['batch.kubernetes.io/controller-uid']" ||
    fail "coordinator-job.yaml: FERRY_RUN_ID must come from the Job's uid"
grep -qE '^  backoffLimit: [1-9]' "$cj" || fail "coordinator-job.yaml: backoffLimit must be > 0"
grep -qE '^  podReplacementPolicy: Failed$' "$cj" || fail "coordinator-job.yaml: podReplacementPolicy: Failed"
if grep -q activeDeadlineSeconds "$root/deploy/k8s/worker-job.yaml"; then
    fail "worker-job.yaml: workers end with their run (and --give-up-after), not a deadline"
fi

# One layout of worker variables everywhere.
for v in FERRY_CLUSTER_SECRET FERRY_SOURCE_DSN FERRY_TARGET_DSN FERRY_CURVE_KEY FERRY_COORDINATOR_KEY \
         FERRY_GIVE_UP_AFTER; do
    for f in deploy/k8s/worker-job.yaml deploy/compose.yaml "deploy/systemd/ferry-worker@.service"; do
        [[ $v == FERRY_*_DSN || $v == FERRY_CLUSTER_SECRET ]] && [[ $f == *.service ]] &&
            f=deploy/systemd/worker.env.example
        grep -q "^[^#]*$v" "$root/$f" || fail "$f does not give a worker $v"
    done
done
grep -q '^Restart=always$' "$root/deploy/systemd/ferry-worker@.service" ||
    fail "ferry-worker@.service: Restart=always expected (a worker between runs)"
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$tmp/unit"
    sed "s|/usr/local/bin/ferry-worker|$(command -v true)|" "$root/deploy/systemd/ferry-worker@.service" \
        >"$tmp/unit/ferry-worker@.service"
    cp "$tmp/unit/ferry-worker@.service" "$tmp/unit/ferry-worker@prod.service"
    # The EnvironmentFile= and LoadCredential= paths are the deployed host's: not checked.
    out=$(cd "$tmp/unit" && systemd-analyze verify --man=no \
          "$tmp/unit/ferry-worker@prod.service" 2>&1) || { echo "$out" >&2; fail "systemd-analyze verify"; }
    [[ -z "$out" ]] || { echo "$out" >&2; fail "systemd-analyze verify said something"; }
    echo "deploy_k8s: systemd-analyze verify ferry-worker@prod.service: OK"
fi
echo "deploy_k8s: 1 passed, 0 failed"
