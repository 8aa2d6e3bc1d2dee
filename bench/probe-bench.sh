#!/usr/bin/env bash
# Probe-engine benchmark: latency-agent beside the plain-C libcurl-multi baseline, same target,
# same run. Needs ../shared/bench (the baseline and its nginx target) and nginx with the echo
# module: apt-get install nginx-light libnginx-mod-http-echo.
#
#   bench/probe-bench.sh [SECONDS]        default 12 s per case; prints one line per case
#
# Each case: N endpoints probed every 1 s (N probes/s) against nginx's /delay50 (50 ms injected
# delay), cold (fresh connection per probe) and warm (keep-alive).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED_DIR:-../shared}/bench
seconds=${1:-12}
work=$(mktemp -d /tmp/latency-agent-bench.XXXXXX)
trap '"$shared/targets/targets.sh" stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

swift build -c release --product latency-agent >/dev/null
cc -O2 -Wall -o "$work/curlmulti" "$shared/curlmulti.c" -lcurl -lm
"$shared/targets/targets.sh" start >/dev/null
url=http://127.0.0.1:28480/delay50

echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "libcurl: $(curl-config --version 2>/dev/null || echo '?'), $(swift --version 2>&1 | head -1)"

echo "| endpoints | mode | probes kept on schedule | CPU µs per probe, agent vs C | start lag p50/p99 µs, agent vs C | timing error p50/p99 µs, agent vs C | agent private (anonymous) / total RSS MB |"
echo "|---|---|---|---|---|---|---|"
for endpoints in 100 1000; do
    for mode in cold warm; do
        # The baseline: an open-loop schedule at the same rate, the same number of probes.
        keep=(); [ "$mode" = warm ] && keep=(-k)
        base=$("$work/curlmulti" -u "$url" -d 50 -c 1000 -r "$endpoints" -n $((endpoints * seconds)) -T $((seconds + 5)) "${keep[@]}")
        # The agent: N endpoints at 1 s, results as JSON lines to a file.
        config="$work/agent-$endpoints-$mode.yaml"
        {
            echo "agent: {node: bench}"
            echo "spool: {path: $work/spool-$endpoints-$mode}"
            echo "server: {enabled: false}"
            echo "defaults: {interval: 1s, timeout: 900ms, connection: $mode}"
            echo "endpoints:"
            for i in $(seq "$endpoints"); do echo "  - {name: ep-$i, url: \"$url\"}"; done
        } >"$config"
        # Results (--print-results) and the agent's own JSON logs share stdout; the analyzer splits them.
        ./.build/release/latency-agent run --config "$config" --print-results >"$work/out.jsonl" 2>&1 &
        pid=$!
        # CPU is counted from the end of the first interval (start-up and the first, phase-spread
        # round excluded) to the end of the run, over the probes started in that window.
        sleep 2
        cpu_from=$(awk '{print $14 + $15}' /proc/$pid/stat); from=$(date +%s.%N)
        sleep $((seconds - 2))
        cpu_to=$(awk '{print $14 + $15}' /proc/$pid/stat); to=$(date +%s.%N)
        rss_kb=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
        dirty_kb=$(awk '/^Private_Dirty/ {print $2}' /proc/$pid/smaps_rollup)
        kill -INT $pid
        wait $pid || true
        python3 bench/analyze-probes.py "$work/out.jsonl" "$cpu_from" "$cpu_to" "$from" "$to" \
            "$rss_kb" "$dirty_kb" "$endpoints" "$mode" "$base"
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
