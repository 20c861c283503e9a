#!/usr/bin/env bash
# Load test of `tessera serve` and, side by side, llama.cpp's llama-server (when built) on the
# same random 125M-shaped llama (32k vocabulary; GGUF f32 for llama.cpp), prompts sent as token
# ids so both prefill the same tokens, EOS ignored so both generate the same count:
# aggregate completion tokens/s at 1, 4 and 16 concurrent streaming clients, time to first
# token and time between tokens (p50/p99), errors, and the server's resident memory.
#   usage: bash bench/compare/serve_load.sh [BUILD_DIR] [WORK_DIR]
# Environment: CLIENTS (1,4,16), REQUESTS per client (3), MAX_TOKENS (32), PROMPT_TOKENS (64),
#              THREADS (all),
#              PARALLEL (16), LLAMA_BIN (/work/ext/llama.cpp/build/bin).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build=${1:-"$root/build/release"}
work=${2:-"$root/build/serve-bench"}
clients=${CLIENTS:-1,4,16}
requests=${REQUESTS:-3}
max_tokens=${MAX_TOKENS:-32}
prompt_tokens=${PROMPT_TOKENS:-64}  # token ids, so both servers prefill exactly the same
threads=${THREADS:-0}
parallel=${PARALLEL:-16}
llama_bin=${LLAMA_BIN:-/work/ext/llama.cpp/build/bin}
tessera="$build/tessera"
load="$build/bench_serve_load"
[ -x "$load" ] || load="$build/bench/bench_serve_load"
[ -x "$tessera" ] || { echo "no $tessera (build the tessera target)" >&2; exit 1; }
[ -x "$load" ] || { echo "no bench_serve_load in $build (build it, see bench/bench_serve_load.cpp)" >&2; exit 1; }
mkdir -p "$work"
model="$work/llama-125m"

if [ ! -f "$model/model.safetensors" ]; then
  "$tessera" init --preset 125m --vocab-size 32000 --max-positions 2048 --seed 1 --out "$model"
  # A 32k byte-level vocabulary: the 256 bytes, <eos> (256), then word-like pieces, written
  # as a tokenizer.json (GPT-2's byte-to-unicode spelling, no merges needed for decoding).
  python3 - "$model" <<'PY'
import json, random, sys
out = sys.argv[1]
def byte_symbols():
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table
sym = byte_symbols()
vocab = {sym[b]: b for b in range(256)}
rng = random.Random(7)
letters = "abcdefghijklmnopqrstuvwxyz"
seen = set()
while len(vocab) < 32000 - 1:
    piece = ("Ġ" if rng.random() < 0.5 else "") + "".join(rng.choice(letters) for _ in range(rng.randint(2, 8)))
    if piece not in seen:
        seen.add(piece)
        vocab[piece] = len(vocab) + 1  # id 256 is <eos>
tokenizer = {
    "version": "1.0",
    "added_tokens": [{"id": 256, "content": "<eos>", "special": True, "single_word": False,
                      "lstrip": False, "rstrip": False, "normalized": False}],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": None,
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "vocab": vocab, "merges": []},
}
json.dump(tokenizer, open(f"{out}/tokenizer.json", "w"))
json.dump({"eos_token": "<eos>"}, open(f"{out}/tokenizer_config.json", "w"))
PY
fi

port=$((20000 + RANDOM % 20000))
echo "== tessera serve ($(lscpu | sed -n 's/^Model name: *//p'), threads ${threads}, parallel ${parallel})"
"$tessera" serve --model "$model" --port "$port" --parallel "$parallel" --max-queue 512 \
  --threads "$threads" --model-name bench 2>"$work/tessera-serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
"$load" --endpoint "http://127.0.0.1:$port/v1" --clients "$clients" --requests "$requests" \
  --max-tokens "$max_tokens" --prompt-tokens "$prompt_tokens" --eos-id 256 --server-pid "$server" \
  | tee "$work/tessera.jsonl"
kill -INT "$server"
wait "$server" || true
trap - EXIT

if [ -x "$llama_bin/llama-server" ] && [ "${SKIP_LLAMA:-0}" != 1 ]; then
  gguf="$work/llama-125m.gguf"
  vocab_tool="$build/serve_gguf_vocab"
  [ -x "$vocab_tool" ] || vocab_tool="$build/bench/serve_gguf_vocab"
  if [ ! -f "$gguf" ]; then
    # Same weights as f32 GGUF, plus a vocabulary llama.cpp accepts (bench/compare/serve_gguf_vocab.cpp).
    "$tessera" export --model "$model" --out "$work/raw.gguf" --type f32
    "$vocab_tool" "$work/raw.gguf" "$gguf"
    rm -f "$work/raw.gguf"
  fi
  port=$((20000 + RANDOM % 20000))
  echo "== llama.cpp llama-server (same weights, GGUF f32)"
  llama_threads=$threads
  [ "$llama_threads" = 0 ] && llama_threads=$(nproc)
  # One HTTP thread per keep-alive client (its default, cores - 1, drops connections at 16).
  LD_LIBRARY_PATH="$llama_bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$llama_bin/llama-server" -m "$gguf" --port "$port" -np "$parallel" -c $((parallel * 256)) \
    -t "$llama_threads" --threads-http $((parallel * 2 + 2)) --cont-batching >"$work/llama-server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  ok=0
  for _ in $(seq 1 600); do
    if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$ok" = 1 ]; then
    "$load" --endpoint "http://127.0.0.1:$port/v1" --clients "$clients" --requests "$requests" \
      --max-tokens "$max_tokens" --prompt-tokens "$prompt_tokens" --server-pid "$server" \
      | tee "$work/llama.jsonl"
  else
    echo "llama-server did not start on the exported GGUF; last lines of its log:" >&2
    tail -n 5 "$work/llama-server.log" >&2
  fi
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
fi
