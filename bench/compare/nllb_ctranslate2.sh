#!/usr/bin/env bash
# NLLB translation throughput, Tessera vs CTranslate2 on the same weights (issue #11).
#
#   bench/compare/nllb_ctranslate2.sh [TESSERA_BIN] [MODEL_DIR]
#
# What it measures: target tokens/s of beam-search translation (beam 4, batch 32) of 32 fixed
# random sources (a language token, 24 random ids, </s>; seed 11) on an m2m_100 model shaped like
# nllb-200-distilled-600M with random weights, f32 and int8, at 1 and 2 threads. Each engine
# warms up once and reports the median of 5 timed runs; the two run alternately per setting.
# Decoding length rule: both start the decoder from </s> (decoder_start_token_id 2) and produce
# exactly LENGTH (24) target tokens per sentence: Tessera's `bench translate --length L` and
# CTranslate2's min_decoding_length = max_decoding_length = L both ban EOS until L tokens and
# stop every hypothesis there, so neither side can stop early on random weights. int8 means each
# engine's own int8 mode on the same f32 checkpoint: Tessera's --int8 (per-row int8 weights) and
# CTranslate2's compute_type int8 (quantized on load, per-row scales, int8 GEMM through ruy).
#
# Before any timing, correctness: for CHECK_SENTENCES sources, CTranslate2's greedy output (beam 1,
# 8 tokens) is scored by both engines (CTranslate2 score_batch vs log_softmax of `tessera forward`
# decoder logits): the per-token log-probs must agree within TOL, and Tessera's teacher-forced
# argmax (EOS excluded, as the min length bans it) must reproduce CTranslate2's greedy tokens.
#
# Inputs: MODEL_DIR (default $TMPDIR/tessera_nllb_600m) is written with `tessera init
# --model-type m2m_100 --preset $PRESET` when missing; it is converted with ct2_from_m2m100.py into
# $WORK/ct2_model and the driver ct2_translate.cpp is compiled into $WORK (default MODEL_DIR.ct2).
# Environment: CT2_PREFIX (/work/ext/ctranslate2/install), CT2_INT8_PREFIX (the install timed for
# int8, default CT2_PREFIX), PYTHON (/usr/bin/python3, numpy only), PRESET (600m), LENGTH (24),
# BEAM (4), BATCH (32), REPEATS (5), THREADS ("1 2"; "" runs only the check), TYPES ("f32 int8"),
# TOL (2e-4), CHECK_SENTENCES (2), CXX (g++).
#
# How CTranslate2 was built beside the project (never committed; v4.8.1, commit 0d8bcd36, with its
# submodules cpu_features, ruy (+ its cpuinfo), spdlog, cxxopts at the pinned commits):
#   cmake -S /work/ext/ctranslate2/src -B /work/ext/ctranslate2/build -G Ninja \
#     -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/work/ext/ctranslate2/install \
#     -DWITH_MKL=OFF -DWITH_OPENBLAS=ON -DWITH_RUY=ON -DWITH_DNNL=OFF -DOPENMP_RUNTIME=COMP \
#     -DBUILD_CLI=OFF -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
#   cmake --build /work/ext/ctranslate2/build -j2 && cmake --install /work/ext/ctranslate2/build
# f32 GEMM is OpenBLAS (the Debian OpenMP build Tessera links), int8 GEMM ruy, OpenMP GNU's.
# ruy has no VNNI kernels, so a second build gives CTranslate2 its stronger x86 int8 path, oneDNN
# (Debian libdnnl-dev 2.6.3, GNU OpenMP; installed locally, not a project dependency). It is
# only used for int8 (CT2_INT8_PREFIX), because CTranslate2 also routes f32 GEMM to oneDNN when
# it is built in:
#   cmake ... -B /work/ext/ctranslate2/build-dnnl \
#     -DCMAKE_INSTALL_PREFIX=/work/ext/ctranslate2/install-dnnl \
#     -DWITH_MKL=OFF -DWITH_DNNL=ON -DWITH_OPENBLAS=OFF -DWITH_RUY=OFF (other options as above)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tessera=${1:-build/release/tessera}
model_dir=${2:-${TMPDIR:-/tmp}/tessera_nllb_600m}
ct2_prefix=${CT2_PREFIX:-/work/ext/ctranslate2/install}
ct2_int8_prefix=${CT2_INT8_PREFIX:-$ct2_prefix}
python=${PYTHON:-/usr/bin/python3}
preset=${PRESET:-600m}
length=${LENGTH:-24}
beam=${BEAM:-4}
batch=${BATCH:-32}
repeats=${REPEATS:-5}
threads_list=${THREADS-1 2}  # THREADS="" runs the correctness check only
types=${TYPES:-f32 int8}
tol=${TOL:-2e-4}
check_sentences=${CHECK_SENTENCES:-2}
work=${WORK:-${model_dir%/}.ct2}
cxx=${CXX:-g++}

