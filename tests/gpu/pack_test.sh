#!/usr/bin/env bash
# scripts/gpu-tests.sh from a packed build inside a copy of the checkout somewhere else, as on
# the GPU machine: the CTest files must be rewritten to the new place, nothing may still point at
# the original trees, and the CUDA comparisons must run from there.
#   pack_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "pack_test: $*" >&2; exit 1; }

mkdir -p "$tmp/repo"
cp -r "$src/scripts" "$src/tests" "$tmp/repo/"
bash "$src/scripts/gpu-tests.sh" --pack "$build" "$tmp/repo/.carry/build"
[ ! -e "$tmp/repo/.carry/build/CMakeFiles" ] || fail "the pack holds CMake's own folders"

cd "$tmp/repo"
GVIRTUS_GPU_TESTS_CTEST='-L cuda -LE gpu -R ^cuda\.errors\.' GVIRTUS_GPU_TESTS_BENCH=0 \
  GVIRTUS_GPU_TESTS_WITHOUT_GPU=1 OUT="$tmp/out" bash scripts/gpu-tests.sh .carry/build || fail "gpu-tests.sh failed"
if grep -rlF -e "$build" -e "$src/tests" .carry/build --include='*.cmake'; then
  fail "CTest files above still name the original trees"
fi
# One per transport: tcp, unix, shm, embedded.
grep -q "100% tests passed, 0 tests failed out of 4" "$tmp/out/summary.txt" \
  || fail "expected the 4 cuda.errors tests in the summary: $(cat "$tmp/out/summary.txt")"
# The listing goes to a file first: `grep -q` stops reading at the first match, and under
# pipefail tar's SIGPIPE (exit 141) failed the check now and then.
tar -tzf "$tmp/out/gpu-tests.tar.gz" > "$tmp/listing" || fail "cannot list the logs"
grep -q LastTest.log "$tmp/listing" || fail "no LastTest.log in the logs"
echo "pack_test: ok"
