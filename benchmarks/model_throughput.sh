#!/usr/bin/env bash
# Policy throughput, aha against transformers, same checkpoint, shapes and threads, one run.
#   benchmarks/model_throughput.sh [batch] [seq]
# Needs the build (scripts/setup.sh) and transformers in the Python of $AHA_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${AHA_VENV:-$HOME/.cache/aha/venv}/bin/python"
batch="${1:-8}" seq="${2:-256}"
dir="${AHA_BENCH_DIR:-/tmp/aha-bench-qwen3-moe}"
[ -f "$dir/config.json" ] || "$python" benchmarks/make_bench_checkpoint.py "$dir" >/dev/null 2>&1
echo "== aha"; build/benchmarks/model_throughput "$dir" "$batch" "$seq" | tee /tmp/aha-bench-ours.txt
echo "== transformers"; "$python" benchmarks/peer_transformers.py "$dir" "$batch" "$seq" 2>/dev/null | tee /tmp/aha-bench-peer.txt
paste <(awk '{print $1, $2}' /tmp/aha-bench-ours.txt) <(awk '{print $2}' /tmp/aha-bench-peer.txt) |
  sed 's/tokens_per_s=//g' | awk '{printf "%-17s aha %9.1f tok/s  transformers %9.1f tok/s  ratio %.2fx\n", $1, $2, $3, $2 / $3}'
