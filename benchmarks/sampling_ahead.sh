#!/usr/bin/env bash
# Sampling ahead (rollout.max_staleness) against the on-policy loop, in the same run: the demo's 60 GRPO steps from
# its pretrained base (step time, and held-out pass@1 at the end), then a Qwen2.5-0.5B-shaped checkpoint and a 472M
# qwen3_moe with the real padded vocabulary on GSM8K prompts (benchmarks/grpo_step_real.sh's settings). Prints per
# run the median step time after the first step (the demo's evaluating steps left out), its sampling, training and
# waiting-for-sampling times, and the peak RSS; and the machine's floor.
#   benchmarks/sampling_ahead.sh [checkpoints_dir]
# Environment: K ("0 1") staleness values, G (4), P (2), NEW (64), STEPS (4) timed steps after one warm-up at real
# size, THREADS (2), SHAPES ("qwen2-0.5b qwen3-moe-0.5b"; "" for none), DEMO (1: run the demo part; it needs
# runs/zero-demo/base, which ./scripts/demo.sh makes).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AHA_BUILD_DIR:-build}
python=${AHA_PYTHON:-${AHA_VENV:-$HOME/.cache/aha/venv}/bin/python}
checkpoints=${1:-runs/real-checkpoints}
data=${AHA_DATA_DIR:-../shared/data}/gsm8k/train.jsonl
K=${K:-"0 1"} G=${G:-4} P=${P:-2} NEW=${NEW:-64} STEPS=${STEPS:-4} THREADS=${THREADS:-2} DEMO=${DEMO:-1}
SHAPES=${SHAPES-"qwen2-0.5b qwen3-moe-0.5b"}
out=${TMPDIR:-/tmp}/aha-bench-ahead
mkdir -p "$out"

report() {  # name metrics.jsonl: one line of figures
  "$python" - "$1" "$2" <<'PY'
import json, statistics, sys
name, path = sys.argv[1:3]
rows = [json.loads(line) for line in open(path)]
timed = [r for r in rows[1:] if not any(k.startswith("eval/") for k in r)]
med = lambda key: statistics.median(r[key] for r in timed)
final = rows[-1].get("eval/pass@1")
print(f"{name:28s} step {med('time_step_s'):6.2f} s  sampling {med('time_rollout_s'):6.2f}  training "
      f"{med('time_train_s'):6.2f}  waiting {med('time_sampling_wait_s'):6.2f}  staleness {rows[-1]['staleness']:.0f}  "
      f"peak {max(r['peak_rss_gb'] for r in rows):5.1f} GB" + (f"  pass@1 {final:.3f}" if final is not None else ""))
PY
}

echo "== the machine's floor"
"$python" benchmarks/machine_floor.py --threads "$THREADS"
lines=()
if [ "$DEMO" = 1 ]; then
  for k in $K; do
    echo "== demo, rollout.max_staleness = $k"
    rm -rf "$out/demo-k$k"
    "$build/aha" train configs/zero-demo.toml --set train.output_dir="$out/demo-k$k" --set train.save_every=0 \
      --set rollout.max_staleness="$k" --set log.progress=false
    lines+=("$(report "demo k=$k" "$out/demo-k$k/metrics.jsonl")")
  done
fi
"$python" benchmarks/make_real_checkpoints.py "$checkpoints" 2>/dev/null
for shape in $SHAPES; do
  for k in $K; do
    echo "== $shape, rollout.max_staleness = $k"
    rm -rf "$out/$shape-k$k"
    "$build/aha" train configs/bench/grpo-step.toml --set model.path="$checkpoints/$shape" --set data.train="$data" \
      --set train.output_dir="$out/$shape-k$k" --set train.steps=$((STEPS + 1)) --set train.threads="$THREADS" \
      --set rollout.group_size="$G" --set rollout.prompts_per_step="$P" --set rollout.max_new_tokens="$NEW" \
      --set rollout.max_staleness="$k" --set log.progress=false
    lines+=("$(report "$shape k=$k" "$out/$shape-k$k/metrics.jsonl")")
    rm -rf "$out/$shape-k$k/final"
  done
done
echo "== results"
printf '%s\n' "${lines[@]}"
