// Forward values of the ops against direct computations, and their input checks.
#include <gtest/gtest.h>

#include <cmath>

#include "tessera/core/ops.h"
#include "tessera/core/rng.h"
#include "tessera/kernels/cpu/attention.h"

namespace tessera {
namespace {

Tensor randn(const Shape& shape, uint64_t seed, DType dtype = DType::f32) {
  Generator gen(seed);
  return rand_normal(shape, 0.0, 1.0, gen, dtype);
}

TEST(Ops, BroadcastShapes) {
  EXPECT_EQ(broadcast_shapes({3, 1, 5}, {4, 1}), (Shape{3, 4, 5}));
  EXPECT_EQ(broadcast_shapes({}, {2}), (Shape{2}));
  EXPECT_THROW(broadcast_shapes({3}, {4}), Error);
}

TEST(Ops, MatmulMatchesNaiveForAllLayouts) {
  for (auto [M, K, N] : {std::tuple{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 16, 1}}) {
    Tensor a = randn({M, K}, 1, DType::f64), b = randn({K, N}, 2, DType::f64);
    for (int layout = 0; layout < 4; ++layout) {
      Tensor aa = (layout & 1) ? a.transpose(0, 1).contiguous().transpose(0, 1) : a;
      Tensor bb = (layout & 2) ? b.transpose(0, 1).contiguous().transpose(0, 1) : b;
      Tensor c = matmul(aa, bb);
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
          double ref = 0;
          for (int k = 0; k < K; ++k) ref += a.at({i, k}) * b.at({k, j});
          ASSERT_NEAR(c.at({i, j}), ref, 1e-12) << M << "x" << K << "x" << N << " layout " << layout;
        }
    }
  }
  EXPECT_THROW(matmul(randn({2, 3}, 3), randn({4, 2}, 4)), Error);
}

TEST(Ops, BatchedMatmulBroadcastsBatchAxes) {
  Tensor a = randn({2, 1, 3, 4}, 5, DType::f64), b = randn({3, 4, 5}, 6, DType::f64);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 3, 3, 5}));
  double ref = 0;
  for (int k = 0; k < 4; ++k) ref += a.at({1, 0, 2, k}) * b.at({2, k, 4});
  EXPECT_NEAR(c.at({1, 2, 2, 4}), ref, 1e-12);
}

TEST(Ops, SoftmaxAndLogSoftmax) {
  Tensor x = Tensor::from_vector<double>({1000.0, 1001.0, 1002.0}, {1, 3});  // stable at large values
  std::vector<double> p = softmax(x).to_vector<double>();
  double z = std::exp(-2.0) + std::exp(-1.0) + 1.0;
  EXPECT_NEAR(p[2], 1.0 / z, 1e-12);
  EXPECT_NEAR(log_softmax(x).to_vector<double>()[0], -2.0 - std::log(z), 1e-12);
}

TEST(Ops, CrossEntropyKnownValue) {
  Tensor logits = Tensor::from_vector<double>({0.0, 0.0, 0.0, 0.0, 5.0, 0.0}, {2, 3});
  Tensor targets = Tensor::from_vector<int64_t>({2, 1}, {2});
  double l0 = std::log(3.0);
  double l1 = std::log(std::exp(5.0) + 2.0) - 5.0;
  EXPECT_NEAR(cross_entropy(logits, targets).item<double>(), (l0 + l1) / 2, 1e-12);
  Tensor ignored = Tensor::from_vector<int64_t>({2, -100}, {2});
  EXPECT_NEAR(cross_entropy(logits, ignored).item<double>(), l0, 1e-12);
  Tensor bad = Tensor::from_vector<int64_t>({3, 0}, {2});
  EXPECT_THROW(cross_entropy(logits, bad), Error);
}

TEST(Ops, NormsMatchDefinitions) {
  Tensor x = randn({4, 8}, 7, DType::f64);
  Tensor w = randn({8}, 8, DType::f64);
  Tensor y = rms_norm(x, w, 1e-6);
  double ms = 0;
  for (int j = 0; j < 8; ++j) ms += x.at({2, j}) * x.at({2, j});
  ms /= 8;
  EXPECT_NEAR(y.at({2, 5}), x.at({2, 5}) / std::sqrt(ms + 1e-6) * w.at({5}), 1e-12);
  Tensor ln = layer_norm(x, Tensor(), Tensor(), 1e-6);
  EXPECT_NEAR(mean(ln, -1).at({1}), 0.0, 1e-12);
  EXPECT_NEAR(var(ln, -1, false).at({1}), 1.0, 1e-5);
}

TEST(Ops, EmbeddingRejectsOutOfRangeIds) {
  Tensor w = randn({4, 2}, 9);
  Tensor e = embedding(w, Tensor::from_vector<int32_t>({3, 0}, {1, 2}));
  EXPECT_EQ(e.shape(), (Shape{1, 2, 2}));
  EXPECT_DOUBLE_EQ(e.at({0, 0, 1}), w.at({3, 1}));
  try {
    embedding(w, Tensor::from_vector<int64_t>({4}, {1}));
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), ErrorKind::BadInput);
    EXPECT_NE(std::string(err.what()).find("token id 4 outside [0, 4)"), std::string::npos);
  }
}

