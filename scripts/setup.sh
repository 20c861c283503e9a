#!/usr/bin/env bash
# The one place that installs the system packages Tessera's build, tests and benchmarks need.
# Idempotent: installs only what is missing, and runs `apt-get update` first only then
# (a fresh machine has empty package lists). When not root it prints the command instead.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev clang-format
  # clang's OpenMP runtime: `make test-fuzz` configures the whole tree with clang (tests/fuzz)
  libomp-dev
  # numerics: OpenBLAS's OpenMP build so BLAS and our own pool share one set of threads
  libopenblas-openmp-dev libeigen3-dev
  # formats, CLI, logging, HTTP, storage
  nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev libcpp-httplib-dev libsqlite3-dev
  libzstd-dev libpcre2-dev
  # tokenizers
  libsentencepiece-dev sentencepiece
  # text/ and mt/: ICU (NFC/NFKC normalisation, case mapping, Unicode categories); node runs the tokenizer reference
  # fixtures and benchmark baseline from the npm packages scripts/setup_npm.sh installs
  libicu-dev nodejs
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev librapidcheck-dev
  # agents/: the Wordle vocabulary (/usr/share/dict/american-english)
  wamerican
  # train/ `data corpus`: the default English corpus (fortunes, WordNet glosses, the World
  # English Bible SWORD module) and zlib to read that module's compressed blocks
  fortunes fortunes-min wordnet-base sword-text-web zlib1g-dev
  # mt/ `mt build-corpus`: Reina-Valera 1909 verses to pair with the WEB (read through libsword),
  # ISO 639 names and codes for NLLB language codes, CLD2 for the optional language-ID check
  sword-text-sparv libsword-dev iso-codes libcld2-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  bash "$(dirname "${BASH_SOURCE[0]}")/setup_npm.sh"  # npm reference tokenizers (tests/text)
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
bash "$(dirname "${BASH_SOURCE[0]}")/setup_npm.sh"  # npm reference tokenizers (tests/text)
