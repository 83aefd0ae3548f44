#!/usr/bin/env bash
# Runs gvirtus-bench natively, then through gvirtus-backend over TCP and over a Unix socket, in
# one go on the same machine, and prints each figure with the ratio remote/native.
#   bench/run.sh [BUILD_DIR] [SECONDS_PER_METRIC]
# Writes the raw outputs and the table to $OUT (or a temp dir) as well.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
budget=${2:-1}
bin=$(cd "$build/bin" && pwd)
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
work=$(mktemp -d)
backend_pid=
cleanup() {
  [ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null && wait "$backend_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_backend() {  # $1 = endpoint
  rm -f "$work/ready"
  "$bin/gvirtus-backend" --listen "$1" --ready-fd 9 9>"$work/ready" 2>"$out/backend-$2.log" &
  backend_pid=$!
  for _ in $(seq 100); do
    grep -q ready "$work/ready" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: backend on $1 did not come up" >&2
  return 1
}
stop_backend() {
  kill "$backend_pid" && wait "$backend_pid" || true
  backend_pid=
}

echo "== native" >&2
"$bin/gvirtus-bench" "$budget" | tee "$out/native.txt" >&2

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "== tcp://127.0.0.1:$port" >&2
start_backend "tcp://127.0.0.1:$port" tcp
"$bin/gvirtus" run --endpoint "tcp://127.0.0.1:$port" -- "$bin/gvirtus-bench" "$budget" \
  | tee "$out/tcp.txt" >&2
stop_backend

echo "== unix:$work/b.sock" >&2
start_backend "unix:$work/b.sock" unix
"$bin/gvirtus" run --endpoint "unix:$work/b.sock" -- "$bin/gvirtus-bench" "$budget" \
  | tee "$out/unix.txt" >&2
stop_backend

python3 - "$out" <<'PY' | tee "$out/bench-table.txt"
import sys, os
out = sys.argv[1]
def load(name):
    d = {}
    for line in open(os.path.join(out, name)):
        parts = line.split()
        if len(parts) == 3:
            d[parts[0]] = (float(parts[1]), parts[2])
    return d
native, tcp, unix = load("native.txt"), load("tcp.txt"), load("unix.txt")
print(f"{'metric':28} {'native':>10} {'tcp':>10} {'unix':>10} {'tcp/native':>11} {'unix/native':>12}")
for k, (v, unit) in native.items():
    t = tcp.get(k, (float('nan'), unit))[0]
    u = unix.get(k, (float('nan'), unit))[0]
    print(f"{k:28} {v:10.4g} {t:10.4g} {u:10.4g} {t/v:11.3g} {u/v:12.3g}")
PY
