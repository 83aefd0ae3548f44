#!/usr/bin/env bash
# The tests that need a GPU, and the benchmark, on the GPU machine, from a build made elsewhere.
#
# On the development machine (full build tree, package registry):
#   scripts/test.sh                               # or any build of ./build
#   scripts/gpu-tests.sh --pack build .carry/build
# copies what the tests run (executables, libraries, CTest files; no objects, no debug info)
# into .carry/build (.carry/ is ignored by git); `--pack-archive build .carry/build.tgz` makes one
# archive of it instead, small enough for the device tool's 64 MiB carry. Then on the GPU
# machine, from the repository root (no cmake configure, no compiler, no registry needed):
#   scripts/gpu-tests.sh .carry/build          (or .carry/build.tgz, unpacked there first)
# runs `ctest -L 'cuda|gpu' -LE pending` (every native-vs-GVirtuS comparison and every GPU
# test) and bench/run.sh if it exists. With $OUT set, it leaves there summary.txt (the ctest
# summary and the benchmark table) and gpu-tests.tar.gz (every log); exit status 0 only if all passed.
# GVIRTUS_GPU_TESTS_CTEST replaces the test selection (default: -L 'cuda|gpu' -LE pending; tests
# labelled "pending" or "static_pending" are known not to pass yet);
# GVIRTUS_GPU_TESTS_BENCH=0 skips the benchmark; GVIRTUS_GPU_TESTS_JOBS=n runs n tests at a time.
# cuDNN is taken from PyTorch's wheel when the loader does not know it (LD_LIBRARY_PATH for the
# native runs, GVIRTUS_LIBRARY_PATH for the backend). With no GPU answering nvidia-smi it fails.
#
# Paths: CMake writes absolute paths of the build and source trees into CTestTestfile.cmake.
# The GPU machine has the repository at another place, so this script rewrites those files to
# the tree it runs from (old paths read from the build's CMakeCache.txt). It also links the old
# absolute paths to the new tree where it may (it runs as root there), for anything else that
# kept an absolute path.
set -uo pipefail
cd "$(dirname "$0")/.."

cache_value() {  # NAME BUILD_DIR
  sed -n "s/^$1:[A-Z]*=//p" "$2/CMakeCache.txt"
}

pack() {  # BUILD DEST
  local build=$1 dest=$2
  [ -f "$build/CMakeCache.txt" ] || { echo "gpu-tests: $build is not a build tree" >&2; return 1; }
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$build/CMakeCache.txt" "$dest/"
  (
    cd "$build" || exit 1
    # CTest's files, and everything that runs: executables and shared libraries outside CMake's
    # own folders.
    find . \( -path ./CMakeFiles -o -path ./Testing -o -path '*/CMakeFiles' \) -prune -o \
      \( -name CTestTestfile.cmake -o -name '*_include.cmake' -o -name '*_tests.cmake' \
         -o \( -type f -perm -u+x \) -o -name '*.so' -o -name '*.so.*' \) -print
  ) | while read -r f; do
    mkdir -p "$dest/$(dirname "$f")"
    cp -P "$build/$f" "$dest/$f"
    if [ -f "$dest/$f" ] && [ ! -L "$dest/$f" ] && head -c4 "$dest/$f" | grep -q ELF; then
      strip --strip-debug "$dest/$f" 2>/dev/null || true
    fi
  done
  echo "gpu-tests: packed $(du -sh "$dest" | cut -f1) into $dest" >&2
}

