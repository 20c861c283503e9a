#!/usr/bin/env bash
# The paper's claim in miniature (docs/matmulfree.md): HGRN-Bit, Llama and Mamba-2 of the same
# preset trained on the default corpus with the same tokens (same steps, batch, sequence length,
# learning rate, seed), then valid loss, training tokens/s, resident weight bytes and decode
# tokens/s (f32, and HGRN-Bit quantized to 2-bit).
# Usage: bench/compare/ternary_miniature.sh [WORKDIR] (env: TESSERA, PRESET, STEPS, THREADS)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
tessera=${TESSERA:-$here/build/release/tessera}
work=${1:-/tmp/tessera_ternary_miniature}
preset=${PRESET:-tiny}
steps=${STEPS:-60}
threads=${THREADS:-2}
mkdir -p "$work"
[ -d "$work/corpus/train" ] || "$tessera" data corpus --out "$work/corpus"
types="hgrn_bit llama"
if "$tessera" train --model-type mamba2 --preset "$preset" --help >/dev/null 2>&1 &&
   "$tessera" init --model-type mamba2 --preset "$preset" --vocab-size 512 --out "$work/probe_mamba2" >/dev/null 2>&1; then
  types="$types mamba2"
fi
for type in $types; do
  "$tessera" train --model-type "$type" --preset "$preset" --data "$work/corpus" \
    --out "$work/$type" --steps "$steps" --batch-size 8 --seq-len 128 --lr 2e-3 --warmup 10 \
    --schedule cosine --eval-every "$steps" --seed 1 --runs-dir "$work/runs" --threads "$threads" \
    2>/dev/null | tee "$work/$type.train.txt"
done
"$tessera" quantize --model "$work/hgrn_bit" --out "$work/hgrn_bit-2bit" | tee "$work/quantize.txt"
for model in $types hgrn_bit-2bit; do
  "$tessera" bench lm --model "$work/$model" --prompt-tokens 0 --gen-tokens 32 --repeats 5 \
    --threads 1 --json > "$work/$model.decode.json"
  echo "$model: $(tr -d '\n ' < "$work/$model.decode.json")"
done
