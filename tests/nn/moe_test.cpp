// Invariants of the NLLB top-2 mixture-of-experts layer: capacity and token dropping in
// training, gate renormalisation, no dropping at evaluation, Expert Output Masking in training
// vs evaluation, the load-balancing loss, the router z-loss, activation dropout, padding, and
// gradients (f64 finite differences).
#include <gtest/gtest.h>

#include <cmath>

#include "tessera/core/gradcheck.h"
#include "tessera/nn/moe.h"

namespace tessera::nn {
namespace {

MoeFfn make_moe(int64_t d, int64_t ffn, MoeConfig config, uint64_t seed,
                double favour_expert0 = 0.0) {
  Generator gen(seed);
  MoeFfn m = MoeFfn::create(d, ffn, config, /*router_bias=*/true, 0.5, gen);
  // A router bias towards expert 0 makes its capacity overflow.
  m.router.bias.data<float>()[0] = static_cast<float>(favour_expert0);
  return m;
}

std::vector<double> expert_out(const ExpertFfn& e, const Tensor& x_row, Activation act) {
  return e.fc2.forward(activate(e.fc1.forward(x_row), act)).to_vector<double>();
}

TEST(Moe, TrainingCapacityDropsInTokenOrderAndRenormalises) {
  MoeConfig config;
  config.num_experts = 4;
  const int64_t N = 24, d = 8;
  MoeFfn moe = make_moe(d, 12, config, 1, 3.0);
  Generator gen(2);
  Tensor x = rand_normal({N, d}, 0, 1, gen);
  MoeOutput out = moe.forward(x, /*training=*/true, &gen);
  const MoeRouting& r = out.routing;
  EXPECT_EQ(r.capacity, 2 * ((N + 3) / 4));  // 2 * ceil(S / E) = 12
  int64_t top1_to_0 = 0;
  for (int64_t n = 0; n < N; ++n) top1_to_0 += r.expert1[n] == 0;
  ASSERT_GT(top1_to_0, r.capacity) << "the biased router should overflow expert 0";
  EXPECT_GT(r.dropped_assignments, 0);
  std::vector<double> p =
      softmax(linear(x, moe.router.weight, moe.router.bias), -1).to_vector<double>();
  int64_t seen0 = 0;
  for (int64_t n = 0; n < N; ++n) {
    EXPECT_NE(r.expert1[n], r.expert2[n]);
    // Expert 0's top-1 slots go to the first `capacity` tokens that chose it.
    if (r.expert1[n] == 0) {
      EXPECT_EQ(r.kept1[n], seen0++ < r.capacity);
    }
    double p1 = p[n * 4 + r.expert1[n]], p2 = p[n * 4 + r.expert2[n]];
    if (r.kept1[n] && r.kept2[n]) {
      EXPECT_NEAR(r.gate1[n], p1 / (p1 + p2), 1e-6);
      EXPECT_NEAR(r.gate1[n] + r.gate2[n], 1.0, 1e-6);
    } else if (r.kept1[n] || r.kept2[n]) {
      EXPECT_NEAR(r.gate1[n] + r.gate2[n], 1.0, 1e-6);  // the survivor takes the whole weight
    } else {
      EXPECT_EQ(r.gate1[n] + r.gate2[n], 0.0);
    }
  }
  for (int64_t e = 0; e < 4; ++e) EXPECT_LE(r.tokens_per_expert[e], r.capacity);
  // A token that lost both experts passes nothing (the residual carries it in the block).
  std::vector<double> y = out.y.to_vector<double>();
  for (int64_t n = 0; n < N; ++n) {
    if (!r.kept1[n] && !r.kept2[n]) {
      for (int64_t j = 0; j < d; ++j) EXPECT_EQ(y[n * d + j], 0.0);
    }
  }
}

TEST(Moe, EvaluationNeverDropsAndMatchesPerTokenSum) {
  MoeConfig config;
  config.num_experts = 4;
  const int64_t N = 24, d = 8;
  MoeFfn moe = make_moe(d, 12, config, 3, 3.0);
  Generator gen(4);
  Tensor x = rand_normal({N, d}, 0, 1, gen);
  MoeOutput out = moe.forward(x, /*training=*/false);
  EXPECT_EQ(out.routing.dropped_assignments, 0);
  int64_t total = 0;
  for (int64_t c : out.routing.tokens_per_expert) total += c;
  EXPECT_EQ(total, 2 * N);
  std::vector<double> y = out.y.to_vector<double>();
  for (int64_t n = 0; n < N; ++n) {
    Tensor row = x.narrow(0, n, 1);
    auto y1 = expert_out(moe.experts[out.routing.expert1[n]], row, config.activation);
    auto y2 = expert_out(moe.experts[out.routing.expert2[n]], row, config.activation);
    for (int64_t j = 0; j < d; ++j)
      EXPECT_NEAR(y[n * d + j], out.routing.gate1[n] * y1[j] + out.routing.gate2[n] * y2[j], 1e-5);
  }
}

TEST(Moe, ExpertOutputMaskingDropsWholeOutputsInTrainingAndScalesAtEvaluation) {
  MoeConfig plain;
  plain.num_experts = 4;
  plain.training_capacity = 1000;  // no capacity drops: isolate EOM
  MoeConfig eom = plain;
  eom.expert_output_masking = 0.4;
  const int64_t N = 400, d = 6;
  MoeFfn a = make_moe(d, 10, plain, 5), b = make_moe(d, 10, eom, 5);
  Generator gen(6);
  Tensor x = rand_normal({N, d}, 0, 1, gen);
  // Evaluation: exactly (1 - p) times the unmasked output.
  std::vector<double> ya = a.forward(x, false).y.to_vector<double>(),
                      yb = b.forward(x, false).y.to_vector<double>();
  for (size_t i = 0; i < ya.size(); ++i) ASSERT_NEAR(yb[i], 0.6 * ya[i], 1e-5);
  // Training: every (token, expert) output is kept whole or dropped whole, about 40% dropped.
  Generator g1(9), g2(9);
  MoeOutput ta = a.forward(x, true, &g1), tb = b.forward(x, true, &g2);
  int64_t dropped = 0;
  for (int64_t n = 0; n < N; ++n) {
    for (int slot = 0; slot < 2; ++slot) {
      double full = slot == 0 ? ta.routing.gate1[n] : ta.routing.gate2[n];
      double got = slot == 0 ? tb.routing.gate1[n] : tb.routing.gate2[n];
      if (got == 0.0) {
        ++dropped;
      } else {
        EXPECT_NEAR(got, full, 1e-6);  // kept outputs are not rescaled
      }
    }
  }
  EXPECT_NEAR(static_cast<double>(dropped) / (2 * N), 0.4, 0.06);
}

TEST(Moe, LoadBalancingLossIsOneWhenBalancedAndGrowsWithImbalance) {
  MoeConfig config;
  config.num_experts = 4;
  MoeFfn moe = make_moe(4, 8, config, 7);
  // Tokens that each pick a different expert with equal confidence: balanced.
  moe.router.weight = Tensor::from_vector(
      std::vector<float>{5, 0, 0, 0, 0, 5, 0, 0, 0, 0, 5, 0, 0, 0, 0, 5}, {4, 4});
  moe.router.bias.fill_(0.0);
  Tensor x = Tensor::from_vector(std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1},
                                 {4, 4});
  EXPECT_NEAR(moe.forward(x, false).aux_loss.item<double>(), 1.0, 1e-6);
  // Everyone prefers expert 0: the loss approaches E.
  moe.router.bias = Tensor::from_vector(std::vector<float>{30, 0, 0, 0}, {4});
  EXPECT_NEAR(moe.forward(x, false).aux_loss.item<double>(), 4.0, 1e-3);
}

TEST(Moe, InactiveTokensAreNotRouted) {
  MoeConfig config;
  config.num_experts = 3;
  MoeFfn moe = make_moe(5, 7, config, 8);
  Generator gen(1);
  Tensor x = rand_normal({6, 5}, 0, 1, gen);
  std::vector<uint8_t> active = {1, 1, 0, 1, 0, 1};
  MoeOutput out = moe.forward(x, false, nullptr, &active);
  EXPECT_EQ(out.routing.expert1.size(), 4u);
  std::vector<double> y = out.y.to_vector<double>(),
                      full = moe.forward(x, false).y.to_vector<double>();
  for (int64_t n = 0; n < 6; ++n)
    for (int64_t j = 0; j < 5; ++j) {
      if (active[n]) {
        EXPECT_NEAR(y[n * 5 + j], full[n * 5 + j], 1e-6);
      } else {
        EXPECT_EQ(y[n * 5 + j], 0.0);
      }
    }
}

// Gradients of the whole layer (router through the renormalised gates, experts, input) in f64.
TEST(Moe, GradientsMatchFiniteDifferences) {
  for (bool training : {false, true}) {
    MoeConfig config;
    config.num_experts = 3;
    config.training_capacity = training ? 3 : 0;  // drops in training
    MoeFfn base = make_moe(4, 5, config, 12, 0.5);
    Generator gen(13);
    Tensor x = rand_normal({7, 4}, 0, 1, gen, DType::f64);
    std::vector<Tensor> inputs = {x, base.router.weight.to(DType::f64),
                                  base.experts[0].fc1.weight.to(DType::f64),
                                  base.experts[1].fc2.bias.to(DType::f64)};
    auto fn = [&](const std::vector<Tensor>& in) {
      MoeFfn m = base;
      ParameterRefs refs;
      m.parameters("", refs);
      for (auto& [name, t] : refs) *t = t->to(DType::f64);
      m.router.weight = in[1];
      m.experts[0].fc1.weight = in[2];
      m.experts[1].fc2.bias = in[3];
      MoeOutput o = m.forward(in[0], training);
      return add(sum(o.y), mul(o.aux_loss, 0.3));
    };
    GradCheckResult r = gradcheck(fn, inputs, {.step = 1e-6, .atol = 1e-5, .rtol = 1e-4});
    EXPECT_TRUE(r.ok) << (training ? "training: " : "eval: ") << r.report;
  }
}

// ST-MoE's router z-loss: mean over routed tokens of logsumexp(router logits)^2, with its
// gradient through the router (f64 finite differences).
TEST(Moe, RouterZLossMatchesTheFormulaAndItsGradient) {
  MoeConfig config;
  config.num_experts = 3;
  MoeFfn base = make_moe(4, 5, config, 21, 0.7);
  Generator gen(22);
  Tensor x = rand_normal({6, 4}, 0, 1, gen, DType::f64);
  std::vector<uint8_t> active = {1, 0, 1, 1, 1, 0};
  std::vector<double> logits =
      linear(x, base.router.weight.to(DType::f64), base.router.bias.to(DType::f64))
          .to_vector<double>();
  double expected = 0;
  int routed = 0;
  for (int64_t n = 0; n < 6; ++n) {
    if (!active[n]) continue;
    double z = 0;
    for (int e = 0; e < 3; ++e) z += std::exp(logits[n * 3 + e]);
    expected += std::log(z) * std::log(z);
    ++routed;
  }
  expected /= routed;
  auto with_router = [&](const Tensor& weight) {
    MoeFfn m = base;
    ParameterRefs refs;
    m.parameters("", refs);
    for (auto& [name, t] : refs) *t = t->to(DType::f64);
    m.router.weight = weight;
    return m.forward(x, false, nullptr, &active).z_loss;
  };
  EXPECT_NEAR(with_router(base.router.weight.to(DType::f64)).item<double>(), expected, 1e-10);
  GradCheckResult r =
      gradcheck([&](const std::vector<Tensor>& in) { return with_router(in[0]); },
                {base.router.weight.to(DType::f64)}, {.step = 1e-6, .atol = 1e-6, .rtol = 1e-5});
  EXPECT_TRUE(r.ok) << r.report;
}

// Activation dropout acts on the experts' hidden units in training only: evaluation output is
// unchanged, and averaging many training passes recovers it (inverted dropout is unbiased and
// the second projection is linear).
TEST(Moe, ActivationDropoutOnlyInTrainingAndUnbiased) {
  MoeConfig config;
  config.num_experts = 2;
  config.training_capacity = 100;  // no capacity drops, so only dropout differs
  MoeFfn plain = make_moe(3, 6, config, 31);
  MoeFfn dropped = plain;
  dropped.config.activation_dropout = 0.5;
  Generator gen(32);
  Tensor x = rand_normal({4, 3}, 0, 1, gen);
  std::vector<double> reference = plain.forward(x, false).y.to_vector<double>();
  std::vector<double> eval = dropped.forward(x, false).y.to_vector<double>();
  for (size_t i = 0; i < reference.size(); ++i) EXPECT_DOUBLE_EQ(eval[i], reference[i]);
  std::vector<double> first = dropped.forward(x, true, &gen).y.to_vector<double>();
  double differs = 0;
  for (size_t i = 0; i < first.size(); ++i) differs += std::abs(first[i] - reference[i]);
  EXPECT_GT(differs, 1e-3);
  std::vector<double> average(reference.size(), 0.0);
  const int draws = 2000;
  for (int k = 0; k < draws; ++k) {
    std::vector<double> y = dropped.forward(x, true, &gen).y.to_vector<double>();
    for (size_t i = 0; i < y.size(); ++i) average[i] += y[i] / draws;
  }
  for (size_t i = 0; i < reference.size(); ++i) EXPECT_NEAR(average[i], reference[i], 0.05);
  EXPECT_THROW(dropped.forward(x, true, nullptr), Error);
}

TEST(Moe, ScatterAddRowsAndItsGradient) {
  Generator gen(3);
  Tensor v = rand_normal({5, 3}, 0, 1, gen, DType::f64);
  Tensor idx = Tensor::from_vector(std::vector<int64_t>{2, 0, 2, 3, 0}, {5});
  std::vector<double> out = scatter_add_rows(v, idx, 4).to_vector<double>(),
                      vv = v.to_vector<double>();
  for (int j = 0; j < 3; ++j) {
    EXPECT_DOUBLE_EQ(out[0 * 3 + j], vv[1 * 3 + j] + vv[4 * 3 + j]);
    EXPECT_DOUBLE_EQ(out[1 * 3 + j], 0.0);
    EXPECT_DOUBLE_EQ(out[2 * 3 + j], vv[0 * 3 + j] + vv[2 * 3 + j]);
  }
  auto r = gradcheck([&](const std::vector<Tensor>& in) { return scatter_add_rows(in[0], idx, 4); },
                     {v});
  EXPECT_TRUE(r.ok) << r.report;
  EXPECT_THROW(
      scatter_add_rows(v, Tensor::from_vector(std::vector<int64_t>{0, 1, 2, 3, 9}, {5}), 4), Error);
}

}  // namespace
}  // namespace tessera::nn
