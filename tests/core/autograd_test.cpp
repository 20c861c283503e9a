#include <gtest/gtest.h>

#include "tessera/core/autograd.h"
#include "tessera/core/ops.h"

namespace tessera {
namespace {

Tensor param(std::vector<double> v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  t.requires_grad_(true);
  return t;
}

TEST(Autograd, ChainRuleAndSharedSubexpressions) {
  Tensor x = param({1.0, 2.0, 3.0});
  Tensor y = mul(x, x);            // x^2
  Tensor z = sum(add(y, mul(y, x)));  // sum(x^2 + x^3)
  z.backward();
  std::vector<double> g = x.grad().to_vector<double>();
  for (int i = 0; i < 3; ++i) {
    double xi = i + 1.0;
    EXPECT_DOUBLE_EQ(g[i], 2 * xi + 3 * xi * xi);
  }
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = param({1.0, -1.0});
  sum(mul(x, 3.0)).backward();
  sum(mul(x, 2.0)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5.0, 5.0}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = param({1.0});
  Tensor y;
  {
    NoGrad guard;
    EXPECT_FALSE(grad_mode_enabled());
    y = mul(x, 2.0);
  }
  EXPECT_TRUE(grad_mode_enabled());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_THROW(y.backward(), Error);
}

TEST(Autograd, TapeIsFreedAfterBackward) {
  Tensor x = param({1.0, 2.0});
  Tensor loss = sum(exp(x));
  loss.backward();
  ASSERT_NE(loss.grad_fn(), nullptr);
  EXPECT_TRUE(loss.grad_fn()->inputs.empty()) << "saved tensors must be released";
  EXPECT_THROW(loss.backward(), Error);  // a second pass without retain_graph is refused
  Tensor loss2 = sum(exp(x));
  loss2.backward(Tensor(), /*retain_graph=*/true);
  loss2.backward();
  EXPECT_NEAR(x.grad().to_vector<double>()[0], 3 * std::exp(1.0), 1e-12);
}

TEST(Autograd, SeededBackwardForNonScalars) {
  Tensor x = param({1.0, 2.0});
  Tensor y = mul(x, x);
  EXPECT_THROW(y.backward(), Error);  // non-scalar needs a seed
  y.backward(Tensor::from_vector<double>({1.0, 10.0}, {2}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2.0, 40.0}));
}

TEST(Autograd, BroadcastGradientsReduceToInputShape) {
  Tensor a = param({1.0, 2.0, 3.0});
  Tensor m = Tensor::ones({4, 3}, DType::f64);
  sum(mul(m, a)).backward();
  EXPECT_EQ(a.grad().shape(), (Shape{3}));
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{4.0, 4.0, 4.0}));
}

TEST(Autograd, DetachCutsHistory) {
  Tensor x = param({2.0});
  Tensor y = mul(x.detach(), x);  // d/dx = detached value
  y.backward(Tensor::ones({1}, DType::f64));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2.0}));
}

TEST(Autograd, OnlyFloatingTensorsRequireGrad) {
  Tensor i = Tensor::zeros({2}, DType::i64);
  EXPECT_THROW(i.requires_grad_(true), Error);
}

}  // namespace
}  // namespace tessera
