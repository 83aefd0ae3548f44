#!/usr/bin/env bash
# Runs the benchmarks natively, then through gvirtus-backend over TCP, over a Unix socket, over
# shared memory (shm:) and over TLS 1.3 (tls://, with a certificate made for the run), in one go on the same machine,
# and prints each figure with the ratio remote/native:
#   gvirtus-bench       the runtime: calls, copies, launches (must succeed); then its launch
#                       rates alone in interleaved turns (native, tcp, unix, shm, tls, three times),
#                       whose best per mode the table shows
#   gvirtus-bench-libs  cuBLAS and cuDNN, where the build made it (bench/CMakeLists.txt); then
#                       its small SGEMM rate and cuDNN convolution alone in the launch turns,
#                       whose best per mode the table shows
#   gvirtus-bench-math  cuFFT, cuRAND, cuSPARSE and cuSOLVER, where the build made it
#   pytorch_bench.py    PyTorch training steps, a tiny op, import + first CUDA op, where
#                       $PYTHON (default python3) can import torch and sees a GPU: in the
#                       interleaved turns (native, tcp, unix, shm, tls, twice), the table
#                       showing each mode's best turn
#   gvirtus-bench-transport  session setup and Ping round trip (no GPU needed), over tcp://,
#                       unix:, shm:, tls:// and tcp:// with a token; a table of its own
#   gvirtus-bench-worker-paths  native only: ways a worker can carry out a small copy or a
#                       launch (worker-paths.txt, printed, not in the table)
#   gvirtus-bench-serve  no GPU needed: the serve loop with busy handlers, per transport
#                       (serve.txt, printed, not in the table)
#   bench/run.sh [BUILD_DIR] [SECONDS_PER_METRIC]
# Without a GPU (nvidia-smi fails, or BENCH_CPU_ONLY=1) only gvirtus-bench-transport and
# gvirtus-bench-serve run.
# Writes the raw outputs and the table to $OUT (or a temp dir) as well. A failure of
# gvirtus-bench stops the script; one of the others is reported, its figures are left out of
# the table (nan), and the exit status is 1 at the end. Each of those runs has 15 minutes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
budget=${2:-1}
bin=$(cd "$build/bin" && pwd)
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
# The interleaved turns append to these: none from an earlier run in the same $OUT.
rm -f "$out"/launches-*.txt "$out"/launches-*.err "$out"/libturns-*.txt "$out"/libturns-*.err \
  "$out"/torch-*.txt "$out"/torch-*.err "$out"/cpu-speed.txt
work=$(mktemp -d)
backend_pid=
failed=0
more_pids=()  # the interleaved launch turns' backends
cleanup() {
  [ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null && wait "$backend_pid" 2>/dev/null
  for p in "${more_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

start_backend() {  # $1 = endpoint, $2 = mode, then more gvirtus-backend arguments
  local ep=$1 mode=$2
  shift 2
  rm -f "$work/ready"
  "$bin/gvirtus-backend" --listen "$ep" "$@" --ready-fd 9 9>"$work/ready" 2>"$out/backend-$mode.log" &
  backend_pid=$!
  for _ in $(seq 100); do
    grep -q ready "$work/ready" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: backend on $ep did not come up:" >&2
  tail -n 5 "$out/backend-$mode.log" >&2
  return 1
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

gpu=1
if [ "${BENCH_CPU_ONLY:-0}" = 1 ] || ! nvidia-smi -L >/dev/null 2>&1; then
  gpu=0
  echo "bench: no GPU (or BENCH_CPU_ONLY=1): only gvirtus-bench-transport runs" >&2
fi

# TLS: a CA and a certificate for 127.0.0.1 made for this run (by gvirtus-bench-transport, so
# no openssl command is needed), and a token, in $work.
tls=0
if [ -x "$bin/gvirtus-bench-transport" ] &&
   "$bin/gvirtus-bench-transport" --make-test-cert "$work" 2>"$out/cert.log"; then
  tls=1
  printf '{"tls_cert": "%s/server.pem", "tls_key": "%s/server.key"}\n' "$work" "$work" \
    >"$work/tls.json"
fi
[ "$tls" = 1 ] || echo "bench: cannot make a test certificate (see $out/cert.log): skipping the TLS runs" >&2
(umask 077 && openssl rand -hex 32 >"$work/token" 2>/dev/null ||
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token")
printf '{"token_file": "%s/token"}\n' "$work" >"$work/token.json"

transport=$bin/gvirtus-bench-transport
run_transport() {  # $1 = mode, then environment assignments for the client
  local mode=$1
  shift
  [ -x "$transport" ] || return 0
  if ! env "$@" timeout 300 "$transport" "$budget" >"$out/transport-$mode.txt" \
       2>"$out/transport-$mode.err"; then
    echo "bench: gvirtus-bench-transport failed ($mode):" >&2
    tail -n 5 "$out/transport-$mode.err" >&2
    failed=1
  fi
  # The transport alone, no backend (--raw): ping and a 256 MiB stream; for TLS through a TLS
  # relay, as a worker's bytes go.
  local raw=
  case $mode in
    tcp) raw="tcp://127.0.0.1:$(free_port)" ;;
    unix) raw="unix:$work/raw.sock" ;;
    shm) raw="shm:$work/raw.shm" ;;
    tls) raw="tls://127.0.0.1:$(free_port)" ;;
  esac
  if [ -n "$raw" ] && ! timeout 300 "$transport" --raw "$raw" "$budget" \
       >>"$out/transport-$mode.txt" 2>>"$out/transport-$mode.err"; then
    echo "bench: gvirtus-bench-transport --raw failed ($mode)" >&2
    failed=1
  fi
  cat "$out/transport-$mode.txt" >&2
}
stop_backend() {
  kill "$backend_pid" && wait "$backend_pid" || true
  backend_pid=
}

