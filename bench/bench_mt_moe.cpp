// MoE dispatch overhead: the NLLB top-2 MoE feed-forward (router, grouping per expert, one
// GEMM per expert and projection, weighted scatter back) against a dense FFN with the same
// active parameters per token (experts of half the dense width, two per token). Forward in
// evaluation mode and forward + backward in training mode (capacity 2 * ceil(S / E)).
#include <benchmark/benchmark.h>

#include "tessera/core/autograd.h"
#include "tessera/nn/moe.h"

namespace {

using namespace tessera;

constexpr int64_t kTokens = 2048, kDim = 512, kDenseFfn = 2048;

void BM_DenseFfn(benchmark::State& state) {
  const bool train = state.range(0) != 0;
  Generator gen(1);
  nn::Linear fc1 = nn::Linear::create(kDim, kDenseFfn, true, 0.02, gen),
             fc2 = nn::Linear::create(kDenseFfn, kDim, true, 0.02, gen);
  Tensor x = rand_normal({kTokens, kDim}, 0, 1, gen);
  if (train) {
    fc1.weight.requires_grad_(true);
    fc2.weight.requires_grad_(true);
  }
  for (auto _ : state) {
    if (train) {
      Tensor y = fc2.forward(relu(fc1.forward(x)));
      sum(y).backward();
      fc1.weight.zero_grad();
      fc2.weight.zero_grad();
    } else {
      NoGrad no_grad;
      benchmark::DoNotOptimize(fc2.forward(relu(fc1.forward(x))));
    }
  }
  state.counters["tokens_per_second"] = benchmark::Counter(
      static_cast<double>(kTokens * state.iterations()), benchmark::Counter::kIsRate);
}

void BM_MoeFfn(benchmark::State& state) {
  const bool train = state.range(0) != 0;
  const int64_t experts = state.range(1);
  Generator gen(1);
  nn::MoeConfig config;
  config.num_experts = experts;
  nn::MoeFfn moe = nn::MoeFfn::create(kDim, kDenseFfn / 2, config, false, 0.02, gen);
  Tensor x = rand_normal({kTokens, kDim}, 0, 1, gen);
  nn::ParameterRefs refs;
  moe.parameters("", refs);
  if (train)
    for (auto& [name, t] : refs) t->requires_grad_(true);
  for (auto _ : state) {
    if (train) {
      nn::MoeOutput out = moe.forward(x, true, &gen);
      add(sum(out.y), out.aux_loss).backward();
      for (auto& [name, t] : refs) t->zero_grad();
    } else {
      NoGrad no_grad;
      benchmark::DoNotOptimize(moe.forward(x, false).y);
    }
  }
  state.counters["tokens_per_second"] = benchmark::Counter(
      static_cast<double>(kTokens * state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_DenseFfn)
    ->ArgNames({"train"})
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_MoeFfn)
    ->ArgNames({"train", "experts"})
    ->Args({0, 8})
    ->Args({1, 8})
    ->Args({0, 32})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
