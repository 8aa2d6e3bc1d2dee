#!/usr/bin/env python3
"""Summarises one agent run of bench/probe-bench.sh beside the C baseline's key=value line."""
import json
import os
import sys
from datetime import datetime, timezone

(output_path, cpu_from, cpu_to, t_from, t_to, rss_kb, dirty_kb, endpoints, mode, base_line) = sys.argv[1:11]
ticks = os.sysconf("SC_CLK_TCK")
lines = [json.loads(line) for line in open(output_path) if line.startswith("{")]
results = [line for line in lines if "duration_seconds" in line]
stopped = [line for line in lines if line.get("msg") == "probing stopped"][-1]
base = dict(item.split("=", 1) for item in base_line.split())


def when(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * (len(values) - 1) + 0.5))] if values else float("nan")


window = [r for r in results if float(t_from) <= when(r["time"]) < float(t_to)]
seconds = float(t_to) - float(t_from)
cpu_us = (int(cpu_to) - int(cpu_from)) / ticks * 1e6 / max(1, len(window))
base_cpu_us = float(base["cpu_ms_per_1k"])
errors_us = [r["duration_seconds"] * 1e6 - 50_000 for r in results if r["success"]]
print(
    f"| {endpoints} | {mode} | {len(window) / seconds:.0f}/s of {endpoints}/s, {len(results) - sum(r['success'] for r in results)} failed, "
    f"skipped {stopped['skipped_in_flight']}+{stopped['skipped_behind']} "
    f"| {cpu_us:.0f} vs {base_cpu_us:.0f} = **{cpu_us / base_cpu_us:.2f}x** "
    f"| {stopped['start_lag_p50_us']}/{stopped['start_lag_p99_us']} vs {base['lag_us_p50']}/{base['lag_us_p99']} "
    f"| {pct(errors_us, .5):.0f}/{pct(errors_us, .99):.0f} vs {base['err_us_p50']}/{base['err_us_p99']} "
    f"| {int(dirty_kb) / 1024:.1f} / {int(rss_kb) / 1024:.1f} vs C max RSS {int(base['maxrss_kb']) / 1024:.1f} |"
)
