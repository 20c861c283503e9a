// Every differentiable op against central finite differences in f64 (DESIGN.md: "Every op has
// a finite-difference gradient test in f64").
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "tessera/core/autograd.h"
#include "tessera/core/gradcheck.h"
#include "tessera/core/ops.h"
#include "tessera/core/rng.h"

namespace tessera {
namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct Case {
  std::string name;
  std::vector<Tensor> inputs;
  Fn fn;
};

Tensor randn(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator gen(seed);
  return rand_normal(shape, 0.0, scale, gen, DType::f64);
}
Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi) {
  Generator gen(seed);
  return rand_uniform(shape, lo, hi, gen, DType::f64);
}
Tensor ids(const std::vector<int64_t>& v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); }

std::vector<Case> all_cases() {
  std::vector<Case> c;
  auto unary = [&](std::string name, std::function<Tensor(const Tensor&)> f, Tensor x) {
    c.push_back({name, {x}, [f](const std::vector<Tensor>& in) { return f(in[0]); }});
  };
  auto binary = [&](std::string name, std::function<Tensor(const Tensor&, const Tensor&)> f, Tensor a,
                    Tensor b) {
    c.push_back({name, {a, b}, [f](const std::vector<Tensor>& in) { return f(in[0], in[1]); }});
  };
  // Elementwise, with broadcasting and non-contiguous operands.
  binary("add_broadcast", [](auto& a, auto& b) { return add(a, b); }, randn({3, 4}, 1), randn({4}, 2));
  binary("sub_broadcast", [](auto& a, auto& b) { return sub(a, b); }, randn({3, 1}, 3), randn({1, 5}, 4));
  binary("mul_transposed", [](auto& a, auto& b) { return mul(a.transpose(0, 1), b); }, randn({4, 3}, 5), randn({3, 4}, 6));
  binary("div", [](auto& a, auto& b) { return div(a, b); }, randn({2, 3}, 7), uniform({2, 3}, 8, 0.5, 2.0));
  binary("maximum", [](auto& a, auto& b) { return maximum(a, b); }, randn({5}, 9), randn({5}, 10));
  binary("minimum", [](auto& a, auto& b) { return minimum(a, b); }, randn({5}, 11), randn({5}, 12));
  unary("add_scalar", [](auto& x) { return add(x, 2.5); }, randn({4}, 13));
  unary("mul_scalar", [](auto& x) { return mul(x, -1.5); }, randn({4}, 14));
  unary("neg", [](auto& x) { return neg(x); }, randn({4}, 15));
  unary("exp", [](auto& x) { return exp(x); }, randn({6}, 16));
  unary("log", [](auto& x) { return log(x); }, uniform({6}, 17, 0.2, 3.0));
  unary("sqrt", [](auto& x) { return sqrt(x); }, uniform({6}, 18, 0.2, 3.0));
  unary("rsqrt", [](auto& x) { return rsqrt(x); }, uniform({6}, 19, 0.2, 3.0));
  unary("tanh", [](auto& x) { return tanh(x); }, randn({6}, 20));
  unary("sigmoid", [](auto& x) { return sigmoid(x); }, randn({6}, 21, 2.0));
  unary("silu", [](auto& x) { return silu(x); }, randn({6}, 22, 2.0));
  unary("gelu_erf", [](auto& x) { return gelu(x); }, randn({6}, 23, 2.0));
  unary("gelu_tanh", [](auto& x) { return gelu(x, GeluApproximation::tanh); }, randn({6}, 24, 2.0));
  unary("relu", [](auto& x) { return relu(x); }, uniform({6}, 25, 0.1, 1.0) * Tensor::from_vector<double>({1, -1, 1, -1, 1, -1}, {6}));
  unary("softplus", [](auto& x) { return softplus(x); }, randn({6}, 26, 3.0));
  unary("abs", [](auto& x) { return abs(x); }, uniform({6}, 27, 0.1, 1.0) * Tensor::from_vector<double>({1, -1, 1, -1, 1, -1}, {6}));
  unary("square", [](auto& x) { return square(x); }, randn({6}, 28));
  unary("pow", [](auto& x) { return pow(x, 2.7); }, uniform({6}, 29, 0.3, 2.0));
  unary("clamp", [](auto& x) { return clamp(x, -0.5, 0.5); }, Tensor::from_vector<double>({-1.0, -0.3, 0.1, 0.45, 0.7, 2.0}, {6}));
  // Reductions.
  unary("sum_dim", [](auto& x) { return sum(x, 1); }, randn({3, 4, 2}, 30));
  unary("sum_keepdim", [](auto& x) { return sum(x, 0, true); }, randn({3, 4}, 31));
  unary("sum_all", [](auto& x) { return sum(x); }, randn({3, 4}, 32));
  unary("mean_dim", [](auto& x) { return mean(x, -1); }, randn({3, 4}, 33));
  unary("max_dim", [](auto& x) { return max(x, 1); }, randn({3, 5}, 34));
  unary("logsumexp", [](auto& x) { return logsumexp(x, 0); }, randn({4, 3}, 35));
  unary("var_unbiased", [](auto& x) { return var(x, 1); }, randn({3, 5}, 36));
  unary("var_biased", [](auto& x) { return var(x, 0, false, true); }, randn({4, 2}, 37));
  unary("softmax_last", [](auto& x) { return softmax(x, -1); }, randn({3, 5}, 38));
  unary("softmax_first", [](auto& x) { return softmax(x, 0); }, randn({3, 5}, 39));
  unary("log_softmax", [](auto& x) { return log_softmax(x, -1); }, randn({3, 5}, 40));
  unary("cumsum", [](auto& x) { return cumsum(x, 1); }, randn({2, 5, 3}, 41));
  // Linear algebra.
  binary("matmul_2d", [](auto& a, auto& b) { return matmul(a, b); }, randn({3, 4}, 42), randn({4, 5}, 43));
  binary("matmul_batched_broadcast", [](auto& a, auto& b) { return matmul(a, b); }, randn({2, 1, 3, 4}, 44), randn({3, 4, 2}, 45));
  binary("matmul_3d_2d", [](auto& a, auto& b) { return matmul(a, b); }, randn({2, 3, 4}, 46), randn({4, 2}, 47));
  binary("matmul_vector", [](auto& a, auto& b) { return matmul(a, b); }, randn({4}, 48), randn({4, 3}, 49));
  binary("matmul_transposed_views", [](auto& a, auto& b) { return matmul(a.transpose(0, 1), b.transpose(0, 1)); }, randn({4, 3}, 50), randn({5, 4}, 51));
  c.push_back({"linear", {randn({2, 3, 4}, 52), randn({5, 4}, 53), randn({5}, 54)},
               [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }});
  // Layers.
  c.push_back({"rms_norm", {randn({3, 6}, 55), uniform({6}, 56, 0.5, 1.5)},
               [](const std::vector<Tensor>& in) { return rms_norm(in[0], in[1], 1e-5); }});
  c.push_back({"layer_norm", {randn({3, 6}, 57), uniform({6}, 58, 0.5, 1.5), randn({6}, 59)},
               [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2], 1e-5); }});
  c.push_back({"embedding", {randn({5, 3}, 60), ids({4, 0, 4, 2})},
               [](const std::vector<Tensor>& in) { return embedding(in[0], in[1]); }});
  c.push_back({"cross_entropy_smoothing_ignore", {randn({4, 7}, 61), ids({3, -100, 6, 0})},
               [](const std::vector<Tensor>& in) { return cross_entropy(in[0], in[1], -100, 0.1); }});
  {
    Tensor inv_freq = Tensor::from_vector<double>({1.0, 0.1, 0.01}, {3});
    auto [cs, sn] = rope_tables(inv_freq, 16, DType::f64);
    Tensor pos = ids({3, 4, 9});
    c.push_back({"rope_half", {randn({2, 3, 2, 6}, 62)},
                 [=](const std::vector<Tensor>& in) { return rope(in[0], cs, sn, pos); }});
    c.push_back({"rope_interleaved", {randn({1, 3, 2, 6}, 63)},
                 [=](const std::vector<Tensor>& in) { return rope(in[0], cs, sn, pos, true); }});
  }
  c.push_back({"attention_causal_gqa", {randn({2, 3, 4, 2}, 90), randn({2, 3, 2, 2}, 91), randn({2, 3, 2, 2}, 92)},
               [](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2]); }});
  c.push_back({"attention_decode_against_cache", {randn({1, 2, 2, 3}, 93), randn({1, 5, 1, 3}, 94), randn({1, 5, 1, 3}, 95)},
               [](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], true, 0.7); }});
  c.push_back({"attention_full", {randn({1, 3, 2, 2}, 96), randn({1, 4, 2, 2}, 97), randn({1, 4, 2, 2}, 98)},
               [](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], false); }});
  c.push_back({"causal_conv1d", {randn({2, 5, 3}, 64), randn({3, 4}, 65), randn({3}, 66)},
               [](const std::vector<Tensor>& in) { return causal_conv1d(in[0], in[1], in[2]); }});
  // Indexing and views.
  binary("concat", [](auto& a, auto& b) { return concat({a, b, a}, 1); }, randn({2, 3}, 67), randn({2, 2}, 68));
  unary("split", [](auto& x) { auto parts = split(x, {1, 3}, 1); return mul(parts[0], sum(parts[1], 1, true)); }, randn({2, 4}, 69));
  unary("index_select", [](auto& x) { return index_select(x, 0, ids({2, 0, 2})); }, randn({3, 4}, 70));
  unary("masked_fill", [](auto& x) { return masked_fill(x, Tensor::from_vector<uint8_t>({1, 0, 0, 1}, {4}), -5.0); }, randn({3, 4}, 71));
  binary("where", [](auto& a, auto& b) { return where(Tensor::from_vector<uint8_t>({1, 0, 1}, {3}), a, b); }, randn({2, 3}, 72), randn({3}, 73));
  unary("topk", [](auto& x) { return topk(x, 2).first; }, randn({3, 6}, 74));
  unary("transpose", [](auto& x) { return x.transpose(0, 2).contiguous(); }, randn({2, 3, 4}, 75));
  unary("permute", [](auto& x) { return x.permute({1, 2, 0}); }, randn({2, 3, 4}, 76));
  unary("slice_step", [](auto& x) { return x.slice(1, 1, 6, 2); }, randn({2, 7}, 77));
  unary("narrow", [](auto& x) { return x.narrow(0, 1, 2); }, randn({4, 3}, 78));
  unary("select", [](auto& x) { return x.select(1, 2); }, randn({2, 4}, 79));
  unary("expand", [](auto& x) { return x.expand({3, 2, 4}); }, randn({2, 1}, 80));
  unary("unsqueeze_squeeze", [](auto& x) { return x.unsqueeze(1).squeeze(1); }, randn({3, 2}, 81));
  unary("reshape_noncontiguous", [](auto& x) { return x.transpose(0, 1).reshape({-1}); }, randn({3, 4}, 82));
  unary("to_f32_and_back", [](auto& x) { return x.to(DType::f32).to(DType::f64); }, Tensor::from_vector<double>({0.5, -0.25, 2.0}, {3}));
  return c;
}

