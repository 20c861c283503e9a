#!/usr/bin/env bash
# Decode tokens/s of a 370M-shaped random HGRN-Bit (hidden 1024, 24 layers, vocab 32000, as
# ridger/MMfreeLM-370M): f32 latent weights vs the same model quantized (2-bit and base-3, int8
# embeddings), and llama.cpp's TQ2_0 on a llama model with the same matrix shapes (hidden 1024,
# 24 layers, ffn 2816: q/k/v/o + gate/up/down = i/f/g/o + gate pair/down), side by side.
# Usage: bench/compare/ternary_decode.sh [WORKDIR] (env: TESSERA, LLAMA_BIN, THREADS, ROUNDS)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
tessera=${TESSERA:-$here/build/release/tessera}
llama_bin=${LLAMA_BIN:-/work/ext/llama.cpp/build/bin}
work=${1:-/tmp/tessera_ternary_decode}
threads=${THREADS:-1}
rounds=${ROUNDS:-2}
mkdir -p "$work"
cat > "$work/hgrn370m.json" <<'JSON'
{"model_type": "hgrn_bit", "vocab_size": 32000, "hidden_size": 1024, "num_hidden_layers": 24,
 "num_heads": 1, "expand_ratio": 1, "hidden_ratio": 4, "intermediate_size": null,
 "use_lower_bound": true, "rms_norm_eps": 1e-6, "max_position_embeddings": 2048}
JSON
cat > "$work/llama370m.json" <<'JSON'
{"model_type": "llama", "vocab_size": 32000, "hidden_size": 1024, "intermediate_size": 2816,
 "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16,
 "max_position_embeddings": 2048, "tie_word_embeddings": false, "rms_norm_eps": 1e-6}
JSON
[ -f "$work/f32/config.json" ] || "$tessera" init --model-type hgrn_bit --config "$work/hgrn370m.json" --out "$work/f32"
[ -f "$work/q2/config.json" ] || "$tessera" quantize --model "$work/f32" --out "$work/q2" --embeddings int8
[ -f "$work/q3/config.json" ] || "$tessera" quantize --model "$work/f32" --out "$work/q3" --embeddings int8 --packing base3
if [ -x "$llama_bin/llama-bench" ] && [ ! -f "$work/llama-tq2.gguf" ]; then
  "$tessera" init --model-type llama --config "$work/llama370m.json" --out "$work/llama"
  "$tessera" export --model "$work/llama" --out "$work/llama-f32.gguf" --format gguf --type f32
  "$llama_bin/llama-quantize" --allow-requantize "$work/llama-f32.gguf" "$work/llama-tq2.gguf" TQ2_0 >/dev/null 2>&1
  rm -f "$work/llama-f32.gguf"
fi
# Alternating rounds so that load from other processes hits every contender alike.
for round in $(seq "$rounds"); do
  for model in f32 q2 q3; do
    echo "round $round tessera $model: $("$tessera" bench lm --model "$work/$model" --prompt-tokens 0 \
      --gen-tokens 16 --repeats 5 --threads "$threads" | tail -1)"
  done
  if [ -f "$work/llama-tq2.gguf" ]; then
    echo "round $round llama.cpp TQ2_0: $("$llama_bin/llama-bench" -m "$work/llama-tq2.gguf" -p 0 -n 16 \
      -t "$threads" -r 5 2>/dev/null | grep tg16)"
  fi
done
