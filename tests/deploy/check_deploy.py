#!/usr/bin/env python3
"""Checks the files in deploy/ with what this machine has (no Docker, no cluster, no network).

    check_deploy.py systemd    --unit FILE --backend BIN
    check_deploy.py k8s        --manifest FILE --schema FILE --backend BIN --client BIN --gvirtus BIN
    check_deploy.py config     --backend BIN --client BIN --gvirtus BIN [--token-env] FILE
    check_deploy.py dockerfile --dockerfile FILE --repo DIR

systemd:    `systemd-analyze verify` on the unit (ExecStart pointed at BIN: verify wants the
            binary to exist) must print nothing about it, and `systemd-analyze security
            --offline` must rate its exposure at most 2.5 of 10.
k8s:        every document validates against the checked-in schema (tests/deploy/k8s.schema.json:
            the fields deploy/k8s uses, misspelt fields fail); the DaemonSet's selector, the
            Service's selector and port, the volumes, the Secret and ConfigMap names agree; the
            pod runs as a non-root user without privileges; the ConfigMap's backend config passes
            the `config` check below with its token_file inside the token volume.
config:     the backend starts on the file (its listeners moved to free ports and a private
            folder, its token_file or, with --token-env, GVIRTUS_TOKEN_FILE pointed at a fresh
            token), a client with the token is served (cudaDriverGetVersion through `gvirtus
            run`), one without it is refused, and without any token the backend refuses to start
            (every deploy config listens where other hosts can reach it).
dockerfile: hadolint where it is installed; always: the images are NVIDIA's CUDA images of the
            toolkit's major release, every COPY source exists in the repository, the final stage
            runs as a non-root user, the entrypoint is the installed backend and the config it
            names is the one copied in.
Exit status 0 when all is well, 1 with the reasons otherwise, 77 (skipped) where a tool the
check needs is missing.
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def need_modules():
    """jsonschema and yaml: Debian's python3-jsonschema and python3-yaml (scripts/deps.sh) live
    in /usr/bin/python3's path; re-run there if this interpreter lacks them."""
    try:
        import jsonschema  # noqa: F401
        import yaml  # noqa: F401
        return
    except ImportError as e:
        missing = e.name
    system = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(system) and os.access(system, os.X_OK) \
            and not os.environ.get("GVIRTUS_CHECK_DEPLOY_REEXEC"):
        os.environ["GVIRTUS_CHECK_DEPLOY_REEXEC"] = "1"
        os.execv(system, [system] + sys.argv)
    print(f"check_deploy: python module {missing} missing (scripts/deps.sh installs "
          f"python3-jsonschema and python3-yaml)")
    sys.exit(SKIP)


# ---------------------------------------------------------------- systemd

def check_systemd(a):
    tool = shutil.which("systemd-analyze")
    if not tool:
        print("check_deploy: systemd-analyze is not installed (scripts/deps.sh installs systemd)")
        return SKIP
    problems = []
    with tempfile.TemporaryDirectory(prefix="gvirtus-unit-") as work:
        name = os.path.basename(a.unit)
        text = open(a.unit).read()
        m = re.search(r"^ExecStart=(\S+)", text, re.M)
        if not m:
            return report(["no ExecStart= line"])
        if not m.group(1).endswith("/gvirtus-backend"):
            problems.append(f"ExecStart runs {m.group(1)}, not gvirtus-backend")
        # The token credential and the variable that names it must agree.
        cred = re.search(r"^LoadCredential=([^:\s]+):", text, re.M)
        env = re.search(r"^Environment=GVIRTUS_TOKEN_FILE=(\S+)", text, re.M)
        if cred and (not env or env.group(1) not in (f"/run/credentials/{name}/{cred.group(1)}",
                                                      f"%d/{cred.group(1)}")):
            problems.append(f"GVIRTUS_TOKEN_FILE ({env.group(1) if env else 'not set'}) is not "
                            f"the credential {cred.group(1)} of {name}")
        unit = os.path.join(work, name)
        with open(unit, "w") as f:
            f.write(text.replace(m.group(1), os.path.abspath(a.backend), 1))
        v = subprocess.run([tool, "verify", unit], capture_output=True, text=True, timeout=120)
        # Unknown keys and values that do not parse are only warnings to verify: any line about
        # our unit is a failure here.
        said = [line for line in (v.stdout + v.stderr).splitlines() if name in line or unit in line]
        if v.returncode != 0 or said:
            problems.append(f"systemd-analyze verify (exit {v.returncode}):\n" +
                            (v.stdout + v.stderr).strip())
        s = subprocess.run([tool, "security", "--offline=yes", "--threshold=25", unit],
                           capture_output=True, text=True, timeout=120)
        level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", s.stdout + s.stderr)
        if s.returncode != 0:
            problems.append(f"systemd-analyze security rates the unit above 2.5 (exit "
                            f"{s.returncode}): {level.group(0) if level else (s.stdout + s.stderr)[-800:]}")
        elif level:
            print(level.group(0))
    return report(problems)