class OpGradient : public ::testing::TestWithParam<size_t> {};

TEST_P(OpGradient, MatchesFiniteDifferences) {
  static const std::vector<Case> cases = all_cases();
  const Case& test_case = cases[GetParam()];
  GradCheckOptions options;
  if (test_case.name == "to_f32_and_back") {  // f32 rounding limits the numeric side
    options.step = 1e-2;
    options.atol = 1e-4;
    options.rtol = 1e-3;
  }
  GradCheckResult r = gradcheck(test_case.fn, test_case.inputs, options);
  EXPECT_TRUE(r.ok) << test_case.name << "\n" << r.report;
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpGradient, ::testing::Range<size_t>(0, all_cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return all_cases()[info.param].name;
                         });

TEST(GradCheck, DetectsAWrongGradient) {
  // An op whose recorded backward is deliberately wrong must be caught.
  Fn wrong = [](const std::vector<Tensor>& in) {
    Tensor out = mul(in[0].detach(), 3.0);
    if (in[0].requires_grad()) {
      Tensor x = in[0];
      record(out, "wrong", {x}, [](const Tensor& g) { return std::vector<Tensor>{mul(g, 2.0)}; });
    }
    return out;
  };
  GradCheckResult r = gradcheck(wrong, {randn({3}, 99)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.report.find("analytic"), std::string::npos);
}

}  // namespace
}  // namespace tessera
