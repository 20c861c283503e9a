#!/usr/bin/env bash
# Throughput of `tessera data build` (tokenize + shard) on the default corpus text at 1 and 2
# threads, and wall time of `tessera data corpus`; median of N runs each, run side by side.
# Usage: bench/compare/data_build.sh [path/to/tessera] [runs]
set -euo pipefail
tessera=${1:-build/release/tessera}
runs=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N); calc "$end - $start"; echo; }

echo "machine: $(lscpu | grep 'Model name' | sed 's/Model name: *//'), $(nproc) cores"
"$tessera" data corpus --out "$work/corpus" >/dev/null 2>&1
bytes=$(cat "$work/corpus/train.txt" "$work/corpus/valid.txt" | wc -c)

declare -A build_median
for threads in 1 2; do
  for ((i = 0; i < runs; i++)); do
    seconds "$tessera" --threads "$threads" data build --tokenizer "$work/corpus/tokenizer.json" \
      --input "$work/corpus/train.txt" "$work/corpus/valid.txt" --paragraphs --append-eos \
      --valid-fraction 0.02 --out "$work/ds$threads"
  done >"$work/times$threads"
  build_median[$threads]=$(median <"$work/times$threads")
  echo "data build, $threads thread(s): median $(printf %.3f "${build_median[$threads]}") s" \
       "over $runs runs = $(calc "$bytes / ${build_median[$threads]} / 1000000") MB/s"
done
cmp -s "$work/ds1/train/tokens-00000.bin" "$work/ds2/train/tokens-00000.bin" &&
  echo "outputs at 1 and 2 threads: identical" || echo "outputs at 1 and 2 threads: DIFFER"
echo "ratio (2 threads / 1 thread throughput): $(calc "${build_median[1]} / ${build_median[2]}")"

for ((i = 0; i < runs; i++)); do
  rm -rf "$work/c"
  seconds "$tessera" data corpus --out "$work/c"
done >"$work/corpus_times"
echo "data corpus (all threads): median $(median <"$work/corpus_times" | xargs printf %.2f) s over $runs runs, $bytes bytes of text"
