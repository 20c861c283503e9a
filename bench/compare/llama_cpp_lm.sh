#!/usr/bin/env bash
# Prefill (pp) and decode (tg) tokens/s of one random Llama model, Tessera vs llama.cpp, on the
# same weights: `tessera init` writes the model, `tessera export` writes the same weights as
# llama.cpp GGUF, then `tessera bench lm` and llama.cpp's `llama-bench` alternate, ROUNDS times
# per thread count, each reporting its own median of REPEATS runs; the table gives the median
# over rounds and the ratio tessera / llama.cpp.
#
# llama.cpp is not packaged: build it beside the project from a source snapshot (never commit it):
#   cmake -S ~/src/llama.cpp -B ~/src/llama.cpp/build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
#         -DLLAMA_CURL=OFF && cmake --build ~/src/llama.cpp/build --target llama-bench -j
#   LLAMA_BENCH=~/src/llama.cpp/build/bin/llama-bench bench/compare/llama_cpp_lm.sh
# PRESET (125m), VOCAB (32000), TYPE (f32|f16|q8_0), PP (512), TG (128), THREADS ("1 2").
set -euo pipefail
TESSERA=${TESSERA:-build/release/tessera}
: "${LLAMA_BENCH:?set LLAMA_BENCH to the llama-bench binary of a llama.cpp build}"
PRESET=${PRESET:-125m}; VOCAB=${VOCAB:-32000}; TYPE=${TYPE:-f32}
PP=${PP:-512}; TG=${TG:-128}; THREADS=${THREADS:-"1 2"}; ROUNDS=${ROUNDS:-3}; REPEATS=${REPEATS:-5}
work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT

if [ ! -f "$work/model/config.json" ]; then "$TESSERA" init --preset "$PRESET" --vocab-size "$VOCAB" --out "$work/model" >&2; fi
if [ ! -f "$work/model-$TYPE.gguf" ]; then "$TESSERA" export --model "$work/model" --type "$TYPE" --out "$work/model-$TYPE.gguf" >&2; fi
# Tessera reads the same GGUF file llama.cpp reads (dequantised to f32 at load for q8_0).
model="$work/model-$TYPE.gguf"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "| threads | test | tessera tokens/s | llama.cpp tokens/s | ratio |"
echo "| --- | --- | --- | --- | --- |"
for t in $THREADS; do
  : > "$work/t_pp"; : > "$work/t_tg"; : > "$work/l_pp"; : > "$work/l_tg"
  for _ in $(seq "$ROUNDS"); do
    "$TESSERA" --threads "$t" bench lm --model "$model" --prompt-tokens "$PP" --gen-tokens "$TG" \
      --repeats "$REPEATS" --json > "$work/t.json"
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['pp']['tokens_per_s']); print(d['tg']['tokens_per_s'], file=sys.stderr)" \
      "$work/t.json" >> "$work/t_pp" 2>> "$work/t_tg"
    "$LLAMA_BENCH" -m "$model" -t "$t" -p "$PP" -n "$TG" -r "$REPEATS" -o json > "$work/l.json" 2>/dev/null
    python3 -c "
import json,sys
for r in json.load(open(sys.argv[1])):
    (sys.stdout if r['n_prompt'] > 0 else sys.stderr).write(str(r['avg_ts']) + '\n')" \
      "$work/l.json" >> "$work/l_pp" 2>> "$work/l_tg"
  done
  for test in pp tg; do
    a=$(median < "$work/t_$test"); b=$(median < "$work/l_$test")
    n=$([ $test = pp ] && echo "$PP" || echo "$TG")
    awk -v t="$t" -v n="$test$n" -v a="$a" -v b="$b" 'BEGIN {printf "| %s | %s | %.1f | %.1f | %.2f |\n", t, n, a, b, a / b}'
  done
done
