#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU (H100/H200) and PyTorch, builds aha's kernels
# with that machine's own PyTorch, runs the kernel tests (the CUDA ones against their ATen
# references) and prints the GPU figures of benchmarks/gpu_kernels.cpp.
#
#   benchmarks/gpu.sh pack   # where apt works: downloads the dependency packages into .gpu-deps/
#   benchmarks/gpu.sh [DIR]  # on the GPU machine: build, test, measure; the log is also written to DIR
#
# A GPU machine without a package registry gets the dependencies from .gpu-deps/ (copy the
# folder along): the packages are unpacked into a temporary folder, never installed.
set -euo pipefail
cd "$(dirname "$0")/.."

deps=.gpu-deps
packages=(libtomlplusplus-dev nlohmann-json3-dev libfmt-dev libcli11-dev catch2 libboost1.74-dev libpcre2-dev)
if [[ "${1:-}" == pack ]]; then
  mkdir -p "$deps"
  (cd "$deps" && apt-get download "${packages[@]}")
  du -sh "$deps"
  exit 0
fi

out=${1:-}
log=$(mktemp)
[[ -n "$out" ]] && log="$out/gpu.log"
exec > >(tee "$log") 2>&1

python=${AHA_PYTHON:-$(command -v python3)}
echo "== $(date -u +%F) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
echo "== PyTorch $("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)'), $(nvcc --version | tail -1)"

cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DAHA_CUDA=on -DAHA_TRAINER=OFF -DAHA_PYTHON="$python")
if compgen -G "$deps/*.deb" > /dev/null; then
  prefix=$(mktemp -d)
  for deb in "$deps"/*.deb; do dpkg -x "$deb" "$prefix"; done
  cmake_args+=(-DAHA_DEPS_PREFIX="$prefix/usr")
fi
build=${AHA_GPU_BUILD_DIR:-build-gpu}
mkdir -p "$build"
cmake -S . -B "$build" "${cmake_args[@]}" > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
time cmake --build "$build" --target test_kernels test_kernels_cuda gpu_kernels

echo "== kernel tests (CPU paths)"
"$build/tests/test_kernels"
echo "== kernel tests (CUDA against the ATen references)"
"$build/tests/test_kernels_cuda"
echo "== figures"
"$build/benchmarks/gpu_kernels"
