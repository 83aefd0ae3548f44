#!/usr/bin/env python3
"""Device memory clearing on a GPU (docs/security.md, "Isolation and quotas").

    clear_memory.py --gvirtus G --backend B --client C

C is tests/gpu/clear_memory. Needs a GPU: the native run of `C time` must pass.
1. A backend with {"clear_device_memory": true}: `C check` through it finds no byte of the
   pattern a freed allocation held, for cudaMalloc and cudaMallocAsync.
2. The cost: `C time` through backends with clearing on and off; the figures are printed
   (cudaMalloc of 1, 64, 1024 MiB, median microseconds), not judged.
Exit status 0 if 1 holds, 1 otherwise.
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cuda"))
import compare  # noqa: E402  (clean_env, run)


def through(a, backend, mode):
    return compare.run([a.gvirtus, "run", "--endpoint", backend.endpoint, "--", a.client, mode],
                       compare.clean_env(), 300)


def fields(out, key):
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == key:
            return parts[1:]
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gvirtus", required=True)
    p.add_argument("--backend", required=True)
    p.add_argument("--client", required=True)
    a = p.parse_args()

    code, native, err = compare.run([a.client, "time"], compare.clean_env(), 300)
    if code != 0:
        print(f"FAIL: the native run failed ({code}): no usable GPU?\n{native}{err}")
        return 1
    problems = []
    figures = {"native": native}
    with tempfile.TemporaryDirectory() as work:
        on = compare.configured_backend(a.backend, work, "on", {"clear_device_memory": True})
        try:
            code, out, err = through(a, on, "check")
            print("clearing on, check:", out.strip())
            if code != 0:
                problems.append(f"check through the clearing backend exited {code}:\n{out}{err}")
            else:
                for key in ("nonzero_sync", "nonzero_async"):
                    v = fields(out, key)
                    if v is None or v[0] != "0":
                        problems.append(f"{key}: {v} (want 0: a new allocation held old data)")
            code, out, err = through(a, on, "time")
            figures["on"] = out
            if code != 0:
                problems.append(f"timing with clearing exited {code}:\n{out}{err}")
            if "device memory is cleared" not in on.log_text():
                problems.append("the backend did not say that it clears device memory")
        finally:
            on.stop()
        off = compare.configured_backend(a.backend, work, "off",
                                         {"clear_device_memory": False})
        try:
            code, out, err = through(a, off, "check")
            print("clearing off, check (informative):", out.strip())
            code, out, err = through(a, off, "time")
            figures["off"] = out
            if code != 0:
                problems.append(f"timing without clearing exited {code}:\n{out}{err}")
        finally:
            off.stop()
    print("cudaMalloc median microseconds (MiB: native / through GVirtuS, clearing off / on):")
    for mib in ("1", "64", "1024"):
        row = []
        for k in ("native", "off", "on"):
            v = [f for f in figures.get(k, "").splitlines() if f.split()[:2] == ["alloc_us", mib]]
            row.append(v[0].split()[2] if v else "?")
        print(f"  {mib:>5} MiB: {row[0]} / {row[1]} / {row[2]}")
    for pr in problems:
        print("FAIL:", pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