# ---------------------------------------------------------------- the backend on a config

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env():
    env = dict(os.environ)
    for k in ("GVIRTUS_ENDPOINT", "GVIRTUS_CONFIG", "GVIRTUS_HOME", "LD_PRELOAD",
              "GVIRTUS_TOKEN_FILE", "GVIRTUS_LIBRARY_PATH"):
        env.pop(k, None)
    return env


def start_backend(backend, config, env, log):
    """(process, True) once ready, or (process that exited, False)."""
    r, w = os.pipe()
    p = subprocess.Popen([backend, "--config", config, "--ready-fd", str(w)], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=subprocess.STDOUT, pass_fds=(w,), env=env)
    os.close(w)
    said = b""
    deadline = time.monotonic() + 30
    while b"ready" not in said and time.monotonic() < deadline:
        if not select.select([r], [], [], max(0.0, deadline - time.monotonic()))[0]:
            break
        chunk = os.read(r, 64)
        if not chunk:
            break
        said += chunk
    os.close(r)
    if b"ready" in said:
        return p, True
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return p, False


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def check_config_text(text, where, a, token_env, token_dir=None):
    """The `config` check on a config's text; a list of problems."""
    problems = []
    try:
        cfg = json.loads(text)
    except ValueError as e:
        return [f"{where}: not JSON: {e}"]
    if not isinstance(cfg, dict) or not cfg.get("listen"):
        return [f"{where}: no \"listen\""]
    if token_dir is not None:
        tf = cfg.get("token_file", "")
        if not tf.startswith(token_dir.rstrip("/") + "/"):
            problems.append(f"{where}: token_file {tf!r} is not in the token volume {token_dir}")
    with tempfile.TemporaryDirectory(prefix="gvirtus-config-") as work:
        # 1. As written, with a listener moved to a private place: the file parses and every
        # key is accepted by the backend's own parser.
        token = os.path.join(work, "token")
        fd = os.open(token, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, os.urandom(32).hex().encode() + b"\n")
        os.close(fd)
        listen = cfg["listen"] if isinstance(cfg["listen"], list) else [cfg["listen"]]
        moved, tcp_port = [], None
        for ep in listen:
            m = re.match(r"^(tcp|tls)://(.*):(\d+)$", ep)
            if m:
                port = free_port()
                tcp_port = tcp_port or (m.group(1), port)
                moved.append(f"{m.group(1)}://{m.group(2)}:{port}")
            elif ep.startswith("unix:"):
                moved.append("unix:" + os.path.join(work, os.path.basename(ep.split(":", 1)[1])))
            else:
                problems.append(f"{where}: listener {ep!r} of an unknown kind")
        if not tcp_port or tcp_port[0] != "tcp":
            problems.append(f"{where}: no tcp:// listener to check with a client")
            return problems
        test_cfg = dict(cfg, listen=moved)
        env = clean_env()
        if token_env:
            env["GVIRTUS_TOKEN_FILE"] = token
        else:
            if "token_file" not in cfg:
                problems.append(f"{where}: no token_file (and the check was not told the token "
                                f"comes from GVIRTUS_TOKEN_FILE)")
            test_cfg["token_file"] = token
        path = os.path.join(work, "backend.json")
        with open(path, "w") as f:
            json.dump(test_cfg, f)
        with open(os.path.join(work, "backend.log"), "wb") as log:
            p, ready = start_backend(a.backend, path, env, log)
        logtext = lambda: open(os.path.join(work, "backend.log"), errors="replace").read()[-1500:]
        if not ready:
            return problems + [f"{where}: the backend did not start on it (exit {p.returncode}):\n"
                               + logtext()]
        try:
            endpoint = f"tcp://127.0.0.1:{tcp_port[1]}"
            cenv = clean_env()
            cenv["GVIRTUS_TOKEN_FILE"] = token
            run = subprocess.run([a.gvirtus, "run", "--endpoint", endpoint, "--", a.client],
                                 capture_output=True, text=True, env=cenv, timeout=120)
            if run.returncode != 0 or not run.stdout.startswith("driver "):
                problems.append(f"{where}: a client with the token was not served: exit "
                                f"{run.returncode}, {run.stdout.strip()!r} {run.stderr.strip()[-500:]!r}")
            cenv.pop("GVIRTUS_TOKEN_FILE")
            run = subprocess.run([a.gvirtus, "run", "--endpoint", endpoint, "--", a.client],
                                 capture_output=True, text=True, env=cenv, timeout=120)
            if run.returncode == 0:
                problems.append(f"{where}: a client without the token was served: "
                                f"{run.stdout.strip()!r}")
        finally:
            stop(p)
        # 2. Without any token the backend must refuse to start (exit status 2).
        test_cfg.pop("token_file", None)
        with open(path, "w") as f:
            json.dump(test_cfg, f)
        env.pop("GVIRTUS_TOKEN_FILE", None)
        with open(os.path.join(work, "backend.log"), "wb") as log:
            p, ready = start_backend(a.backend, path, env, log)
        if ready:
            stop(p)
            problems.append(f"{where}: without a token the backend started anyway")
        elif p.returncode != 2:
            problems.append(f"{where}: without a token the backend exited with {p.returncode}, "
                            f"not 2:\n" + logtext())
    return problems


