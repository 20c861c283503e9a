#!/usr/bin/env bash
# NLLB translation throughput (f32 vs int8) and MoE dispatch overhead, in one session.
#   bench/compare/nllb_translate.sh [BUILD_DIR] [SHAPE] [BATCH] [LENGTH]
# SHAPE is 600m (nllb-200-distilled-600M dimensions, the `tessera init` preset) or mini
# (d_model 512, 6+6 layers, FFN 2,048, 32,000 ids; default). A random model of that shape is
# written once under $TMPDIR, then `tessera bench translate` decodes BATCH random sources with
# beam 4, exactly LENGTH target tokens each, at 1 and 2 threads, f32 and int8 (median of 5).
# The side-by-side with CTranslate2 on the same weights is bench/compare/nllb_ctranslate2.sh.
set -euo pipefail
build=${1:-build/release}
shape=${2:-mini}
batch=${3:-32}
length=${4:-24}
tessera=$build/tessera
model=${TMPDIR:-/tmp}/tessera_nllb_$shape
lscpu | grep 'Model name' || true
if [[ ! -f $model/model.safetensors ]]; then
  if [[ $shape == 600m ]]; then
    "$tessera" init --model-type m2m_100 --preset 600m --out "$model"
  else
    config=$(mktemp)
    echo '{"d_model": 512, "encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 8,
           "decoder_attention_heads": 8, "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048,
           "vocab_size": 32000}' > "$config"
    "$tessera" init --model-type m2m_100 --preset 600m --config "$config" --out "$model"
    rm -f "$config"
  fi
fi
for threads in 1 2; do
  for int8 in "" --int8; do
    weights=f32
    [[ -n $int8 ]] && weights=int8
    echo "== translate: $shape, batch $batch, beam 4, $length target tokens, $threads thread(s), $weights"
    OMP_NUM_THREADS=$threads "$tessera" --threads "$threads" bench translate --model "$model" \
      --sentences "$batch" --batch "$batch" --beam 4 --length "$length" --repeats 5 $int8 | tail -n 1
  done
  echo "== MoE dispatch vs dense FFN of equal active parameters, $threads thread(s)"
  OMP_NUM_THREADS=$threads "$build/bench/bench_mt_moe" --benchmark_repetitions=5 \
    --benchmark_min_time=0.2 --benchmark_report_aggregates_only=true | grep -E 'median'
done
