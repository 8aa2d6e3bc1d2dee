#!/usr/bin/env bash
# Checks the status page in a real browser: runs the demo agent (examples/demo.yaml, its server on
# a free loopback port) for SECONDS (default 20) so there is data, then has headless Chromium
# render http://127.0.0.1:PORT/status and save a screenshot (default /tmp/latency-agent-status.png;
# not committed). Installs chromium if missing.
#   scripts/screenshot-status.sh [OUTPUT.png] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
output=${1:-/tmp/latency-agent-status.png}
seconds=${2:-20}
scripts/install-deps.sh
dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" || {
    sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
}
swift build --product latency-agent
work=$(mktemp -d /tmp/latency-agent-screenshot.XXXXXX)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
server_port=$(free_port)
# No Pushgateway, Loki or Slack here: their outputs fail to a free port and the page says so.
unused="http://127.0.0.1:$(free_port)"
export DEMO_PORT=$(free_port) DEMO_SPOOL="$work/spool" DEMO_SERVER_PORT=$server_port
export PUSHGATEWAY_URL=$unused DEMO_LOKI_URL="$unused/loki/api/v1/push" DEMO_SLACK_URL="$unused/services/T/B/X"
cp examples/demo.yaml "$work/agent.yaml"
python3 scripts/demo-target.py "$DEMO_PORT" &
target=$!
"$(swift build --show-bin-path)/latency-agent" run --config "$work/agent.yaml" 2>"$work/agent.log" &
agent=$!
trap 'kill $agent $target 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
sleep "$seconds"
timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=5000 \
    --window-size=1200,900 --screenshot="$output" "http://127.0.0.1:$server_port/status" 2>/dev/null
echo "screenshot: $output"