def check_config(a):
    problems = []
    for f in a.files:
        problems += check_config_text(open(f).read(), f, a, a.token_env)
    return report(problems)


# ---------------------------------------------------------------- Kubernetes

def check_k8s(a):
    need_modules()
    import jsonschema
    import yaml
    problems = []
    schema = json.load(open(a.schema))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    text = open(a.manifest).read()
    for old, new in a.replace or []:
        old, new = old.replace("\\n", "\n"), new.replace("\\n", "\n")  # "\n" from CTest
        if old not in text:
            return report([f"--replace: {old!r} is not in {a.manifest}"])
        text = text.replace(old, new, 1)
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    by_kind = {}
    for i, d in enumerate(docs):
        errors = sorted(validator.iter_errors(d), key=lambda e: list(e.absolute_path))
        for e in errors[:5]:
            # oneOf hides the real cause: show the deepest one.
            best = jsonschema.exceptions.best_match([e])
            path = "/".join(str(p) for p in best.absolute_path)
            problems.append(f"document {i} ({d.get('kind')}): {path}: {best.message}")
        by_kind.setdefault(d.get("kind"), []).append(d)
    for kind in ("Secret", "ConfigMap", "DaemonSet", "Service"):
        if len(by_kind.get(kind, [])) != 1:
            problems.append(f"expected one {kind}, found {len(by_kind.get(kind, []))}")
    if problems:
        return report(problems)
    secret, cm, ds, svc = (by_kind[k][0] for k in ("Secret", "ConfigMap", "DaemonSet", "Service"))
    ns = {d["metadata"].get("namespace") for d in docs}
    if len(ns) != 1:
        problems.append(f"the objects are in different namespaces: {ns}")
    pod_labels = ds["spec"]["template"].get("metadata", {}).get("labels", {})
    sel = ds["spec"]["selector"].get("matchLabels", {})
    if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
        problems.append(f"the DaemonSet's selector {sel} does not match its pods' labels {pod_labels}")
    ssel = svc["spec"].get("selector", {})
    if not ssel or any(pod_labels.get(k) != v for k, v in ssel.items()):
        problems.append(f"the Service's selector {ssel} does not match the pods' labels {pod_labels}")
    if svc["spec"].get("sessionAffinity") != "ClientIP":
        problems.append("the Service has no sessionAffinity: ClientIP (a session's connections "
                        "must reach one backend)")
    pod = ds["spec"]["template"]["spec"]
    containers = pod["containers"]
    backend = next((c for c in containers if "--config" in c.get("args", [])), None)
    if backend is None:
        return report(problems + ["no container runs the backend with --config"])
    ports = {p.get("name"): p["containerPort"] for p in backend.get("ports", [])}
    for sp in svc["spec"]["ports"]:
        t = sp.get("targetPort", sp["port"])
        if (isinstance(t, str) and t not in ports) or (isinstance(t, int) and t not in ports.values()):
            problems.append(f"the Service's targetPort {t!r} is not a port of the backend container")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for c in pod.get("initContainers", []) + containers:
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                problems.append(f"container {c['name']} mounts {m['name']!r}, which is no volume")
    if not any(v.get("secret", {}).get("secretName") == secret["metadata"]["name"]
               for v in volumes.values()):
        problems.append(f"no volume holds the Secret {secret['metadata']['name']}")
    if "token" not in secret.get("stringData", {}) and "token" not in secret.get("data", {}):
        problems.append("the Secret has no key \"token\"")
    cm_vol = [n for n, v in volumes.items() if v.get("configMap", {}).get("name") == cm["metadata"]["name"]]
    if not cm_vol:
        problems.append(f"no volume holds the ConfigMap {cm['metadata']['name']}")
    # Security context: non-root, no privilege, no capability, the runtime's seccomp profile.
    psc = pod.get("securityContext", {})
    bsc = backend.get("securityContext", {})
    if not (psc.get("runAsNonRoot") and psc.get("runAsUser", 0) != 0) and not bsc.get("runAsNonRoot"):
        problems.append("the backend does not run as a non-root user")
    if bsc.get("allowPrivilegeEscalation") is not False or bsc.get("privileged"):
        problems.append("the backend container may gain privileges")
    if bsc.get("capabilities", {}).get("drop") != ["ALL"] or bsc.get("capabilities", {}).get("add"):
        problems.append("the backend container does not drop every capability")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append("the pod has no RuntimeDefault seccomp profile")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append("the pod mounts a service account token it does not need")
    limits = backend.get("resources", {}).get("limits", {})
    if "nvidia.com/gpu" not in limits and not pod.get("runtimeClassName"):
        problems.append("the backend asks for no GPU (nvidia.com/gpu) and has no runtimeClassName")
    # The config: where the ConfigMap is mounted, the file --config names, its token file in a
    # mounted folder.
    args = backend["args"]
    config_path = args[args.index("--config") + 1]
    mounts = {m["name"]: m["mountPath"] for m in backend.get("volumeMounts", [])}
    cdir = mounts.get(cm_vol[0]) if cm_vol else None
    key = os.path.relpath(config_path, cdir) if cdir else None
    if not cdir or key not in cm.get("data", {}):
        problems.append(f"--config {config_path} is not a file of the mounted ConfigMap")
        return report(problems)
    cfg = json.loads(cm["data"][key])
    token_dir = next((mp for mp in mounts.values()
                      if cfg.get("token_file", "").startswith(mp.rstrip("/") + "/")), None)
    if token_dir is None:
        problems.append(f"the config's token_file {cfg.get('token_file')!r} is in no mounted volume")
    problems += check_config_text(cm["data"][key], f"ConfigMap {key}", a, False,
                                  token_dir or "/nonexistent")
    return report(problems)


