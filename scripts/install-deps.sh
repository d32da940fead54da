#!/usr/bin/env bash
# Installs every Debian package embcol's build and tests need. Idempotent;
# run as root (or with sudo available). Packages only the benchmarks need
# (PyTorch, libcuckoo) are installed by bench/run.sh, not here.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libfarmhash-dev libabsl-dev nlohmann-json3-dev libcli11-dev
  libeigen3-dev protobuf-compiler libprotobuf-dev zlib1g-dev libsnappy-dev
  librocksdb-dev
  libhiredis-dev redis-server redis-tools
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