if [ "$gpu" = 1 ]; then
# The optional benchmarks.
progs=()  # the library benchmarks this build has, by short name: libs, math
for p in libs math; do
  if [ -x "$bin/gvirtus-bench-$p" ]; then
    progs+=("$p")
  else
    echo "bench: no $bin/gvirtus-bench-$p (its libraries are not in the build): skipping it" >&2
  fi
done
python=$(command -v "${PYTHON:-python3}" || true)
torch=
if [ -n "$python" ] && "$python" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' \
     >/dev/null 2>&1; then
  torch=$here/pytorch_bench.py
else
  echo "bench: ${PYTHON:-python3} cannot import torch or sees no GPU: skipping pytorch_bench.py" >&2
fi

# Natively, the library benchmarks need NVIDIA's libraries. Where the loader does not find
# them, take those of the PyTorch wheel (site-packages/nvidia/{cu13,cudnn}/lib), for the native
# run only: through GVirtuS the GVirtuS libraries must be the ones found.
native_libs_path=
missing_libs=
for p in "${progs[@]}"; do
  ldd "$bin/gvirtus-bench-$p" 2>/dev/null | grep -q 'not found' && missing_libs=1
done
if [ -n "$missing_libs" ] && [ -n "$python" ]; then
  for d in $("$python" - <<'PY' 2>/dev/null
import importlib.util, os
spec = importlib.util.find_spec("nvidia")
for root in (spec.submodule_search_locations if spec else []):
    for sub in ("cu13/lib", "cublas/lib", "cudnn/lib"):
        if os.path.isdir(os.path.join(root, sub)):
            print(os.path.join(root, sub))
PY
  ); do
    native_libs_path=${native_libs_path:+$native_libs_path:}$d
  done
fi

run_libs() {  # $1 = mode, then the command prefix (empty natively): every library benchmark
  local mode=$1 p
  shift
  for p in "${progs[@]}"; do
    if ! timeout 900 "$@" "$bin/gvirtus-bench-$p" "$budget" >"$out/$p-$mode.txt" \
         2>"$out/$p-$mode.err"; then
      echo "bench: gvirtus-bench-$p failed ($mode):" >&2
      tail -n 5 "$out/$p-$mode.err" >&2
      failed=1
    fi
    cat "$out/$p-$mode.txt" >&2
  done
}
run_turn() {  # $1 = seconds, $2 = mode, $3 = file stem, $4 = what, then the command: one
  local limit=$1 mode=$2 stem=$3 what=$4  # interleaved turn, whose figures join STEM-MODE.txt
  shift 4                                 # only if it succeeded (a failed turn's are left out)
  if timeout "$limit" "$@" >"$out/turn.txt" 2>>"$out/$stem-$mode.err"; then
    cat "$out/turn.txt" >>"$out/$stem-$mode.txt"
  else
    echo "bench: $what failed ($mode):" >&2
    tail -n 5 "$out/$stem-$mode.err" >&2
    failed=1
  fi
  cat "$out/turn.txt" >&2
  rm -f "$out/turn.txt"
}
run_torch() {  # $1 = mode, then the command prefix (empty natively): one PyTorch turn
  local mode=$1
  shift
  [ -n "$torch" ] || return 0
  run_turn 900 "$mode" torch pytorch_bench.py "$@" "$python" "$torch"
}

