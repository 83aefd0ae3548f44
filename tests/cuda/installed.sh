#!/usr/bin/env bash
# The installed tree works wherever it is copied: installs the build into a temporary prefix,
# moves that tree, checks that no installed file asks the loader for an absolute path, and runs
# a CUDA program through the moved copy (private backend, and TCP) against a native run.
#   installed.sh BUILD_DIR PROGRAM [ARGS...]
set -euo pipefail
build=$1
shift
# --also PROGRAM (repeatable): another program compared natively and through the moved tree, in
# embedded mode (a cuBLAS program: the worker must find the library plugins there).
also=()
while [ "${1:-}" = "--also" ]; do
  also+=("$2")
  shift 2
done
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/first" >/dev/null
mv "$tmp/first" "$tmp/moved"
p=$tmp/moved
fail() { echo "installed: $*" >&2; exit 1; }

for f in bin/gvirtus bin/gvirtus-backend; do
  [ -x "$p/$f" ] || fail "$f is not installed"
done
libs=$(ls "$p"/lib*/gvirtus/libcudart.so.13 "$p"/lib*/gvirtus/libgvirtus-frontend.so) \
  || fail "the frontend libraries are not under lib*/gvirtus"

# Every RPATH/RUNPATH entry of every installed ELF file is relative to $ORIGIN.
plugins=$(ls "$p"/lib*/gvirtus/backend/libgvirtus-backend-*.so 2>/dev/null || true)
for f in "$p"/bin/* $libs $plugins; do
  for entry in $(readelf -d "$f" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\]/\2/p' | tr ':' ' '); do
    case "$entry" in
      '$ORIGIN'*) ;;
      *) fail "$f has the absolute search path $entry" ;;
    esac
  done
done

"$p/bin/gvirtus" --version
for mode in embedded tcp; do
  "$here/compare.py" --gvirtus "$p/bin/gvirtus" --backend "$p/bin/gvirtus-backend" --mode "$mode" -- "$@"
done
for prog in "${also[@]}"; do
  "$here/compare.py" --gvirtus "$p/bin/gvirtus" --backend "$p/bin/gvirtus-backend" --mode embedded \
    --expect-lib libcublas.so.13 -- "$prog"
done
