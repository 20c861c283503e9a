// Accuracy of the vectorised f32 elementary functions (vector_math.h), measured in units in the
// last place against the f64 C library over dense sweeps, and their special values (overflow,
// underflow, infinities, NaN, tiny and huge arguments) for f32 and f64 under both ISAs.
#include <cstring>
#include <limits>

#include "kernel_test_util.h"
#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels {
namespace {

class VectorMath : public testing::IsaTest {};
TESSERA_INSTANTIATE_ISA_SUITE(VectorMath);

// Distance in f32 units in the last place between a computed value and the exact one (given in
// f64), measured at the exact value's binade; subnormal results use the subnormal spacing.
double ulp_error(float computed, double exact) {
  if (std::isnan(exact)) return std::isnan(computed) ? 0 : 1e9;
  if (std::isinf(exact)) return computed == exact ? 0 : 1e9;
  const double magnitude = std::fabs(exact);
  const double spacing =
      magnitude < 0x1p-126 ? 0x1p-149 : std::ldexp(1.0, std::ilogb(magnitude) - 23);
  return std::fabs(static_cast<double>(computed) - exact) / spacing;
}

double max_ulp_error(UnaryOp op, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  unary(op, x.data(), y.data(), static_cast<int64_t>(x.size()));
  std::vector<double> exact(x.size());
  reference::unary(op, testing::to_double(x).data(), exact.data(), static_cast<int64_t>(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulp_error(y[i], exact[i]));
  return worst;
}

std::vector<float> sweep(double lo, double hi, int count) {
  std::vector<float> x(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i)
    x[static_cast<size_t>(i)] = static_cast<float>(lo + (hi - lo) * i / (count - 1));
  return x;
}

// Every positive float from 2^-149 up: random bit patterns in [1, 0x7f7fffff].
std::vector<float> positive_bit_patterns(int count) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<uint32_t> bits(1, 0x7f7fffffu);
  std::vector<float> x(static_cast<size_t>(count));
  for (auto& v : x) {
    uint32_t u = bits(rng);
    std::memcpy(&v, &u, sizeof v);
  }
  return x;
}

TEST_P(VectorMath, ExpIsWithinTwoUlpIncludingGradualUnderflow) {
  EXPECT_LE(max_ulp_error(UnaryOp::exp, sweep(-103.9, 88.7, 200001)), 2.0);
  EXPECT_LE(max_ulp_error(UnaryOp::exp, sweep(-1, 1, 20001)), 2.0);
}

TEST_P(VectorMath, LogIsWithinTwoUlpOverAllPositiveFloats) {
  EXPECT_LE(max_ulp_error(UnaryOp::log, positive_bit_patterns(200000)), 2.0);
  EXPECT_LE(max_ulp_error(UnaryOp::log, sweep(0.5, 2.0, 20001)), 2.0);
}

TEST_P(VectorMath, TanhSigmoidSoftplusAreWithinFewUlp) {
  EXPECT_LE(max_ulp_error(UnaryOp::tanh, sweep(-12, 12, 100001)), 3.0);
  EXPECT_LE(max_ulp_error(UnaryOp::tanh, sweep(-0.7, 0.7, 20001)), 3.0);
  EXPECT_LE(max_ulp_error(UnaryOp::sigmoid, sweep(-100, 30, 100001)), 4.0);
  EXPECT_LE(max_ulp_error(UnaryOp::softplus, sweep(-100, 100, 100001)), 4.0);
  EXPECT_LE(max_ulp_error(UnaryOp::silu, sweep(-80, 80, 100001)), 4.0);
}

TEST_P(VectorMath, GeluErfKeepsRelativeAccuracyInTheNegativeTail) {
  // x Phi(x) down to x = -13 (Phi ~ 1e-38): relative, not just absolute, accuracy.
  EXPECT_LE(max_ulp_error(UnaryOp::gelu_erf, sweep(-13, 8, 100001)), 16.0);
  EXPECT_LE(max_ulp_error(UnaryOp::gelu_erf, sweep(-1.5, 1.5, 20001)), 8.0);
}

template <typename T>
std::vector<T> apply(UnaryOp op, std::vector<T> x) {
  unary(op, x.data(), x.data(), static_cast<int64_t>(x.size()));
  return x;
}

template <typename T>
void check_special_values() {
  const T inf = std::numeric_limits<T>::infinity();
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T tiny = std::numeric_limits<T>::denorm_min();

  auto e = apply(UnaryOp::exp, std::vector<T>{inf, -inf, nan, T(1000), T(-1000), T(0), T(-0.0)});
  EXPECT_EQ(e[0], inf);
  EXPECT_EQ(e[1], T(0));
  EXPECT_TRUE(std::isnan(e[2]));
  EXPECT_EQ(e[3], inf);   // overflow
  EXPECT_EQ(e[4], T(0));  // underflow
  EXPECT_EQ(e[5], T(1));
  EXPECT_EQ(e[6], T(1));
  if constexpr (sizeof(T) == 4) {
    auto sub = apply(UnaryOp::exp, std::vector<float>{-90.0f, -100.0f, -103.0f, 88.7f, 88.8f});
    EXPECT_NEAR(sub[0] / static_cast<float>(std::exp(-90.0)), 1.0f, 1e-6f);  // subnormal
    EXPECT_NEAR(sub[1] / static_cast<float>(std::exp(-100.0)), 1.0f, 1e-3f);
    EXPECT_GT(sub[2], 0.0f);
    EXPECT_TRUE(std::isfinite(sub[3]));
    EXPECT_EQ(sub[4], inf);
  }

  auto l = apply(UnaryOp::log,
                 std::vector<T>{T(0), T(-0.0), T(-1), inf, nan, tiny, std::numeric_limits<T>::min(),
                                std::numeric_limits<T>::max(), T(1)});
  EXPECT_EQ(l[0], -inf);
  EXPECT_EQ(l[1], -inf);
  EXPECT_TRUE(std::isnan(l[2]));
  EXPECT_EQ(l[3], inf);
  EXPECT_TRUE(std::isnan(l[4]));
  EXPECT_NEAR(l[5], std::log(static_cast<double>(tiny)),
              1e-5 * std::fabs(std::log(static_cast<double>(tiny))));
  EXPECT_NEAR(l[6], std::log(static_cast<double>(std::numeric_limits<T>::min())), 1e-4);
  EXPECT_NEAR(l[7], std::log(static_cast<double>(std::numeric_limits<T>::max())), 1e-4);
  EXPECT_EQ(l[8], T(0));

  auto t = apply(UnaryOp::tanh, std::vector<T>{T(50), T(-50), inf, -inf, nan, T(1e-30), T(-0.0)});
  EXPECT_EQ(t[0], T(1));
  EXPECT_EQ(t[1], T(-1));
  EXPECT_EQ(t[2], T(1));
  EXPECT_EQ(t[3], T(-1));
  EXPECT_TRUE(std::isnan(t[4]));
  EXPECT_EQ(t[5], T(1e-30));
  EXPECT_TRUE(t[6] == T(0) && std::signbit(t[6]));

  auto sp =
      apply(UnaryOp::softplus, std::vector<T>{T(100), T(-80), inf, -inf, nan, T(1000), T(-30)});
  EXPECT_EQ(sp[0], T(100));
  EXPECT_NEAR(sp[1] / std::exp(T(-80)), T(1), T(1e-5));  // log1p(e^-80) = e^-80, relative
  EXPECT_EQ(sp[2], inf);
  EXPECT_EQ(sp[3], T(0));
  EXPECT_TRUE(std::isnan(sp[4]));
  EXPECT_EQ(sp[5], T(1000));
  EXPECT_NEAR(sp[6] / std::exp(T(-30)), T(1), T(1e-5));

  auto s = apply(UnaryOp::sigmoid, std::vector<T>{T(100), T(-80), inf, -inf, nan});
  EXPECT_EQ(s[0], T(1));
  EXPECT_NEAR(s[1] / std::exp(T(-80)), T(1), T(1e-5));  // no flush to 0 in the tail
  EXPECT_EQ(s[2], T(1));
  EXPECT_EQ(s[3], T(0));
  EXPECT_TRUE(std::isnan(s[4]));

  auto g = apply(UnaryOp::gelu_erf, std::vector<T>{T(-10), T(10), T(-40), nan, inf});
  const double phi_minus_10 = 0.5 * std::erfc(10 / std::sqrt(2.0));
  EXPECT_NEAR(g[0] / T(-10 * phi_minus_10), T(1), T(1e-5));
  EXPECT_EQ(g[1], T(10));
  EXPECT_EQ(g[2], T(0));
  EXPECT_TRUE(std::isnan(g[3]));
  EXPECT_EQ(g[4], inf);

  auto r = apply(UnaryOp::relu, std::vector<T>{nan, T(-3), T(3), -inf});
  EXPECT_TRUE(std::isnan(r[0]));  // NaN passes through relu
  EXPECT_EQ(r[1], T(0));
  EXPECT_EQ(r[2], T(3));
  EXPECT_EQ(r[3], T(0));

  auto q = apply(UnaryOp::rsqrt, std::vector<T>{T(0), inf, T(4), T(-1)});
  EXPECT_EQ(q[0], inf);
  EXPECT_EQ(q[1], T(0));
  EXPECT_EQ(q[2], T(0.5));
  EXPECT_TRUE(std::isnan(q[3]));
}

TEST_P(VectorMath, SpecialValues) {
  check_special_values<float>();
  check_special_values<double>();
}

}  // namespace
}  // namespace tessera::kernels
