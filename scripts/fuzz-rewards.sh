#!/usr/bin/env bash
# Builds the libFuzzer target of the math parser and the reward input reader with clang
# (address and undefined-behaviour sanitizers) and runs it: scripts/fuzz-rewards.sh [seconds].
set -euo pipefail
cd "$(dirname "$0")/.."
out=${AHA_BUILD_DIR:-build}/fuzz
mkdir -p "$out/corpus"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DFMT_HEADER_ONLY -I. \
  tests/rewards/fuzz_rewards.cpp rewards/rational.cpp rewards/math_answer_extraction.cpp \
  rewards/math_normalization.cpp rewards/math_tokens.cpp rewards/math_scalar.cpp rewards/math_value.cpp \
  rewards/math_equivalence.cpp rewards/reward_json.cpp -o "$out/fuzz_rewards"
printf '%s\n%s' '\frac{1}{2}' '<answer>0.5</answer>' > "$out/corpus/seed-fraction"
printf '%s\n%s' '1<x<2' '(1, 2]' > "$out/corpus/seed-interval"
printf '%s' '{"completion": "\\boxed{2^{10}}", "answer": "1024"}' > "$out/corpus/seed-json"
"$out/fuzz_rewards" -max_total_time="${1:-60}" -max_len=512 -timeout=5 "$out/corpus"
