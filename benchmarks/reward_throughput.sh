#!/usr/bin/env bash
# Reward throughput against its peers in the same run: benchmarks/reward_throughput.sh [executions]
# Needs the build (AHA_BUILD_DIR, default build) and math-verify in the venv's Python.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AHA_BUILD_DIR:-build}
python=${AHA_PYTHON:-${AHA_VENV:-$HOME/.cache/aha/venv}/bin/python}
data=${AHA_DATA_DIR:-../shared/data}
"$build/benchmarks/reward_throughput" "$data/gsm8k/test.jsonl" "${1:-64}"
"$python" benchmarks/peer_rewards.py "$data/gsm8k/test.jsonl" "${1:-64}"
