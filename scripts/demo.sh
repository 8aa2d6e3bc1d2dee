#!/usr/bin/env bash
# The README's first command: latency-agent doing its real job on the shipped demo
# configuration, with a real Pushgateway and Prometheus on loopback (see pushgateway/start-stack.sh).
exec "$(dirname "$0")/../pushgateway/start-stack.sh" "$@"
