#!/usr/bin/env python3
"""Checks the exports of our libnvidia-ml.so.1 (NVML ships with the driver, not the toolkit, so
the usual export_parity test has no real library to read on a build machine).

  check_exports.py --ours LIB --header nvml.h --list api/nvml.exports [--objdump objdump]
      every function nvml.h declares (old names included, as with NVML_NO_UNVERSIONED_FUNC_DEFS)
      and every name of the committed list is exported, nothing else is, and no export carries
      a version node (NVIDIA's carry none).
  check_exports.py --ours LIB --real-from-ldconfig [--objdump objdump]
      the same comparison as export_parity against the libnvidia-ml.so.1 the dynamic loader
      knows (`ldconfig -p`, the GPU machine's driver); fails when there is none.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "gen"))

import cparse  # noqa: E402
import export_parity  # noqa: E402


def real_from_ldconfig():
    """The 64-bit libnvidia-ml.so.1 of `ldconfig -p` (its first such line), or None."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        name, _, path = line.strip().partition(" => ")
        if name.startswith("libnvidia-ml.so.1 ("):
            found.append((("64" not in name), path.strip()))
    return sorted(found)[0][1] if found else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--header")
    ap.add_argument("--list")
    ap.add_argument("--real-from-ldconfig", action="store_true")
    ap.add_argument("--objdump", default="objdump")
    a = ap.parse_args(argv)
    ours = export_parity.dynamic_exports(a.ours, a.objdump)

    if a.real_from_ldconfig:
        real = real_from_ldconfig()
        if not real:
            print("no libnvidia-ml.so.1 in `ldconfig -p`: is the NVIDIA driver installed?")
            return 1
        if os.path.realpath(real).startswith(os.path.dirname(os.path.realpath(a.ours))):
            print(f"{real} is ours, not the driver's")
            return 1
        problems = export_parity.compare(export_parity.dynamic_exports(real, a.objdump), ours)
        for p in problems:
            print(p)
        print(f"{real} against {a.ours}: {len(problems)} differences")
        return 1 if problems else 0

    if not a.header or not a.list:
        ap.error("--header and --list, or --real-from-ldconfig")
    with open(a.header, errors="replace") as f:
        declared = set(cparse.parse_prototypes(f.read(), ["DECLDIR"], ["DEPRECATED"], "nvml.h",
                                               True))
    with open(a.list) as f:
        listed = {l.split("#", 1)[0].strip() for l in f} - {""}
    problems = []
    problems += [f"declared in nvml.h, not exported: {n}" for n in sorted(declared - set(ours))]
    problems += [f"in {os.path.basename(a.list)}, not exported: {n}"
                 for n in sorted(listed - set(ours))]
    problems += [f"exported, not in {os.path.basename(a.list)}: {n}"
                 for n in sorted(set(ours) - listed)]
    problems += [f"version node on {n}: {v}" for n, v in sorted(ours.items()) if v]
    for p in problems:
        print(p)
    print(f"{len(declared)} functions declared in nvml.h, {len(listed)} listed, {len(ours)} "
          f"exported; {len(problems)} problems")
    return 1 if problems or not declared else 0


if __name__ == "__main__":
    sys.exit(main())
