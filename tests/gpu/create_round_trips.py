#!/usr/bin/env python3
"""Creates with client-chosen ids do not wait for the worker (docs/protocol.md, "Client-chosen
handle ids"), counted with GVIRTUS_CALL_STATS=1.

    create_round_trips.py GVIRTUS PROGRAM

Runs PROGRAM (tests/cuda/libs/create_ids.cu) through `gvirtus run` with its private backend: it
must pass, and of each descriptor create it repeats with the same arguments only the first may
have waited for a reply. No GPU needed (descriptors are host objects of the worker's libraries).
"""
import os
import re
import subprocess
import sys

ROUNDS = 20  # create_ids.cu: kRounds
# call id (api/*.api) -> (name, requests sent, requests that may wait)
EXPECTED = {
    8100: ("cudnnCreateTensorDescriptor", ROUNDS + 8, 1),
    8800: ("cudnnBackendCreateDescriptor", ROUNDS, 1),
    7100: ("cublasLtMatrixLayoutCreate", ROUNDS, 1),
    7200: ("cublasLtMatmulDescCreate", ROUNDS, 1),
    7400: ("cublasLtMatmulPreferenceCreate", ROUNDS, 1),
}


def main():
    gvirtus, program = sys.argv[1], sys.argv[2]
    env = dict(os.environ)
    for v in ("GVIRTUS_ENDPOINT", "GVIRTUS_CONFIG", "GVIRTUS_HOME", "LD_PRELOAD"):
        env.pop(v, None)
    env["GVIRTUS_CALL_STATS"] = "1"
    p = subprocess.run([gvirtus, "run", "--", program], env=env, capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    problems = []
    if p.returncode != 0:
        problems.append(f"exit status {p.returncode}:\n{p.stdout}\n{p.stderr}")
    rows = {}
    for line in p.stderr.splitlines():
        m = re.match(r"gvirtus:\s+(\d+)\s+(\d+)\s+(\d+)$", line)
        if m:
            rows[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    total = re.search(r"call stats \(pid \d+\): (\d+) requests, (\d+) waited", p.stderr)
    if total:
        print(f"{total.group(1)} requests, {total.group(2)} waited for a reply")
    for call_id, (name, sent, waits) in EXPECTED.items():
        got = rows.get(call_id)
        print(f"{name} ({call_id}): sent, waited = {got}")
        if got is None:
            problems.append(f"{name} ({call_id}) was never sent:\n{p.stderr}")
        elif got[0] != sent or got[1] > waits:
            problems.append(f"{name} ({call_id}): {got[0]} sent and {got[1]} waited, want "
                            f"{sent} sent and at most {waits} waited")
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
