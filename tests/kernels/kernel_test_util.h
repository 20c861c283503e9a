#pragma once
// Helpers shared by the kernel tests: seeded random inputs (never zero), closeness checks
// against the f64 reference, finite differences, and a fixture that runs a test once per ISA.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tessera/kernels/cpu/dispatch.h"

namespace tessera::kernels::testing {

// The odd sizes every kernel is tried with: one element, less than a vector, a few vectors plus
// a tail, and sizes that cross the 4-accumulator unroll.
inline const std::vector<int64_t>& odd_sizes() {
  static const std::vector<int64_t> sizes = {1, 7, 33, 1000, 4099};
  return sizes;
}

// Uniform magnitudes in [lo, hi] with a random sign (or positive only): never zero, so
// relative comparisons and divisions stay meaningful.
template <typename T>
std::vector<T> random_values(int64_t n, uint32_t seed, double lo = 0.05, double hi = 2.0,
                             bool positive = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> magnitude(lo, hi);
  std::bernoulli_distribution negative(0.5);
  std::vector<T> out(static_cast<size_t>(n));
  for (auto& v : out) {
    double m = magnitude(rng);
    v = static_cast<T>(!positive && negative(rng) ? -m : m);
  }
  return out;
}

template <typename T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Tolerances for comparing a kernel in T with the reference evaluated in f64.
template <typename T>
struct Tolerance {
  double relative;
  double absolute;
};
template <typename T>
constexpr Tolerance<T> default_tolerance() {
  if constexpr (sizeof(T) == 4) {
    return {1e-5, 1e-6};
  } else {
    return {1e-12, 1e-13};
  }
}

// |actual - expected| <= absolute + relative * |expected| everywhere (NaN matches NaN, an
// infinity matches the same infinity).
template <typename A, typename E>
::testing::AssertionResult all_close(const A* actual, const E* expected, int64_t n, double relative,
                                     double absolute) {
  for (int64_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(actual[i]), e = static_cast<double>(expected[i]);
    if (std::isnan(a) && std::isnan(e)) continue;
    if (std::isinf(e) && a == e) continue;
    if (!(std::fabs(a - e) <= absolute + relative * std::fabs(e))) {
      return ::testing::AssertionFailure() << "element " << i << " of " << n << ": got " << a
                                           << ", expected " << e << " (difference " << a - e << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

template <typename A, typename E>
::testing::AssertionResult all_close(const std::vector<A>& actual, const std::vector<E>& expected,
                                     double relative, double absolute) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: " << actual.size() << " vs " << expected.size();
  }
  return all_close(actual.data(), expected.data(), static_cast<int64_t>(actual.size()), relative,
                   absolute);
}

template <typename T, typename E>
::testing::AssertionResult all_close(const std::vector<T>& actual, const std::vector<E>& expected) {
  const auto tolerance = default_tolerance<T>();
  return all_close(actual, expected, tolerance.relative, tolerance.absolute);
}

// Central difference of a scalar function of x along every coordinate.
inline std::vector<double> numeric_gradient(
    const std::function<double(const std::vector<double>&)>& f, std::vector<double> x,
    double h = 1e-5) {
  std::vector<double> grad(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = f(x);
    x[i] = saved - h;
    const double down = f(x);
    x[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

inline double weighted_sum(const std::vector<double>& y, const std::vector<double>& weights) {
  double total = 0;
  for (size_t i = 0; i < y.size(); ++i) total += y[i] * weights[i];
  return total;
}

// Runs each TEST_P once with the AVX2 kernels and once with AVX-512 (skipped when the CPU lacks
// it), restoring the previous choice afterwards.
class IsaTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    saved_ = active_isa();
    set_isa(GetParam());
    if (active_isa() != GetParam()) GTEST_SKIP() << "this CPU has no " << isa_name(GetParam());
  }
  void TearDown() override { set_isa(saved_); }

 private:
  Isa saved_ = Isa::avx2;
};

inline std::string isa_param_name(const ::testing::TestParamInfo<Isa>& info) {
  return isa_name(info.param);
}

}  // namespace tessera::kernels::testing

// Instantiates an IsaTest-derived suite for both instruction sets.
#define TESSERA_INSTANTIATE_ISA_SUITE(Suite)                                             \
  INSTANTIATE_TEST_SUITE_P(                                                              \
      Isa, Suite,                                                                        \
      ::testing::Values(::tessera::kernels::Isa::avx2, ::tessera::kernels::Isa::avx512), \
      ::tessera::kernels::testing::isa_param_name)
