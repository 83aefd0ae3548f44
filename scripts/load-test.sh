#!/usr/bin/env bash
# The load test of issue 11 on the GPU machine, from a build made elsewhere (docs/deploy.md,
# "Load test"): 64 clients x 4 threads for 5 minutes through one backend, a quarter of the
# clients killed at random; prints calls served, errors, workers and GPU memory left, daemon RSS.
#   scripts/load-test.sh [BUILD] [load_test.py options]     e.g.
#   scripts/load-test.sh .carry/build                       the full run (about 6 minutes)
#   scripts/load-test.sh .carry/build --short               8 x 2 for 20 s
#   scripts/load-test.sh .carry/build --duration 120 --clients 32 --mode gpu
# BUILD (default ./build) needs bin/gvirtus, bin/gvirtus-backend and bin/gvirtus-load-client
# (scripts/gpu-tests.sh --pack carries them). With $OUT set, the summary and every log go there.
# Exit status 0 when every target is met.
set -uo pipefail
cd "$(dirname "$0")/.."
build=build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  build=$1
  shift
fi
[ -x "$build/bin/gvirtus-load-client" ] ||
  { echo "load-test: no $build/bin/gvirtus-load-client (build it, or pack the build)" >&2; exit 2; }
# The backend's plugins need NVIDIA's cuBLAS, cuFFT and cuRAND (docs/backend.md, "Library
# plugins"). Where neither the loader nor /usr/local/cuda has them, take PyTorch's wheel's.
if ! ldconfig -p 2>/dev/null | grep -q 'libcublas.so.13 ' &&
   [ ! -e /usr/local/cuda/lib64/libcublas.so.13 ] && [ -z "${GVIRTUS_LIBRARY_PATH:-}" ]; then
  wheel=$(python3 - <<'PY' 2>/dev/null
import importlib.util, os
spec = importlib.util.find_spec("nvidia")
for root in (spec.submodule_search_locations if spec else []):
    for sub in ("cu13/lib", "cublas/lib", "cufft/lib", "curand/lib"):
        if os.path.isdir(os.path.join(root, sub)):
            print(os.path.join(root, sub))
PY
  )
  if [ -n "$wheel" ]; then
    GVIRTUS_LIBRARY_PATH=$(echo "$wheel" | paste -sd:)
    export GVIRTUS_LIBRARY_PATH
    echo "load-test: NVIDIA's libraries from $GVIRTUS_LIBRARY_PATH"
  fi
fi
out=()
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT/load"
  out=(--out "$OUT/load")
fi
python3 bench/load/load_test.py --build "$build" "${out[@]}" "$@" 2>&1 |
  tee ${OUT:+"$OUT/load-summary.txt"}
exit "${PIPESTATUS[0]}"
