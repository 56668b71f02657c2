#!/usr/bin/env bash
# The demo, end to end on the CPU: sets the machine up when needed, pretrains the small MoE base
# model on synthetic arithmetic traces, runs R1-Zero GRPO from it, and plots the curves.
# Everything lands in runs/zero-demo/ (an earlier demo run is moved aside, not deleted).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [[ -e runs/zero-demo ]]; then
  previous="runs/zero-demo.$(date +%Y%m%d-%H%M%S)"
  mv runs/zero-demo "$previous"
  echo "moved the previous demo run to $previous"
fi
build/aha pretrain configs/pretrain/zero-demo.toml
build/aha train configs/zero-demo.toml
build/aha plot runs/zero-demo
python3 - <<'PY'
import json
base, final = (json.load(open(f"runs/zero-demo/eval_{name}.json")) for name in ("base", "final"))
print(f"held-out pass@1: base {base['pass@1']:.1%} -> after GRPO {final['pass@1']:.1%}; "
      f"reflection frequency {base['reflection_frequency']:.1%} -> {final['reflection_frequency']:.1%}")
PY
