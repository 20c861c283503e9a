#!/usr/bin/env bash
# The one place that installs the system packages Tessera's build, tests and benchmarks need.
# Idempotent: installs only what is missing, and runs `apt-get update` first only then
# (a fresh machine has empty package lists). When not root it prints the command instead.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev clang-format
  # numerics: OpenBLAS's OpenMP build so BLAS and our own pool share one set of threads
  libopenblas-openmp-dev libeigen3-dev
  # formats, CLI, logging, HTTP, storage
  nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev libcpp-httplib-dev libsqlite3-dev
  libzstd-dev libpcre2-dev
  # tokenizers
  libsentencepiece-dev sentencepiece
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev librapidcheck-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages; run as root:"
  echo "  $cmd"
  exit 1
fi
echo "setup: installing ${missing[*]}"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
