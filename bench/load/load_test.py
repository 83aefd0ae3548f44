#!/usr/bin/env python3
"""Load test: many clients at once through one gvirtus-backend, some killed at random.

    load_test.py --build BUILD [--clients 64] [--threads 4] [--duration 300] [--mode gpu|cpu]
                 [--kill-fraction 0.25] [--life 20:60] [--endpoint unix|tcp] [--seed N]
                 [--short] [--out DIR]

Starts gvirtus-backend (BUILD/bin) on a Unix socket or a loopback TCP port, then keeps
--clients copies of BUILD/bin/gvirtus-load-client running through `gvirtus run --endpoint` for
--duration seconds: each client lives a random time from --life (seconds) and is replaced when
it ends. A --kill-fraction of them get SIGKILL (their whole process group) at a random moment of
their life. Afterwards it waits for the backend's workers to go and reports:

  calls served          the calls every client counted (a killed client: its last progress line)
  errors                among clients not killed: their failed calls, and each non-zero exit
                        (target 0)
  workers left          backend processes other than the daemon, 30 s after the last client
                        (target 0)
  GPU memory left       used device memory after, minus before the backend started, and the
                        compute processes of the backend still on the GPU (target 0; gpu mode)
  daemon RSS            the daemon's resident memory before the first client and after the last

Exit status 0 when every target is met, 1 otherwise. --short: 8 clients x 2 threads for 20 s
(the lead's quick look on the GPU machine). --mode cpu: calls that need no GPU (the ctest
load.cpu); gpu is the default where nvidia-smi answers.
"""
import argparse
import os
import random
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "cuda"))
from compare import descendants  # noqa: E402  (processes below the backend)


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def gpu_used_mib():
    """Used device memory summed over the GPUs, or None without nvidia-smi."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return sum(int(x) for x in out.stdout.split())


def gpu_pids():
    """Pids of the compute processes on the GPUs (as the driver sees them), or None."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return {int(x) for x in out.stdout.split() if x.strip().isdigit()}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env():
    env = dict(os.environ)
    for name in ("GVIRTUS_ENDPOINT", "GVIRTUS_CONFIG", "GVIRTUS_HOME", "LD_PRELOAD"):
        env.pop(name, None)
    return env


