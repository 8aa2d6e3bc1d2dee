#!/usr/bin/env bash
# The test command (README, CI): installs what is missing, then runs every test with a hard limit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# swift test runs Swift Testing only; every wait inside has its own deadline, this is the backstop.
timeout -k 10 2400 swift test --disable-xctest
