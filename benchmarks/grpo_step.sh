#!/usr/bin/env bash
# GRPO step time, aha train against TRL's GRPOTrainer, same checkpoint, data, shapes and threads, one run (CPU).
#   benchmarks/grpo_step.sh [model_dir] [train.jsonl]
# Environment: G (8), P (8), NEW (96) max new tokens, STEPS (6) timed steps after one warm-up, THREADS (2)
# (aha runs as many rollout workers as threads, each sampling its share of the prompts on one thread).
# Needs the build (AHA_BUILD_DIR, default build) and trl in the Python of $AHA_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AHA_BUILD_DIR:-build}
python=${AHA_PYTHON:-${AHA_VENV:-$HOME/.cache/aha/venv}/bin/python}
model=${1:-runs/zero-demo/base} data=${2:-runs/zero-demo/data/train.jsonl}
G=${G:-8} P=${P:-8} NEW=${NEW:-96} STEPS=${STEPS:-6} THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS TOKENIZERS_PARALLELISM=false
out=${TMPDIR:-/tmp}/aha-bench
rm -rf "$out"
# aha's median step time, mean completion length and largest log-prob mismatch, given extra --set arguments.
run_aha() {
  rm -rf "$out"
  "$build/aha" train configs/bench/grpo-step.toml --set model.path="$model" --set data.train="$data" \
    --set train.output_dir="$out" --set train.steps=$((STEPS + 1)) --set train.threads="$THREADS" --set rollout.workers="$THREADS" \
    --set rollout.group_size="$G" --set rollout.prompts_per_step="$P" --set rollout.max_new_tokens="$NEW" \
    --set rollout.temperature=1.0 --set optim.lr=3e-4 "$@" >&2
  "$python" - "$out/metrics.jsonl" <<'EOF'
import json, statistics, sys
rows = [r for r in map(json.loads, open(sys.argv[1])) if "time_step_s" in r][1:]
print(statistics.median(r["time_step_s"] for r in rows),
      statistics.mean(r["completion_length_mean"] for r in rows),
      max(r["logprob_mismatch"] for r in rows), len(rows))
EOF
}
echo "== aha (batch-invariant, the default)"
read -r aha_s aha_tokens aha_mismatch aha_n <<<"$(run_aha)"
echo "aha median_step_s=$aha_s mean_completion_tokens=$aha_tokens max_logprob_mismatch=$aha_mismatch steps_timed=$aha_n"
echo "== aha (model.batch_invariant = false)"
read -r fast_s fast_tokens fast_mismatch fast_n <<<"$(run_aha --set model.batch_invariant=false)"
echo "aha median_step_s=$fast_s mean_completion_tokens=$fast_tokens max_logprob_mismatch=$fast_mismatch steps_timed=$fast_n"
echo "== trl"
trl=$("$python" benchmarks/peer_trl_grpo.py --model "$model" --data "$data" --group-size "$G" \
  --prompts-per-step "$P" --max-new-tokens "$NEW" --steps "$STEPS" --warmup 1 --threads "$THREADS" \
  --temperature 1.0 --lr 3e-4 2>/dev/null | tail -1)
echo "$trl"
trl_s=$("$python" -c 'import json, sys; print(json.loads(sys.argv[1])["median_step_s"])' "$trl")
awk -v a="$aha_s" -v f="$fast_s" -v t="$trl_s" 'BEGIN {
  printf "step time: aha %.3f s (batch-invariant), %.3f s (ATen kernels)  trl %.3f s  trl/aha %.2fx and %.2fx\n",
    a, f, t, t / a, t / f }'
