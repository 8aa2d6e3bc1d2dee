#!/usr/bin/env bash
# Memory while the Pushgateway is away: 1,000 endpoints probed every second against the loopback
# nginx target, the gateway URL pointing at a closed port, RSS and spool backlog sampled every
# 10 s for SECONDS (default 180). The backlog must grow on disk, not in memory.
#   bench/outage-rss.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED_DIR:-../shared}/bench
seconds=${1:-180}
work=$(mktemp -d /tmp/latency-agent-outage.XXXXXX)
trap '"$shared/targets/targets.sh" stop >/dev/null 2>&1 || true; kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
swift build -c release --product latency-agent >/dev/null
"$shared/targets/targets.sh" start >/dev/null
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
    echo "agent: {node: outage}"
    echo "spool: {path: $work/spool}"
    echo "outputs: {pushgateway: {url: \"http://127.0.0.1:$closed\", timeout: 2s}}"
    echo "defaults: {interval: 1s, timeout: 900ms}"
    echo "endpoints:"
    for i in $(seq 1000); do echo "  - {name: ep-$i, url: \"http://127.0.0.1:28480/ok\"}"; done
} >"$work/agent.yaml"
./.build/release/latency-agent run --config "$work/agent.yaml" >/dev/null 2>"$work/log" &
pid=$!
echo "| seconds | RSS MB | private (anonymous) MB | spool records behind |"
echo "|---|---|---|---|"
for t in $(seq 10 10 "$seconds"); do
    sleep 10
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
    dirty=$(awk '/^Private_Dirty/ {print $2}' /proc/$pid/smaps_rollup)
    behind=$(./.build/release/latency-agent spool stats --config "$work/agent.yaml" | awk '/^reader/ {print $5}')
    awk -v t="$t" -v r="$rss" -v d="$dirty" -v b="$behind" 'BEGIN { printf "| %d | %.1f | %.1f | %s |\n", t, r / 1024, d / 1024, b }'
done
