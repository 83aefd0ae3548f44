#!/usr/bin/env python3
"""A PyTorch training step repeats no round trip that the client can answer itself (issue 10).

    pytorch_round_trips.py GVIRTUS BENCH_PY [--python PY]

Runs bench/pytorch_bench.py's GPT and ResNet steps through `gvirtus run` (its private backend)
with GVIRTUS_CALL_STATS=1, once with FEW and once with MANY timed repetitions, and reads how many
requests of each call id waited for a reply. What the client answers or sends without waiting
after the first step must not grow with the number of steps:
  GPT (cuBLASLt):    cublasLtMatmulAlgoGetHeuristic (answered from the client's kept answers),
                     the descriptor, layout and preference creates and SetAttributes;
  ResNet (cuDNN):    cudnnBackendCreateDescriptor, SetAttribute and Finalize (the variant pack
                     of every execution goes without waiting).
Each workload must succeed; the script prints the waits per step of both (the figure the TCP
ratio follows: one wait is one round trip). Needs a GPU and PyTorch: fails, never skips, without.
"""
import argparse
import os
import re
import subprocess
import sys

FEW, MANY = 4, 12
# call id (api/*.api) -> name, per workload
CHECKED = {
    "gpt_train_step_ms": {
        7500: "cublasLtMatmulAlgoGetHeuristic",
        7100: "cublasLtMatrixLayoutCreate",
        7102: "cublasLtMatrixLayoutSetAttribute",
        7200: "cublasLtMatmulDescCreate",
        7202: "cublasLtMatmulDescSetAttribute",
        7400: "cublasLtMatmulPreferenceCreate",
        7402: "cublasLtMatmulPreferenceSetAttribute",
    },
    "resnet_train_step_ms": {
        8800: "cudnnBackendCreateDescriptor",
        8803: "cudnnBackendFinalize",
        8804: "cudnnBackendSetAttribute",
    },
}
ROW = re.compile(r"gvirtus:\s+(\d+)\s+(\d+)\s+(\d+)$")
TOTAL = re.compile(r"call stats \(pid \d+\): (\d+) requests, (\d+) waited")


def run(gvirtus, python, bench, metric, reps):
    """{call id: (sent, waited)} and the total waits of one run; exits on failure."""
    env = dict(os.environ)
    for v in ("GVIRTUS_ENDPOINT", "GVIRTUS_CONFIG", "GVIRTUS_HOME", "LD_PRELOAD"):
        env.pop(v, None)
    env["GVIRTUS_CALL_STATS"] = "1"
    cmd = [gvirtus, "run", "--", python, bench, "--only", metric, "--reps", str(reps),
           "--warmup", "2"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0 or metric not in p.stdout:
        print(f"FAIL: {' '.join(cmd)}: exit status {p.returncode}\n{p.stdout}\n{p.stderr}")
        sys.exit(1)
    rows = {}
    total = None
    for line in p.stderr.splitlines():
        m = ROW.search(line)
        if m:
            rows[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
        t = TOTAL.search(line)
        if t:
            total = int(t.group(2))
    if total is None:
        print(f"FAIL: no call stats from {' '.join(cmd)}:\n{p.stderr}")
        sys.exit(1)
    print(f"{metric}, {reps} timed steps: {p.stdout.strip()}; {total} waits in all")
    return rows, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gvirtus")
    ap.add_argument("bench")
    ap.add_argument("--python", default="python3")
    a = ap.parse_args()
    problems = []
    for metric, ids in CHECKED.items():
        few, few_total = run(a.gvirtus, a.python, a.bench, metric, FEW)
        many, many_total = run(a.gvirtus, a.python, a.bench, metric, MANY)
        per_step = (many_total - few_total) / (MANY - FEW)
        print(f"{metric}: {per_step:.1f} waits per step after the first ones")
        for call_id, name in ids.items():
            w_few = few.get(call_id, (0, 0))[1]
            w_many = many.get(call_id, (0, 0))[1]
            sent = many.get(call_id, (0, 0))[0]
            print(f"  {name} ({call_id}): sent {sent}, waited {w_few} ({FEW} steps) and "
                  f"{w_many} ({MANY} steps)")
            if sent == 0:
                problems.append(f"{metric}: {name} was never called: the workload changed?")
            elif w_many != w_few:
                problems.append(f"{metric}: {name} waited {w_many - w_few} more times over "
                                f"{MANY - FEW} more steps")
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
