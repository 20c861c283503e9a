// Ternary products (kernels/cpu/ternary.h) against OpenBLAS on the same weight shapes: the
// 2-bit kernel per ISA (argument 2: 0 = avx2, 1 = avx512), the base-3 lookup kernel, and
// cblas_sgemv (batch 1) / cblas_sgemm (batch > 1) on the f32 copy of the same weights.
// Arguments: rows (out), cols (in), batch. Items processed = weights * batch.
//
//   bench_ternary --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <random>
#include <vector>

#include "tessera/kernels/cpu/dispatch.h"
#include "tessera/kernels/cpu/ternary.h"

namespace {

using namespace tessera::kernels;

struct Problem {
  int64_t rows, cols, batch;
  std::vector<int8_t> trits, x2, x3;
  std::vector<float> dense, xf, yf;
  std::vector<int32_t> y;
  Problem(int64_t r, int64_t c, int64_t b) : rows(r), cols(c), batch(b) {
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> trit(-1, 1), act(-127, 127);
    trits.resize(static_cast<size_t>(r * c));
    dense.resize(trits.size());
    for (size_t i = 0; i < trits.size(); ++i) {
      trits[i] = static_cast<int8_t>(trit(rng));
      dense[i] = static_cast<float>(trits[i]);
    }
    const int64_t padded = ternary2_padded_cols(c);
    x2.assign(static_cast<size_t>(b * padded), 0);
    x3.resize(static_cast<size_t>(b * c));
    xf.resize(x3.size());
    for (int64_t n = 0; n < b; ++n) {
      for (int64_t k = 0; k < c; ++k) {
        const int8_t v = static_cast<int8_t>(act(rng));
        x2[n * padded + k] = x3[n * c + k] = v;
        xf[n * c + k] = v;
      }
    }
    y.resize(static_cast<size_t>(b * r));
    yf.resize(y.size());
  }
};

void BM_Ternary2(benchmark::State& state) {
  Problem p(state.range(0), state.range(1), state.range(2));
  set_isa(state.range(3) ? Isa::avx512 : Isa::avx2);
  if (state.range(3) && active_isa() != Isa::avx512) {
    state.SkipWithError("no AVX-512");
    return;
  }
  std::vector<uint8_t> packed(static_cast<size_t>(p.rows * ternary2_row_bytes(p.cols)));
  pack_ternary2(p.trits.data(), p.rows, p.cols, packed.data());
  for (auto _ : state) {
    ternary2_gemm(packed.data(), p.rows, p.cols, p.x2.data(), p.batch, p.y.data());
    benchmark::DoNotOptimize(p.y.data());
  }
  state.SetItemsProcessed(state.iterations() * p.rows * p.cols * p.batch);
}

void BM_Ternary3(benchmark::State& state) {
  Problem p(state.range(0), state.range(1), state.range(2));
  std::vector<uint8_t> packed(static_cast<size_t>(p.rows * ternary3_row_bytes(p.cols)));
  pack_ternary3(p.trits.data(), p.rows, p.cols, packed.data());
  for (auto _ : state) {
    ternary3_gemm(packed.data(), p.rows, p.cols, p.x3.data(), p.batch, p.y.data());
    benchmark::DoNotOptimize(p.y.data());
  }
  state.SetItemsProcessed(state.iterations() * p.rows * p.cols * p.batch);
}

void BM_OpenBlas(benchmark::State& state) {
  Problem p(state.range(0), state.range(1), state.range(2));
  const int M = static_cast<int>(p.rows), K = static_cast<int>(p.cols),
            N = static_cast<int>(p.batch);
  for (auto _ : state) {
    if (N == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, M, K, 1.0f, p.dense.data(), K, p.xf.data(), 1, 0.0f,
                  p.yf.data(), 1);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, K, 1.0f, p.xf.data(), K,
                  p.dense.data(), K, 0.0f, p.yf.data(), M);
    }
    benchmark::DoNotOptimize(p.yf.data());
  }
  state.SetItemsProcessed(state.iterations() * p.rows * p.cols * p.batch);
}

void shapes(benchmark::internal::Benchmark* b, bool with_isa) {
  for (auto [r, c] : {std::pair{2048, 2048}, std::pair{5632, 2048}, std::pair{2048, 5632}}) {
    for (int batch : {1, 8}) {
      if (with_isa) {
        b->Args({r, c, batch, 0})->Args({r, c, batch, 1});
      } else {
        b->Args({r, c, batch});
      }
    }
  }
}

BENCHMARK(BM_Ternary2)->Apply([](auto* b) { shapes(b, true); }) -> Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Ternary3)->Apply([](auto* b) { shapes(b, false); }) -> Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OpenBlas)->Apply([](auto* b) { shapes(b, false); }) -> Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
