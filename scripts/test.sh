#!/usr/bin/env bash
# Sets the machine up when needed, builds, and runs every test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir "${AHA_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
