#!/usr/bin/env python3
"""The GPU memory quota on a GPU (docs/security.md, "GPU memory quota").

    memory_quota.py --gvirtus G --backend B --client C

C is tests/gpu/memory_quota. Needs a GPU: the native run of `C Q` must pass with every step
succeeding. Through a backend with {"limits": {"default": {"gpu_memory": Q MiB}}}:
1. an allocation beyond the quota, and any allocation while it is full (cudaMalloc,
   cudaMallocAsync, cudaMallocPitch, cudaMallocArray), answers cudaErrorMemoryAllocation (2),
   cuMemAlloc CUDA_ERROR_OUT_OF_MEMORY (2), cublasCreate
   CUBLAS_STATUS_ALLOC_FAILED (3), cufftPlan1d CUFFT_ALLOC_FAILED (2), where the native run
   succeeds;
2. after cudaFree the same calls succeed again;
3. while the client holds 8 MiB (and a cuBLAS handle and a cuFFT plan), `gvirtus status` shows
   GPU memory on device 0 and the metrics' gvirtus_session_gpu_memory_bytes{device="0"} is at
   least 8 MiB;
4. the session-end log line carries gpu_memory_peak >= Q MiB (the full quota was held);
5. (the program's step 0) a context created on a thread with none (cuCtxCreate, the first measured call, which makes
   the worker learn its pid in NVML's lists) and popped leaves none current, as natively.
Exit status 0 if all hold, 1 otherwise.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cuda"))
import compare  # noqa: E402  (clean_env, run)

QUOTA_MIB = 1024  # room for what cuBLAS and cuFFT load when created (module images included)
MIB = 1 << 20
# name -> status through the quota (a native run must give 0 for every step).
EXPECTED = {
    "ctx_create": 0, "ctx_none_after_pop": 0, "ctx_destroy": 0, "over_alloc": 2, "fill": 0, "one_more": 2, "async_more": 2, "pitch_more": 2,
    "drv_more": 2, "array_more": 2, "cublas_create": 3, "cufft_plan": 2, "free_fill": 0,
    "after_free": 0, "drv_after": 0, "drv_free": 0, "array_after": 0, "array_free": 0,
    "cublas_after": 0, "cufft_after": 0, "end": 0,
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def statuses(out):
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in EXPECTED:
            got[parts[0]] = int(parts[1])
    return got


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gvirtus", required=True)
    p.add_argument("--backend", required=True)
    p.add_argument("--client", required=True)
    a = p.parse_args()
    problems = []

    native = subprocess.run([a.client, str(QUOTA_MIB)], env=compare.clean_env(), input=b"\n",
                            capture_output=True, timeout=300)
    nout = native.stdout.decode(errors="replace")
    got = statuses(nout)
    if native.returncode != 0 or any(got.get(k) != 0 for k in EXPECTED):
        print(f"FAIL: the native run must succeed at every step (exit {native.returncode}; "
              f"no usable GPU?):\n{nout}{native.stderr.decode(errors='replace')}")
        return 1

    port = free_port()
    metrics = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as work:
        b = compare.configured_backend(
            a.backend, work, "quota", {"limits": {"default": {"gpu_memory": QUOTA_MIB * MIB}}},
            ("--metrics", metrics))
        try:
            client = subprocess.Popen(
                [a.gvirtus, "run", "--endpoint", b.endpoint, "--", a.client, str(QUOTA_MIB)],
                env=compare.clean_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
            out = ""
            deadline = time.monotonic() + 120
            while "holding" not in out and time.monotonic() < deadline:
                line = client.stdout.readline().decode(errors="replace")
                if not line:
                    break
                out += line
            if "holding" not in out:
                problems.append(f"the client never reached 'holding':\n{out}")
            else:
                # 3. status and metrics while the client holds its memory.
                code, st, err = compare.run([a.gvirtus, "status", "--endpoint", b.endpoint],
                                            compare.clean_env(), 60)
                print("gvirtus status:\n" + st)
                m = re.search(r"gpu memory\s+device 0: ([0-9.]+) (B|KiB|MiB|GiB)", st)
                scale = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
                if code != 0 or not m or float(m.group(1)) * scale[m.group(2)] < 8 * MIB:
                    problems.append(f"gvirtus status does not show >= 8 MiB on device 0 "
                                    f"(exit {code}):\n{st}{err}")
                text = urllib.request.urlopen(metrics + "/metrics", timeout=10).read().decode()
                vals = [float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                        if l.startswith("gvirtus_session_gpu_memory_bytes{")
                        and 'device="0"' in l]
                print("metrics gvirtus_session_gpu_memory_bytes{device=0}:", vals)
                if not vals or max(vals) < 8 * MIB:
                    problems.append(f"metrics: gvirtus_session_gpu_memory_bytes{{device=\"0\"}} "
                                    f"is {vals}, want >= {8 * MIB}")
                else:
                    print(f"(informative) cuBLAS handle + cuFFT plan measured at "
                          f"{max(vals) - 8 * MIB:.0f} bytes")
            rest, err = client.communicate(b"\n", timeout=120)
            out += rest.decode(errors="replace")
            print("through the quota:\n" + out)
            got = statuses(out)
            for k, want in EXPECTED.items():
                if got.get(k) != want:
                    problems.append(f"{k}: status {got.get(k)} through the quota, want {want} "
                                    f"(native: 0)")
            if client.returncode != 0:
                problems.append(f"the client exited {client.returncode}:\n"
                                f"{err.decode(errors='replace')}")
            # 4. the session-end line, once the daemon has reaped the worker.
            peak = None
            for _ in range(100):
                m = re.search(r"session-end .*gpu_memory_peak=(\d+)", b.log_text())
                if m:
                    peak = int(m.group(1))
                    break
                time.sleep(0.1)
            if peak is None or peak < QUOTA_MIB * MIB:
                problems.append(f"session-end gpu_memory_peak={peak}, want >= {QUOTA_MIB * MIB}")
            if "cannot be measured" in b.log_text():
                problems.append("the backend could not measure library allocations:\n" +
                                "\n".join(l for l in b.log_text().splitlines()
                                          if "cannot be measured" in l))
        finally:
            log = b.log_text()
            b.stop()
        if problems:
            print("--- backend log\n" + log)
    for pr in problems:
        print("FAIL:", pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