TEST(Ops, RopeRotatesPairs) {
  Tensor inv = Tensor::from_vector<double>({1.0}, {1});
  auto [c, s] = rope_tables(inv, 4, DType::f64);
  Tensor x = Tensor::from_vector<double>({1.0, 0.0}, {1, 1, 1, 2});
  Tensor y = rope(x, c, s, Tensor::from_vector<int64_t>({2}, {1}));
  EXPECT_NEAR(y.at({0, 0, 0, 0}), std::cos(2.0), 1e-12);
  EXPECT_NEAR(y.at({0, 0, 0, 1}), std::sin(2.0), 1e-12);
  EXPECT_THROW(rope(x, c, s, Tensor::from_vector<int64_t>({4}, {1})), Error);
}

TEST(Ops, CausalConvIsCausal) {
  Tensor x = randn({1, 6, 2}, 10, DType::f64), w = randn({2, 3}, 11, DType::f64);
  Tensor y = causal_conv1d(x, w, Tensor());
  Tensor x2 = x.clone();
  x2.select(1, 5).copy_(Tensor::zeros({1, 2}, DType::f64));  // change only the last step
  Tensor y2 = causal_conv1d(x2, w, Tensor());
  for (int t = 0; t < 5; ++t) EXPECT_DOUBLE_EQ(y.at({0, t, 1}), y2.at({0, t, 1}));
  EXPECT_DOUBLE_EQ(y.at({0, 0, 0}), w.at({0, 2}) * x.at({0, 0, 0}));
}

TEST(Ops, TopkConcatIndexSelect) {
  Tensor x = Tensor::from_vector<float>({3, 1, 4, 1, 5, 9, 2, 6}, {2, 4});
  auto [v, i] = topk(x, 2);
  EXPECT_EQ(v.to_vector<float>(), (std::vector<float>{4, 3, 9, 6}));
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{2, 0, 1, 3}));
  Tensor c = concat({x, x.slice(1, 0, 1)}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 5}));
  EXPECT_DOUBLE_EQ(c.at({1, 4}), 5.0);
  Tensor s = index_select(x, 1, Tensor::from_vector<int64_t>({3, 3}, {2}));
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{1, 1, 6, 6}));
  EXPECT_THROW(index_select(x, 1, Tensor::from_vector<int64_t>({4}, {1})), Error);
  EXPECT_THROW(concat({x, x.to(DType::f64)}, 0), Error);
}

TEST(Ops, WhereSelectsWithoutNanLeaks) {
  Tensor a = Tensor::from_vector<float>({INFINITY, 1}, {2});
  Tensor b = Tensor::from_vector<float>({0, 2}, {2});
  Tensor w = where(Tensor::from_vector<uint8_t>({0, 1}, {2}), a, b);
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{0, 1}));
  Tensor m = masked_fill(b, Tensor::from_vector<uint8_t>({1, 0}, {2}), -5);
  EXPECT_EQ(m.to_vector<float>(), (std::vector<float>{-5, 2}));
}

TEST(Ops, ReductionsAlongAxes) {
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sum(x, 0).to_vector<double>(), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(max(x, 1).to_vector<double>(), (std::vector<double>{3, 6}));
  EXPECT_EQ(argmax(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(cumsum(x, 1).to_vector<double>(), (std::vector<double>{1, 3, 6, 4, 9, 15}));
  EXPECT_NEAR(logsumexp(x, 1).at({0}), std::log(std::exp(1) + std::exp(2) + std::exp(3)), 1e-12);
  EXPECT_DOUBLE_EQ(sum_to(Tensor::ones({2, 3, 4}, DType::f64), {3, 1}).at({2, 0}), 8.0);
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {
TEST(Ops, AttentionMatchesReferenceLoops) {
  for (bool causal : {true, false}) {
    Tensor q = randn({2, 5, 4, 8}, 20, DType::f64), k = randn({2, 7, 2, 8}, 21, DType::f64);
    Tensor v = randn({2, 7, 2, 8}, 22, DType::f64);
    Tensor out = attention(q, k, v, causal);
    Tensor ref = Tensor::empty(q.shape(), DType::f64), lse = Tensor::empty({2, 4, 5}, DType::f64);
    kernels::reference::attention_forward<double>(q.data<double>(), k.data<double>(), v.data<double>(),
                                                  ref.data<double>(), lse.data<double>(),
                                                  {2, 5, 7, 4, 2, 8}, 1.0 / std::sqrt(8.0), causal);
    std::vector<double> a = out.to_vector<double>(), b = ref.to_vector<double>();
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-12) << i;
  }
  EXPECT_THROW(attention(randn({1, 2, 3, 4}, 1), randn({1, 2, 2, 4}, 2), randn({1, 2, 2, 4}, 3)), Error);
}
}  // namespace
}  // namespace tessera
