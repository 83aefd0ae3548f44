#!/usr/bin/env python3
"""A backend that cannot load a library plugin answers the library's own status, and says why.

    missing_plugin.py GVIRTUS PROGRAM

Runs PROGRAM (tests/cuda/libs/library_plugins.cu) through `gvirtus run` with its private
backend, whose GVIRTUS_PLUGIN_DIR names an empty directory: every cuBLAS call must answer
CUBLAS_STATUS_NOT_INITIALIZED (1), the program must run to its end, and its stderr must name the
missing plugin exactly once.
"""
import os
import subprocess
import sys
import tempfile


def main():
    gvirtus, program = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as empty:
        env = dict(os.environ)
        for v in ("GVIRTUS_ENDPOINT", "GVIRTUS_CONFIG", "GVIRTUS_HOME", "LD_PRELOAD"):
            env.pop(v, None)
        env["GVIRTUS_PLUGIN_DIR"] = empty
        p = subprocess.run([gvirtus, "run", "--", program], env=env, capture_output=True,
                           text=True, timeout=90, stdin=subprocess.DEVNULL)
    out, err = p.stdout, p.stderr
    problems = []
    if p.returncode != 0:
        problems.append(f"exit status {p.returncode}, want 0")
    for line in ("cublasGetProperty(MAJOR_VERSION): 1 -1", "cublasCreate: 1"):
        if line not in out.splitlines():
            problems.append(f"stdout lacks {line!r}")
    said = [l for l in err.splitlines() if "cannot serve this library" in l]
    if len(said) != 1:
        problems.append(f"stderr names the missing plugin {len(said)} times, want once")
    elif "libgvirtus-backend-cublas.so" not in said[0]:
        problems.append(f"the message does not name the plugin: {said[0]!r}")
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        print("--- stdout\n" + out + "--- stderr\n" + err)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
