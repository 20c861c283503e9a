#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "tessera/core/ops.h"
#include "tessera/core/optim.h"

namespace tessera {
namespace {

NamedParameter make_param(std::string name, std::vector<double> values, bool decay = true) {
  Tensor t = Tensor::from_vector(values, {static_cast<int64_t>(values.size())});
  t.requires_grad_(true);
  return {std::move(name), t, decay};
}

TEST(AdamW, MatchesTheAlgorithmStepByStep) {
  auto p = make_param("w", {1.0, -2.0});
  AdamWOptions o{0.9, 0.99, 1e-8, 0.1};
  AdamW opt({p}, o);
  double w[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
  const double lr = 0.01;
  for (int t = 1; t <= 3; ++t) {
    double g[2] = {0.5 * t, -0.25};
    p.tensor.set_grad(Tensor::from_vector<double>({g[0], g[1]}, {2}));
    opt.step(lr);
    for (int i = 0; i < 2; ++i) {
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
      double mh = m[i] / (1 - std::pow(o.beta1, t)), vh = v[i] / (1 - std::pow(o.beta2, t));
      w[i] = w[i] - lr * o.weight_decay * w[i] - lr * mh / (std::sqrt(vh) + o.eps);
    }
  }
  std::vector<double> got = p.tensor.to_vector<double>();
  EXPECT_NEAR(got[0], w[0], 1e-12);
  EXPECT_NEAR(got[1], w[1], 1e-12);
  EXPECT_EQ(opt.steps(), 3);
}

TEST(AdamW, NoDecayParamsAndMissingGradients) {
  auto decayed = make_param("a", {1.0});
  auto plain = make_param("b", {1.0}, false);
  auto untouched = make_param("c", {1.0});
  AdamW opt({decayed, plain, untouched}, {0.9, 0.999, 1e-8, 0.5});
  decayed.tensor.set_grad(Tensor::zeros({1}, DType::f64));
  plain.tensor.set_grad(Tensor::zeros({1}, DType::f64));
  opt.step(0.1);
  EXPECT_NEAR(decayed.tensor.at({0}), 0.95, 1e-12);
  EXPECT_DOUBLE_EQ(plain.tensor.at({0}), 1.0);
  EXPECT_DOUBLE_EQ(untouched.tensor.at({0}), 1.0);
}

TEST(AdamW, StateRoundTripContinuesExactly) {
  auto run = [](bool interrupt) {
    auto p = make_param("w", {0.5, 0.25, -1.0});
    auto opt = std::make_unique<AdamW>(std::vector<NamedParameter>{p});
    for (int t = 0; t < 6; ++t) {
      if (interrupt && t == 3) {
        std::map<std::string, Tensor> saved;
        for (auto& [k, v] : opt->state_tensors()) saved[k] = v.clone();
        int64_t steps = opt->steps();
        opt = std::make_unique<AdamW>(std::vector<NamedParameter>{p});
        opt->load_state(saved, steps);
      }
      p.tensor.zero_grad();
      sum(mul(p.tensor, p.tensor)).backward();
      opt->step(0.05);
    }
    return p.tensor.to_vector<double>();
  };
  EXPECT_EQ(run(false), run(true));
  auto p = make_param("w", {1.0});
  AdamW opt({p});
  EXPECT_THROW(opt.load_state({}, 1), Error);
}

TEST(Sgd, MomentumFollowsPyTorchConvention) {
  auto p = make_param("w", {1.0});
  Sgd opt({p}, {0.9, 0.0, false});
  p.tensor.set_grad(Tensor::from_vector<double>({1.0}, {1}));
  opt.step(0.1);  // v = 1, w = 0.9
  opt.step(0.1);  // v = 1.9, w = 0.71
  EXPECT_NEAR(p.tensor.at({0}), 0.71, 1e-12);
}

TEST(Schedule, Shapes) {
  Schedule s{ScheduleKind::cosine, 1.0, 10, 110, 0.1, 0.2};
  EXPECT_NEAR(s.lr_at(0), 0.1, 1e-12);
  EXPECT_NEAR(s.lr_at(9), 1.0, 1e-12);
  EXPECT_NEAR(s.lr_at(60), 0.55, 1e-12);
  EXPECT_NEAR(s.lr_at(110), 0.1, 1e-12);
  s.kind = ScheduleKind::linear;
  EXPECT_NEAR(s.lr_at(60), 0.55, 1e-12);
  s.kind = ScheduleKind::wsd;
  EXPECT_NEAR(s.lr_at(80), 1.0, 1e-12);
  EXPECT_NEAR(s.lr_at(99), 0.55, 1e-12);
  s.kind = ScheduleKind::inverse_sqrt;
  EXPECT_NEAR(s.lr_at(39), 0.5, 1e-12);
  s.kind = ScheduleKind::constant;
  EXPECT_NEAR(s.lr_at(100), 1.0, 1e-12);
  ScheduleKind k;
  EXPECT_TRUE(parse_schedule_kind("wsd", k));
  EXPECT_FALSE(parse_schedule_kind("exotic", k));
}

TEST(Clip, ScalesToMaxNorm) {
  auto a = make_param("a", {0, 0});
  auto b = make_param("b", {0});
  a.tensor.set_grad(Tensor::from_vector<double>({3.0, 0.0}, {2}));
  b.tensor.set_grad(Tensor::from_vector<double>({4.0}, {1}));
  double norm = clip_grad_norm({a, b}, 1.0);
  EXPECT_NEAR(norm, 5.0, 1e-12);
  EXPECT_NEAR(a.tensor.grad().at({0}), 0.6, 1e-6);
  EXPECT_NEAR(b.tensor.grad().at({0}), 0.8, 1e-6);
  EXPECT_NEAR(clip_grad_norm({a, b}, 10.0), 1.0, 1e-5);  // under the limit: unchanged
}

}  // namespace
}  // namespace tessera
