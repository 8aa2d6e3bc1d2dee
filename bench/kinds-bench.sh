#!/usr/bin/env bash
# CPU per probe for each probe kind: latency-agent beside blackbox_exporter probing the same
# loopback target at the same rate, in the same run. Everything listens on 127.0.0.1 only.
#
#   bench/kinds-bench.sh [SECONDS] [ENDPOINTS]    default 12 s per kind, 100 endpoints (100 probes/s)
#   KINDS="tls dns" bench/kinds-bench.sh         only these kinds
#
# Per kind: ENDPOINTS endpoints probed every 1 s by the agent (cold: a fresh connection per
# probe); then blackbox_exporter 0.23 (Debian) driven at the same rate through its /probe
# endpoint by the C `curlmulti` loop (keep-alive, as Prometheus scrapes). CPU is the prober's
# own, from /proc/PID/stat, divided by the probes made in the measured window. Targets: nginx
# (HTTP, TCP, TLS), the gRPC health server of the tests, dnsmasq, the loopback address (ICMP).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED_DIR:-../shared}/bench
seconds=${1:-12}
endpoints=${2:-100}
work=$(mktemp -d /tmp/latency-agent-kinds.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -s "$work/nginx.pid" ] && kill -QUIT "$(cat "$work/nginx.pid")" 2>/dev/null || true
    "$shared/targets/targets.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

need=()
for package in prometheus-blackbox-exporter nginx-light libnginx-mod-http-echo dnsmasq-base python3-venv; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need+=("$package")
done
if ((${#need[@]})); then
    sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c 'import grpc_health.v1.health' 2>/dev/null ||
    .venv/bin/pip install --quiet --disable-pip-version-check grpcio grpcio-health-checking

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

swift build -c release --product latency-agent >/dev/null
cc -O2 -Wall -o "$work/curlmulti" "$shared/curlmulti.c" -lcurl -lm

# Targets.
"$shared/targets/targets.sh" start >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
tls_port=$(free_port)
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:$tls_port ssl;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        location / { return 200 "ok\n"; }
    }
}
NGINX
nginx -p "$work" -c "$work/nginx.conf" -g 'daemon on;'
dns_port=$(free_port)
/usr/sbin/dnsmasq --no-daemon --port="$dns_port" --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --address=/bench.test/127.0.0.1 --pid-file="$work/dnsmasq.pid" >/dev/null 2>&1 &
pids+=($!)
.venv/bin/python Tests/TestSupport/grpc-health-server.py "$work/grpc.port" < <(sleep $((seconds * 20 + 120))) &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/grpc.port" ] && break; sleep 0.1; done
grpc_port=$(cut -d' ' -f1 "$work/grpc.port")

blackbox_port=$(free_port)
cat >"$work/blackbox.yml" <<YAML
modules:
  http: {prober: http, timeout: 1s, http: {preferred_ip_protocol: ip4}}
  tcp: {prober: tcp, timeout: 1s, tcp: {preferred_ip_protocol: ip4}}
  tls: {prober: tcp, timeout: 1s, tcp: {preferred_ip_protocol: ip4, tls: true, tls_config: {ca_file: $work/cert.pem}}}
  grpc: {prober: grpc, timeout: 1s, grpc: {preferred_ip_protocol: ip4}}
  dns: {prober: dns, timeout: 1s, dns: {preferred_ip_protocol: ip4, query_name: bench.test, query_type: A, transport_protocol: udp}}
  icmp: {prober: icmp, timeout: 1s, icmp: {preferred_ip_protocol: ip4}}
YAML
prometheus-blackbox-exporter --config.file="$work/blackbox.yml" --web.listen-address="127.0.0.1:$blackbox_port" \
    >"$work/blackbox.log" 2>&1 &
blackbox=$!
pids+=($blackbox)
sleep 1

echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "libcurl: $(curl-config --version 2>/dev/null || echo '?'), $(swift --version 2>&1 | head -1), $(prometheus-blackbox-exporter --version 2>&1 | head -1)"
echo "| kind | target | agent CPU µs per probe | blackbox_exporter CPU µs per probe | agent / blackbox |"
echo "|---|---|---|---|---|"
while read -r kind url target; do
    [[ " ${KINDS:-$kind} " == *" $kind "* ]] || continue
    # The agent: ENDPOINTS endpoints of this kind at 1 s, cold, results as JSON lines.
    config="$work/agent-$kind.yaml"
    {
        echo "agent: {node: bench}"
        echo "spool: {path: $work/spool-$kind}"
        echo "server: {enabled: false}"
        echo "defaults: {interval: 1s, timeout: 900ms, connection: cold, tls: {ca_file: $work/cert.pem}}"
        echo "endpoints:"
        for i in $(seq "$endpoints"); do echo "  - {name: $kind-$i, url: \"$url\"}"; done
    } >"$config"
    ./.build/release/latency-agent run --config "$config" --print-results >"$work/out-$kind.jsonl" 2>&1 &
    pid=$!
    sleep 2
    cpu_from=$(cpu_ticks $pid); from=$(date +%s.%N)
    sleep $((seconds - 2))
    cpu_to=$(cpu_ticks $pid); to=$(date +%s.%N)
    kill -INT $pid
    wait $pid || true
    # blackbox_exporter: the same rate for the same window, one check that its probe succeeds.
    probe_url="http://127.0.0.1:$blackbox_port/probe?module=$kind&target=$target"
    curl -s --max-time 5 "$probe_url" | grep -q '^probe_success 1' || { echo "blackbox $kind probe of $target failed" >&2; exit 1; }
    bb_from=$(cpu_ticks $blackbox)
    base=$("$work/curlmulti" -u "$probe_url" -r "$endpoints" -n $((endpoints * (seconds - 2))) -c 1000 -k -T $((seconds + 10)))
    bb_to=$(cpu_ticks $blackbox)
    python3 bench/analyze-kinds.py "$work/out-$kind.jsonl" "$cpu_from" "$cpu_to" "$from" "$to" "$bb_from" "$bb_to" "$kind" "$url" "$base"
done <<KINDS
http http://127.0.0.1:28480/ok http://127.0.0.1:28480/ok
tcp tcp://127.0.0.1:28480 127.0.0.1:28480
tls tls://127.0.0.1:$tls_port 127.0.0.1:$tls_port
grpc grpc://127.0.0.1:$grpc_port 127.0.0.1:$grpc_port
dns dns://127.0.0.1:$dns_port/bench.test?type=A 127.0.0.1:$dns_port
icmp icmp://127.0.0.1 127.0.0.1
KINDS
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
