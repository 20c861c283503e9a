// Mamba-2's SSM in its three forms (kernels/cpu/ssd.h) at the 130m model's head shape (24 heads,
// head_dim 64, state 128, one group), f32, batch 1: the recurrence (a), the chunked SSD (b) at
// chunk 64/128/256, the quadratic form (c) up to L = 4096. Arguments: L, and the chunk for (b).
// Threads: the OpenMP default (OMP_NUM_THREADS). Items processed = tokens, so the rate column
// reads as tokens/s of one layer's SSM.
//
//   OMP_NUM_THREADS=1 bench_ssd --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "tessera/kernels/cpu/ssd.h"

namespace {

using namespace tessera::kernels;

struct Inputs {
  SsdShape shape;
  std::vector<float> x, dt, A, B, C, D, y, final_state;
  explicit Inputs(int64_t L) : shape{1, L, 24, 64, 1, 128} {
    std::mt19937 rng(7);
    auto fill = [&](std::vector<float>& v, int64_t n, float lo, float hi) {
      std::uniform_real_distribution<float> dist(lo, hi);
      v.resize(static_cast<size_t>(n));
      for (auto& e : v) e = dist(rng);
    };
    fill(x, L * 24 * 64, -1, 1);
    fill(dt, L * 24, 0.001f, 0.1f);
    fill(A, 24, -16, -1);
    fill(D, 24, 0, 1);
    fill(B, L * 128, -1, 1);
    fill(C, L * 128, -1, 1);
    y.resize(x.size());
    final_state.resize(static_cast<size_t>(shape.state_elements()));
  }
};

void BM_SsdSequential(benchmark::State& state) {
  Inputs in(state.range(0));
  for (auto _ : state) {
    ssd_sequential<float>(in.shape, in.x.data(), in.dt.data(), in.A.data(), in.B.data(),
                          in.C.data(), in.D.data(), nullptr, in.final_state.data(), in.y.data());
    benchmark::DoNotOptimize(in.y.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_SsdChunked(benchmark::State& state) {
  Inputs in(state.range(0));
  for (auto _ : state) {
    ssd_chunked<float>(in.shape, state.range(1), in.x.data(), in.dt.data(), in.A.data(),
                       in.B.data(), in.C.data(), in.D.data(), nullptr, in.final_state.data(),
                       in.y.data());
    benchmark::DoNotOptimize(in.y.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_SsdQuadratic(benchmark::State& state) {
  Inputs in(state.range(0));
  for (auto _ : state) {
    ssd_quadratic<float>(in.shape, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(),
                         in.D.data(), nullptr, in.final_state.data(), in.y.data());
    benchmark::DoNotOptimize(in.y.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_SsdSequential)
    ->Arg(512)
    ->Arg(2048)
    ->Arg(8192)
    ->Arg(16384)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SsdChunked)
    ->ArgsProduct({{512, 2048, 8192, 16384}, {64, 128, 256}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SsdQuadratic)->Arg(512)->Arg(2048)->Arg(4096)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
