// BitLinear: the straight-through estimator against finite differences of its surrogate, the
// packed integer path equal to simulated quantization (exactly in integers, to rounding in
// floats), and the export that keeps the stored scale.
#include <gtest/gtest.h>

#include <cmath>

#include "tessera/core/autograd.h"
#include "tessera/core/gradcheck.h"
#include "tessera/kernels/cpu/ternary.h"
#include "tessera/nn/bitlinear.h"

namespace tessera::nn {
namespace {

BitLinear random_layer(int64_t in, int64_t out, uint64_t seed) {
  Generator gen(seed);
  BitLinear layer = BitLinear::create(in, out, 0.5, gen);
  layer.norm_weight = rand_uniform({in}, 0.5, 1.5, gen);
  return layer;
}

TEST(BitLinear, QuantizersFollowTheReleasedRules) {
  Tensor w = Tensor::from_vector<float>({0.25f, -0.75f, 0.5f, -0.5f}, {2, 2});
  EXPECT_EQ(absmean_quantize_weight(w).to_vector<float>(),
            (std::vector<float>{0.0f, -0.5f, 0.5f, -0.5f}));
  Tensor x = Tensor::from_vector<float>({0.5f, -2.0f, 1.0f, 0.0f}, {1, 4});
  std::vector<float> q = absmax_quantize_activations(x).to_vector<float>();
  EXPECT_FLOAT_EQ(q[0], 32.0f / 63.5f);
  EXPECT_FLOAT_EQ(q[1], -2.0f);
  EXPECT_FLOAT_EQ(q[2], 64.0f / 63.5f);
  EXPECT_FLOAT_EQ(q[3], 0.0f);
}

TEST(BitLinear, StraightThroughGradientsMatchFiniteDifferencesOfTheSurrogate) {
  // STE: the layer's gradient is that of rmsnorm -> linear with the quantization errors held
  // constant. That surrogate is checked by finite differences, then compared with the layer.
  BitLinear layer = random_layer(12, 5, 3);
  Generator gen(9);
  Tensor x = rand_normal({2, 3, 12}, 0.0, 1.0, gen, DType::f64);
  layer.weight = layer.weight.to(DType::f64);
  layer.norm_weight = layer.norm_weight.to(DType::f64);
  Tensor normed = rms_norm(x, layer.norm_weight, layer.eps);
  Tensor act_error = sub(absmax_quantize_activations(normed), normed).detach();
  Tensor weight_error = sub(absmean_quantize_weight(layer.weight), layer.weight).detach();
  const double eps = layer.eps;
  auto surrogate = [&](const std::vector<Tensor>& in) {
    return linear(add(rms_norm(in[0], in[1], eps), act_error), add(in[2], weight_error));
  };
  GradCheckResult check = gradcheck(surrogate, {x, layer.norm_weight, layer.weight});
  EXPECT_TRUE(check.ok) << check.report;

  Tensor xs = x.clone().requires_grad_(true);
  layer.weight.requires_grad_(true);
  layer.norm_weight.requires_grad_(true);
  Generator wgen(4);
  Tensor weights = rand_normal({2, 3, 5}, 0.0, 1.0, wgen, DType::f64);
  sum(mul(layer.forward(xs), weights)).backward();
  Tensor xr = x.clone().requires_grad_(true),
         gr = layer.norm_weight.detach().clone().requires_grad_(true),
         wr = layer.weight.detach().clone().requires_grad_(true);
  sum(mul(surrogate({xr, gr, wr}), weights)).backward();
  auto close = [](const Tensor& a, const Tensor& b) {
    auto va = a.to_vector<double>(), vb = b.to_vector<double>();
    for (size_t k = 0; k < va.size(); ++k) {
      if (std::abs(va[k] - vb[k]) > 1e-12 + 1e-10 * std::abs(vb[k])) return false;
    }
    return va.size() == vb.size();
  };
  EXPECT_TRUE(close(xs.grad(), xr.grad()));
  EXPECT_TRUE(close(layer.norm_weight.grad(), gr.grad()));
  EXPECT_TRUE(close(layer.weight.grad(), wr.grad()));
}

TEST(BitLinear, PackedIntegersEqualSimulatedQuantizationExactly) {
  const int64_t in = 300, out = 37, rows = 6;
  BitLinear layer = random_layer(in, out, 5);
  Generator gen(11);
  Tensor x = rand_normal({rows, in}, 0.0, 2.0, gen);
  // Simulated path's integers: round(x_normed * s_x) and the trits, multiplied in f64.
  Tensor normed = rms_norm(x, layer.norm_weight, layer.eps).contiguous();
  auto [trits, factor] = layer.ternary_weights();
  std::vector<float> nv = normed.to_vector<float>();
  std::vector<double> q(nv.size());
  for (int64_t r = 0; r < rows; ++r) {
    float max_abs = 0;
    for (int64_t k = 0; k < in; ++k) max_abs = std::max(max_abs, std::fabs(nv[r * in + k]));
    const float s = 127.0f / std::max(max_abs, 1e-5f);
    for (int64_t k = 0; k < in; ++k) q[r * in + k] = std::round(nv[r * in + k] * s);
  }
  std::vector<double> simulated(rows * out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = 0;
      for (int64_t k = 0; k < in; ++k) acc += q[r * in + k] * trits[o * in + k];
      simulated[r * out + o] = acc;
    }
  for (TernaryPacking packing : {TernaryPacking::two_bit, TernaryPacking::base3}) {
    BitLinear packed = layer.packed(packing);
    const bool two_bit = packing == TernaryPacking::two_bit;
    const int64_t ld = two_bit ? kernels::ternary2_padded_cols(in) : in;
    std::vector<int8_t> qi(rows * ld);
    std::vector<float> scales(rows);
    kernels::quantize_rows_absmax(normed.data<float>(), rows, in, qi.data(), ld, scales.data());
    std::vector<int32_t> acc(rows * out);
    const uint8_t* p = packed.weight_packed.data<uint8_t>();
    if (two_bit)
      kernels::ternary2_gemm(p, out, in, qi.data(), rows, acc.data());
    else
      kernels::ternary3_gemm(p, out, in, qi.data(), rows, acc.data());
    for (int64_t k = 0; k < rows * out; ++k) ASSERT_EQ(static_cast<double>(acc[k]), simulated[k]);

    // And the layer outputs agree with the simulated float path to rounding.
    NoGrad no_grad;
    std::vector<float> a = packed.forward(x).to_vector<float>();
    std::vector<float> b = layer.forward(x).to_vector<float>();
    for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-5 + 1e-5 * std::abs(b[k]));
  }
}

TEST(BitLinear, ReExportKeepsTheStoredScale) {
  BitLinear layer = random_layer(130, 9, 6);
  BitLinear two_bit = layer.packed(TernaryPacking::two_bit);
  BitLinear again = two_bit.packed(TernaryPacking::base3).packed(TernaryPacking::two_bit);
  EXPECT_EQ(again.weight_scale.item<float>(), two_bit.weight_scale.item<float>());
  EXPECT_EQ(again.weight_packed.to_vector<uint8_t>(), two_bit.weight_packed.to_vector<uint8_t>());
  // The naive re-quantization of the dequantized weights would shrink the scale.
  auto [trits, factor] = two_bit.ternary_weights();
  std::vector<float> dequantized(trits.size());
  for (size_t k = 0; k < trits.size(); ++k) dequantized[k] = trits[k] * factor;
  std::vector<int8_t> t2(trits.size());
  EXPECT_LT(
      kernels::ternarize_absmean(dequantized.data(), static_cast<int64_t>(t2.size()), t2.data()),
      factor * 0.9f);
}

TEST(BitLinear, BadInputsAreNamed) {
  BitLinear layer = random_layer(8, 4, 1);
  EXPECT_THROW(layer.forward(Tensor::zeros({2, 7})), Error);
  EXPECT_THROW(parse_ternary_packing("3bit"), Error);
  EXPECT_EQ(parse_ternary_packing("base3"), TernaryPacking::base3);
}

}  // namespace
}  // namespace tessera::nn
