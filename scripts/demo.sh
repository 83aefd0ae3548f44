#!/usr/bin/env bash
# Builds GVirtuS and runs a bundled CUDA example through it, against a private backend on this
# machine (what `gvirtus run` does when no endpoint is configured).
#   scripts/demo.sh [example [args...]]     default: device_query, then vector_add
# Without a GPU the example ends with the error that the backend's CUDA runtime reports.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
jobs=${JOBS:-2}
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH

bash scripts/deps.sh
cmake -S . -B "$build" -G Ninja >/dev/null
# Only what the demo runs: the CLI, the backend, the client's runtime and driver libraries and
# the examples (scripts/test.sh builds everything else: libraries, tests, benchmarks).
examples=(device_query vector_add)
[ $# -gt 0 ] && examples=("$1")
cmake --build "$build" -j "$jobs" --target gvirtus gvirtus-backend gvirtus-cudart gvirtus-cuda \
  "${examples[@]}"

run() {
  echo
  echo "\$ $build/bin/gvirtus run -- $build/bin/$*"
  "$build/bin/gvirtus" run -- "$build/bin/$@"
}
if [ $# -gt 0 ]; then
  run "$@"
  exit
fi
status=0
run device_query || status=$?
if [ $status -eq 0 ]; then
  run vector_add || status=$?
else
  echo
  echo "The CUDA runtime of the backend found no usable GPU on this machine (the error above)."
  echo "On a GPU host run:   (umask 077 && openssl rand -hex 32 > ~/.gvirtus-token)"
  echo "                     GVIRTUS_TOKEN_FILE=~/.gvirtus-token $build/bin/gvirtus-backend --listen tcp://0.0.0.0:9999"
  echo "copy the token here, then:"
  echo "                     GVIRTUS_TOKEN_FILE=~/.gvirtus-token $build/bin/gvirtus run --endpoint tcp://GPU-HOST:9999 -- $build/bin/device_query"
  echo "(docs/security.md: TLS, client certificates)"
fi
exit $status
