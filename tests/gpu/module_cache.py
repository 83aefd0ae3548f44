#!/usr/bin/env python3
"""The module cache on a GPU (docs/backend.md, "Module cache").

    module_cache.py --gvirtus G --backend B --client C

C is tests/gpu/module_cache (sm_80 and sm_90 cubins, compute_75 PTX). Needs a GPU: the native
run of C must pass. Through a backend with a module cache:
1. the first run gives the native output and leaves one module in one identity's directory,
   holding only the entries the GPU can load (on a Hopper: the sm_90 cubin and the PTX);
2. a second run gives the native output from the cache: no new file, the file is touched;
3. a damaged cache file is a miss: the run still gives the native output and the file is
   written again with the right contents.
"""
import argparse
import hashlib
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cuda"))
import compare  # noqa: E402


def entries(data):
    """(kind, arch) of each entry of a fatbinary."""
    magic, _, header, size = struct.unpack_from("<IHHQ", data, 0)
    assert magic == 0xBA55ED50, hex(magic)
    assert header + size == len(data), (header, size, len(data))
    out, p = [], header
    while p < len(data):
        kind, _, eh, payload = struct.unpack_from("<HHIQ", data, p)
        arch, = struct.unpack_from("<I", data, p + 28)
        out.append((kind, arch))
        p += eh + payload
    return out


def modules(cache):
    found = []
    for scope in sorted(os.listdir(cache)):
        for name in sorted(os.listdir(os.path.join(cache, scope))):
            found.append(os.path.join(cache, scope, name))
    return found


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gvirtus", required=True)
    p.add_argument("--backend", required=True)
    p.add_argument("--client", required=True)
    a = p.parse_args()
    code, native, err = compare.run([a.client], compare.clean_env(), 120)
    if code != 0 or not native.startswith("sum "):
        print(f"native run failed ({code}):\n{native}{err}")
        return 1
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as work:
        cache = os.path.join(work, "cache")
        b = compare.configured_backend(a.backend, work, "cached", {"module_cache": cache})
        try:
            def through():
                return compare.run([a.gvirtus, "run", "--endpoint", b.endpoint, "--", a.client],
                                   compare.clean_env(), 120)
            code, out, err = through()
            check(code == 0 and out == native,
                  f"first run gives the native output ({out.strip()!r}, {err.strip()[-500:]!r})")
            files = modules(cache)
            check(len(files) == 1 and os.path.basename(os.path.dirname(files[0])).startswith("id-"),
                  f"one module in one identity's directory: {files}")
            if len(files) != 1:
                return 1
            f = files[0]
            data = open(f, "rb").read()
            check(os.path.basename(f) == hashlib.sha256(data).hexdigest(), "named by its SHA-256")
            kept = entries(data)
            print("entries kept (kind, arch):", kept)
            cubins = [arch for kind, arch in kept if kind == 2]
            check(80 not in cubins and len(cubins) >= 1,
                  "the sm_80 cubin did not travel, a cubin for the GPU did")
            os.utime(f, (1000, 1000))
            code, out, _ = through()
            check(code == 0 and out == native, "second run gives the native output")
            check(modules(cache) == [f], "no new module")
            check(os.stat(f).st_mtime > 1000, "the cached module was used (touched)")
            damaged = bytearray(data)
            damaged[len(damaged) // 2] ^= 0xFF
            open(f, "wb").write(bytes(damaged))
            code, out, _ = through()
            check(code == 0 and out == native,
                  "a damaged cache file: the run still gives the native output")
            check(open(f, "rb").read() == data, "and the file is written again, whole")
        finally:
            b.stop()
            if failures:
                print(b.log_text()[-3000:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
