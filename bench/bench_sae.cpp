// TopK SAE benchmarks (issue #10, docs/sae.md):
//  - BM_SaeTrainStep: one full training step (fused encoder + top-k, sparse decoder, sparse
//    backward, Adam on every parameter, decoder renormalisation) at the paper-scale setting
//    d = 768, n = 32768, k = 32, batch 4096. items_per_second = training tokens/s; compare with
//    bench/compare/sae_torch.py (dense PyTorch, same model and loss) via sae_torch.sh.
//  - BM_DecoderSparse / BM_DecoderDense: decoder forward + backward (x_hat, dL/dz at the active
//    slots or all latents, dL/dW_dec) at k/n = 1/1000 (n = 32768, k = 32 ~ 1/1024): the sparse
//    kernels against the dense formula with OpenBLAS GEMMs.
// Threads: OMP_NUM_THREADS (the compare script pins 2).
//
//   OMP_NUM_THREADS=2 bench_sae --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <omp.h>

#include <random>
#include <vector>

#include "tessera/interp/sae_train.h"
#include "tessera/kernels/cpu/gemm.h"
#include "tessera/kernels/cpu/topk_sae.h"

namespace {

using namespace tessera;

std::vector<float> random_rows(int64_t rows, int64_t d, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(rows * d));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& x : v) x = normal(rng);
  return v;
}

void BM_SaeTrainStep(benchmark::State& state) {
  const int64_t d = 768, n = state.range(0), k = 32, batch = 4096;
  interp::MemoryActivations data(random_rows(4 * batch, d, 1), d);
  interp::SaeTrainer trainer(data, {.latents = n, .k = k, .batch = batch, .median_sample = 1024});
  trainer.start();
  trainer.step();  // warm-up: first-touch of Adam state and buffers
  for (auto _ : state) trainer.step();
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["threads"] = omp_get_max_threads();
}
BENCHMARK(BM_SaeTrainStep)->Arg(32768)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

struct DecoderProblem {
  int64_t rows = 4096, d = 768, n = 32768, k = 32;
  std::vector<float> W = random_rows(n, d, 2), grad_out = random_rows(rows, d, 3);
  std::vector<int32_t> indices;
  std::vector<float> values;
  DecoderProblem() {
    std::mt19937 rng(4);
    indices.resize(rows * k);
    values.resize(rows * k);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < k; ++j) {
        indices[r * k + j] = static_cast<int32_t>((rng() % (n / k)) * k + j);  // distinct per row
        values[r * k + j] = 0.1f + static_cast<float>(rng() % 1000) / 1000.0f;
      }
    }
  }
};

void BM_DecoderSparse(benchmark::State& state) {
  DecoderProblem p;
  std::vector<float> out(p.rows * p.d), grad_values(p.rows * p.k), grad_W(p.n * p.d, 0.0f);
  for (auto _ : state) {
    kernels::topk_sae_decode(p.indices.data(), p.values.data(), p.rows, p.k, p.W.data(), p.d,
                             out.data());
    kernels::topk_sae_decode_grad_values(p.indices.data(), p.rows, p.k, p.W.data(), p.d,
                                         p.grad_out.data(), grad_values.data());
    kernels::sparse_transpose_matmul(p.indices.data(), p.values.data(), p.rows, p.k,
                                     p.grad_out.data(), p.d, p.n, grad_W.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(grad_W.data());
  }
  state.SetItemsProcessed(state.iterations() * p.rows);
  state.counters["threads"] = omp_get_max_threads();
}
BENCHMARK(BM_DecoderSparse)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_DecoderDense(benchmark::State& state) {
  DecoderProblem p;
  std::vector<float> z(p.rows * p.n, 0.0f), out(p.rows * p.d), grad_z(p.rows * p.n),
      grad_W(p.n * p.d);
  for (int64_t s = 0; s < p.rows * p.k; ++s) z[(s / p.k) * p.n + p.indices[s]] = p.values[s];
  for (auto _ : state) {
    // x_hat = z W; dz = g W^T; dW = z^T g: the dense formula a framework without sparse
    // kernels runs.
    kernels::gemm<float>(false, false, p.rows, p.d, p.n, 1.0f, z.data(), p.n, p.W.data(), p.d, 0.0f,
                         out.data(), p.d);
    kernels::gemm<float>(false, true, p.rows, p.n, p.d, 1.0f, p.grad_out.data(), p.d, p.W.data(),
                         p.d, 0.0f, grad_z.data(), p.n);
    kernels::gemm<float>(true, false, p.n, p.d, p.rows, 1.0f, z.data(), p.n, p.grad_out.data(), p.d,
                         0.0f, grad_W.data(), p.d);
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(grad_W.data());
  }
  state.SetItemsProcessed(state.iterations() * p.rows);
  state.counters["threads"] = omp_get_max_threads();
}
BENCHMARK(BM_DecoderDense)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
