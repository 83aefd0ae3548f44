#!/usr/bin/env python3
"""Checks that our drop-in library exports exactly what the real one does, each symbol with the
same version node (an application linked against the real library asks for it at load time).

  export_parity.py REAL_LIBRARY OUR_LIBRARY [--objdump objdump]

Exit status 0 when the two lists match; otherwise prints what is missing or extra.
"""
import argparse
import subprocess
import sys


def dynamic_exports(path: str, objdump: str = "objdump"):
    """{name: version} of the symbols a shared library defines in its dynamic table. The entry
    that defines a version node itself (an *ABS* symbol named like the node) is left out."""
    out = subprocess.run([objdump, "-T", path], check=True, capture_output=True,
                         text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        # addr flags... section size [version] name; the section is the first field with a '*'
        # or a leading '.'
        if len(parts) < 4 or not all(c in "0123456789abcdef" for c in parts[0]):
            continue
        sec_i = next((i for i, p in enumerate(parts) if p.startswith(".") or p.startswith("*")),
                     None)
        if sec_i is None or parts[sec_i] == "*UND*":
            continue
        rest = parts[sec_i + 2:]  # after the size
        if len(rest) == 2:
            version, name = rest
        elif len(rest) == 1:
            version, name = "", rest[0]
        else:
            continue
        version = version.strip("()")
        # "Base" is the file's own base definition, not a version node: an unversioned
        # library's symbols (the driver's) and those of one linked with an anonymous version
        # script are bound the same way.
        if version == "Base":
            version = ""
        if parts[sec_i] == "*ABS*" and name == version:
            continue
        syms[name] = version
    return syms


def compare(real, ours):
    problems = []
    for name in sorted(set(real) - set(ours)):
        problems.append(f"missing: {name}@{real[name]}")
    for name in sorted(set(ours) - set(real)):
        problems.append(f"extra:   {name}@{ours[name]}")
    for name in sorted(set(real) & set(ours)):
        if real[name] != ours[name]:
            problems.append(f"version: {name} is {ours[name] or '(none)'}, real {real[name]}")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("real")
    ap.add_argument("ours")
    ap.add_argument("--objdump", default="objdump")
    a = ap.parse_args(argv)
    real = dynamic_exports(a.real, a.objdump)
    ours = dynamic_exports(a.ours, a.objdump)
    problems = compare(real, ours)
    for p in problems:
        print(p)
    print(f"{len(real)} symbols in {a.real}, {len(ours)} in {a.ours}, {len(problems)} differences")
    return 1 if problems or not real else 0


if __name__ == "__main__":
    sys.exit(main())
