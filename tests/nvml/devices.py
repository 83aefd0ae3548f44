#!/usr/bin/env python3
"""NVML shows the GPUs the backend exposes, numbered as CUDA numbers them (src/backend/nvml/
visible.cc): tests/nvml/devices.c natively (every GPU) and through a backend that exposes some.

  devices.py BACKEND FRONTEND_DIR PROGRAM --fake FAKE_DIR   (CPU: the stand-in NVML's 2 GPUs)
  devices.py BACKEND FRONTEND_DIR PROGRAM                   (gpu: the driver's NVML)

With the stand-in, the backend's workers get CUDA_VISIBLE_DEVICES as a list of ordinals, UUIDs,
an ambiguous UUID prefix, a list cut short by a GPU that does not exist, an empty list and a MIG entry (the
variable itself: --devices would be checked against the host's real GPUs). On a GPU machine the
backend gets --devices 0 (the same GPU as native index 0, and the others not found), and
--devices N, N the number of GPUs, must be refused at startup (or, on a host without the
driver's /proc/driver/nvidia/gpus, show no GPU). Fails if the native run fails or
shows no GPU.
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cuda"))
import compare  # noqa: E402

NO_GPU = "GPU-ffffffff-0000-0000-0000-not-a-gpu"
GPU_DIR = "/proc/driver/nvidia/gpus"  # src/backend/devices.h


def parse(out):
    """(devices as (uuid, serial, pci) in index order, {status name: text})."""
    devices, texts = [], {}
    for line in out.splitlines():
        w = line.split()
        if w[:1] == ["device"]:
            devices.append((w[3], w[5], w[7]))
        elif w[:1] == ["count"]:
            texts["ok"] = line[line.index("(") + 1:-1]
        elif w[:1] == ["index"]:
            texts["invalid"] = line.split(": ", 1)[1]
        elif w[:1] == [NO_GPU]:
            texts["not_found"] = line.split(" ", 1)[1]
    return devices, texts


def expected(shown, every, texts):
    """The program's output when it sees `shown` (a list of devices) of `every`."""
    lines = [f"count {len(shown)} ({texts['ok']})"]
    lines += [f"device {i} uuid {u} serial {s} pci {p}" for i, (u, s, p) in enumerate(shown)]
    lines.append(f"index {len(shown)}: {texts['invalid']}")
    for dev in every:
        for key in (k for k in dev if k != "n/a"):
            lines.append(f"{key} found {shown.index(dev)} ({texts['ok']})" if dev in shown
                         else f"{key} {texts['not_found']}")
    lines.append(f"{NO_GPU} {texts['not_found']}")
    lines.append("failures 0")
    return "\n".join(lines) + "\n"


def main():
    args = sys.argv[1:]
    fake = None
    if "--fake" in args:
        i = args.index("--fake")
        fake = args[i + 1]
        del args[i:i + 2]
    backend_bin, frontend_dir, program = args[:3]
    frontend_dir = os.path.realpath(frontend_dir)
    env = compare.clean_env()
    if fake:
        env["LD_LIBRARY_PATH"] = fake
    code, out, err = compare.run([program, NO_GPU], env, 60)
    every, texts = parse(out)
    if code != 0 or not every or len(texts) != 3:
        print(f"FAIL: the native run exited {code} or shows no GPU\n{out}{err}")
        return 1
    keys = [k for dev in every for k in dev if k != "n/a"] + [NO_GPU]
    if fake:
        u0, u1 = every[0][0], every[1][0]
        cases = [({"CUDA_VISIBLE_DEVICES": "1"}, [every[1]]),
                 ({"CUDA_VISIBLE_DEVICES": "1,0"}, [every[1], every[0]]),
                 ({"CUDA_VISIBLE_DEVICES": u1 + "," + u0}, [every[1], every[0]]),
                 # The stand-in's UUIDs differ in their last character only: a shorter prefix
                 # names both, and so none.
                 ({"CUDA_VISIBLE_DEVICES": u1[:len(u1) - 1]}, []),
                 ({"CUDA_VISIBLE_DEVICES": u0[:len(u0) - 1] + ",1"}, []),
                 ({"CUDA_VISIBLE_DEVICES": "0,7,1"}, [every[0]]),
                 ({"CUDA_VISIBLE_DEVICES": "0,0"}, [every[0]]),
                 ({"CUDA_VISIBLE_DEVICES": ""}, []),
                 ({"CUDA_VISIBLE_DEVICES": "MIG-0"}, []),
                 ({"CUDA_VISIBLE_DEVICES": None}, every)]
        os.environ["GVIRTUS_LIBRARY_PATH"] = fake  # the worker loads the stand-in too
    else:
        cases = [(["--devices", "0"], [every[0]])]
        if not os.path.isdir(GPU_DIR):
            # Where the driver's list of GPUs cannot be read, the backend cannot check --devices
            # at startup: a GPU the host lacks ends the list, as in CUDA, and NVML shows none.
            cases.append((["--devices", str(len(every))], []))
    problems = []
    for setting, shown in cases:
        with tempfile.TemporaryDirectory(prefix="gvirtus-nvml-devices-") as work:
            extra_args = setting if isinstance(setting, list) else []
            extra_env = setting if isinstance(setting, dict) else {}
            backend = compare.Backend(backend_bin, "unix:" + os.path.join(work, "b.sock"),
                                      os.path.join(work, "backend.log"), extra_args, extra_env)
            try:
                cenv = compare.clean_env()
                cenv.pop("GVIRTUS_LIBRARY_PATH", None)
                cenv.update(LD_LIBRARY_PATH=frontend_dir, GVIRTUS_ENDPOINT=backend.endpoint)
                code, out, err = compare.run([program] + keys, cenv, 60)
            finally:
                trouble = backend.stop()
            want = expected(shown, every, texts)
            if code != 0 or out != want or trouble:
                problems.append(f"{setting}: exit {code}, {trouble or 'backend ok'}\n"
                                f"--- expected\n{want}--- got\n{out}{err}"
                                f"--- backend log\n{backend.log_text()}")
            else:
                print(f"{setting}: {len(shown)} of {len(every)} GPU(s), as expected")
    if not fake and os.path.isdir(GPU_DIR):
        # A GPU the host does not have: refused at startup, naming it.
        with tempfile.TemporaryDirectory(prefix="gvirtus-nvml-devices-") as work:
            try:
                b = compare.Backend(backend_bin, "unix:" + os.path.join(work, "b.sock"),
                                    os.path.join(work, "backend.log"),
                                    ["--devices", str(len(every))])
                b.stop()
                problems.append(f"--devices {len(every)}: the backend started")
            except RuntimeError as e:
                if f"there is no GPU {len(every)}" not in str(e):
                    problems.append(f"--devices {len(every)}: not refused as expected: {e}")
                else:
                    print(f"--devices {len(every)}: refused at startup")
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
