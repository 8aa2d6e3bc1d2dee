#!/usr/bin/env bash
# Installs the Debian packages latency-agent needs, only when missing (idempotent: with
# everything present it runs no apt command at all).
#   scripts/install-deps.sh          build and run: libcurl, OpenSSL (TLS session facts), LMDB, zlib, CA certificates, python3
#   scripts/install-deps.sh test     also the real Pushgateway, Prometheus and DNS server (dnsmasq) the tests start
set -euo pipefail

packages=(libcurl4-openssl-dev libssl-dev liblmdb-dev zlib1g-dev ca-certificates python3)
[ "${1:-}" = test ] && packages+=(prometheus-pushgateway prometheus python3-venv dnsmasq-base)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    # No recommends: Prometheus would pull in a web UI toolchain it does not need here.
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