rewrite_paths() {  # BUILD
  local build=$1 old_build old_src new_build new_src
  old_build=$(cache_value CMAKE_CACHEFILE_DIR "$build")
  old_src=$(cache_value CMAKE_HOME_DIRECTORY "$build")
  new_build=$(cd "$build" && pwd -P)
  new_src=$(pwd -P)
  [ "$old_build" = "$new_build" ] && [ "$old_src" = "$new_src" ] && return 0
  echo "gpu-tests: build made at $old_build (source $old_src); running at $new_build" >&2
  # Through placeholders, so that one replacement cannot rewrite the other's result.
  find "$build" \( -name CTestTestfile.cmake -o -name '*_include.cmake' -o -name '*_tests.cmake' \) \
    -exec sed -i -e "s#$old_build#@GV_BUILD@#g" -e "s#$old_src#@GV_SRC@#g" \
                 -e "s#@GV_BUILD@#$new_build#g" -e "s#@GV_SRC@#$new_src#g" {} +
  for pair in "$old_build:$new_build" "$old_src:$new_src"; do
    local from=${pair%%:*} to=${pair#*:}
    if [ ! -e "$from" ] && mkdir -p "$(dirname "$from")" 2>/dev/null; then
      ln -s "$to" "$from" 2>/dev/null || true
    fi
  done
}

if [ "${1:-}" = "--pack" ]; then
  pack "${2:-build}" "${3:-.carry/build}"
  exit
fi
# --pack-archive BUILD FILE.tgz: the same, as one gzip'd tar (a packed tree with the static test
# programs is over the device tool's 64 MiB carry; the archive is about a third of it).
if [ "${1:-}" = "--pack-archive" ]; then
  archive=${3:-.carry/build.tgz}
  tmp=$(mktemp -d)
  pack "${2:-build}" "$tmp/build" && mkdir -p "$(dirname "$archive")" &&
    tar czf "$archive" -C "$tmp" build && rm -rf "$tmp" &&
    echo "gpu-tests: $(du -sh "$archive" | cut -f1) in $archive" >&2
  exit
fi

build=${1:-build}
# An archive from --pack-archive: unpacked beside itself (FILE.tgz -> FILE's folder/build).
if [ "${build%.tgz}" != "$build" ] && [ -f "$build" ]; then
  dir=$(dirname "$build")
  rm -rf "$dir/build" && tar xzf "$build" -C "$dir" ||
    { echo "gpu-tests: cannot unpack $build" >&2; exit 2; }
  build=$dir/build
fi
[ -f "$build/CMakeCache.txt" ] || { echo "gpu-tests: $build is not a build tree (see --pack)" >&2; exit 2; }
logs=$(mktemp -d)
rewrite_paths "$build"

# The native runs need NVIDIA's libcudart.so.13 where the loader finds it.
if ! ldconfig -p 2>/dev/null | grep -q 'libcudart.so.13 '; then
  for d in "$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")/../lib64" \
           /usr/local/cuda/lib64; do
    if [ -e "$d/libcudart.so.13" ]; then
      export LD_LIBRARY_PATH=$(cd "$d" && pwd -P)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      break
    fi
  done
fi

# cuDNN: on the GPU machine it exists only inside PyTorch's wheel. The native runs find it
# through LD_LIBRARY_PATH, the backend's cuDNN plugin through GVIRTUS_LIBRARY_PATH.
if ! ldconfig -p 2>/dev/null | grep -q 'libcudnn.so.9 '; then
  cudnn=$(python3 -c 'import nvidia.cudnn, os; print(os.path.join(os.path.dirname(nvidia.cudnn.__file__), "lib"))' 2>/dev/null || true)
  if [ -n "$cudnn" ] && [ -e "$cudnn/libcudnn.so.9" ]; then
    export LD_LIBRARY_PATH=$cudnn${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export GVIRTUS_LIBRARY_PATH=$cudnn${GVIRTUS_LIBRARY_PATH:+:$GVIRTUS_LIBRARY_PATH}
    echo "gpu-tests: cuDNN from $cudnn"
  fi
fi

status=0
# Without a GPU every comparison would compare two failures: refuse to call that a pass.
# (GVIRTUS_GPU_TESTS_WITHOUT_GPU=1: tests/gpu/pack_test.sh, which checks only the packing.)
if ! nvidia-smi -L >"$logs/gpu.txt" 2>&1 && [ "${GVIRTUS_GPU_TESTS_WITHOUT_GPU:-0}" != 1 ]; then
  echo "gpu-tests: no GPU answers nvidia-smi here" >&2
  status=1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >>"$logs/gpu.txt" 2>&1
cat "$logs/gpu.txt"

select=${GVIRTUS_GPU_TESTS_CTEST:-"-L cuda|gpu -LE pending"}
# shellcheck disable=SC2086  # the selection is a list of ctest arguments
ctest --test-dir "$build" $select ${GVIRTUS_GPU_TESTS_JOBS:+-j $GVIRTUS_GPU_TESTS_JOBS} \
  --output-on-failure --timeout 600 \
  --output-junit "$logs/ctest-junit.xml" 2>&1 | tee "$logs/ctest.log" || status=1
cp "$build/Testing/Temporary/LastTest.log" "$logs/" 2>/dev/null

if [ -f bench/run.sh ] && [ "${GVIRTUS_GPU_TESTS_BENCH:-1}" != 0 ]; then
  echo "== bench/run.sh"
  mkdir -p "$logs/bench"
  OUT="$logs/bench" bash bench/run.sh "$build" 2>&1 | tee "$logs/bench.log" || status=1
fi

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  {
    cat "$logs/gpu.txt"
    echo
    sed -n '/tests passed\|tests failed/,$p' "$logs/ctest.log"
    if [ -f "$logs/bench.log" ]; then
      echo
      sed -n '/^metric /,$p' "$logs/bench.log"
    fi
  } >"$OUT/summary.txt"
  tar -C "$logs" -czf "$OUT/gpu-tests.tar.gz" .
fi
rm -rf "$logs"
echo "gpu-tests: $([ $status = 0 ] && echo all passed || echo FAILURES)"
exit $status
