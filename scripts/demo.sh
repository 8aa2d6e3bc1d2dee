#!/usr/bin/env bash
# Runs latency-agent doing its real job on the shipped demo configuration (examples/demo.yaml):
# starts loopback demo targets, builds the agent, probes for DEMO_SECONDS (default 20; 0 = until
# Ctrl-C) into its spool, prints each result as a JSON line, then shows the spool's state.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product latency-agent
export DEMO_PORT=${DEMO_PORT:-28481}
python3 scripts/demo-target.py "$DEMO_PORT" &
target=$!
trap 'kill $target 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$DEMO_PORT/ok', timeout=1)" 2>/dev/null && break
    sleep 0.1
done
seconds=${DEMO_SECONDS:-20}
if [ "$seconds" = 0 ]; then
    .build/release/latency-agent run --config examples/demo.yaml --print-results || true
else
    timeout -s INT "$seconds" .build/release/latency-agent run --config examples/demo.yaml --print-results || [ $? = 124 ]
fi
.build/release/latency-agent spool stats --config examples/demo.yaml
