// The ceiling on training throughput that dense GEMM alone sets on this machine: one training
// step of bench/compare/llama_10m.json (hidden 384, 6 layers, SwiGLU 1024, tied 4096-token
// head, batch 8 x 256 tokens) performs, for every linear layer, the forward product and the two
// backward products (input and weight gradients). This times exactly those OpenBLAS calls
// back to back and reports tokens/s as if a step were nothing else: attention, norms,
// activations, cross-entropy and the optimizer all come on top, in any framework that uses
// the same BLAS. docs/BENCHMARKS.md compares this ceiling with tessera and PyTorch.
#include <benchmark/benchmark.h>

#include <vector>

#include "tessera/core/parallel.h"
#include "tessera/kernels/cpu/gemm.h"

namespace {

struct LinearShape {
  int64_t in, out, count;  // count: how many such layers per step
};

void BM_TrainingStepGemms(benchmark::State& state) {
  const int64_t tokens = 8 * 256, hidden = 384, ffn = 1024, vocab = 4096, layers = 6;
  const std::vector<LinearShape> shapes = {
      {hidden, hidden, 4 * layers},  // q, k, v, o
      {hidden, ffn, 2 * layers},     // gate, up
      {ffn, hidden, layers},         // down
      {hidden, vocab, 1},            // tied lm_head
  };
  tessera::set_num_threads(static_cast<int>(state.range(0)));
  int64_t max_in = ffn, max_out = vocab;
  std::vector<float> x(tokens * max_in, 0.01f), w(max_out * max_in, 0.02f), y(tokens * max_out, 0.0f);
  std::vector<float> dy(tokens * max_out, 0.03f), dx(tokens * max_in), dw(max_out * max_in);
  double flops = 0;
  for (const auto& s : shapes) flops += 3.0 * 2.0 * tokens * s.in * s.out * s.count;
  using tessera::kernels::gemm;
  for (auto _ : state) {
    for (const auto& s : shapes) {
      for (int64_t i = 0; i < s.count; ++i) {
        // y = x W^T; dx = dy W; dW = dy^T x (accumulated, as gradients are).
        gemm<float>(false, true, tokens, s.out, s.in, 1.0f, x.data(), s.in, w.data(), s.in, 0.0f, y.data(), s.out);
        gemm<float>(false, false, tokens, s.in, s.out, 1.0f, dy.data(), s.out, w.data(), s.in, 0.0f, dx.data(), s.in);
        gemm<float>(true, false, s.out, s.in, tokens, 1.0f, dy.data(), s.out, x.data(), s.in, 1.0f, dw.data(), s.in);
      }
    }
    benchmark::ClobberMemory();
  }
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP_per_s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TrainingStepGemms)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
