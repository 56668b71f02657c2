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
echo "== aha (batch-invariant)"; build/benchmarks/model_throughput "$dir" "$batch" "$seq" 5 exact | tee /tmp/aha-bench-exact.txt
echo "== aha (ATen kernels)"; build/benchmarks/model_throughput "$dir" "$batch" "$seq" 5 aten | tee /tmp/aha-bench-aten.txt
echo "== transformers"; "$python" benchmarks/peer_transformers.py "$dir" "$batch" "$seq" 2>/dev/null | tee /tmp/aha-bench-peer.txt
paste <(awk '{print $1, $2}' /tmp/aha-bench-exact.txt) <(awk '{print $2}' /tmp/aha-bench-aten.txt) \
  <(awk '{print $2}' /tmp/aha-bench-peer.txt) | sed 's/tokens_per_s=//g' |
  awk '{printf "%-17s aha %8.1f tok/s exact, %8.1f ATen  transformers %8.1f tok/s  ratios %.2fx, %.2fx\n", $1, $2, $3, $4, $2 / $4, $3 / $4}'
