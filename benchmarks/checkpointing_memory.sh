#!/usr/bin/env bash
# Peak memory of one GRPO step against completion length, with and without activation
# checkpointing, on the Qwen2.5-0.5B-shaped checkpoint of benchmarks/grpo_step_real.sh (random
# weights never stop early, so every completion is max_new_tokens long). Prints, per length and
# setting, the memory plan's estimate, the measured peak RSS and the step's phase times; a
# setting whose estimate exceeds the machine is refused before loading and printed as such.
#   benchmarks/checkpointing_memory.sh [checkpoint]
# Environment: LENGTHS ("512 1024 2048 4096"), SETTINGS ("false true": checkpointing off, on), G (2)
# completions of P (1) prompt, THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AHA_BUILD_DIR:-build}
model=${1:-runs/real-checkpoints/qwen2-0.5b}
data=${AHA_DATA_DIR:-../shared/data}/gsm8k/train.jsonl
LENGTHS=${LENGTHS:-"512 1024 2048 4096"} SETTINGS=${SETTINGS:-"false true"} G=${G:-2} P=${P:-1} THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
out=${TMPDIR:-/tmp}/aha-checkpointing-memory
printf '| new tokens | checkpointing | estimate | peak RSS | sampling | training |\n| ---: | --- | ---: | ---: | ---: | ---: |\n'
for length in $LENGTHS; do
  for checkpointing in $SETTINGS; do
    rm -rf "$out"
    log=$("$build/aha" train configs/bench/grpo-step.toml --set model.path="$model" --set data.train="$data" \
      --set train.output_dir="$out" --set train.steps=1 --set train.threads="$THREADS" \
      --set train.activation_checkpointing="$checkpointing" \
      --set rollout.group_size="$G" --set rollout.prompts_per_step="$P" --set rollout.max_new_tokens="$length" \
      --set log.progress=false 2>&1) || true
    estimate=$(grep -o 'about [0-9.]* GB at the peak' <<<"$log" | head -1 | cut -d' ' -f2)
    if [[ -f $out/metrics.jsonl ]]; then
      python3 - "$out/metrics.jsonl" "$length" "$checkpointing" "$estimate" <<'PY'
import json, sys
row = [json.loads(line) for line in open(sys.argv[1]) if '"step"' in line][-1]
print(f"| {int(sys.argv[2]):,} | {sys.argv[3]} | {sys.argv[4]} GB | {row['peak_rss_gb']:.1f} GB | "
      f"{row['time_rollout_s']:.0f} s | {row['time_train_s']:.0f} s |")
PY
    else
      printf '| %s | %s | %s GB | refused (%s) | | |\n' "$length" "$checkpointing" "${estimate:-?}" \
        "$(grep -m1 -o 'the machine has [0-9.]* GB available' <<<"$log" || grep -m1 -o 'error:.*' <<<"$log" | cut -c1-80)"
    fi
  done
done
rm -rf "$out"
