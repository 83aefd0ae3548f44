#!/usr/bin/env bash
# Installs what building GVirtuS needs and is missing (Debian/Ubuntu, apt-get), quietly.
# The CUDA toolkit (13.x, with nvcc) must be installed already: it is not in Debian's archive.
#   scripts/deps.sh        (as root, or with sudo available)
set -euo pipefail

# command -> Debian package; headers and CMake packages are checked with dpkg.
# libssl-dev: OpenSSL 3, for token authentication and TLS (docs/security.md).
packages=(cmake ninja-build g++ python3 nlohmann-json3-dev libspdlog-dev libfmt-dev libgtest-dev
          libssl-dev)
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
