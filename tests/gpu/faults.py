#!/usr/bin/env python3
"""Fault cases through `gvirtus run`, with or without a GPU.

    faults.py client-killed  --gvirtus G --backend B --client C
        A client killed (SIGKILL) in the middle of its copies leaves no worker process behind,
        and, with a GPU, no device memory; the backend goes on serving new clients.
    faults.py backend-killed --gvirtus G --backend B --client C
        A backend killed (SIGKILL, daemon and workers) under a client that is making calls: the
        client's next calls all return cudaErrorDevicesUnavailable, it is told on stderr, and it
        does not hang.

C is tests/gpu/fault_client. Exit status 0 if the case behaves, 1 otherwise.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cuda"))
import compare  # noqa: E402  (Backend, clean_env, run)
from compare import descendants  # noqa: E402  (also callback_fault.py's)

LOST = "cudaErrorDevicesUnavailable"


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def read_line(proc, seconds):
    """The client's next stdout line, or None after `seconds`."""
    import select
    if select.select([proc.stdout], [], [], seconds)[0]:
        return proc.stdout.readline().decode(errors="replace").strip()
    return None


def free_mib(client):
    """Free device memory in MiB from a native run of the client, or None without a GPU."""
    code, out, _ = compare.run([client, "free"], compare.clean_env(), 60)
    out = out.strip()
    return int(out.split()[1]) if code == 0 and out.startswith("free ") else None


def client_killed(a, work):
    problems = []
    before = free_mib(a.client)
    backend = compare.Backend(a.backend, "unix:" + os.path.join(work, "b.sock"),
                              os.path.join(work, "backend.log"))
    try:
        proc = subprocess.Popen([a.gvirtus, "run", "--endpoint", backend.endpoint, "--",
                                 a.client, "hold", "2048"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=compare.clean_env(), start_new_session=True)
        line = read_line(proc, 60)
        if line != "ready":
            problems.append(f"client did not get ready: {line!r}")
        workers = descendants(backend.proc.pid)
        if not workers:
            problems.append("no worker process served the client")
        during = free_mib(a.client) if before is not None else None
        if during is not None and during > before - 1024:
            # Else the check below could not see a leak.
            problems.append(f"the client's 2048 MiB do not show: {before} MiB free before, "
                            f"{during} while it holds them")
        time.sleep(0.5)  # in the middle of its copies
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if not wait_for(lambda: not descendants(backend.proc.pid), 20):
            problems.append(f"worker processes left 20 s after the client died: "
                            f"{descendants(backend.proc.pid)}")
        if backend.proc.poll() is not None:
            problems.append(f"the backend daemon died with {backend.proc.returncode}")
        else:
            # A new client is served as before.
            code, out, err = compare.run([a.gvirtus, "run", "--endpoint", backend.endpoint, "--",
                                          a.client, "free"], compare.clean_env(), 60)
            native = compare.run([a.client, "free"], compare.clean_env(), 60)[1]
            if code != 0 or out.split()[0] != native.split()[0]:
                problems.append(f"a new client after the kill got {out!r} / {err!r}, "
                                f"natively {native!r}")
        if before is not None:
            after = None

            def released():
                nonlocal after
                after = free_mib(a.client)
                return after is not None and after >= before - 256

            if not wait_for(released, 20):
                problems.append(f"device memory not released: {before} MiB free before, {after} after")
            else:
                print(f"device memory: {before} MiB free before, {during} while the client held "
                      f"2048, {after} after it was killed")
        else:
            print("no GPU here: checked processes only")
    finally:
        trouble = backend.stop()
        if trouble:
            problems.append(trouble)
    return problems, backend


def backend_killed(a, work):
    problems = []
    backend = compare.Backend(a.backend, "unix:" + os.path.join(work, "b.sock"),
                              os.path.join(work, "backend.log"))
    proc = subprocess.Popen([a.gvirtus, "run", "--endpoint", backend.endpoint, "--",
                             a.client, "calls"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=compare.clean_env())
    try:
        line = read_line(proc, 60)
        if line != "ready":
            problems.append(f"client did not get ready: {line!r}")
        time.sleep(0.3)
        for pid in [backend.proc.pid] + descendants(backend.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        backend.proc.wait()
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            problems.append("the client hung for 30 s after the backend died")
        out = out.decode(errors="replace").splitlines()
        err = err.decode(errors="replace")
        expected = [f"error {LOST}"] + [f"then {LOST}"] * 3
        if out != expected or proc.returncode != 3:
            problems.append(f"client printed {out} and exited {proc.returncode}; "
                            f"expected {expected} and 3")
        if not err.strip():
            problems.append("the client was not told on stderr")
        else:
            print("client's stderr: " + err.strip())
    finally:
        if proc.poll() is None:
            proc.kill()
        backend.log.close()
    return problems, backend


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("case", choices=("client-killed", "backend-killed"))
    ap.add_argument("--gvirtus", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--client", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gvirtus-faults-") as work:
        case = client_killed if a.case == "client-killed" else backend_killed
        problems, backend = case(a, work)
        if problems:
            print(f"{a.case}: FAILED")
            for p in problems:
                print("- " + p)
            print("--- backend log\n" + backend.log_text())
            return 1
    print(f"{a.case}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
