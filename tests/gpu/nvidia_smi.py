#!/usr/bin/env python3
"""nvidia-smi through GVirtuS (needs a GPU and the driver's nvidia-smi).

  nvidia_smi.py BIN/gvirtus

1. `nvidia-smi --query-gpu=name,uuid,memory.total,pci.bus_id,driver_version --format=csv,noheader`
   natively and through `gvirtus run` (a private backend): the same lines.
2. plain `nvidia-smi` through `gvirtus run` exits 0 and names every GPU of the query.
nvidia-smi loads only libnvidia-ml.so (our libnvidia-ml.so.1 through `gvirtus run`); a machine
without nvidia-smi fails the test.
"""
import os
import shutil
import subprocess
import sys

QUERY = ["--query-gpu=name,uuid,memory.total,pci.bus_id,driver_version", "--format=csv,noheader"]


def find_smi():
    smi = shutil.which("nvidia-smi")
    if smi:
        return smi
    for p in ("/usr/local/nvidia/bin/nvidia-smi", "/usr/bin/nvidia-smi"):
        if os.access(p, os.X_OK):
            return p
    return None


def run(cmd):
    env = dict(os.environ)
    for v in ("GVIRTUS_ENDPOINT", "GVIRTUS_CONFIG", "GVIRTUS_HOME", "LD_PRELOAD"):
        env.pop(v, None)
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr


def main():
    gvirtus = sys.argv[1]
    smi = find_smi()
    if not smi:
        print("FAIL: nvidia-smi not found (PATH, /usr/local/nvidia/bin, /usr/bin)")
        return 1
    failures = []
    native = run([smi] + QUERY)
    if native[0] != 0 or not native[1].strip():
        print(f"FAIL: native nvidia-smi query exited {native[0]}:\n{native[1]}{native[2]}")
        return 1
    remote = run([gvirtus, "run", "--", smi] + QUERY)
    print("native:\n" + native[1] + "through GVirtuS:\n" + remote[1])
    if remote[0] != 0:
        failures.append(f"the query through GVirtuS exited {remote[0]}:\n{remote[2]}")
    if remote[1] != native[1]:
        failures.append("the query's output differs")
    plain = run([gvirtus, "run", "--", smi])
    print("plain nvidia-smi through GVirtuS:\n" + plain[1] + plain[2])
    if plain[0] != 0:
        failures.append(f"plain nvidia-smi through GVirtuS exited {plain[0]}")
    for line in native[1].strip().splitlines():
        name = line.split(",")[0].strip()
        if name not in plain[1]:
            failures.append(f"plain nvidia-smi through GVirtuS does not name {name!r}")
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        print("nvidia-smi: same query output natively and through GVirtuS; plain output names "
              "the GPUs")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