die() { echo "nllb_ctranslate2.sh: $*" >&2; exit 2; }
[[ -x $tessera ]] || die "Tessera binary $tessera not found (first argument)"
[[ -f $ct2_prefix/include/ctranslate2/translator.h ]] ||
  die "no CTranslate2 install at $ct2_prefix (set CT2_PREFIX; see the build line above)"
"$python" -c "import numpy" 2>/dev/null || die "$python cannot import numpy (set PYTHON)"
mkdir -p "$work"

# One driver per CTranslate2 install (the int8 runs may use another build, see CT2_INT8_PREFIX).
build_driver() {  # PREFIX OUTPUT
  if [[ ! -x $2 || $script_dir/ct2_translate.cpp -nt $2 || $1/lib/libctranslate2.so -nt $2 ]]; then
    echo "== compiling $2 against $1"
    "$cxx" -O2 -std=c++17 "$script_dir/ct2_translate.cpp" -I"$1/include" \
      -L"$1/lib" -lctranslate2 -Wl,-rpath,"$1/lib" -o "$2"
  fi
}
driver=$work/ct2_translate
build_driver "$ct2_prefix" "$driver"
int8_driver=$driver
if [[ $ct2_int8_prefix != "$ct2_prefix" ]]; then
  [[ -f $ct2_int8_prefix/include/ctranslate2/translator.h ]] ||
    die "no CTranslate2 install at CT2_INT8_PREFIX=$ct2_int8_prefix"
  int8_driver=$work/ct2_translate_int8
  build_driver "$ct2_int8_prefix" "$int8_driver"
fi

if [[ ! -f $model_dir/model.safetensors ]]; then
  echo "== writing a random $preset m2m_100 model into $model_dir"
  "$tessera" init --model-type m2m_100 --preset "$preset" --out "$model_dir"
fi
ct2_model=$work/ct2_model
if [[ ! -f $ct2_model/model.bin || $model_dir/model.safetensors -nt $ct2_model/model.bin ||
      $script_dir/ct2_from_m2m100.py -nt $ct2_model/model.bin ]]; then
  echo "== converting to CTranslate2 in $ct2_model"
  rm -rf "$ct2_model"
  "$python" "$script_dir/ct2_from_m2m100.py" "$model_dir" "$ct2_model"
fi

# Sources: a language token (eng_Latn's id in NLLB's vocabulary when it fits), 24 random ids
# above the special tokens, </s>.
sources=$work/sources.txt
"$python" - "$model_dir/config.json" "$sources" "$batch" <<'EOF'
import json, sys
import numpy as np
config = json.load(open(sys.argv[1]))
vocab, eos = config["vocab_size"], config.get("eos_token_id", 2)
language = 256047 if vocab > 256047 else vocab - 1
rng = np.random.default_rng(11)
with open(sys.argv[2], "w") as f:
    for _ in range(int(sys.argv[3])):
        ids = [language] + rng.integers(4, vocab, 24).tolist() + [eos]
        f.write(" ".join(map(str, ids)) + "\n")
EOF

echo "== correctness: CTranslate2 vs Tessera on $check_sentences source(s), f32"
check_len=8
head -n "$check_sentences" "$sources" > "$work/check_sources.txt"
"$driver" translate "$ct2_model" "$work/check_sources.txt" --beam 1 --batch 1 --length $check_len \
  --print > "$work/check_greedy.txt"
