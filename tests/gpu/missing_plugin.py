#!/usr/bin/env python3
"""A backend that cannot load a library plugin answers the library's own status, and says why.

    missing_plugin.py GVIRTUS PROGRAM

Runs PROGRAM (tests/cuda/libs/library_plugins.cu) through `gvirtus run` with its private
backend, (1) whose GVIRTUS_PLUGIN_DIR names an empty directory, (2) whose GVIRTUS_LIBRARY_PATH
names our own frontend directory (our libcublas.so.13 is not NVIDIA's): every cuBLAS call must
answer CUBLAS_STATUS_NOT_INITIALIZED (1), the program must run to its end, and its stderr must
say why exactly once.
"""
import os
import subprocess
import sys
import tempfile


def run(gvirtus, program, **extra):
    env = dict(os.environ)
    for v in ("GVIRTUS_ENDPOINT", "GVIRTUS_CONFIG", "GVIRTUS_HOME", "LD_PRELOAD"):
        env.pop(v, None)
    env.update(extra)
    p = subprocess.run([gvirtus, "run", "--", program], env=env, capture_output=True,
                       text=True, timeout=90, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def check(code, out, err, names):
    """Problems with a run whose cuBLAS plugin could not load; `names` must be in the message."""
    problems = []
    if code != 0:
        problems.append(f"exit status {code}, want 0")
    for line in ("cublasGetProperty(MAJOR_VERSION): 1 -1", "cublasCreate: 1"):
        if line not in out.splitlines():
            problems.append(f"stdout lacks {line!r}")
    said = [l for l in err.splitlines() if "cannot serve this library" in l]
    if len(said) != 1:
        problems.append(f"stderr says why {len(said)} times, want once:\n{out}\n{err}")
    elif names not in said[0]:
        problems.append(f"the message does not say {names!r}: {said[0]!r}")
    return problems


def main():
    gvirtus, program = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as empty:
        problems = check(*run(gvirtus, program, GVIRTUS_PLUGIN_DIR=empty),
                         "libgvirtus-backend-cublas.so")
    # Our own libcublas.so.13 where the backend looks for NVIDIA's: refused, not used.
    ours = os.path.join(os.path.dirname(os.path.realpath(gvirtus)), "..", "lib", "gvirtus")
    problems += check(*run(gvirtus, program, GVIRTUS_LIBRARY_PATH=ours),
                      "is GVirtuS's frontend library")
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
