#!/usr/bin/env bash
# Builds everything (warnings are errors) and runs every test that needs no GPU.
#   scripts/test.sh            build in ./build; BUILD_DIR=dir and JOBS=n change that
# .ci/run runs exactly this. The tests that need a GPU: scripts/gpu-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
jobs=${JOBS:-2}
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH

bash scripts/deps.sh
cmake -S . -B "$build" -G Ninja -DGVIRTUS_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -LE gpu -j "$jobs" --output-on-failure --timeout 600
