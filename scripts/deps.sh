#!/usr/bin/env bash
# Installs what building GVirtuS needs and is missing (Debian/Ubuntu, apt-get), quietly.
# The CUDA toolkit (13.x, with nvcc) must be installed already: it is not in Debian's archive.
#   scripts/deps.sh        (as root, or with sudo available)
set -euo pipefail

# command -> Debian package; headers and CMake packages are checked with dpkg.
# libssl-dev: OpenSSL 3, for token authentication and TLS (docs/security.md).
# systemd (systemd-analyze), python3-jsonschema, python3-yaml: the deploy/ checks (tests/deploy).
# libbenchmark-dev: Google Benchmark, for the CPU micro-benchmarks (bench/launch_bench.cc).
packages=(cmake ninja-build g++ python3 nlohmann-json3-dev libspdlog-dev libfmt-dev libgtest-dev
          libssl-dev systemd python3-jsonschema python3-yaml libbenchmark-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "deps: missing ${missing[*]}, and there is no apt-get here: install them by hand" >&2
    exit 1
  fi
  sudo=
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The CUDA toolkit: nvcc on PATH, or in the standard place (the build scripts look there too).
if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "deps: the CUDA toolkit 13 (nvcc) is not installed: get it from NVIDIA (see README.md)" >&2
  exit 1
fi

# nvml.h (NVML, the management library): not part of the toolkit installed here. NVIDIA ships it
# on PyPI as a header-only wheel (nvidia-nvml-dev); pip downloads it (nothing is installed into
# a Python) and the header is unpacked into a fixed cache folder, where CMake's
# GVIRTUS_NVML_INCLUDE_DIR looks by default. Without it the NVML plugin is left out of the build.
nvml_version=13.0.87
nvml_dir="${XDG_CACHE_HOME:-$HOME/.cache}/gvirtus/nvml-$nvml_version"
if [ ! -f "$nvml_dir/include/nvml.h" ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    if command -v apt-get >/dev/null; then
      sudo=
      [ "$(id -u)" = 0 ] || sudo=sudo
      echo "deps: installing python3-pip (to fetch nvml.h)" >&2
      export DEBIAN_FRONTEND=noninteractive
      { $sudo apt-get update -qq >/dev/null &&
        $sudo apt-get install -y -qq --no-install-recommends python3-pip >/dev/null; } ||
        echo "deps: could not install python3-pip" >&2
    fi
  fi
  tmp=$(mktemp -d)
  if python3 -m pip download -q --no-deps "nvidia-nvml-dev==$nvml_version" -d "$tmp" >&2 &&
     python3 - "$tmp" "$nvml_dir" <<'PY'
import glob, os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
wheels = glob.glob(os.path.join(src, "nvidia_nvml_dev-*.whl"))
if not wheels:
    sys.exit("no nvidia_nvml_dev wheel downloaded")
with zipfile.ZipFile(wheels[0]) as z:
    name = next(n for n in z.namelist() if n.endswith("/include/nvml.h"))
    os.makedirs(os.path.join(dst, "include"), exist_ok=True)
    tmp = os.path.join(dst, "include", "nvml.h.tmp")
    with open(tmp, "wb") as f:
        f.write(z.read(name))
    os.replace(tmp, os.path.join(dst, "include", "nvml.h"))
PY
  then
    echo "deps: nvml.h $nvml_version in $nvml_dir/include" >&2
  else
    echo "deps: could not fetch nvml.h (nvidia-nvml-dev==$nvml_version); the NVML plugin will be left out" >&2
  fi
  rm -rf "$tmp"
fi
