#!/usr/bin/env bash
# Side-by-side encode throughput on the same 10 MB mixed corpus: Tessera (bench_tokenizers,
# 1 and 2 threads) against npm tiktoken (OpenAI's Rust encoder as WASM, run by node on one
# thread), for cl100k_base and Llama-3. Both sides must produce identical tokens (the token
# count and an id checksum are compared). Prints a Markdown table.
#
#   bench/compare/tokenizers_run.sh [BENCH_BINARY] [RUNS]
#
# BENCH_BINARY defaults to the first build/*/bench/bench_tokenizers; RUNS (default 5) is the
# number of timed runs per side, whose median is reported. Needs scripts/setup.sh (node and
# the npm packages in build/npm).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/compare"
bin="${1:-}"
runs="${2:-5}"
if [ -z "$bin" ]; then
  bin="$(ls "$root"/build/*/bench/bench_tokenizers 2>/dev/null | head -n 1 || true)"
fi
[ -x "$bin" ] || { echo "tokenizers_run: bench_tokenizers not found; build it or pass its path" >&2; exit 2; }
modules="$root/build/npm/node_modules"
[ -d "$modules/tiktoken" ] || { echo "tokenizers_run: npm packages missing; run scripts/setup.sh" >&2; exit 2; }

out="$root/build/bench"
mkdir -p "$out"
corpus="$out/tokenizers_corpus.txt"
[ -f "$corpus" ] || node "$here/tokenizers_corpus.js" "$corpus" 10

# Tokenizer files: the fixtures tests/text generated, or generate them here.
fixtures="$(dirname "$(ls "$root"/build/*/tests/text/reference/cases.json 2>/dev/null | head -n 1)" 2>/dev/null || true)"
if [ -z "$fixtures" ] || [ ! -f "$fixtures/cases.json" ]; then
  fixtures="$out/tokenizer_fixtures"
  [ -f "$fixtures/cases.json" ] || node "$root/tests/tools/tokenizer_fixtures.mjs" "$modules" "$fixtures"
fi

export TESSERA_BENCH_CORPUS="$corpus" TESSERA_TOKENIZER_DIR="$fixtures"
"$bin" --benchmark_filter='Cl100k|Llama3' --benchmark_repetitions="$runs" \
  --benchmark_format=json > "$out/tokenizers_tessera.json"
node "$here/tokenizers_tiktoken.js" "$modules" "$corpus" cl100k_base "$runs" > "$out/tokenizers_tiktoken_cl100k.json"
node "$here/tokenizers_tiktoken.js" "$modules" "$corpus" llama3 "$runs" "$fixtures/llama3/tokenizer.json" \
  > "$out/tokenizers_tiktoken_llama3.json"
node "$here/tokenizers_report.js" "$out/tokenizers_tessera.json" \
  "$out/tokenizers_tiktoken_cl100k.json" "$out/tokenizers_tiktoken_llama3.json"
