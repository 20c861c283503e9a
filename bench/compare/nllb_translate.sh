#!/usr/bin/env bash
# NLLB translation throughput and MoE dispatch overhead, side by side in one session.
#   bench/compare/nllb_translate.sh [BUILD_DIR] [SHAPE] [BATCH] [SRC_LEN]
# SHAPE is 600m (nllb-200-distilled-600M dimensions) or mini (default). Each configuration is
# run 5 times at 1 and 2 threads; read the medians (CPU time is the fairer figure on a busy
# machine: the decode is single-process and its threads are all we run).
# The side-by-side with CTranslate2 on the same weights is bench/compare/nllb_ctranslate2.sh.
set -euo pipefail
build=${1:-build/release}
export TESSERA_NLLB_SHAPE=${2:-mini}
export TESSERA_NLLB_BATCH=${3:-32}
export TESSERA_NLLB_SRC_LEN=${4:-24}
lscpu | grep 'Model name' || true
for threads in 1 2; do
  echo "== translate: shape $TESSERA_NLLB_SHAPE, batch $TESSERA_NLLB_BATCH, source $TESSERA_NLLB_SRC_LEN tokens, beam 4, $threads thread(s)"
  OMP_NUM_THREADS=$threads "$build/bench/bench_mt_translate" --benchmark_repetitions=5 \
    --benchmark_min_time=0.01 --benchmark_report_aggregates_only=true | grep -E 'median'
  echo "== MoE dispatch vs dense FFN of equal active parameters, $threads thread(s)"
  OMP_NUM_THREADS=$threads "$build/bench/bench_mt_moe" --benchmark_repetitions=5 \
    --benchmark_min_time=0.2 --benchmark_report_aggregates_only=true | grep -E 'median'
done
