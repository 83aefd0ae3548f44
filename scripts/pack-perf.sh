#!/usr/bin/env bash
# Packs this machine's perf (Debian's linux-perf) with the shared libraries it needs into one
# archive, for a GPU machine that has no perf and reaches no package registry
# (docs/profiling.md). libc, libm, libpthread, libdl, the loader, libstdc++ and libgcc_s stay
# behind: the target's own are used.
#   scripts/pack-perf.sh OUT.tgz
set -euo pipefail
out=${1:?usage: scripts/pack-perf.sh OUT.tgz}
perf=$(command -v perf || true)
if [ -z "$perf" ]; then
  echo "pack-perf: no perf here; install it first: apt-get install -y linux-perf" >&2
  exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/perf"
cp "$perf" "$dir/perf/perf"
ldd "$perf" | awk '/=>/ {print $3}' | while read -r lib; do
  case $(basename "$lib") in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|ld-linux*|libstdc++.so.*|libgcc_s.so.*) ;;
    *) cp -L "$lib" "$dir/perf/" ;;
  esac
done
tar czf "$out" -C "$dir" perf
echo "pack-perf: $(du -h "$out" | cut -f1) in $out; there: tar xzf it, then" \
     "LD_LIBRARY_PATH=\$PWD/perf perf/perf ..." >&2
