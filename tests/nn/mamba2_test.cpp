// Mamba-2 layer: the fused SSD op's backward and the mixer (conv, gated group norm, SSD) against
// finite differences in f64; decoding with per-sequence states against the whole-sequence pass.
#include <gtest/gtest.h>

#include <cmath>

#include "tessera/core/autograd.h"
#include "tessera/core/gradcheck.h"
#include "tessera/nn/mamba2.h"

namespace tessera::nn {
namespace {

double max_diff(const Tensor& a, const Tensor& b) {
  double worst = 0;
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  EXPECT_EQ(av.size(), bv.size());
  for (size_t i = 0; i < av.size(); ++i) worst = std::max(worst, std::abs(av[i] - bv[i]));
  return worst;
}

Tensor uniform(const Shape& shape, double low, double high, uint64_t seed) {
  Generator gen(seed);
  return rand_uniform(shape, low, high, gen, DType::f64);
}

SsdInputs random_ssd(int64_t B, int64_t L, int64_t H, int64_t P, int64_t G, int64_t N,
                     uint64_t seed) {
  SsdInputs in;
  in.x = uniform({B, L, H, P}, -1, 1, seed);
  in.dt = uniform({B, L, H}, 0.05, 0.5, seed + 1);
  in.A = uniform({H}, -2.0, -0.3, seed + 2);
  in.B = uniform({B, L, G, N}, -1, 1, seed + 3);
  in.C = uniform({B, L, G, N}, -1, 1, seed + 4);
  in.D = uniform({H}, -1, 1, seed + 5);
  in.initial_state = uniform({B, H, P, N}, -1, 1, seed + 6);
  return in;
}

TEST(Mamba2Ssd, FusedChunkedOpPassesGradcheck) {
  SsdInputs base = random_ssd(2, 9, 4, 3, 2, 4, 7);
  std::vector<Tensor> inputs = {base.x, base.dt,           base.A, base.B, base.C,
                                base.D, base.initial_state};
  auto fn = [](const std::vector<Tensor>& t) {
    return ssd_scan({t[0], t[1], t[2], t[3], t[4], t[5], t[6]}, SsdForm::chunked, 4).y;
  };
  GradCheckResult r = gradcheck(fn, inputs);
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(Mamba2Ssd, FormsAgreeThroughTheOp) {
  NoGrad no_grad;
  SsdInputs in = random_ssd(1, 30, 4, 5, 1, 6, 3);
  SsdOutputs a = ssd_scan(in, SsdForm::sequential);
  for (SsdForm form : {SsdForm::chunked, SsdForm::quadratic}) {
    SsdOutputs b = ssd_scan(in, form, 8);
    EXPECT_LT(max_diff(a.y, b.y), 1e-10);
    EXPECT_LT(max_diff(a.final_state, b.final_state), 1e-10);
  }
  EXPECT_THROW(parse_ssd_form("parallel"), Error);
}

TEST(Mamba2Ssd, BadShapesNameTheTensor) {
  SsdInputs in = random_ssd(1, 5, 4, 2, 2, 3, 1);
  in.C = uniform({1, 5, 2, 4}, -1, 1, 9);
  try {
    ssd_scan(in);
    FAIL() << "accepted a C of the wrong shape";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ssd C"), std::string::npos) << e.what();
  }
}

TEST(Mamba2Norm, GatedGroupNormMatchesLoopsAndGradcheck) {
  Tensor y = uniform({2, 3, 8}, -1, 1, 1), z = uniform({2, 3, 8}, -1, 1, 2),
         w = uniform({8}, 0.5, 1.5, 3);
  Tensor out = gated_group_rms_norm(y, z, w, 4, 1e-5);
  auto yv = y.to_vector<double>(), zv = z.to_vector<double>(), wv = w.to_vector<double>();
  auto ov = out.to_vector<double>();
  for (int64_t row = 0; row < 6; ++row)
    for (int64_t g = 0; g < 2; ++g) {
      double ss = 0;
      std::vector<double> gated(4);
      for (int64_t i = 0; i < 4; ++i) {
        const int64_t k = row * 8 + g * 4 + i;
        gated[i] = yv[k] * zv[k] / (1 + std::exp(-zv[k]));
        ss += gated[i] * gated[i];
      }
      const double scale = 1 / std::sqrt(ss / 4 + 1e-5);
      for (int64_t i = 0; i < 4; ++i)
        EXPECT_NEAR(ov[row * 8 + g * 4 + i], gated[i] * scale * wv[g * 4 + i], 1e-12);
    }
  auto fn = [](const std::vector<Tensor>& t) {
    return gated_group_rms_norm(t[0], t[1], t[2], 4, 1e-5);
  };
  GradCheckResult r = gradcheck(fn, {y, z, w});
  EXPECT_TRUE(r.ok) << r.report;
  EXPECT_THROW(gated_group_rms_norm(y, z, w, 3, 1e-5), Error);
}

Mamba2MixerConfig small_config() {
  Mamba2MixerConfig c;
  c.hidden_size = 6;
  c.num_heads = 4;
  c.head_dim = 3;
  c.state_size = 4;
  c.n_groups = 2;
  c.conv_kernel = 3;
  c.chunk_size = 4;
  return c;
}

TEST(Mamba2Mixer, WholeMixerPassesGradcheck) {
  Generator gen(5);
  Mamba2Mixer base = Mamba2Mixer::create(small_config(), 0.3, gen);
  ParameterRefs params;
  base.parameters("", params);
  std::vector<Tensor> inputs = {uniform({2, 7, 6}, -1, 1, 11)};
  for (auto& [name, t] : params) inputs.push_back(t->to(DType::f64));
  auto fn = [&](const std::vector<Tensor>& t) {
    Mamba2Mixer m = base;
    ParameterRefs refs;
    m.parameters("", refs);
    for (size_t i = 0; i < refs.size(); ++i) *refs[i].second = t[i + 1];
    return m.forward(t[0]);
  };
  GradCheckOptions options;
  options.atol = 1e-5;
  GradCheckResult r = gradcheck(fn, inputs, options);
  EXPECT_TRUE(r.ok) << r.report;
}

// Prefill a prefix (chunked form, conv and SSM states returned), then decode one token at a time
// (recurrence), two sequences batched with different prefix lengths: same outputs as one pass.
TEST(Mamba2Mixer, PrefillThenDecodeEqualsWholeSequence) {
  NoGrad no_grad;
  Generator gen(9);
  Mamba2Mixer m = Mamba2Mixer::create(small_config(), 0.3, gen);
  Tensor u = rand_uniform({2, 13, 6}, -1, 1, gen);
  Tensor whole = m.forward(u);
  Mamba2LayerState s0 = m.new_state(), s1 = m.new_state();
  Tensor first = m.forward_step(u.narrow(0, 0, 1).narrow(1, 0, 9), {&s0});
  EXPECT_LT(max_diff(first, whole.narrow(0, 0, 1).narrow(1, 0, 9)), 1e-5);
  Tensor second = m.forward_step(u.narrow(0, 1, 1).narrow(1, 0, 5), {&s1});
  EXPECT_LT(max_diff(second, whole.narrow(0, 1, 1).narrow(1, 0, 5)), 1e-5);
  int64_t t1 = 5;
  for (int64_t t0 = 9; t0 < 13; ++t0, ++t1) {
    Tensor ids =
        concat({u.narrow(0, 0, 1).narrow(1, t0, 1), u.narrow(0, 1, 1).narrow(1, t1, 1)}, 0);
    Tensor step = m.forward_step(ids, {&s0, &s1});
    EXPECT_LT(max_diff(step.narrow(0, 0, 1), whole.narrow(0, 0, 1).narrow(1, t0, 1)), 1e-5);
    EXPECT_LT(max_diff(step.narrow(0, 1, 1), whole.narrow(0, 1, 1).narrow(1, t1, 1)), 1e-5);
  }
}

}  // namespace
}  // namespace tessera::nn
