#!/usr/bin/env python3
"""Runs a CUDA program natively and through `gvirtus run`, and compares stdout and exit status.

    compare.py --gvirtus BIN/gvirtus --backend BIN/gvirtus-backend --mode tcp|unix|shm|embedded
               [--timeout S] [--stderr-match REGEX] [--native-must-pass]
               [--expect-lib SONAME]... -- PROGRAM [ARGS...]

tcp:      starts gvirtus-backend on a free loopback port, runs `gvirtus run --endpoint tcp://...`.
unix:     the same on a Unix socket in a private directory.
shm:      the same on shared memory (shm:, set up through a Unix socket there).
embedded: runs `gvirtus run -- PROGRAM` with no endpoint configured: gvirtus starts its own.

Also checks that the program really loaded the GVirtuS libcudart.so.13 (through the dynamic
loader's own log, LD_DEBUG=libs), and that the backend stops cleanly on SIGTERM. Exit status 0
when everything matches; otherwise the differences are printed and the status is 1.

--native-must-pass: the native run must exit 0 (a GPU test must not pass because both sides
failed alike). --expect-lib SONAME (repeatable): the program must also have loaded SONAME
(libcublas.so.13, ...) from the GVirtuS library directory, and no other file of that name.
"""
import argparse
import difflib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

CLIENT_VARS = ("GVIRTUS_ENDPOINT", "GVIRTUS_CONFIG", "GVIRTUS_HOME", "LD_PRELOAD")


def clean_env():
    env = dict(os.environ)
    for name in CLIENT_VARS:
        env.pop(name, None)
    return env


def run(cmd, env, timeout):
    """Returns (exit status, stdout, stderr); a signal death is 128+N, a timeout is an error."""
    try:
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        err = (e.stderr or b"").decode(errors="replace")
        raise SystemExit(f"TIMEOUT after {timeout} s: {' '.join(cmd)}\n--- stdout\n{out}\n"
                         f"--- stderr\n{err}")
    code = p.returncode if p.returncode >= 0 else 128 - p.returncode
    return code, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


class Backend:
    """A gvirtus-backend for one test, started with --ready-fd and stopped with SIGTERM."""

    def __init__(self, path, endpoint, log_path, extra_args=(), extra_env=None):
        self.endpoint = endpoint
        self.log_path = log_path
        r, w = os.pipe()
        self.log = open(log_path, "wb")
        env = clean_env()
        for name, value in (extra_env or {}).items():  # None: removed
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        self.proc = subprocess.Popen(
            [path, "--listen", endpoint, "--ready-fd", str(w), "--log-level", "info",
             *extra_args],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            pass_fds=(w,), env=env)
        os.close(w)
        said = b""
        deadline = time.monotonic() + 30
        try:
            while b"ready\n" not in said:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([r], [], [], left)[0]:
                    self.stop()
                    raise RuntimeError(f"backend on {endpoint} did not report ready in 30 s")
                chunk = os.read(r, 64)
                if not chunk:
                    status = self.proc.wait(timeout=5)
                    raise RuntimeError(f"backend on {endpoint} exited with {status} before ready:\n"
                                       + self.log_text())
                said += chunk
        finally:
            os.close(r)

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        """SIGTERM; returns None if it exited cleanly, else what went wrong."""
        if self.proc.poll() is not None:
            return f"backend had already exited with {self.proc.returncode}"
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "backend did not exit within 15 s of SIGTERM"
        finally:
            self.log.close()
        if status not in (0, -signal.SIGTERM):
            return f"backend exited with {status} after SIGTERM"
        return None


def configured_backend(path, work, name, config, extra_args=()):
    """A Backend listening on unix:WORK/NAME.sock with CONFIG (a dict) as its config file
    WORK/NAME.json, logging to WORK/NAME.log."""
    cfg = os.path.join(work, name + ".json")
    with open(cfg, "w") as f:
        json.dump(config, f)
    return Backend(path, "unix:" + os.path.join(work, name + ".sock"),
                   os.path.join(work, name + ".log"), extra_args=("--config", cfg, *extra_args))


def descendants(pid):
    """Pids of every live (not zombie) process below pid: a backend's workers and relays."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_backend(path, mode, workdir):
    log_path = os.path.join(workdir, "backend.log")
    if mode in ("unix", "shm"):
        return Backend(path, mode + ":" + os.path.join(workdir, "backend.sock"), log_path)
    # Another process may take the port between free_port() and the backend's bind: retry.
    last = None
    for _ in range(5):
        try:
            return Backend(path, f"tcp://127.0.0.1:{free_port()}", log_path)
        except RuntimeError as e:
            last = e
    raise last


def ld_logs(ld_dir):
    """Each process's LD_DEBUG=libs log under ld_dir: a list of the files it initialised."""
    logs = []
    for name in sorted(os.listdir(ld_dir)):
        inits = []
        with open(os.path.join(ld_dir, name), errors="replace") as f:
            for line in f:
                if "calling init:" in line:
                    inits.append(line.split("calling init:", 1)[1].strip())
        logs.append(inits)
    return logs


