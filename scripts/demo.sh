#!/usr/bin/env bash
# The demo: sets the machine up when needed, then shows what this build of aha can do.
# The R1-Zero GRPO run on the embedded MoE model arrives with the trainer; until then the demo
# reports the build and checks the demo's experiment config.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
build/aha info
echo
echo "The GRPO trainer is not in this build yet; checking the demo's experiment config instead:"
build/aha config check configs/zero-demo.toml
