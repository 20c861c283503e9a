#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz_*) in BUILD_DIR for SECONDS each and exits non-zero if any
# of them crashes (a sanitizer report, an abort on a broken invariant, an uncaught exception,
# a timeout or an out-of-memory). Seeds are generated here, so no binary file is committed;
# the corpus each run grows is kept in BUILD_DIR/fuzz-work for the next run, and crashing
# inputs land in BUILD_DIR/fuzz-work/crashes/<target>/.
#   usage: bash tests/fuzz/run_all.sh build/fuzz/tests/fuzz 20
set -euo pipefail

if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds=$2
work="$build_dir/fuzz-work"

# Little-endian unsigned integer of N bytes.
le() {
  local value=$1 width=$2 i
  for ((i = 0; i < width; i++)); do
    printf "\\$(printf '%03o' $(((value >> (8 * i)) & 255)))"
  done
}

safetensors_seed() {  # FILE JSON DATA_BYTES(printf escapes)
  { le "${#2}" 8; printf '%s' "$2"; printf "$3"; } >"$1"
}

npy_seed() {  # FILE VERSION HEADER DATA_BYTES(printf escapes)
  local width=2
  [ "$2" -gt 1 ] && width=4
  { printf '\x93NUMPY'; printf "\\$(printf '%03o' "$2")\\000"; le "${#3}" "$width"
    printf '%s' "$3"; printf "$4"; } >"$1"
}

gguf_string() {  # TEXT: u64 length + bytes
  le "${#1}" 8; printf '%s' "$1"
}

gguf_seeds() {  # DIR: small GGUF files (metadata of several kinds; F32, F16, Q8_0 tensors)
  { printf 'GGUF'; le 3 4; le 2 8; le 3 8
    gguf_string general.architecture; le 8 4; gguf_string llama
    gguf_string tokenizer.ggml.tokens; le 9 4; le 8 4; le 2 8; gguf_string a; gguf_string bc
    gguf_string llama.block_count; le 4 4; le 1 4
    gguf_string w; le 2 4; le 2 8; le 1 8; le 0 4; le 0 8
    gguf_string q; le 1 4; le 32 8; le 8 4; le 32 8
    printf '\x00%.0s' $(seq 1 16)  # pads the 240-byte header to 256
    printf '\x00\x00\x80\x3f\x00\x00\x00\x40'; printf '\x00%.0s' $(seq 1 24)
    printf '\x00\x38'; printf '\x01\xff%.0s' $(seq 1 16); printf '\x00%.0s' $(seq 1 30)
  } >"$1/f32_q8"
  { printf 'GGUF'; le 2 4; le 1 8; le 2 8
    gguf_string general.alignment; le 4 4; le 16 4
    gguf_string x.nested; le 9 4; le 9 4; le 1 8; le 3 4; le 2 8; le 1 2; le 2 2
    gguf_string h; le 1 4; le 2 8; le 1 4; le 0 8
    printf '\x00%.0s' $(seq 1 6)  # pads the 138-byte header to 144
    printf '\x00\x3c\x00\xc0'; printf '\x00%.0s' $(seq 1 12)
  } >"$1/f16_nested"
}

torch_pickle_seeds() {  # DIR: state-dict pickles over the storages "0".."3" the target provides
  local rebuild='ctorch._utils\n_rebuild_tensor_v2\n'
  { printf '\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00w'
    printf "$rebuild"'((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x06tQ'
    printf 'K\x00K\x02K\x03\x86K\x03K\x01\x86\x89h\x00)RtRu.'; } >"$1/float_2x3"
  { printf '\x80\x02}q\x00(X\x01\x00\x00\x00h'
    printf "$rebuild"'((X\x07\x00\x00\x00storagectorch\nBFloat16Storage\nX\x01\x00\x00\x002X\x03\x00\x00\x00cpuK\x04tQ'
    printf 'K\x01K\x02\x85K\x02\x85\x89}tRX\x01\x00\x00\x00nK\x07u.'; } >"$1/bf16_strided"
}

serve_seeds() {  # DIR: endpoint selector byte, request body, NUL, a document for the automaton
  printf '\000%s\000%s' '{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":5,"temperature":0.5,"top_p":0.9,"stop":["x"],"n":2,"seed":1,"logprobs":true,"top_logprobs":2,"logit_bias":{"5":-3},"stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","properties":{"a":{"type":"string","maxLength":3},"b":{"type":["integer","null"]},"c":{"type":"array","items":{"enum":[1,"x",null]},"maxItems":2},"d":{"type":"boolean"},"e":{"type":"number"}},"required":["a"],"additionalProperties":false}}}}' '{"a":"xy","c":[1,"x"],"e":-1.5e3}' >"$1/chat_schema"
  printf '\000%s\000%s' '{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}' '{"k":[true,{"n":null}],"s":"\u00e9"}' >"$1/chat_object"
  printf '\001%s' '{"prompt":["a",[1,2,3]],"max_tokens":3,"echo":true,"logprobs":2}' >"$1/completion"
  printf '\002%s' '{"input":["a","b"],"encoding_format":"base64","dimensions":4}' >"$1/embedding"
}

