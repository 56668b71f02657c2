#!/usr/bin/env bash
# Sets the machine up when needed, builds, checks the house style (scripts/check_style.sh) and runs
# every test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/check_style.sh
ctest --test-dir "${AHA_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
