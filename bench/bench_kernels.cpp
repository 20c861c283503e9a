// Memory-bound CPU kernels on 64 MB f32 buffers, AVX2 vs AVX-512 (the benchmark argument:
// 0 = avx2, 1 = avx512), against memcpy of the same bytes as the bandwidth baseline.
// Bytes processed count every byte read plus every byte written, so GB/s is comparable with
// the memcpy rows. Threads: the OpenMP default (OMP_NUM_THREADS), shown as the "threads" counter.
//
//   bench_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <vector>

#include "tessera/kernels/cpu/dispatch.h"
#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/nn.h"
#include "tessera/kernels/cpu/reduce.h"

namespace {

using namespace tessera::kernels;

constexpr int64_t kElements = int64_t{64} << 20 >> 2;  // 64 MB of f32
constexpr int64_t kRowLength = 4096;                   // rows for softmax and the norms
constexpr int64_t kRows = kElements / kRowLength;

std::vector<float> random_buffer(uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(kElements));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Buffers shared by all benchmarks (allocated and faulted in once).
struct Buffers {
  std::vector<float> x = random_buffer(1), b = random_buffer(2), y = random_buffer(3);
  std::vector<float> weight = std::vector<float>(kRowLength, 1.25f);
  std::vector<float> bias = std::vector<float>(kRowLength, 0.5f);
  std::vector<float> stats = std::vector<float>(kRows), stats2 = std::vector<float>(kRows);
};
Buffers& buffers() {
  static Buffers instance;
  return instance;
}

// Selects the ISA of the benchmark's argument; false (and a skip) when the CPU lacks it.
bool select_isa(benchmark::State& state) {
  const Isa isa = state.range(0) == 1 ? Isa::avx512 : Isa::avx2;
  set_isa(isa);
  if (active_isa() != isa) {
    state.SkipWithError("CPU has no AVX-512");
    return false;
  }
  state.SetLabel(isa_name(isa));
  return true;
}

void finish(benchmark::State& state, int64_t bytes_per_iteration) {
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
  state.counters["threads"] = omp_get_max_threads();
}

constexpr int64_t kBufferBytes = kElements * 4;

void BM_memcpy(benchmark::State& state) {
  auto& buf = buffers();
  for (auto _ : state) {
    std::memcpy(buf.y.data(), buf.x.data(), static_cast<size_t>(kBufferBytes));
    benchmark::ClobberMemory();
  }
  state.SetLabel("1 thread");
  state.SetBytesProcessed(state.iterations() * 2 * kBufferBytes);
}

// memcpy split over the OpenMP threads in the same chunks the kernels use: the bandwidth the
// threaded kernels can hope for.
void BM_memcpy_parallel(benchmark::State& state) {
  auto& buf = buffers();
  constexpr int64_t kChunk = int64_t{1} << 16;
  for (auto _ : state) {
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < kElements / kChunk; ++c) {
      std::memcpy(buf.y.data() + c * kChunk, buf.x.data() + c * kChunk, kChunk * sizeof(float));
    }
    benchmark::ClobberMemory();
  }
  finish(state, 2 * kBufferBytes);
}

void run_unary(benchmark::State& state, UnaryOp op) {
  if (!select_isa(state)) return;
  auto& buf = buffers();
  for (auto _ : state) {
    unary(op, buf.x.data(), buf.y.data(), kElements);
    benchmark::ClobberMemory();
  }
  finish(state, 2 * kBufferBytes);
}
void BM_unary_exp(benchmark::State& state) {
  run_unary(state, UnaryOp::exp);
}
void BM_unary_silu(benchmark::State& state) {
  run_unary(state, UnaryOp::silu);
}
void BM_unary_gelu_tanh(benchmark::State& state) {
  run_unary(state, UnaryOp::gelu_tanh);
}
void BM_unary_gelu_erf(benchmark::State& state) {
  run_unary(state, UnaryOp::gelu_erf);
}

void BM_binary_add(benchmark::State& state) {
  if (!select_isa(state)) return;
  auto& buf = buffers();
  const int64_t shape[1] = {kElements}, unit[1] = {1};
  for (auto _ : state) {
    binary(BinaryOp::add, buf.x.data(), unit, buf.b.data(), unit, buf.y.data(), shape, 1);
    benchmark::ClobberMemory();
  }
  finish(state, 3 * kBufferBytes);
}

void BM_softmax_rows(benchmark::State& state) {
  if (!select_isa(state)) return;
  auto& buf = buffers();
  for (auto _ : state) {
    softmax_rows(buf.x.data(), buf.y.data(), kRows, kRowLength);
    benchmark::ClobberMemory();
  }
  finish(state, 2 * kBufferBytes);
}

void BM_rms_norm_forward(benchmark::State& state) {
  if (!select_isa(state)) return;
  auto& buf = buffers();
  for (auto _ : state) {
    rms_norm_forward(buf.x.data(), buf.weight.data(), buf.y.data(), buf.stats.data(), kRows,
                     kRowLength, 1e-6f);
    benchmark::ClobberMemory();
  }
  finish(state, 2 * kBufferBytes);
}

void BM_layer_norm_forward(benchmark::State& state) {
  if (!select_isa(state)) return;
  auto& buf = buffers();
  for (auto _ : state) {
    layer_norm_forward(buf.x.data(), buf.weight.data(), buf.bias.data(), buf.y.data(),
                       buf.stats.data(), buf.stats2.data(), kRows, kRowLength, 1e-5f);
    benchmark::ClobberMemory();
  }
  finish(state, 2 * kBufferBytes);
}

}  // namespace

// Timing: with one OpenMP thread the CPU time of the benchmark thread is the cost, and it is
// what we report (it excludes time the scheduler gives to other processes on a shared machine);
// with several threads the wall-clock time is the only honest measure, so real time is used.
int main(int argc, char** argv) {
  const bool real_time = omp_get_max_threads() > 1;
  auto add = [&](const char* name, void (*fn)(benchmark::State&), bool per_isa) {
    auto* b = benchmark::RegisterBenchmark(name, fn)->Unit(benchmark::kMillisecond);
    if (per_isa) b->ArgName("avx512")->Arg(0)->Arg(1);
    if (real_time) b->UseRealTime();
  };
  add("BM_memcpy", BM_memcpy, false);
  add("BM_memcpy_parallel", BM_memcpy_parallel, false);
  add("BM_unary_exp", BM_unary_exp, true);
  add("BM_unary_silu", BM_unary_silu, true);
  add("BM_unary_gelu_tanh", BM_unary_gelu_tanh, true);
  add("BM_unary_gelu_erf", BM_unary_gelu_erf, true);
  add("BM_binary_add", BM_binary_add, true);
  add("BM_softmax_rows", BM_softmax_rows, true);
  add("BM_rms_norm_forward", BM_rms_norm_forward, true);
  add("BM_layer_norm_forward", BM_layer_norm_forward, true);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