write_seeds() {
  local s="$work/seeds/safetensors" n="$work/seeds/npy" g="$work/seeds/gguf" t="$work/seeds/torch_pickle"
  local r="$work/seeds/serve_request"
  mkdir -p "$s" "$n" "$g" "$t" "$r"
  serve_seeds "$r"
  gguf_seeds "$g"
  torch_pickle_seeds "$t"
  safetensors_seed "$s/f32" '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' \
    '\x00\x00\x80\x3f\x00\x00\x00\x40'
  safetensors_seed "$s/mixed" '{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]},"i":{"dtype":"I64","shape":[],"data_offsets":[4,12]},"q":{"dtype":"F8_E4M3","shape":[3],"data_offsets":[12,15]}}' \
    '\x80\x3f\x20\xc0\x07\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03'
  safetensors_seed "$s/empty" '{"e":{"dtype":"F16","shape":[0,4],"data_offsets":[0,0]},"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}   ' '\x09'
  safetensors_seed "$s/all" '{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"c":{"dtype":"F16","shape":[1],"data_offsets":[12,14]},"d":{"dtype":"I8","shape":[2],"data_offsets":[14,16]},"e":{"dtype":"F4","shape":[2],"data_offsets":[16,17]}}' \
    '\x00\x00\x00\x00\x00\x00\xf0\x3f\xff\xff\xff\xff\x00\x3c\x80\x7f\x21'
  npy_seed "$n/f32" 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }          "$'\n' \
    '\x00\x00\x80\x3f\x00\x00\x00\xc0'
  npy_seed "$n/scalar" 2 "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": ()}" \
    '\x00\x00\x00\x00\x00\x00\xf0\x3f'
  npy_seed "$n/bytes" 3 "{'shape': (3L,), 'fortran_order': False, 'descr': '|u1'}" '\x01\x02\x03'
  npy_seed "$n/half" 1 "{'descr': '<f2', 'fortran_order': False, 'shape': (0, 2), }" ''
  npy_seed "$n/ints" 1 "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }" '\x05\x00\x00\x00\x00\x00\x00\x00'
}

write_dictionaries() {
  printf '%s\n' '"dtype"' '"shape"' '"data_offsets"' '"__metadata__"' '"F32"' '"BF16"' '"F16"' \
    '"F64"' '"I64"' '"I32"' '"I8"' '"U8"' '"BOOL"' '"F8_E4M3"' '"F4"' '"[0,"' '"{"' '"}"' \
    >"$work/safetensors.dict"
  printf '%s\n' '"\x93NUMPY"' '"descr"' '"fortran_order"' '"shape"' '"True"' '"False"' \
    '"None"' '"<f4"' '"<f8"' '"<f2"' '"<i4"' '"<i8"' '"|u1"' '"|i1"' '">f4"' '"(1,)"' '"()"' \
    >"$work/npy.dict"
  printf '%s\n' '"GGUF"' '"general.alignment"' '"general.architecture"' '"llama"' \
    '"tokenizer.ggml.tokens"' '"tokenizer.ggml.model"' '"llama.block_count"' \
    '"llama.attention.head_count"' '"\x03\x00\x00\x00"' '"\x09\x00\x00\x00"' \
    '"\x20\x00\x00\x00\x00\x00\x00\x00"' >"$work/gguf.dict"
  printf '%s\n' '"messages"' '"role"' '"content"' '"system"' '"user"' '"assistant"' '"developer"' \
    '"max_tokens"' '"temperature"' '"top_p"' '"stop"' '"seed"' '"logprobs"' '"top_logprobs"' \
    '"logit_bias"' '"response_format"' '"json_schema"' '"json_object"' '"schema"' '"type"' \
    '"properties"' '"required"' '"additionalProperties"' '"items"' '"enum"' '"maxLength"' \
    '"maxItems"' '"minItems"' '"prompt"' '"input"' '"stream"' '"\\u"' '"\\ud83d"' >"$work/serve_request.dict"
}

mkdir -p "$work"
write_seeds
write_dictionaries

shopt -s nullglob
targets=("$build_dir"/fuzz_*)
status=0
ran=0
for exe in "${targets[@]}"; do
  [ -f "$exe" ] && [ -x "$exe" ] || continue
  target=$(basename "$exe")
  format=${target#fuzz_}
  corpus="$work/corpus/$target"
  crashes="$work/crashes/$target"
  log="$work/$target.log"
  mkdir -p "$corpus" "$crashes"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096
        -print_final_stats=1 -artifact_prefix="$crashes/")
  [ -f "$work/$format.dict" ] && args+=(-dict="$work/$format.dict")
  seeds=()
  [ -d "$work/seeds/$format" ] && seeds=("$work/seeds/$format")
  echo "fuzz: $target for ${seconds}s"
  ran=$((ran + 1))
  if "$exe" "${args[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | sed 's/^/  /' || true
  else
    echo "fuzz: $target FAILED; input saved under $crashes; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    status=1
  fi
done

if [ "$ran" -eq 0 ]; then
  echo "fuzz: no fuzz_* executables in $build_dir (build the fuzz_targets target first)" >&2
  exit 1
fi
exit "$status"
