#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "tessera/core/gradcheck.h"
#include "tessera/nn/attention.h"

namespace tessera::nn {
namespace {

TEST(Rope, Llama3ScalingMatchesTheRule) {
  RopeConfig c;
  c.theta = 500000.0;
  c.scaling_type = "llama3";
  c.factor = 8.0;
  c.low_freq_factor = 1.0;
  c.high_freq_factor = 4.0;
  c.original_max_positions = 8192;
  std::vector<double> got = rope_inverse_frequencies(128, c).to_vector<double>();
  for (int i = 0; i < 64; ++i) {
    double f = 1.0 / std::pow(500000.0, 2.0 * i / 128.0);
    double wavelen = 2 * std::numbers::pi / f;
    double expect;
    if (wavelen < 8192.0 / 4.0) {
      expect = f;  // high frequencies untouched
    } else if (wavelen > 8192.0) {
      expect = f / 8.0;  // low frequencies scaled
    } else {
      double smooth = (8192.0 / wavelen - 1.0) / 3.0;
      expect = (1 - smooth) * f / 8.0 + smooth * f;
    }
    EXPECT_NEAR(got[i], expect, 1e-15 + 1e-12 * expect) << i;
  }
  c.scaling_type = "yarn-ish";
  EXPECT_THROW(rope_inverse_frequencies(128, c), Error);
}

TEST(KVCache, AppendGrowsAndKeepsContents) {
  LayerKVCache cache;
  Generator gen(1);
  Tensor all = rand_normal({1, 100, 2, 4}, 0, 1, gen);
  cache.append(all.narrow(1, 0, 60), all.narrow(1, 0, 60));
  cache.append(all.narrow(1, 60, 40), all.narrow(1, 60, 40));
  EXPECT_EQ(cache.length, 100);
  EXPECT_EQ(cache.keys().to_vector<float>(), all.to_vector<float>());
}

TEST(CausalSelfAttention, CachedDecodingEqualsFullRecomputation) {
  Generator gen(3);
  CausalSelfAttention attn = CausalSelfAttention::create(16, 4, 2, 4, false, 0.3, gen);
  Tensor x = rand_normal({1, 7, 16}, 0, 1, gen);
  RopeConfig rc;
  auto [cs, sn] = rope_tables(rope_inverse_frequencies(4, rc), 16);
  Tensor pos = Tensor::arange(7).unsqueeze(0).contiguous();
  Tensor full = attn.forward(x, pos, cs, sn);
  LayerKVCache cache;
  std::vector<LayerKVCache*> caches{&cache};
  Tensor first = attn.forward(x.narrow(1, 0, 4), pos.narrow(1, 0, 4).contiguous(), cs, sn, &caches);
  Tensor rest = attn.forward(x.narrow(1, 4, 3), pos.narrow(1, 4, 3).contiguous(), cs, sn, &caches);
  std::vector<float> a = full.to_vector<float>(), b = concat({first, rest}, 1).to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << i;
}

TEST(CausalSelfAttention, GradientsMatchFiniteDifferences) {
  Generator gen(4);
  CausalSelfAttention attn = CausalSelfAttention::create(8, 2, 1, 4, true, 0.3, gen);
  RopeConfig rc;
  auto [cs, sn] = rope_tables(rope_inverse_frequencies(4, rc), 8, DType::f64);
  Tensor pos = Tensor::arange(3).unsqueeze(0).contiguous();
  Tensor x = rand_normal({1, 3, 8}, 0, 1, gen, DType::f64);
  auto r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        CausalSelfAttention a = attn;
        a.q_proj.weight = in[1];
        a.o_proj.weight = in[2];
        a.k_proj.weight = a.k_proj.weight.to(DType::f64);
        a.k_proj.bias = a.k_proj.bias.to(DType::f64);
        a.q_proj.bias = a.q_proj.bias.to(DType::f64);
        a.v_proj.weight = a.v_proj.weight.to(DType::f64);
        a.v_proj.bias = a.v_proj.bias.to(DType::f64);
        return a.forward(in[0], pos, cs, sn);
      },
      {x, attn.q_proj.weight, attn.o_proj.weight});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(SwiGluMlp, ComputesDownOfGatedUp) {
  Generator gen(5);
  SwiGluMlp mlp = SwiGluMlp::create(3, 5, 0.5, gen);
  Tensor x = rand_normal({2, 3}, 0, 1, gen);
  Tensor g = mlp.gate_proj.forward(x), u = mlp.up_proj.forward(x);
  Tensor expect = mlp.down_proj.forward(mul(mul(g, sigmoid(g)), u));
  std::vector<float> a = mlp.forward(x).to_vector<float>(), b = expect.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
  ParameterRefs refs;
  mlp.parameters("mlp.", refs);
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0].first, "mlp.gate_proj.weight");
}

}  // namespace
}  // namespace tessera::nn
