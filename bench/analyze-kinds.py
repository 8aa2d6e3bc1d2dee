#!/usr/bin/env python3
"""One row of bench/kinds-bench.sh: the agent's CPU per probe in its window beside blackbox_exporter's."""
import json
import os
import sys
from datetime import datetime, timezone

(output_path, cpu_from, cpu_to, t_from, t_to, bb_from, bb_to, kind, url, base_line) = sys.argv[1:11]
ticks = os.sysconf("SC_CLK_TCK")
results = [json.loads(line) for line in open(output_path) if line.startswith("{") and '"duration_seconds"' in line]
base = dict(item.split("=", 1) for item in base_line.split())


def when(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


window = [r for r in results if float(t_from) <= when(r["time"]) < float(t_to)]
failed = sum(not r["success"] for r in window)
agent_us = (int(cpu_to) - int(cpu_from)) / ticks * 1e6 / max(1, len(window))
probes = int(base["probes"])
bb_us = (int(bb_to) - int(bb_from)) / ticks * 1e6 / max(1, probes)
print(
    f"| {kind} | `{url}` | {agent_us:.0f} ({len(window)} probes, {failed} failed) "
    f"| {bb_us:.0f} ({probes} probes, {int(base['http_err']) + int(base['curl_err'])} failed scrapes) "
    f"| **{agent_us / bb_us:.2f}x** |"
)
