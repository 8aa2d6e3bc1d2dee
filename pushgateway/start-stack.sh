#!/usr/bin/env bash
# The local stack, end to end on loopback: Debian's Pushgateway and Prometheus (with the shipped
# config and alert rules), demo targets, local stand-ins for Loki and Slack (they cannot be
# installed here), and latency-agent feeding all three. Prints where everything listens, the
# first Loki lines and every Slack message as they arrive, and, every 15 s, what Prometheus
# computes from the agent's pushes (histogram_quantile over api_latency_seconds) and which
# alerts fire. Runs for DEMO_SECONDS (default 60; 0 = until Ctrl-C); stops everything it
# started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
swift build -c release --product latency-agent
bin="$(swift build -c release --show-bin-path)/latency-agent"
work=$(mktemp -d /tmp/latency-agent-stack.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {
    for _ in $(seq 100); do
        python3 -c "import urllib.request; urllib.request.urlopen('$1', timeout=1)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "not ready: $1" >&2
    exit 1
}
gateway_port=$(free_port); prometheus_port=$(free_port)
export DEMO_PORT=$(free_port) DEMO_SERVER_PORT=$(free_port) DEMO_SPOOL="$work/spool"
export PUSHGATEWAY_URL="http://127.0.0.1:$gateway_port"
loki_port=$(free_port); slack_port=$(free_port)
export DEMO_LOKI_URL="http://127.0.0.1:$loki_port/loki/api/v1/push"
export DEMO_SLACK_URL="http://127.0.0.1:$slack_port/services/T000/B000/DEMO"

# Its own persistence file: Debian's default (/var/lib/prometheus/pushgateway.data) is shared.
prometheus-pushgateway --web.listen-address="127.0.0.1:$gateway_port" --persistence.file="$work/pushgateway.data" \
    >"$work/pushgateway.log" 2>&1 &
pids+=($!)
sed -e "s/127.0.0.1:9091/127.0.0.1:$gateway_port/" -e "s#rules/latency-agent.rules.yml#$PWD/pushgateway/rules/latency-agent.rules.yml#" \
    pushgateway/prometheus.yml >"$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prometheus_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
python3 scripts/demo-target.py "$DEMO_PORT" &
pids+=($!)
python3 scripts/demo-receivers.py "$loki_port" "$slack_port" &
pids+=($!)
wait_ready "http://127.0.0.1:$gateway_port/-/ready"
wait_ready "http://127.0.0.1:$prometheus_port/-/ready"
"$bin" run --config examples/demo.yaml >"$work/agent.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$DEMO_SERVER_PORT/ready"

cat <<INFO
Pushgateway   $PUSHGATEWAY_URL/metrics
Prometheus    http://127.0.0.1:$prometheus_port/graph
Agent status  http://127.0.0.1:$DEMO_SERVER_PORT/status   (and /metrics, /health)
Loki          $DEMO_LOKI_URL   (local stand-in: prints what arrives)
Slack         $DEMO_SLACK_URL   (local stand-in: prints every message)
Agent log     $work/agent.log
INFO

report() {
    python3 - "$prometheus_port" <<'PY'
import json, sys, urllib.parse, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/api/v1"
def query(q):
    with urllib.request.urlopen(f"{base}/query?query={urllib.parse.quote(q)}", timeout=5) as r:
        return json.load(r)["data"]["result"]
p95 = query('histogram_quantile(0.95, sum by (le, endpoint) (rate(api_latency_seconds_bucket[1m])))')
errors = query('sum by (endpoint) (rate(api_requests_total{status="failure"}[1m])) / sum by (endpoint) (rate(api_requests_total[1m]))')
probes = query('sum(api_requests_total)')
print(f"Prometheus: {probes[0]['value'][1] if probes else 0} probes pushed so far")
rates = {r["metric"]["endpoint"]: float(r["value"][1]) for r in errors}
for r in sorted(p95, key=lambda r: r["metric"]["endpoint"]):
    name, value = r["metric"]["endpoint"], r["value"][1]
    shown = "n/a" if value == "NaN" else f"{float(value) * 1000:.1f} ms"
    print(f"  {name:8} p95 {shown:>10}   error rate {rates.get(name, 0) * 100:5.1f} %")
with urllib.request.urlopen(f"{base}/alerts", timeout=5) as r:
    alerts = json.load(r)["data"]["alerts"]
print("  alerts: " + (", ".join(f"{a['labels']['alertname']}({a['labels'].get('endpoint', '')}) {a['state']}" for a in alerts) or "none"))
PY
}
seconds=${DEMO_SECONDS:-60}
elapsed=0
while [ "$seconds" = 0 ] || [ "$elapsed" -lt "$seconds" ]; do
    sleep 15
    elapsed=$((elapsed + 15))
    report || true
done