# ---------------------------------------------------------------- Dockerfile

def check_dockerfile(a):
    problems = []
    text = open(a.dockerfile).read()
    hadolint = shutil.which("hadolint")
    if hadolint:
        h = subprocess.run([hadolint, a.dockerfile], capture_output=True, text=True)
        if h.returncode != 0:
            problems.append("hadolint:\n" + (h.stdout + h.stderr).strip())
    else:
        print("check_deploy: hadolint is not installed (not in Debian): its checks are skipped")
    # Logical lines (continuations joined).
    lines = re.sub(r"\\\n", " ", text).splitlines()
    instr = [(l.split(None, 1)[0].upper(), (l.split(None, 1) + [""])[1])
             for l in lines if l.strip() and not l.lstrip().startswith("#")]
    args = {}
    for k, v in instr:
        if k == "ARG" and "=" in v:
            n, val = v.split("=", 1)
            args[n.strip()] = val.strip()
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    major = None
    try:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
        major = re.search(r"release (\d+)\.", out).group(1)
    except (OSError, AttributeError):
        pass
    cuda = args.get("CUDA_VERSION", "")
    if major and not cuda.startswith(major + "."):
        problems.append(f"CUDA_VERSION {cuda!r} is not of the toolkit's release {major}.x")
    froms = [v for k, v in instr if k == "FROM"]
    stages = set()
    if len(froms) < 2:
        problems.append("not a multi-stage build")
    for f in froms:
        image = f.split()[0]
        if not image.startswith("nvidia/cuda:${CUDA_VERSION}-"):
            problems.append(f"FROM {image}: not NVIDIA's CUDA image of CUDA_VERSION")
        if " AS " in f.upper():
            stages.add(f.split()[-1])
    if froms and "runtime" not in froms[-1]:
        problems.append(f"the final stage is not on a runtime image: {froms[-1]}")
    for k, v in instr:
        if k != "COPY":
            continue
        parts = [p for p in v.split() if not p.startswith("--")]
        if any(p.startswith("--from=") for p in v.split()):
            continue
        for src in parts[:-1]:
            if not os.path.exists(os.path.join(a.repo, src)):
                problems.append(f"COPY {src}: no such file in the repository")
    ignore = a.dockerfile + ".dockerignore"
    if not os.path.exists(ignore):
        problems.append(f"no {os.path.basename(ignore)}: the build context would carry build trees")
    else:
        pats = {l.strip() for l in open(ignore) if l.strip() and not l.startswith("#")}
        for want in ("build*", ".carry", ".git"):
            if want not in pats:
                problems.append(f"{os.path.basename(ignore)} does not leave out {want}")
    users = [v for k, v in instr if k == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the image runs as root (no USER, or USER root, at the end)")
    ep = [v for k, v in instr if k == "ENTRYPOINT"]
    if not ep or "gvirtus-backend" not in ep[-1]:
        problems.append("the entrypoint is not gvirtus-backend")
    cmd = [v for k, v in instr if k == "CMD"]
    copied = [v.split()[-1] for k, v in instr if k == "COPY" and not v.startswith("--from")]
    if cmd:
        m = re.search(r'"--config",\s*"([^"]+)"', cmd[-1])
        if not m or m.group(1) not in copied:
            problems.append(f"CMD names a config that is not copied into the image: {cmd[-1]}")
        else:
            src = next(v.split()[-2] for k, v in instr if k == "COPY" and v.split()[-1] == m.group(1))
            print(f"the image's config is {src}")
    return report(problems)


def report(problems):
    if problems:
        print("FAILED")
        for p in problems:
            print("- " + p)
        return 1
    print("ok")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("systemd")
    s.add_argument("--unit", required=True)
    s.add_argument("--backend", required=True)
    for name in ("k8s", "config"):
        s = sub.add_parser(name)
        s.add_argument("--backend", required=True)
        s.add_argument("--client", required=True, help="a program that prints 'driver N' (deploy_probe)")
        s.add_argument("--gvirtus", required=True)
        if name == "k8s":
            s.add_argument("--manifest", required=True)
            s.add_argument("--schema", required=True)
            s.add_argument("--replace", nargs=2, action="append", metavar=("OLD", "NEW"),
                           help="check the manifest with OLD replaced by NEW (the tests that "
                                "show a broken manifest fails)")
        else:
            s.add_argument("--token-env", action="store_true",
                           help="the token comes from GVIRTUS_TOKEN_FILE, not the file")
            s.add_argument("files", nargs="+")
    s = sub.add_parser("dockerfile")
    s.add_argument("--dockerfile", required=True)
    s.add_argument("--repo", required=True)
    a = ap.parse_args()
    return {"systemd": check_systemd, "k8s": check_k8s, "config": check_config,
            "dockerfile": check_dockerfile}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