n=0
while IFS= read -r source <&3 && IFS= read -r greedy <&4; do
  n=$((n + 1))
  # Two targets: the greedy tokens, and arbitrary ones (the source's own ids) off the greedy path.
  arbitrary=$(cut -d' ' -f2-$((check_len + 1)) <<< "$source")
  printf '%s\n%s\n' "$greedy" "$arbitrary" > "$work/check_targets_$n.txt"
  for k in 1 2; do
    target=$(sed -n "${k}p" "$work/check_targets_$n.txt")
    "$driver" score "$ct2_model" --source "$source" --target "$target" > "$work/check_ct2_${n}_$k.txt"
    "$tessera" forward --model "$model_dir" --ids "$source" --decoder-ids "2 $target" \
      --out "$work/check_tessera_${n}_$k.npy" > /dev/null
  done
done 3< "$work/check_sources.txt" 4< "$work/check_greedy.txt"
"$python" - "$work" "$n" "$tol" <<'EOF'
import sys
import numpy as np
work, count, tol = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
worst, agree, total = 0.0, 0, 0
for n in range(1, count + 1):
    targets = [[int(t) for t in line.split()] for line in open(f"{work}/check_targets_{n}.txt")]
    for k, target in enumerate(targets, start=1):
        ct2 = np.array([float(line.split()[1]) for line in open(f"{work}/check_ct2_{n}_{k}.txt")])
        logits = np.load(f"{work}/check_tessera_{n}_{k}.npy").astype(np.float64)
        log_probs = logits - logits.max(axis=1, keepdims=True)
        log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
        scored = target + [2]  # score_batch appends </s>
        ours = log_probs[np.arange(len(scored)), scored]
        if ct2.shape != ours.shape:
            sys.exit(f"sentence {n}: CTranslate2 scored {ct2.size} tokens, Tessera {ours.size}")
        worst = max(worst, float(np.abs(ct2 - ours).max()))
        if k == 1:  # the greedy target
            banned = log_probs[: len(target)].copy()
            banned[:, 2] = -np.inf  # EOS is banned while the minimum length is not reached
            agree += int((banned.argmax(axis=1) == np.array(target)).sum())
            total += len(target)
print(f"max |log-prob difference| {worst:.2e} over {count} sentence(s) x 2 targets (tolerance {tol:g}); "
      f"Tessera's argmax matches CTranslate2's greedy tokens {agree}/{total}")
if worst > tol or agree != total:
    sys.exit("correctness check FAILED: no timing")
EOF

lscpu | grep 'Model name' || true
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $batch sentences, beam $beam, batch $batch, $length target tokens each, median of $repeats"
echo "CTranslate2 f32: $ct2_prefix; int8: $ct2_int8_prefix"
results=$work/results.txt
: > "$results"
for threads in $threads_list; do
  for type in $types; do
    tessera_flags=() ct2_type=float32 ct2_driver=$driver
    if [[ $type == int8 ]]; then tessera_flags=(--int8) ct2_type=int8 ct2_driver=$int8_driver; fi
    tessera_rate=$(OMP_NUM_THREADS=$threads "$tessera" --threads "$threads" bench translate \
      --model "$model_dir" --sources "$sources" --beam "$beam" --batch "$batch" --length "$length" \
      --repeats "$repeats" --json "${tessera_flags[@]}" |
      "$python" -c 'import json, sys; print(json.load(sys.stdin)["tokens_per_s"])')
    ct2_line=$(OMP_NUM_THREADS=$threads "$ct2_driver" translate "$ct2_model" "$sources" --beam "$beam" \
      --batch "$batch" --length "$length" --compute "$ct2_type" --threads "$threads" \
      --repeats "$repeats")
    ct2_rate=$(sed -E 's/.* ([0-9.]+) target tokens\/s$/\1/' <<< "$ct2_line")
    echo "$threads $type $tessera_rate $ct2_rate" | tee -a "$results"
  done
done
echo
"$python" - "$results" <<'EOF'
import sys
print(f"{'threads':>7}  {'type':>4}  {'tessera tok/s':>13}  {'ct2 tok/s':>10}  {'ratio':>6}")
for line in open(sys.argv[1]):
    threads, kind, ours, theirs = line.split()
    print(f"{threads:>7}  {kind:>4}  {float(ours):>13.1f}  {float(theirs):>10.1f}  "
          f"{float(ours) / float(theirs):>6.2f}")
EOF