class Client:
    def __init__(self, n, cmd, env, life, kill_at, log_dir):
        self.n = n
        self.kill_at = kill_at  # monotonic time, or None
        self.killed = False
        self.stuck = False
        self.calls = 0
        self.errors = 0
        self.done = False
        self.buf = b""
        self.err_path = os.path.join(log_dir, f"client-{n}.err")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.err, env=env, start_new_session=True)
        self.started = time.monotonic()
        self.life = life

    def read(self):
        try:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
        except OSError:
            chunk = b""
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            parts = line.decode(errors="replace").split()
            if len(parts) == 3 and parts[0] in ("progress", "done"):
                self.calls, self.errors = int(parts[1]), int(parts[2])
                self.done = self.done or parts[0] == "done"
        return bool(chunk)

    def kill(self):
        self.killed = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="the build tree (bin/gvirtus, bin/gvirtus-backend)")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--duration", type=float, default=300)
    ap.add_argument("--mode", choices=("gpu", "cpu"))
    ap.add_argument("--kill-fraction", type=float, default=0.25)
    ap.add_argument("--life", default="20:60", help="MIN:MAX seconds a client runs")
    ap.add_argument("--endpoint", choices=("unix", "tcp"), default="unix")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--short", action="store_true", help="8 clients x 2 threads for 20 s")
    ap.add_argument("--client", help="the client program (default BUILD/bin/gvirtus-load-client; "
                                     "tests/load/failing_client.sh checks that errors are caught)")
    ap.add_argument("--out", help="folder for the logs (default: a temporary one, removed on success)")
    a = ap.parse_args()
    if a.short:
        a.clients, a.threads, a.duration, a.life = 8, 2, 20, "5:10"
    life_min, life_max = (float(x) for x in a.life.split(":"))
    if a.mode is None:
        a.mode = "gpu" if gpu_used_mib() is not None else "cpu"
    seed = a.seed if a.seed is not None else int(time.time())
    rnd = random.Random(seed)

    build = os.path.abspath(a.build)
    gvirtus = os.path.join(build, "bin", "gvirtus")
    backend_bin = os.path.join(build, "bin", "gvirtus-backend")
    client_bin = os.path.abspath(a.client) if a.client else os.path.join(build, "bin",
                                                                         "gvirtus-load-client")
    for p in (gvirtus, backend_bin, client_bin):
        if not os.access(p, os.X_OK):
            sys.exit(f"load: {p} is missing (build the targets gvirtus, gvirtus-backend and "
                     f"gvirtus-load-client)")

    work = a.out or tempfile.mkdtemp(prefix="gvirtus-load-")
    os.makedirs(work, exist_ok=True)
    print(f"load: {a.clients} clients x {a.threads} threads for {a.duration:g} s, mode {a.mode}, "
          f"lives {a.life} s, {a.kill_fraction:.0%} killed, {a.endpoint} endpoint, seed {seed}, "
          f"logs in {work}", flush=True)

    gpu_before = gpu_used_mib() if a.mode == "gpu" else None
    if a.endpoint == "unix":
        endpoint = "unix:" + os.path.join(work, "backend.sock")
    else:
        endpoint = f"tcp://127.0.0.1:{free_port()}"
    r, w = os.pipe()
    blog = open(os.path.join(work, "backend.log"), "wb")
    backend = subprocess.Popen([backend_bin, "--listen", endpoint, "--ready-fd", str(w),
                                "--log-level", "info"],
                               stdin=subprocess.DEVNULL, stdout=blog, stderr=subprocess.STDOUT,
                               pass_fds=(w,), env=clean_env())
    os.close(w)
    if not select.select([r], [], [], 30)[0] or b"ready" not in os.read(r, 64):
        backend.kill()
        sys.exit(f"load: the backend did not come up; see {work}/backend.log")
    os.close(r)
    time.sleep(0.2)
    rss_before = rss_kib(backend.pid)

    env = clean_env()
    clients, finished = [], []
    failures = 0
    next_n = 0
    start = time.monotonic()
    end = start + a.duration

    def spawn():
        nonlocal next_n
        now = time.monotonic()
        life = rnd.uniform(life_min, life_max)
        life = max(1.0, min(life, end - now)) if end - now > 1 else 1.0
        kill_at = now + rnd.uniform(0.2, life) if rnd.random() < a.kill_fraction else None
        cmd = [gvirtus, "run", "--endpoint", endpoint, "--", client_bin, a.mode,
               str(a.threads), f"{life:.2f}", str(rnd.randrange(1 << 30))]
        clients.append(Client(next_n, cmd, env, life, kill_at, work))
        next_n += 1

    try:
        for _ in range(a.clients):
            spawn()
        last_report = start
        while clients:
            now = time.monotonic()
            fds = {c.proc.stdout.fileno(): c for c in clients}
            ready = select.select(list(fds), [], [], 0.1)[0]
            for fd in ready:
                fds[fd].read()
            for c in list(clients):
                if (c.kill_at is not None and not c.killed and now >= c.kill_at
                        and c.proc.poll() is None):
                    c.kill()
                if c.proc.poll() is not None:
                    while c.read():
                        pass
                    c.err.close()
                    c.proc.stdout.close()
                    clients.remove(c)
                    finished.append(c)
                    failed = not c.killed and c.proc.returncode != 0
                    failures += failed
                    # A client that fails at once would otherwise be replaced thousands of times.
                    if time.monotonic() < end - 1 and failures <= a.clients:
                        spawn()
                # A client that outlives its life by far is stuck: that is an error, not a kill.
                elif now > c.started + c.life + 120:
                    os.killpg(c.proc.pid, signal.SIGKILL)
                    c.stuck = True
            if now - last_report >= 10:
                last_report = now
                calls = sum(c.calls for c in finished + clients)
                print(f"load: {now - start:5.0f} s: {len(clients)} running, {len(finished)} "
                      f"finished, {calls} calls", flush=True)
    finally:
        for c in clients:
            c.kill()
            c.proc.wait()

    # Workers: every client is gone; each worker must follow within 30 s.
    deadline = time.monotonic() + 30
    left = descendants(backend.pid)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = descendants(backend.pid)
    time.sleep(0.5)
    rss_after = rss_kib(backend.pid)
    gpu_after = gpu_used_mib() if a.mode == "gpu" else None
    on_gpu = gpu_pids() if a.mode == "gpu" else None
    backend_alive = backend.poll() is None

    backend.send_signal(signal.SIGTERM)
    try:
        backend_status = backend.wait(timeout=20)
    except subprocess.TimeoutExpired:
        backend.kill()
        backend_status = "hung on SIGTERM"
    blog.close()

    killed = [c for c in finished if c.killed and not c.stuck]
    survivors = [c for c in finished if not c.killed or c.stuck]
    bad = [c for c in survivors
           if c.proc.returncode != 0 or c.errors or not c.done or c.stuck]
    calls = sum(c.calls for c in finished)
    errors = sum(max(c.errors, 1 if c in bad else 0) for c in survivors)
    elapsed = time.monotonic() - start

    problems = []
    if errors:
        problems.append(f"{errors} errors among {len(survivors)} clients not killed")
    if left:
        problems.append(f"{len(left)} backend processes left 30 s after the last client: {left}")
    if not backend_alive:
        problems.append(f"the backend daemon died during the test ({backend.returncode})")
    if backend_status not in (0, -signal.SIGTERM):
        problems.append(f"the backend ended with {backend_status} on SIGTERM")
    gpu_left = None
    if a.mode == "gpu":
        if gpu_before is None or gpu_after is None:
            problems.append("nvidia-smi did not answer: GPU memory not measured")
        else:
            gpu_left = gpu_after - gpu_before
            # Other processes on a shared GPU move the figure a little; a leaked context is
            # hundreds of MiB.
            if gpu_left > 64:
                problems.append(f"{gpu_left} MiB more device memory used after than before")
        mine = (on_gpu or set()) & set(left)
        if mine:
            problems.append(f"backend processes still on the GPU: {sorted(mine)}")
    if calls == 0:
        problems.append("no call was served")

    print()
    print(f"load summary ({a.mode}, {a.clients} clients x {a.threads} threads, {elapsed:.0f} s, "
          f"seed {seed})")
    print(f"  clients run              {len(finished)} ({len(killed)} killed at random)")
    print(f"  calls served             {calls} ({calls / max(elapsed, 1e-9):.0f}/s)")
    print(f"  errors (not killed)      {errors} in {len(bad)} clients   (target 0)")
    print(f"  workers left             {len(left)}   (target 0)")
    if a.mode == "gpu":
        print(f"  GPU memory left          {gpu_left if gpu_left is not None else '?'} MiB "
              f"(used {gpu_before} MiB before, {gpu_after} after)   (target 0)")
    print(f"  daemon RSS               {rss_before} KiB before, {rss_after} KiB after")
    for c in bad[:10]:
        with open(c.err_path, errors="replace") as f:
            tail = f.read()[-600:]
        print(f"  client {c.n}: exit {c.proc.returncode}, {c.errors} errors, "
              f"{'finished' if c.done else 'no done line'}"
              f"{', stuck' if c.stuck else ''}: {tail.strip()}")
    if problems:
        print("load: FAILED")
        for p in problems:
            print("  - " + p)
        print(f"load: logs in {work}")
        return 1
    print("load: ok")
    if not a.out:
        subprocess.run(["rm", "-rf", work])
    return 0


if __name__ == "__main__":
    sys.exit(main())
