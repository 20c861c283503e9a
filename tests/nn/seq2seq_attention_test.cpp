// Attention dropout of the encoder-decoder attention (nn/seq2seq_attention): off, it equals the
// fused kernel and a naive per-element reference; on, it multiplies the attention probabilities
// by one Bernoulli draw from the caller's generator with inverted scaling, and its gradient is
// the masked one (f64 finite differences with a fixed mask).
#include <gtest/gtest.h>

#include <cmath>

#include "tessera/core/gradcheck.h"
#include "tessera/nn/seq2seq_attention.h"

namespace tessera::nn {
namespace {

// softmax(q k^T / sqrt(D) [+ causal mask]) * mask / (1 - p) @ v, written out per element; `keep`
// [B, H, T, S] is the dropout mask (all ones: no dropout).
std::vector<double> naive_attention(const MultiHeadAttention& a, const Tensor& x,
                                    const Tensor& memory, bool causal,
                                    const std::vector<double>& keep, double p) {
  const int64_t B = x.size(0), T = x.size(1), S = memory.size(1), H = a.num_heads,
                D = a.head_dim, C = H * D;
  std::vector<double> q = a.q_proj.forward(x).to_vector<double>(),
                      k = a.k_proj.forward(memory).to_vector<double>(),
                      v = a.v_proj.forward(memory).to_vector<double>();
  std::vector<double> heads(B * T * C, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> w(S, 0.0);
        double top = -1e300, total = 0;
        const int64_t visible = causal ? t + 1 + (S - T) : S;
        for (int64_t s = 0; s < visible; ++s) {
          for (int64_t j = 0; j < D; ++j)
            w[s] += q[(b * T + t) * C + h * D + j] * k[(b * S + s) * C + h * D + j];
          w[s] /= std::sqrt(static_cast<double>(D));
          top = std::max(top, w[s]);
        }
        for (int64_t s = 0; s < visible; ++s) total += (w[s] = std::exp(w[s] - top));
        for (int64_t s = 0; s < visible; ++s) {
          const double prob = w[s] / total * keep[((b * H + h) * T + t) * S + s] / (1.0 - p);
          for (int64_t j = 0; j < D; ++j)
            heads[(b * T + t) * C + h * D + j] += prob * v[(b * S + s) * C + h * D + j];
        }
      }
  Tensor out = a.out_proj.forward(Tensor::from_vector(heads, {B, T, C}).to(x.dtype()));
  return out.to_vector<double>();
}

TEST(Seq2SeqAttention, DropoutIsOffByDefaultAndDropsProbabilitiesWhenOn) {
  Generator gen(5);
  MultiHeadAttention a = MultiHeadAttention::create(8, 2, 0.4, gen);
  Tensor x = rand_normal({2, 3, 8}, 0, 1, gen);
  Tensor memory = rand_normal({2, 4, 8}, 0, 1, gen);
  for (bool causal : {false, true}) {
    const Tensor& keys = causal ? x : memory;
    const int64_t S = keys.size(1);
    std::vector<double> fused = a.forward(x, keys, Tensor(), causal).to_vector<double>();
    std::vector<double> ones(2 * 2 * 3 * S, 1.0);
    std::vector<double> expected = naive_attention(a, x, keys, causal, ones, 0.0);
    Generator unused(1);
    std::vector<double> zero =
        a.forward(x, keys, Tensor(), causal, 0.0, &unused).to_vector<double>();
    for (size_t i = 0; i < fused.size(); ++i) {
      EXPECT_NEAR(fused[i], expected[i], 1e-5);
      EXPECT_NEAR(zero[i], expected[i], 1e-5);
    }
    // With p = 0.3 the probabilities [B, H, T, S] are multiplied by one Bernoulli(0.7) draw
    // from the caller's generator and scaled by 1 / 0.7 (inverted dropout).
    Generator drop(9), replay(9);
    std::vector<double> dropped =
        a.forward(x, keys, Tensor(), causal, 0.3, &drop).to_vector<double>();
    std::vector<double> keep = bernoulli({2, 2, 3, S}, 0.7, replay).to_vector<double>();
    std::vector<double> by_hand = naive_attention(a, x, keys, causal, keep, 0.3);
    double differs = 0;
    for (size_t i = 0; i < dropped.size(); ++i) {
      EXPECT_NEAR(dropped[i], by_hand[i], 1e-5) << (causal ? "causal" : "cross");
      differs += std::abs(dropped[i] - expected[i]);
    }
    EXPECT_GT(differs, 1e-3) << "the draw should drop something";
  }
  EXPECT_THROW(a.forward(x, memory, Tensor(), false, 0.3, nullptr), Error);
}

TEST(Seq2SeqAttention, DropoutGradientMatchesFiniteDifferences) {
  Generator init(6);
  MultiHeadAttention a = MultiHeadAttention::create(4, 2, 0.5, init);
  ParameterRefs refs;
  a.parameters("", refs);
  for (auto& [name, t] : refs) *t = t->to(DType::f64);
  Tensor x = rand_normal({1, 3, 4}, 0, 1, init, DType::f64);
  // The same seed for every evaluation: finite differences see one fixed dropout mask.
  auto fn = [&](const std::vector<Tensor>& in) {
    Generator drop(11);
    return sum(a.forward(in[0], in[0], Tensor(), true, 0.4, &drop));
  };
  GradCheckResult r = gradcheck(fn, {x}, {.step = 1e-6, .atol = 1e-6, .rtol = 1e-5});
  EXPECT_TRUE(r.ok) << r.report;
}

}  // namespace
}  // namespace tessera::nn
