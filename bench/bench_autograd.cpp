// Autograd overhead: one training step (forward, backward, AdamW) of a 4-layer MLP, large
// (d=1024, batch 64) and tiny (d=64, batch 8). bench/compare/torch_mlp.py runs the same model
// in PyTorch with the same thread count; docs/BENCHMARKS.md records both.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "tessera/core/ops.h"
#include "tessera/core/optim.h"
#include "tessera/core/parallel.h"
#include "tessera/core/rng.h"

namespace tessera {
namespace {

struct Mlp {
  std::vector<Tensor> weights, biases;
  std::vector<NamedParameter> params;
  Mlp(int64_t d, int layers, Generator& gen) {
    for (int i = 0; i < layers; ++i) {
      Tensor w = rand_normal({d, d}, 0.0, 1.0 / std::sqrt(static_cast<double>(d)), gen);
      Tensor b = Tensor::zeros({d});
      w.requires_grad_(true);
      b.requires_grad_(true);
      weights.push_back(w);
      biases.push_back(b);
      params.push_back({fmt::format("w{}", i), w, true});
      params.push_back({fmt::format("b{}", i), b, false});
    }
  }
  Tensor forward(const Tensor& x) const {
    Tensor h = x;
    for (size_t i = 0; i < weights.size(); ++i) {
      h = linear(h, weights[i], biases[i]);
      if (i + 1 < weights.size()) h = relu(h);
    }
    return h;
  }
};

void BM_MlpTrainStep(benchmark::State& state) {
  const int64_t d = state.range(0), batch = state.range(1);
  Generator gen(0);
  Mlp mlp(d, 4, gen);
  AdamW opt(mlp.params);
  Tensor x = rand_normal({batch, d}, 0, 1, gen);
  Tensor target = randint({batch}, 0, d, gen);
  for (auto _ : state) {
    opt.zero_grad();
    Tensor loss = cross_entropy(mlp.forward(x), target);
    loss.backward();
    opt.step(1e-3);
    benchmark::DoNotOptimize(loss.raw_data());
  }
  state.SetItemsProcessed(state.iterations() * batch);  // rows ("tokens") per second
  state.counters["threads"] = num_threads();
}
BENCHMARK(BM_MlpTrainStep)->Args({1024, 64})->Args({64, 8})->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace tessera

BENCHMARK_MAIN();
