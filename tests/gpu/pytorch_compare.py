#!/usr/bin/env python3
"""Runs pytorch_workloads.py natively and through `gvirtus run`, and compares the results.

    pytorch_compare.py --gvirtus BIN/gvirtus --backend BIN/gvirtus-backend
                       --mode tcp|unix|shm|embedded [--timeout S] [--python PY] [--only NAMES]

The native run must succeed (exit status 0, no ERROR line): this test needs a GPU and PyTorch
with CUDA, and fails, never skips, without them. Through GVirtuS every native line must come
back: bitwise the same (hash and summary) for deterministic workloads; for the workloads that
pytorch_workloads.TOLERANT names (mixed precision), the same hash or a float summary within a
relative 1e-3. The backend is started as tests/cuda/compare.py does (TCP on a free loopback
port, a Unix socket, or the private backend of `gvirtus run`), and the run must load the
GVirtuS libcudart.so.13 (and each other GVirtuS library present in lib/gvirtus that PyTorch
loads: cuBLAS, cuBLASLt, cuDNN, cuFFT, cuRAND, cuSPARSE, cuSOLVER). Exit status 0 when
everything matches.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cuda"))
sys.path.insert(0, HERE)
import compare  # noqa: E402  (Backend, start_backend, clean_env, run)
import pytorch_workloads  # noqa: E402  (WORKLOADS, TOLERANT; does not import torch)

WORKLOADS_PY = os.path.join(HERE, "pytorch_workloads.py")
LINE = re.compile(r"^(\S+): (.*)$")
RESULT = re.compile(r"^([0-9a-f]{64}) (\S+)$")
# GVirtuS libraries that, when the build has them, PyTorch must load from lib/gvirtus.
OUR_LIBS = ("libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9",
            "libcufft.so.12", "libcurand.so.10", "libcusparse.so.12", "libcusolver.so.12")
REL_TOL = 1e-3


def parse(stdout):
    """{name: value} in order, for every `name: value` line (other lines are ignored)."""
    lines = {}
    for line in stdout.splitlines():
        m = LINE.match(line)
        if m:
            lines[m.group(1)] = m.group(2)
    return lines


def workload_of(line_name):
    return line_name.split(".", 1)[0]


def loaded_libs(ld_dir):
    """Paths the dynamic loader initialised, from LD_DEBUG=libs logs."""
    paths = set()
    for name in os.listdir(ld_dir):
        with open(os.path.join(ld_dir, name), errors="replace") as f:
            for line in f:
                if "calling init:" in line:
                    paths.add(line.rsplit("calling init:", 1)[1].strip())
    return paths


def close(a, b):
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) or a == b


def compare_lines(native, remote):
    """(problems, notes): problems fail the test, notes are for information."""
    problems, notes = [], []
    exact = tolerated = 0
    for name, want in native.items():
        have = remote.get(name)
        if have is None:
            problems.append(f"{name}: missing through GVirtuS (native: {want})")
            continue
        if have == want:
            exact += 1
            continue
        tolerant = workload_of(name) in pytorch_workloads.TOLERANT
        mw, mh = RESULT.match(want), RESULT.match(have)
        if tolerant and mw and mh:
            a, b = float(mw.group(2)), float(mh.group(2))
            if close(a, b):
                tolerated += 1
                notes.append(f"{name}: hash differs, summary within {REL_TOL:g} "
                             f"(native {a:.6e}, gvirtus {b:.6e})")
                continue
            problems.append(f"{name}: summary differs beyond {REL_TOL:g}: native {want}, "
                            f"gvirtus {have}")
        else:
            problems.append(f"{name}: native {want}\n  {' ' * len(name)}gvirtus {have}")
    for name in remote:
        if name not in native:
            problems.append(f"{name}: only through GVirtuS: {remote[name]}")
    return problems, notes, exact, tolerated


def tail(text, lines=150):
    parts = text.splitlines()
    if len(parts) <= lines:
        return text
    return f"[... {len(parts) - lines} lines left out]\n" + "\n".join(parts[-lines:]) + "\n"


def wheel_library_path(python):
    """The CUDA library folders of the PyTorch wheel (nvidia/cu13/lib, nvidia/cudnn/lib): the
    backend must run the very cuBLAS and cuDNN that PyTorch uses natively, or results may differ
    in their last bits."""
    code = ("import os, nvidia\n"
            "for p in nvidia.__path__:\n"
            "  for sub in ('cu13/lib', 'cudnn/lib'):\n"
            "    d = os.path.join(p, sub)\n"
            "    if os.path.isdir(d): print(d)\n")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return ":".join(l for l in out.stdout.splitlines() if l)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gvirtus", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--mode", choices=("tcp", "unix", "shm", "embedded"), required=True)
    ap.add_argument("--timeout", type=float, default=900, help="per run, seconds (default 900)")
    ap.add_argument("--python", default=sys.executable,
                    help="the Python with PyTorch (default: this one)")
    ap.add_argument("--only", help="passed on to pytorch_workloads.py")
    a = ap.parse_args()
    gvirtus = os.path.abspath(a.gvirtus)
    frontend_dir = os.path.realpath(os.path.join(os.path.dirname(gvirtus), "..", "lib", "gvirtus"))
    program = [a.python, WORKLOADS_PY] + (["--only", a.only] if a.only else [])
    libs = wheel_library_path(a.python)
    if libs:  # for the backends this script starts, and the private one of embedded mode
        old = os.environ.get("GVIRTUS_LIBRARY_PATH")
        os.environ["GVIRTUS_LIBRARY_PATH"] = libs + (":" + old if old else "")

    with tempfile.TemporaryDirectory(prefix="gvirtus-pytorch-") as work:
        native_tmp = os.path.join(work, "native-tmp")
        os.mkdir(native_tmp)
        env = compare.clean_env()
        env["TMPDIR"] = native_tmp
        t0 = time.monotonic()
        native = compare.run(program, env, a.timeout)
        native_s = time.monotonic() - t0
        native_lines = parse(native[1])
        native_errors = [f"{n}: {v}" for n, v in native_lines.items() if v.startswith("ERROR")]
        if native[0] != 0 or native_errors or not native_lines:
            print(f"pytorch over {a.mode}: FAIL: the native run failed (exit status {native[0]}); "
                  "this test needs a CUDA GPU and a Python with PyTorch built for CUDA "
                  f"({a.python}), and does not compare anything without them")
            for e in native_errors:
                print("- " + e)
            print("--- native stdout\n" + native[1] + "--- native stderr\n" + tail(native[2]))
            return 1

        ld_dir = os.path.join(work, "ld")
        tmp_dir = os.path.join(work, "tmp")
        os.mkdir(ld_dir)
        os.mkdir(tmp_dir)
        env = compare.clean_env()
        env.update(LD_DEBUG="libs", LD_DEBUG_OUTPUT=os.path.join(ld_dir, "ld"), TMPDIR=tmp_dir)
        problems = []
        backend = None
        cmd = [gvirtus, "run"]
        if a.mode != "embedded":
            backend = compare.start_backend(a.backend, a.mode, work)
            cmd += ["--endpoint", backend.endpoint]
        t0 = time.monotonic()
        try:
            remote = compare.run(cmd + ["--"] + program, env, a.timeout)
        finally:
            if backend:
                trouble = backend.stop()
                if trouble:
                    problems.append(trouble)
        remote_s = time.monotonic() - t0
        loaded = loaded_libs(ld_dir)
        for lib in OUR_LIBS:
            path = os.path.join(frontend_dir, lib)
            if (lib == "libcudart.so.13" or os.path.exists(path)) and path not in loaded:
                problems.append(f"the program did not load {path}")
        # What the private backend may leave: anything the native run did not leave too.
        left = sorted(set(os.listdir(tmp_dir)) - set(os.listdir(native_tmp)))
        if left:
            problems.append(f"left behind in TMPDIR: {left}")
        backend_log = backend.log_text() if backend else ""

    if remote[0] != 0:
        problems.append(f"exit status: native 0, through GVirtuS {remote[0]}")
    # No function of the math libraries that PyTorch calls may be a refused stub.
    stub = r"\b((?:cublas|cudnn|cufft|curand|cusparse|cusolver|nvml)\w*) is not supported by GVirtuS"
    refused = sorted(set(re.findall(stub, remote[2])))
    if refused:
        problems.append(f"refused library functions were called: {', '.join(refused)}")
    line_problems, notes, exact, tolerated = compare_lines(native_lines, parse(remote[1]))
    problems += line_problems

    timing = f"native {native_s:.1f} s, through GVirtuS {remote_s:.1f} s"
    if not problems:
        print(f"pytorch over {a.mode}: {len(native_lines)} lines match ({exact} bitwise, "
              f"{tolerated} within {REL_TOL:g}); {timing}")
        for n in notes:
            print("  " + n)
        return 0
    print(f"pytorch over {a.mode}: MISMATCH ({timing})")
    for p in problems:
        print("- " + p)
    for n in notes:
        print("  " + n)
    print("--- native stdout\n" + native[1] + "--- native stderr\n" + tail(native[2]))
    print("--- gvirtus stdout\n" + remote[1] + "--- gvirtus stderr\n" + tail(remote[2]))
    if backend_log:
        print("--- backend log\n" + tail(backend_log))
    return 1


if __name__ == "__main__":
    sys.exit(main())
