// Elementwise kernels against the scalar reference (evaluated in f64), for both ISAs, both
// element types and odd sizes; unary derivatives against central differences.
#include <limits>

#include "kernel_test_util.h"
#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels {
namespace {

using testing::all_close;
using testing::default_tolerance;
using testing::random_values;
using testing::to_double;

class Elementwise : public testing::IsaTest {};
TESSERA_INSTANTIATE_ISA_SUITE(Elementwise);

const UnaryOp kAllUnary[] = {
    UnaryOp::neg,  UnaryOp::exp,      UnaryOp::log,  UnaryOp::sqrt,      UnaryOp::rsqrt,
    UnaryOp::tanh, UnaryOp::sigmoid,  UnaryOp::silu, UnaryOp::gelu_tanh, UnaryOp::gelu_erf,
    UnaryOp::relu, UnaryOp::softplus, UnaryOp::abs,  UnaryOp::square};

bool needs_positive(UnaryOp op) {
  return op == UnaryOp::log || op == UnaryOp::sqrt || op == UnaryOp::rsqrt;
}
// Inputs wide enough to reach each function's saturated or tail regime.
double input_range(UnaryOp op) {
  switch (op) {
    case UnaryOp::exp:
      return 30.0;
    case UnaryOp::tanh:
    case UnaryOp::sigmoid:
    case UnaryOp::silu:
    case UnaryOp::softplus:
    case UnaryOp::gelu_erf:
      return 12.0;
    case UnaryOp::gelu_tanh:
      return 6.0;
    case UnaryOp::log:
    case UnaryOp::sqrt:
    case UnaryOp::rsqrt:
      return 1000.0;
    default:
      return 4.0;
  }
}

template <typename T>
void check_unary(UnaryOp op, int64_t n, uint32_t seed) {
  auto x = random_values<T>(n, seed, 0.01, input_range(op), needs_positive(op));
  std::vector<T> y(x.size());
  unary(op, x.data(), y.data(), n);
  std::vector<double> expected(x.size());
  reference::unary(op, to_double(x).data(), expected.data(), n);
  EXPECT_TRUE(all_close(y, expected)) << "op " << static_cast<int>(op) << ", n = " << n;
  // In place (x and y alias).
  std::vector<T> in_place = x;
  unary(op, in_place.data(), in_place.data(), n);
  EXPECT_TRUE(all_close(in_place, y, 0, 0)) << "in place, op " << static_cast<int>(op);
}

TEST_P(Elementwise, UnaryMatchesReference) {
  for (UnaryOp op : kAllUnary) {
    for (int64_t n : testing::odd_sizes()) {
      check_unary<float>(op, n, 11 + static_cast<uint32_t>(n));
      check_unary<double>(op, n, 12 + static_cast<uint32_t>(n));
    }
  }
  check_unary<float>(UnaryOp::gelu_erf, 70001, 5);  // large enough to run threaded
  check_unary<double>(UnaryOp::silu, 70001, 6);
}

template <typename T>
void check_unary_backward(UnaryOp op, int64_t n, uint32_t seed) {
  auto x = random_values<T>(n, seed, 0.05, needs_positive(op) ? 50.0 : 5.0, needs_positive(op));
  auto dy = random_values<T>(n, seed + 1);
  std::vector<T> y(x.size()), dx(x.size());
  reference::unary(op, x.data(), y.data(), n);
  unary_backward(op, x.data(), y.data(), dy.data(), dx.data(), n);
  std::vector<double> yd(x.size()), expected(x.size());
  reference::unary(op, to_double(x).data(), yd.data(), n);
  reference::unary_backward(op, to_double(x).data(), yd.data(), to_double(dy).data(),
                            expected.data(), n);
  // f32 gets the forward output rounded to f32, which the exp/tanh/sigmoid derivatives read.
  const auto tolerance = default_tolerance<T>();
  EXPECT_TRUE(all_close(dx, expected, tolerance.relative * 4, tolerance.absolute))
      << "op " << static_cast<int>(op) << ", n = " << n;
}

TEST_P(Elementwise, UnaryBackwardMatchesReference) {
  for (UnaryOp op : kAllUnary) {
    for (int64_t n : testing::odd_sizes()) {
      check_unary_backward<float>(op, n, 21 + static_cast<uint32_t>(n));
      check_unary_backward<double>(op, n, 22 + static_cast<uint32_t>(n));
    }
  }
}

// d/dx of sum(dy * op(x)) by central differences of the reference forward, in f64.
TEST_P(Elementwise, UnaryBackwardMatchesFiniteDifferences) {
  const int64_t n = 37;
  for (UnaryOp op : kAllUnary) {
    // |x| >= 0.1 keeps relu and abs away from their kink.
    auto x = testing::random_values<double>(n, 31, 0.1, needs_positive(op) ? 5.0 : 3.0,
                                            needs_positive(op));
    auto dy = testing::random_values<double>(n, 32);
    std::vector<double> y(x.size()), dx(x.size());
    reference::unary(op, x.data(), y.data(), n);
    unary_backward(op, x.data(), y.data(), dy.data(), dx.data(), n);
    auto numeric = testing::numeric_gradient(
        [&](const std::vector<double>& v) {
          std::vector<double> out(v.size());
          reference::unary(op, v.data(), out.data(), n);
          return testing::weighted_sum(out, dy);
        },
        x);
    EXPECT_TRUE(all_close(dx, numeric, 1e-6, 1e-8)) << "op " << static_cast<int>(op);
  }
}

template <typename T>
void check_pow(T p, bool positive_only) {
  for (int64_t n : testing::odd_sizes()) {
    auto x = random_values<T>(n, 41 + static_cast<uint32_t>(n), 0.1, 3.0, positive_only);
    std::vector<T> y(x.size());
    pow_scalar(x.data(), p, y.data(), n);
    std::vector<double> expected(x.size());
    reference::pow_scalar(to_double(x).data(), static_cast<double>(p), expected.data(), n);
    EXPECT_TRUE(all_close(y, expected)) << "p = " << p << ", n = " << n;
  }
}

TEST_P(Elementwise, PowScalarMatchesReference) {
  for (double p : {0.0, 1.0, 2.0, -1.0, 3.0, -2.0}) {
    check_pow<float>(static_cast<float>(p), false);
    check_pow<double>(p, false);
  }
  for (double p : {0.5, 1.7, -2.5, 0.25}) {
    check_pow<float>(static_cast<float>(p), true);
    check_pow<double>(p, true);
  }
  // pow's rules at the edges of the sqrt shortcut: (-0)^0.5 = +0, (-inf)^0.5 = +inf.
  const float edges[] = {-0.0f, -std::numeric_limits<float>::infinity(), 4.0f};
  float out[3];
  pow_scalar(edges, 0.5f, out, 3);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_FALSE(std::signbit(out[0]));
  EXPECT_EQ(out[1], std::numeric_limits<float>::infinity());
  EXPECT_EQ(out[2], 2.0f);
}

template <typename T>
void check_clamp_affine_accumulate() {
  for (int64_t n : testing::odd_sizes()) {
    auto x = random_values<T>(n, 51 + static_cast<uint32_t>(n));
    auto d = random_values<T>(n, 52 + static_cast<uint32_t>(n));
    std::vector<T> y(x.size()), expected(x.size());
    clamp(x.data(), T(-0.7), T(1.1), y.data(), n);
    reference::clamp(x.data(), T(-0.7), T(1.1), expected.data(), n);
    EXPECT_TRUE(all_close(y, expected, 0, 0)) << "clamp n = " << n;
    affine(x.data(), T(1.5), T(-0.25), y.data(), n);
    reference::affine(x.data(), T(1.5), T(-0.25), expected.data(), n);
    EXPECT_TRUE(all_close(y, expected)) << "affine n = " << n;
    std::vector<T> sum = d, expected_sum = d;
    accumulate(x.data(), sum.data(), n);
    reference::accumulate(x.data(), expected_sum.data(), n);
    EXPECT_TRUE(all_close(sum, expected_sum, 0, 0)) << "accumulate n = " << n;
  }
}

TEST_P(Elementwise, ClampAffineAccumulateMatchReference) {
  check_clamp_affine_accumulate<float>();
  check_clamp_affine_accumulate<double>();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float in[2] = {nan, 5.0f};
  float out[2];
  clamp(in, 0.0f, 1.0f, out, 2);
  EXPECT_TRUE(std::isnan(out[0]));  // NaN passes through clamp
  EXPECT_EQ(out[1], 1.0f);
  clamp(in + 1, 3.0f, 2.0f, out, 1);  // lo > hi: hi, as torch.clamp
  EXPECT_EQ(out[0], 2.0f);
}

}  // namespace
}  // namespace tessera::kernels
