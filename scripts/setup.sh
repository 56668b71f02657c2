#!/usr/bin/env bash
# Makes a machine ready to build and run aha, then builds it into build/. Safe to run again:
# with everything in place it only checks and runs an incremental build.
#   - Debian packages: compilers and build tools, Boost, TOML++, Catch2, nlohmann-json, CLI11,
#     spdlog/fmt, PCRE2, cairo (the curves of `aha plot`), Gloo headers (data parallelism), bubblewrap,
#     jemalloc (the allocator of the `aha` binary), clang-format (scripts/check_style.sh);
#   - LibTorch: the PyPI torch wheel in a virtual environment outside the checkout, at
#     $AHA_VENV (default ~/.cache/aha/venv), shared by every checkout on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

AHA_VENV="${AHA_VENV:-$HOME/.cache/aha/venv}"
TORCH_VERSION="2.15.0"
BUILD_DIR="${AHA_BUILD_DIR:-build}"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

packages=(g++ cmake ninja-build ccache pkg-config python3 libboost-dev libtomlplusplus-dev catch2
          nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libpcre2-dev libcairo2-dev libgloo-dev bubblewrap
          libjemalloc-dev clang-format)
python3 -m venv --help >/dev/null 2>&1 || packages+=(python3-venv)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
fi

if ! "$AHA_VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" \
    >/dev/null 2>&1; then
  step "Installing torch==$TORCH_VERSION (LibTorch) into $AHA_VENV (a few GB, once per machine)"
  python3 -m venv "$AHA_VENV"
  "$AHA_VENV/bin/pip" install --upgrade --quiet pip
  "$AHA_VENV/bin/pip" install --progress-bar on "torch==$TORCH_VERSION"
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  step "Configuring into $BUILD_DIR/"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAHA_PYTHON="$AHA_VENV/bin/python"
fi
step "Building"
cmake --build "$BUILD_DIR"