def frontend_loaded(logs, frontend_dir):
    """True if some process of those logs initialised our libcudart.so.13."""
    wanted = os.path.join(frontend_dir, "libcudart.so.13")
    return any(path.endswith(wanted) for inits in logs for path in inits)


def library_problems(logs, frontend_dir, soname):
    """What is wrong with SONAME in the processes that initialised our libcudart.so.13 (the
    program's: the private backend of embedded mode logs too, and loads NVIDIA's libraries)."""
    ours = os.path.join(frontend_dir, "libcudart.so.13")
    wanted = os.path.join(frontend_dir, soname)
    programs = [inits for inits in logs if any(path.endswith(ours) for path in inits)]
    problems = []
    if not any(path.endswith(wanted) for inits in programs for path in inits):
        problems.append(f"the program did not load {wanted}")
    others = sorted({path for inits in programs for path in inits
                     if os.path.basename(path) == soname and not path.endswith(wanted)})
    if others:
        problems.append(f"the program loaded {soname} from elsewhere too: {others}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gvirtus", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--mode", choices=("tcp", "unix", "shm", "embedded"), required=True)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--stderr-match", metavar="REGEX",
                    help="the native stderr lines matching REGEX must appear, in order, in the "
                         "stderr of the run through GVirtuS too (which may have more lines)")
    ap.add_argument("--native-must-pass", action="store_true",
                    help="fail if the native run exits non-zero (a test that needs a GPU must not "
                         "pass because both runs failed alike)")
    ap.add_argument("--expect-lib", metavar="SONAME", action="append", default=[],
                    help="the program run through GVirtuS must load SONAME from the GVirtuS "
                         "library directory, not NVIDIA's (repeatable)")
    ap.add_argument("program", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    program = a.program[1:] if a.program[:1] == ["--"] else a.program
    if not program:
        ap.error("no program given")
    gvirtus = os.path.abspath(a.gvirtus)
    frontend_dir = os.path.realpath(os.path.join(os.path.dirname(gvirtus), "..", "lib", "gvirtus"))

    native = run(program, clean_env(), a.timeout)

    problems = []
    with tempfile.TemporaryDirectory(prefix="gvirtus-compare-") as work:
        ld_dir = os.path.join(work, "ld")
        tmp_dir = os.path.join(work, "tmp")
        os.mkdir(ld_dir)
        os.mkdir(tmp_dir)
        env = clean_env()
        # TMPDIR: the private backend's directory must be gone afterwards.
        env.update(LD_DEBUG="libs", LD_DEBUG_OUTPUT=os.path.join(ld_dir, "ld"), TMPDIR=tmp_dir)
        backend = None
        cmd = [gvirtus, "run"]
        if a.mode != "embedded":
            backend = start_backend(a.backend, a.mode, work)
            cmd += ["--endpoint", backend.endpoint]
        try:
            remote = run(cmd + ["--"] + program, env, a.timeout)
        finally:
            if backend:
                trouble = backend.stop()
                if trouble:
                    problems.append(trouble)
        logs = ld_logs(ld_dir)
        if not frontend_loaded(logs, frontend_dir):
            problems.append(f"the program did not load {frontend_dir}/libcudart.so.13")
        for soname in a.expect_lib:
            problems += library_problems(logs, frontend_dir, soname)
        left = os.listdir(tmp_dir)
        if left:
            problems.append(f"left behind in TMPDIR: {left}")
        backend_log = backend.log_text() if backend else ""

    if a.native_must_pass and native[0] != 0:
        problems.insert(0, f"the native run exited with {native[0]}: it must pass "
                        "(--native-must-pass; is there a GPU, and does the program work?)")
    if native[0] != remote[0]:
        problems.append(f"exit status: native {native[0]}, through GVirtuS {remote[0]}")
    if native[1] != remote[1]:
        diff = difflib.unified_diff(native[1].splitlines(True), remote[1].splitlines(True),
                                    "native", "gvirtus")
        problems.append("stdout differs:\n" + "".join(diff))

    if a.stderr_match:
        pattern = re.compile(a.stderr_match)
        want = [l for l in native[2].splitlines() if pattern.search(l)]
        have = [l for l in remote[2].splitlines() if pattern.search(l)]
        if not want:
            problems.append(f"native stderr has no line matching {a.stderr_match!r}")
        elif want != have:
            problems.append(f"stderr lines matching {a.stderr_match!r} differ: native {want}, "
                            f"through GVirtuS {have}")

    name = os.path.basename(program[0])
    if not problems:
        print(f"{name} over {a.mode}: same output ({len(native[1].splitlines())} lines) "
              f"and exit status {native[0]}")
        return 0
    print(f"{name} over {a.mode}: MISMATCH")
    for p in problems:
        print("- " + p)
    print("--- native stdout\n" + native[1] + "--- native stderr\n" + native[2])
    print("--- gvirtus stdout\n" + remote[1] + "--- gvirtus stderr\n" + remote[2])
    if backend_log:
        print("--- backend log\n" + backend_log)
    return 1


if __name__ == "__main__":
    sys.exit(main())
