#!/usr/bin/env bash
# TopK SAE training throughput, Tessera (sparse kernels) vs dense PyTorch on the CPU, side by
# side at d = 768, n = 32768, k = 32, batch 4096, 2 threads; then the decoder forward+backward,
# sparse vs dense, at k/n = 1/1000. Medians of N measured steps / repetitions each.
# Usage: bench/compare/sae_torch.sh [path/to/bench_sae] [runs]
set -euo pipefail
bench=${1:-build/release/bench/bench_sae}
runs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

echo "machine: $(lscpu | grep 'Model name' | sed 's/Model name: *//'), $(nproc) cores; threads: 2"
out=$(OMP_NUM_THREADS=2 "$bench" --benchmark_filter='BM_SaeTrainStep|BM_Decoder' \
  --benchmark_repetitions="$runs" --benchmark_report_aggregates_only=true --benchmark_format=json)
median_ms() {  # real_time of the median aggregate of benchmark $1, in ms
  /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print([b["real_time"] for b in d["benchmarks"] if b["name"]==sys.argv[1]+"_median"][0])' "$1" <<<"$out"
}
step_ms=$(median_ms "BM_SaeTrainStep/32768/min_time:3.000/real_time")
sparse_ms=$(median_ms "BM_DecoderSparse/real_time")
dense_ms=$(median_ms "BM_DecoderDense/real_time")
tessera_tps=$(calc "4096 / ($step_ms / 1000)")
echo "tessera: median step $(calc "$step_ms / 1000") s = $tessera_tps tokens/s"
torch_line=$(/usr/bin/python3 "$here/sae_torch.py" --threads 2 --steps "$runs" | tail -1)
echo "$torch_line"
torch_tps=$(sed -E 's/.*= ([0-9.]+) tokens\/s.*/\1/' <<<"$torch_line")
echo "training throughput ratio (tessera / torch dense): $(calc "$tessera_tps / $torch_tps")x"
echo "decoder fwd+bwd at k/n = 32/32768: sparse $(calc "$sparse_ms") ms, dense (OpenBLAS) $(calc "$dense_ms") ms," \
     "ratio $(calc "$dense_ms / $sparse_ms")x"
