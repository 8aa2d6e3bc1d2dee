#!/usr/bin/env bash
# The test command (README, CI). Installs what is missing, runs the offline checks of the shipped
# files (Dockerfile, manifests, rules), starts a real Pushgateway and a real Prometheus (scraping
# it with honor_labels, with the shipped alert rules) on free loopback ports, installs the gRPC
# health server's Python packages, builds the agent
# binary the crash tests run, then runs every test (arguments go to `swift test`, e.g. --filter).
# Everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/check-shipping.sh
# The real gRPC health server the gRPC probe tests start (PyPI), in the linters' venv.
.venv/bin/python -c 'import grpc_health.v1.health' 2>/dev/null ||
    .venv/bin/pip install --quiet --disable-pip-version-check grpcio grpcio-health-checking
export GRPC_PYTHON="$PWD/.venv/bin/python"

work=$(mktemp -d /tmp/latency-agent-test.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {  # URL, name, log: polls for up to 30 s
    for _ in $(seq 300); do
        python3 -c "import urllib.request; urllib.request.urlopen('$1', timeout=1)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$2 did not become ready at $1; its log:" >&2
    cat "$3" >&2
    exit 1
}

pushgateway_port=$(free_port)
# Debian's build persists to /var/lib/prometheus/pushgateway.data by default: every gateway
# started on the machine would share (and replay) its groups. This one keeps its own.
prometheus-pushgateway --web.listen-address="127.0.0.1:$pushgateway_port" --web.enable-admin-api \
    --persistence.file="$work/pushgateway.data" >"$work/pushgateway.log" 2>&1 &
pids+=($!)
prometheus_port=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$PWD/pushgateway/rules/latency-agent.rules.yml"]
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: ["127.0.0.1:$pushgateway_port"]}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prometheus_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$pushgateway_port/-/ready" Pushgateway "$work/pushgateway.log"
wait_ready "http://127.0.0.1:$prometheus_port/-/ready" Prometheus "$work/prometheus.log"

swift build --product latency-agent
export LATENCY_AGENT_BIN="$(swift build --show-bin-path)/latency-agent"
export PUSHGATEWAY_URL="http://127.0.0.1:$pushgateway_port"
export PROMETHEUS_URL="http://127.0.0.1:$prometheus_port"
export PROMTOOL="$(command -v promtool)"
# Every wait inside the tests has its own deadline; this limit is the backstop.
timeout -k 10 2400 swift test --disable-xctest "$@"
