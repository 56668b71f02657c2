#!/usr/bin/env bash
# GRPO step at real size, aha train against TRL's GRPOTrainer on the CPU: a checkpoint shaped like Qwen2.5-0.5B and
# a qwen3_moe of 472M parameters, both with the real padded vocabulary (151,936 rows, 151,669 tokenizer ids) and
# random weights made by transformers, GSM8K prompts. Prints, per checkpoint, each side's median step time, phase
# times and peak RSS, and the machine's floor (measured bandwidth and FLOP/s) with each side's distance from it.
#   benchmarks/grpo_step_real.sh [checkpoints_dir]
# Environment: G (4), P (2) prompts per step, NEW (64) max new tokens, STEPS (3) timed steps after one warm-up,
# THREADS (2), SHAPES ("qwen2-0.5b qwen3-moe-0.5b"). aha runs with its defaults otherwise (workers, micro-batch
# threads and memory plan its own), from configs/bench/grpo-step.toml.
# Needs the build (AHA_BUILD_DIR, default build) and transformers and trl in the Python of $AHA_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AHA_BUILD_DIR:-build}
python=${AHA_PYTHON:-${AHA_VENV:-$HOME/.cache/aha/venv}/bin/python}
checkpoints=${1:-runs/real-checkpoints}
data=${AHA_DATA_DIR:-../shared/data}/gsm8k/train.jsonl
G=${G:-4} P=${P:-2} NEW=${NEW:-64} STEPS=${STEPS:-3} THREADS=${THREADS:-2}
SHAPES=${SHAPES:-"qwen2-0.5b qwen3-moe-0.5b"}
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS TOKENIZERS_PARALLELISM=false
out=${TMPDIR:-/tmp}/aha-bench-real
mkdir -p "$out"

echo "== checkpoints in $checkpoints"
"$python" benchmarks/make_real_checkpoints.py "$checkpoints" 2>/dev/null
echo "== the machine's floor"
"$python" benchmarks/machine_floor.py --threads "$THREADS" | tee "$out/floor.json"
for shape in $SHAPES; do
  model=$checkpoints/$shape
  echo "== $shape: aha"
  rm -rf "$out/aha-$shape"
  "$build/aha" train configs/bench/grpo-step.toml --set model.path="$model" --set data.train="$data" \
    --set train.output_dir="$out/aha-$shape" --set train.steps=$((STEPS + 1)) --set train.threads="$THREADS" \
    --set rollout.group_size="$G" --set rollout.prompts_per_step="$P" --set rollout.max_new_tokens="$NEW" \
    --set log.progress=false
  echo "== $shape: trl"
  "$python" benchmarks/peer_trl_grpo.py --model "$model" --data "$data" --group-size "$G" --prompts-per-step "$P" \
    --max-new-tokens "$NEW" --steps "$STEPS" --warmup 1 --threads "$THREADS" --temperature 1.0 --lr 3e-4 \
    2>/dev/null | tail -1 > "$out/trl-$shape.json"
  cat "$out/trl-$shape.json"
done
echo "== results"
for shape in $SHAPES; do
  "$python" benchmarks/real_step_report.py "$shape" "$checkpoints/$shape/config.json" \
    "$out/aha-$shape/metrics.jsonl" "$out/trl-$shape.json" "$out/floor.json"
done
