#!/usr/bin/env python3
"""A client killed (SIGKILL) while one of its host callbacks runs, with its main thread waiting
for that stream and a second callback queued, leaves no worker process behind: the worker
releases the blocked trampolines when the client's connections close. The backend goes on
serving new clients. Without a GPU there is nothing to check (the client says "nogpu").

    callback_fault.py --gvirtus G --backend B --client C
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cuda"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import faults  # noqa: E402  (descendants, wait_for, read_line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gvirtus", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--client", required=True)
    a = ap.parse_args()
    problems = []
    with tempfile.TemporaryDirectory(prefix="gvirtus-cbfault-") as work:
        backend = compare.Backend(a.backend, "unix:" + os.path.join(work, "b.sock"),
                                  os.path.join(work, "backend.log"))
        proc = subprocess.Popen([a.gvirtus, "run", "--endpoint", backend.endpoint, "--",
                                 a.client], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=compare.clean_env(), start_new_session=True)
        try:
            line = faults.read_line(proc, 60)
            if line == "nogpu":
                print("no GPU here: nothing to check")
                proc.wait()
            else:
                if line != "ready":
                    problems.append(f"the callback did not start: {line!r}")
                if not faults.descendants(backend.proc.pid):
                    problems.append("no worker process served the client")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                if not faults.wait_for(lambda: not faults.descendants(backend.proc.pid), 20):
                    problems.append("worker processes left 20 s after the client died: "
                                    f"{faults.descendants(backend.proc.pid)}")
                if backend.proc.poll() is not None:
                    problems.append(f"the backend daemon died with {backend.proc.returncode}")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            trouble = backend.stop()
            if trouble:
                problems.append(trouble)
        if problems:
            print("callback-killed: FAILED")
            for p in problems:
                print("- " + p)
            print("--- backend log\n" + backend.log_text())
            return 1
    print("callback-killed: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
