#!/usr/bin/env python3
"""Our libnvidia-ml.so.1 loaded alone, without `gvirtus run` and without libcudart.so.13 (as
nvidia-smi loads it): the program finds it through LD_LIBRARY_PATH, it connects to the backend
of GVIRTUS_ENDPOINT through the client core next to it, and answers as the stand-in NVML does
natively.

  alone.py BACKEND FRONTEND_DIR FAKE_DIR PROGRAM

The backend gets FAKE_DIR (tests/nvml/fake_nvml.c) as GVIRTUS_LIBRARY_PATH; the native run gets it
as LD_LIBRARY_PATH. Fails if the outputs differ, if the program loaded any libcudart.so.13, or if
its libnvidia-ml.so.1 was not ours.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cuda"))
import compare  # noqa: E402  (Backend, clean_env, run, ld_logs)


def main():
    backend_bin, frontend_dir, fake_dir, program = sys.argv[1:5]
    frontend_dir = os.path.realpath(frontend_dir)
    env = compare.clean_env()
    env["LD_LIBRARY_PATH"] = fake_dir
    native = compare.run([program], env, 60)
    problems = []
    with tempfile.TemporaryDirectory(prefix="gvirtus-nvml-alone-") as work:
        os.environ["GVIRTUS_LIBRARY_PATH"] = fake_dir  # the backend's clean_env() keeps it
        backend = compare.start_backend(backend_bin, "unix", work)
        ld_dir = os.path.join(work, "ld")
        os.mkdir(ld_dir)
        try:
            env = compare.clean_env()
            env.pop("GVIRTUS_LIBRARY_PATH", None)
            env.update(LD_LIBRARY_PATH=frontend_dir, GVIRTUS_ENDPOINT=backend.endpoint,
                       LD_DEBUG="libs", LD_DEBUG_OUTPUT=os.path.join(ld_dir, "ld"))
            remote = compare.run([program], env, 60)
        finally:
            trouble = backend.stop()
            if trouble:
                problems.append(trouble)
        inits = [p for log in compare.ld_logs(ld_dir) for p in log]
        backend_log = backend.log_text()
    if native[0] != 0:
        problems.append(f"the native run (stand-in NVML) exited {native[0]}")
    if remote[0] != native[0] or remote[1] != native[1]:
        problems.append("output or exit status differs from the native run")
    cudart = [p for p in inits if os.path.basename(p).startswith("libcudart.so")]
    if cudart:
        problems.append(f"libcudart was loaded: {cudart}")
    nvml = [p for p in inits if os.path.basename(p) == "libnvidia-ml.so.1"]
    if nvml != [os.path.join(frontend_dir, "libnvidia-ml.so.1")]:
        problems.append(f"libnvidia-ml.so.1 loaded from {nvml}, not only from {frontend_dir}")
    if not problems:
        print(f"alone: same output ({len(native[1].splitlines())} lines), no libcudart, our NVML")
        return 0
    for p in problems:
        print("FAIL: " + p)
    print("--- native\n" + native[1] + native[2])
    print("--- through GVirtuS\n" + remote[1] + remote[2])
    print("--- backend log\n" + backend_log)
    return 1


if __name__ == "__main__":
    sys.exit(main())