echo "== native" >&2
"$bin/gvirtus-bench" "$budget" | tee "$out/native.txt" >&2
native_env=(env)
[ -z "$native_libs_path" ] ||
  native_env+=("LD_LIBRARY_PATH=$native_libs_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
run_libs native "${native_env[@]}"
# Native only: the ways a worker can carry out a small copy or a launch (docs/profiling.md).
if [ -x "$bin/gvirtus-bench-worker-paths" ]; then
  if ! timeout 300 "$bin/gvirtus-bench-worker-paths" >"$out/worker-paths.txt" \
       2>"$out/worker-paths.err"; then
    echo "bench: gvirtus-bench-worker-paths failed:" >&2
    tail -n 5 "$out/worker-paths.err" >&2
    failed=1
  fi
  cat "$out/worker-paths.txt" >&2
fi

port=$(free_port)
echo "== tcp://127.0.0.1:$port" >&2
start_backend "tcp://127.0.0.1:$port" tcp --module-cache "$work/modules-tcp"
"$bin/gvirtus" run --endpoint "tcp://127.0.0.1:$port" -- "$bin/gvirtus-bench" "$budget" \
  | tee "$out/tcp.txt" >&2
run_libs tcp "$bin/gvirtus" run --endpoint "tcp://127.0.0.1:$port" --
run_transport tcp GVIRTUS_ENDPOINT="tcp://127.0.0.1:$port"
stop_backend

echo "== unix:$work/b.sock" >&2
start_backend "unix:$work/b.sock" unix --module-cache "$work/modules-unix"
"$bin/gvirtus" run --endpoint "unix:$work/b.sock" -- "$bin/gvirtus-bench" "$budget" \
  | tee "$out/unix.txt" >&2
run_libs unix "$bin/gvirtus" run --endpoint "unix:$work/b.sock" --
run_transport unix GVIRTUS_ENDPOINT="unix:$work/b.sock"
stop_backend

echo "== shm:$work/b.shm" >&2
start_backend "shm:$work/b.shm" shm --module-cache "$work/modules-shm"
"$bin/gvirtus" run --endpoint "shm:$work/b.shm" -- "$bin/gvirtus-bench" "$budget" \
  | tee "$out/shm.txt" >&2
run_libs shm "$bin/gvirtus" run --endpoint "shm:$work/b.shm" --
run_transport shm GVIRTUS_ENDPOINT="shm:$work/b.shm"
stop_backend

if [ "$tls" = 1 ]; then
  port=$(free_port)
  ep="tls://127.0.0.1:$port"
  echo "== $ep" >&2
  start_backend "$ep" tls --config "$work/tls.json"
  tls_env=(env GVIRTUS_TLS_CA="$work/ca.pem")
  "${tls_env[@]}" "$bin/gvirtus" run --endpoint "$ep" -- "$bin/gvirtus-bench" "$budget" \
    | tee "$out/tls.txt" >&2
  run_libs tls "${tls_env[@]}" "$bin/gvirtus" run --endpoint "$ep" --
  run_transport tls GVIRTUS_ENDPOINT="$ep" GVIRTUS_TLS_CA="$work/ca.pem"
  stop_backend
fi
fi

# How fast each CPU runs a fixed Python loop right now (20 ms pinned to each), as a line of
# $out/cpu-speed.txt: on the shared GPU machine a CPU often runs at about half speed (fast
# ones measured 0.85-1.0 of the fastest, slow ones 0.45-0.70), and which CPUs those are
# changes from minute to minute (docs/profiling.md). A turn taken while many CPUs were slow
# may read low, natively and remotely alike.
cpu_probe() {  # $1 = when
  python3 - "$1" >>"$out/cpu-speed.txt" 2>/dev/null <<'PY' || true
import os, sys, time
cpus = sorted(os.sched_getaffinity(0))
rate = {}
for c in cpus:
    try:
        os.sched_setaffinity(0, {c})
    except OSError:  # gone from this process's set meanwhile (a cpuset changed)
        continue
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.02:
        for _ in range(2000):
            pass
        n += 1
    rate[c] = n / (time.perf_counter() - t0)
fast = max(rate.values())
slow = [c for c in rate if rate[c] < 0.8 * fast]
print(f"{sys.argv[1]}: {len(slow)} of {len(rate)} CPUs under 80% of the fastest "
      f"(fastest {fast / 1e3:.1f}k loops/s, slowest {min(rate.values()) / fast:.2f} of it)"
      + (f": {slow}" if slow else ""))
PY
}

# Launch rates, small SGEMMs, a cuDNN convolution and PyTorch, interleaved: natively, then
# through TCP, Unix, shm and TLS, in turn (the launches and the library figures three times,
# PyTorch twice), with the backends up at once, each with a module cache. A process's launch
# rate, and a PyTorch training step, move by 10-40% from one minute to the next on the shared
# GPU machine (native included; its CPUs run at two speeds, docs/profiling.md), and the runs
# above are minutes apart; the table's launches_per_s, launch_enqueue_per_s,
# launches_per_s_4_threads, sgemm_64_per_s and cudnn_conv_fwd_us are each mode's best over
# these turns (launches-MODE.txt, libturns-MODE.txt), its PyTorch figures each mode's best
# turn (torch-MODE.txt).
if [ "$gpu" = 1 ]; then
  echo "== launch rates, library figures and PyTorch, interleaved" >&2
  declare -A lep=([tcp]="tcp://127.0.0.1:$(free_port)" [unix]="unix:$work/l.sock"
                  [shm]="shm:$work/l.shm")
  for m in tcp unix shm; do
    start_backend "${lep[$m]}" "launches-$m" --module-cache "$work/modules-l-$m"
    more_pids+=("$backend_pid")
    backend_pid=
  done
  turn_modes=(native tcp unix shm)
  if [ "$tls" = 1 ]; then
    lep[tls]="tls://127.0.0.1:$(free_port)"
    start_backend "${lep[tls]}" turns-tls --config "$work/tls.json" --module-cache "$work/modules-l-tls"
    more_pids+=("$backend_pid")
    backend_pid=
    turn_modes+=(tls)
  fi
  turn_prefix() {  # $1 = mode: sets prefix, the command prefix through that mode's backend
    prefix=()
    [ "$1" = native ] && return 0
    [ "$1" = tls ] && prefix=(env GVIRTUS_TLS_CA="$work/ca.pem")
    prefix+=("$bin/gvirtus" run --endpoint "${lep[$1]}" --)
  }
  lib_turns=
  [[ " ${progs[*]} " == *" libs "* ]] && lib_turns=1
  for turn in 1 2 3; do
    for m in "${turn_modes[@]}"; do
      turn_prefix "$m"
      cpu_probe "turn $turn, $m, launches"
      run_turn 300 "$m" launches "the launch turn" "${prefix[@]}" "$bin/gvirtus-bench" "$budget" \
        launches
      [ -n "$lib_turns" ] || continue
      lib_env=("${prefix[@]}")
      [ "$m" = native ] && lib_env=("${native_env[@]}")
      run_turn 300 "$m" libturns "the library turn" "${lib_env[@]}" "$bin/gvirtus-bench-libs" \
        "$budget" turn
    done
    [ "$turn" -le 2 ] || continue
    for m in "${turn_modes[@]}"; do
      turn_prefix "$m"
      [ -z "$torch" ] || cpu_probe "turn $turn, $m, PyTorch"
      run_torch "$m" "${prefix[@]}"
    done
  done
  for p in "${more_pids[@]}"; do kill "$p" && wait "$p" || true; done
  more_pids=()
fi

if [ "$gpu" = 0 ]; then
  port=$(free_port)
  echo "== tcp://127.0.0.1:$port" >&2
  start_backend "tcp://127.0.0.1:$port" tcp
  run_transport tcp GVIRTUS_ENDPOINT="tcp://127.0.0.1:$port"
  stop_backend
  echo "== unix:$work/b.sock" >&2
  start_backend "unix:$work/b.sock" unix
  run_transport unix GVIRTUS_ENDPOINT="unix:$work/b.sock"
  stop_backend
  echo "== shm:$work/b.shm" >&2
  start_backend "shm:$work/b.shm" shm
  run_transport shm GVIRTUS_ENDPOINT="shm:$work/b.shm"
  stop_backend
  if [ "$tls" = 1 ]; then
    port=$(free_port)
    echo "== tls://127.0.0.1:$port" >&2
    start_backend "tls://127.0.0.1:$port" tls --config "$work/tls.json"
    run_transport tls GVIRTUS_ENDPOINT="tls://127.0.0.1:$port" GVIRTUS_TLS_CA="$work/ca.pem"
    stop_backend
  fi
fi

# Token authentication over TCP: what its extra round trip costs a new session.
port=$(free_port)
echo "== tcp://127.0.0.1:$port with a token" >&2
start_backend "tcp://127.0.0.1:$port" token --config "$work/token.json"
run_transport token GVIRTUS_ENDPOINT="tcp://127.0.0.1:$port" GVIRTUS_TOKEN_FILE="$work/token"
stop_backend

# The serve loop under a worker-bound load, per transport, without a GPU (docs/profiling.md):
# printed, not in the table.
if [ -x "$bin/gvirtus-bench-serve" ]; then
  echo "== gvirtus-bench-serve" >&2
  if ! timeout 300 "$bin/gvirtus-bench-serve" >"$out/serve.txt" 2>&1; then
    echo "bench: gvirtus-bench-serve failed" >&2
    failed=1
  fi
  cat "$out/serve.txt" >&2
fi

python3 - "$out" <<'PY' | tee "$out/bench-table.txt"
import sys, os
out = sys.argv[1]
def best(new, kept, unit):
    """Of two turns' figures, the better: the higher rate (a unit per second), else the lower
    time."""
    return max(new, kept) if unit.endswith("/s") else min(new, kept)
def figures(path, pick):
    """metric -> (value, unit) from a file of "metric value unit" lines; a metric on several
    lines (one per turn) keeps pick(new, kept, unit)."""
    d = {}
    if not os.path.exists(path):
        return d
    for line in open(path):
        parts = line.split()
        if len(parts) != 3:
            continue
        try:
            v = float(parts[1])
        except ValueError:
            continue
        d[parts[0]] = (pick(v, d[parts[0]][0], parts[2]) if parts[0] in d else v, parts[2])
    return d
def load(mode):
    d = {}
    for name in (f"{mode}.txt", f"libs-{mode}.txt", f"math-{mode}.txt"):
        d.update(figures(os.path.join(out, name), lambda new, kept, unit: new))
    # The interleaved turns (launch rates, library figures, PyTorch), where they ran: one line
    # per turn, each mode's best, in place of its own run's figure.
    for turns in ("launches", "libturns", "torch"):
        d.update(figures(os.path.join(out, f"{turns}-{mode}.txt"), best))
    return d
native, tcp, unix, shm, tls = (load("native"), load("tcp"), load("unix"), load("shm"),
                               load("tls"))
if native:
    print(f"{'metric':28} {'native':>10} {'tcp':>10} {'unix':>10} {'shm':>10} {'tls':>10} "
          f"{'tcp/native':>11} {'unix/native':>12} {'shm/native':>11} {'tls/native':>11} "
          f"{'tls/tcp':>8}")
nan = float('nan')
for k, (v, unit) in native.items():
    t = tcp.get(k, (nan, unit))[0]
    u = unix.get(k, (nan, unit))[0]
    m = shm.get(k, (nan, unit))[0]
    s = tls.get(k, (nan, unit))[0]
    ratio = lambda x, base: x / base if base else nan
    print(f"{k:28} {v:10.4g} {t:10.4g} {u:10.4g} {m:10.4g} {s:10.4g} {ratio(t, v):11.3g} "
          f"{ratio(u, v):12.3g} {ratio(m, v):11.3g} {ratio(s, v):11.3g} {ratio(s, t):8.3g}")
# The transport alone (gvirtus-bench-transport): no native figure; TLS and token against tcp.
modes = ["tcp", "unix", "shm", "tls", "token"]
tr = {m: {k: v for k, (v, _) in
            figures(os.path.join(out, f"transport-{m}.txt"), lambda new, kept, unit: new).items()}
      for m in modes}
if any(tr.values()):
    print()
    print(f"{'transport':20} {'tcp':>10} {'unix':>10} {'shm':>10} {'tls':>10} {'tcp+token':>10} "
          f"{'tls/tcp':>8} {'token/tcp':>10}")
    for k in sorted({k for m in modes for k in tr[m]}):
        v = {m: tr[m].get(k, nan) for m in modes}
        r = lambda x: x / v["tcp"] if v["tcp"] == v["tcp"] and v["tcp"] else nan
        print(f"{k:20} {v['tcp']:10.4g} {v['unix']:10.4g} {v['shm']:10.4g} {v['tls']:10.4g} "
              f"{v['token']:10.4g} "
              f"{r(v['tls']):8.3g} {r(v['token']):10.3g}")
PY
if [ -s "$out/cpu-speed.txt" ]; then
  echo
  echo "CPU speed before each interleaved turn (cpu-speed.txt):"
  cat "$out/cpu-speed.txt"
fi | tee -a "$out/bench-table.txt"
[ "$failed" = 0 ] || echo "bench: some optional benchmarks failed (see above); their figures are nan" >&2
exit "$failed"
