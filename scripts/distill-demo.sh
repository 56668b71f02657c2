#!/usr/bin/env bash
# Distillation on the embedded demo, after ./scripts/demo.sh: the GRPO-trained zero-demo model
# (runs/zero-demo/final) writes verified traces for 3,000 training problems by rejection sampling,
# and a smaller dense student, pretrained on the same synthetic traces as the teacher's base, is
# fine-tuned on them. Everything lands in runs/distill-demo/ (an earlier run is moved aside).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [[ ! -e runs/zero-demo/final/config.json ]]; then
  echo "runs/zero-demo/final is missing: run ./scripts/demo.sh first, it trains the teacher" >&2
  exit 1
fi
if [[ -e runs/distill-demo ]]; then
  previous="runs/distill-demo.$(date +%Y%m%d-%H%M%S)"
  mv runs/distill-demo "$previous"
  echo "moved the previous distillation run to $previous"
fi
build/aha pretrain configs/pretrain/student-demo.toml
build/aha distill --teacher runs/zero-demo/final --data runs/zero-demo/data/train.jsonl --limit 3000 \
  --samples 4 --max-new-tokens 128 --out runs/distill-demo/traces.jsonl > runs/distill-demo/distill-summary.tsv
tail -n 1 runs/distill-demo/distill-summary.tsv
build/aha sft configs/sft/distill-demo.toml
python3 - <<'PY'
import json
def pass1(path):
    return json.load(open(path))["pass@1"]
teacher = pass1("runs/zero-demo/eval_final.json")
base, student = pass1("runs/distill-demo/sft/eval_base.json"), pass1("runs/distill-demo/sft/eval_final.json")
print(f"held-out pass@1: student base {base:.1%} -> after SFT on the teacher's traces {student:.1%} "
      f"(teacher {teacher:.1%})")
PY
