// Reductions, softmax, cumsum and top-k against the reference (in f64), both ISAs; backward
// kernels against central differences.
#include <limits>
#include <stdexcept>

#include "kernel_test_util.h"
#include "tessera/kernels/cpu/reduce.h"
#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels {
namespace {

using testing::all_close;
using testing::random_values;
using testing::to_double;

class Reduce : public testing::IsaTest {};
TESSERA_INSTANTIATE_ISA_SUITE(Reduce);

struct Block {
  int64_t outer, n, inner;
  int64_t size() const { return outer * n * inner; }
};

// Rows (inner == 1) of every odd size, middle-axis blocks, long rows that are split into
// chunks, and blocks large enough to run threaded.
std::vector<Block> blocks() {
  std::vector<Block> out;
  for (int64_t n : testing::odd_sizes()) out.push_back({3, n, 1});
  out.insert(out.end(), {{2, 7, 33},
                         {4, 33, 7},
                         {1, 1, 1000},
                         {3, 1000, 5},
                         {2, 150001, 1},
                         {3, 100, 1030},
                         {1, 4099, 9}});
  return out;
}

// |a - e| <= relative * scale for sums, where scale is the sum of |x| along the reduced axis
// (the error bound of any summation order).
template <typename T>
::testing::AssertionResult sums_close(const std::vector<T>& actual,
                                      const std::vector<double>& expected,
                                      const std::vector<double>& scale, double relative) {
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!(std::fabs(actual[i] - expected[i]) <= relative * scale[i] + 1e-300)) {
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << actual[i] << ", expected " << expected[i];
    }
  }
  return ::testing::AssertionSuccess();
}

template <typename T>
void check_reduce(const Block& b, uint32_t seed) {
  auto x = random_values<T>(b.size(), seed);
  const auto xd = to_double(x);
  std::vector<double> abs_x(xd.size());
  for (size_t i = 0; i < xd.size(); ++i) abs_x[i] = std::fabs(xd[i]);
  std::vector<double> scale(static_cast<size_t>(b.outer * b.inner));
  reference::reduce(ReduceOp::sum, abs_x.data(), scale.data(), b.outer, b.n, b.inner);
  const double relative = sizeof(T) == 4 ? 1e-6 : 1e-14;
  for (ReduceOp op :
       {ReduceOp::sum, ReduceOp::mean, ReduceOp::max, ReduceOp::min, ReduceOp::logsumexp}) {
    std::vector<T> y(scale.size());
    std::vector<double> expected(scale.size());
    reduce(op, x.data(), y.data(), b.outer, b.n, b.inner);
    reference::reduce(op, xd.data(), expected.data(), b.outer, b.n, b.inner);
    const std::string where = "op " + std::to_string(static_cast<int>(op)) + " block " +
                              std::to_string(b.outer) + "x" + std::to_string(b.n) + "x" +
                              std::to_string(b.inner);
    if (op == ReduceOp::sum) {
      EXPECT_TRUE(sums_close(y, expected, scale, relative)) << where;
    } else if (op == ReduceOp::mean) {
      std::vector<double> mean_scale = scale;
      for (auto& s : mean_scale) s /= static_cast<double>(b.n);
      EXPECT_TRUE(sums_close(y, expected, mean_scale, relative)) << where;
    } else if (op == ReduceOp::logsumexp) {
      EXPECT_TRUE(all_close(y, expected)) << where;
    } else {
      EXPECT_TRUE(all_close(y, expected, 0, 0)) << where;  // max/min are exact
    }
  }
}

TEST_P(Reduce, ReduceMatchesReference) {
  uint32_t seed = 1;
  for (const Block& b : blocks()) {
    check_reduce<float>(b, seed++);
    check_reduce<double>(b, seed++);
  }
}

TEST_P(Reduce, ReduceSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Rows of 40 (several vectors plus a tail), each with one special placed late.
  const int64_t n = 40;
  std::vector<float> x(4 * n, 1.0f);
  x[1 * n + 37] = nan;
  for (int64_t j = 0; j < n; ++j) x[static_cast<size_t>(2 * n + j)] = -inf;
  x[3 * n + 30] = inf;
  for (ReduceOp op : {ReduceOp::max, ReduceOp::min, ReduceOp::logsumexp, ReduceOp::sum}) {
    std::vector<float> y(4), expected(4);
    reduce(op, x.data(), y.data(), 4, n, 1);
    reference::reduce(op, x.data(), expected.data(), 4, n, 1);
    EXPECT_TRUE(all_close(y, expected, 1e-6, 0)) << "op " << static_cast<int>(op);
    EXPECT_TRUE(std::isnan(y[1])) << "NaN propagates, op " << static_cast<int>(op);
    // The same data along a middle axis: [1, 40, 4].
    std::vector<float> transposed(x.size());
    for (int64_t r = 0; r < 4; ++r) {
      for (int64_t j = 0; j < n; ++j)
        transposed[static_cast<size_t>(j * 4 + r)] = x[static_cast<size_t>(r * n + j)];
    }
    std::vector<float> y_columns(4);
    reduce(op, transposed.data(), y_columns.data(), 1, n, 4);
    EXPECT_TRUE(all_close(y_columns, expected, 1e-6, 0)) << "columns, op " << static_cast<int>(op);
  }
  std::vector<float> lse(1);
  reduce(ReduceOp::logsumexp, x.data() + 2 * n, lse.data(), 1, n, 1);
  EXPECT_EQ(lse[0], -inf);  // every term -inf
  reduce(ReduceOp::logsumexp, x.data() + 3 * n, lse.data(), 1, n, 1);
  EXPECT_EQ(lse[0], inf);
  // Empty rows: sum 0, mean NaN, max -inf, min +inf, argmax -1.
  float empty_out = 5;
  reduce(ReduceOp::sum, x.data(), &empty_out, 1, 0, 1);
  EXPECT_EQ(empty_out, 0.0f);
  reduce(ReduceOp::max, x.data(), &empty_out, 1, 0, 1);
  EXPECT_EQ(empty_out, -inf);
  int64_t empty_index = 5;
  argmax(x.data(), &empty_index, 1, 0, 1);
  EXPECT_EQ(empty_index, -1);
}

template <typename T>
void check_argmax(const Block& b, uint32_t seed) {
  // Few distinct values, so ties are common and "first maximum" is really tested.
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(1, 6);
  std::vector<T> x(static_cast<size_t>(b.size()));
  for (auto& v : x) v = static_cast<T>(level(rng)) * T(0.5);
  std::vector<int64_t> y(static_cast<size_t>(b.outer * b.inner)), expected(y.size());
  argmax(x.data(), y.data(), b.outer, b.n, b.inner);
  reference::argmax(x.data(), expected.data(), b.outer, b.n, b.inner);
  EXPECT_EQ(y, expected) << b.outer << "x" << b.n << "x" << b.inner;
  if (b.n > 3) {  // a NaN anywhere wins, the first NaN if several
    x[static_cast<size_t>((b.n - 2) * b.inner)] = std::numeric_limits<T>::quiet_NaN();
    x[static_cast<size_t>((b.n - 1) * b.inner)] = std::numeric_limits<T>::quiet_NaN();
    argmax(x.data(), y.data(), b.outer, b.n, b.inner);
    EXPECT_EQ(y[0], b.n - 2);
  }
}

TEST_P(Reduce, ArgmaxReturnsFirstMaximum) {
  uint32_t seed = 50;
  for (const Block& b : blocks()) {
    check_argmax<float>(b, seed++);
    check_argmax<double>(b, seed++);
  }
}

template <typename T>
void check_variance(const Block& b, uint32_t seed) {
  auto x = random_values<T>(b.size(), seed);
  for (auto& v : x) v += T(3);  // a mean far from zero tests the two-pass formula
  for (bool unbiased : {false, true}) {
    std::vector<T> y(static_cast<size_t>(b.outer * b.inner));
    std::vector<double> expected(y.size());
    variance(x.data(), y.data(), b.outer, b.n, b.inner, unbiased);
    reference::variance(to_double(x).data(), expected.data(), b.outer, b.n, b.inner, unbiased);
    if (b.n == 1 && unbiased) continue;  // 0/0
    EXPECT_TRUE(all_close(y, expected, sizeof(T) == 4 ? 2e-5 : 1e-11, 0))
        << b.outer << "x" << b.n << "x" << b.inner << " unbiased " << unbiased;
  }
}

TEST_P(Reduce, VarianceMatchesReference) {
  uint32_t seed = 90;
  for (const Block& b : blocks()) {
    check_variance<float>(b, seed++);
    check_variance<double>(b, seed++);
  }
}

template <typename T>
void check_softmax(int64_t rows, int64_t n, uint32_t seed) {
  auto x = random_values<T>(rows * n, seed, 0.05, 8.0);
  if (n > 2) x[1] = -std::numeric_limits<T>::infinity();  // a masked position
  const auto xd = to_double(x);
  std::vector<T> y(x.size()), ly(x.size());
  std::vector<double> expected(x.size()), expected_log(x.size());
  softmax_rows(x.data(), y.data(), rows, n);
  log_softmax_rows(x.data(), ly.data(), rows, n);
  reference::softmax_rows(xd.data(), expected.data(), rows, n);
  reference::log_softmax_rows(xd.data(), expected_log.data(), rows, n);
  EXPECT_TRUE(all_close(y, expected)) << rows << "x" << n;
  EXPECT_TRUE(all_close(ly, expected_log)) << rows << "x" << n;

  auto dy = random_values<T>(rows * n, seed + 1);
  std::vector<T> dx(x.size()), dlx(x.size());
  std::vector<double> expected_dx(x.size()), expected_dlx(x.size());
  softmax_backward_rows(y.data(), dy.data(), dx.data(), rows, n);
  log_softmax_backward_rows(ly.data(), dy.data(), dlx.data(), rows, n);
  reference::softmax_backward_rows(expected.data(), to_double(dy).data(), expected_dx.data(), rows,
                                   n);
  reference::log_softmax_backward_rows(expected_log.data(), to_double(dy).data(),
                                       expected_dlx.data(), rows, n);
  const auto tolerance = testing::default_tolerance<T>();
  EXPECT_TRUE(all_close(dx, expected_dx, tolerance.relative * 10, tolerance.absolute))
      << rows << "x" << n;
  EXPECT_TRUE(all_close(dlx, expected_dlx, tolerance.relative * 10, tolerance.absolute))
      << rows << "x" << n;
}

TEST_P(Reduce, SoftmaxFamilyMatchesReference) {
  for (int64_t n : testing::odd_sizes()) {
    check_softmax<float>(5, n, 200 + static_cast<uint32_t>(n));
    check_softmax<double>(5, n, 300 + static_cast<uint32_t>(n));
  }
  check_softmax<float>(40, 1000, 7);  // threaded
  // A fully masked row is NaN (0/0), in both implementations.
  std::vector<float> masked(9, -std::numeric_limits<float>::infinity()), out(9);
  softmax_rows(masked.data(), out.data(), 1, 9);
  EXPECT_TRUE(std::isnan(out[0]));
}

TEST_P(Reduce, SoftmaxBackwardsMatchFiniteDifferences) {
  const int64_t rows = 3, n = 11;
  auto x = random_values<double>(rows * n, 17, 0.05, 3.0);
  auto dy = random_values<double>(rows * n, 18);
  for (bool log_form : {false, true}) {
    std::vector<double> y(x.size()), dx(x.size());
    auto forward = [&](const std::vector<double>& v, std::vector<double>& out) {
      log_form ? reference::log_softmax_rows(v.data(), out.data(), rows, n)
               : reference::softmax_rows(v.data(), out.data(), rows, n);
    };
    forward(x, y);
    log_form ? log_softmax_backward_rows(y.data(), dy.data(), dx.data(), rows, n)
             : softmax_backward_rows(y.data(), dy.data(), dx.data(), rows, n);
    auto numeric = testing::numeric_gradient(
        [&](const std::vector<double>& v) {
          std::vector<double> out(v.size());
          forward(v, out);
          return testing::weighted_sum(out, dy);
        },
        x);
    EXPECT_TRUE(all_close(dx, numeric, 1e-6, 1e-8)) << (log_form ? "log_softmax" : "softmax");
  }
}

template <typename T>
void check_cumsum(const Block& b, uint32_t seed) {
  auto x = random_values<T>(b.size(), seed);
  for (bool reverse : {false, true}) {
    std::vector<T> y(x.size());
    std::vector<double> expected(x.size());
    cumsum(x.data(), y.data(), b.outer, b.n, b.inner, reverse);
    reference::cumsum(to_double(x).data(), expected.data(), b.outer, b.n, b.inner, reverse);
    // Sequential sums in T: the error grows with the prefix length.
    const double relative = (sizeof(T) == 4 ? 1.2e-7 : 2.3e-16) * static_cast<double>(b.n);
    EXPECT_TRUE(all_close(y, expected, relative, relative * 2.0))
        << b.outer << "x" << b.n << "x" << b.inner << " reverse " << reverse;
  }
}

TEST_P(Reduce, CumsumMatchesReference) {
  uint32_t seed = 400;
  for (const Block& b : blocks()) {
    if (b.size() > 200000) continue;
    check_cumsum<float>(b, seed++);
    check_cumsum<double>(b, seed++);
  }
}

// The reverse cumsum is the backward of the forward one: d/dx sum(dy * cumsum(x)) = rcumsum(dy).
TEST_P(Reduce, ReverseCumsumIsTheGradientOfCumsum) {
  const Block b{2, 9, 3};
  auto x = random_values<double>(b.size(), 23);
  auto dy = random_values<double>(b.size(), 24);
  std::vector<double> dx(x.size());
  cumsum(dy.data(), dx.data(), b.outer, b.n, b.inner, true);
  auto numeric = testing::numeric_gradient(
      [&](const std::vector<double>& v) {
        std::vector<double> out(v.size());
        reference::cumsum(v.data(), out.data(), b.outer, b.n, b.inner, false);
        return testing::weighted_sum(out, dy);
      },
      x);
  EXPECT_TRUE(all_close(dx, numeric, 1e-7, 1e-8));
}

template <typename T>
void check_topk(int64_t rows, int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(-20, 20);  // many ties
  std::vector<T> x(static_cast<size_t>(rows * n));
  for (auto& v : x) v = static_cast<T>(level(rng)) * T(0.25) + T(0.125);
  if (n > 5) x[3] = std::numeric_limits<T>::quiet_NaN();  // row 0 has a NaN: it ranks first
  std::vector<T> values(static_cast<size_t>(rows * k)), expected_values(values.size());
  std::vector<int64_t> indices(values.size()), expected_indices(values.size());
  topk_rows(x.data(), values.data(), indices.data(), rows, n, k);
  reference::topk_rows(x.data(), expected_values.data(), expected_indices.data(), rows, n, k);
  EXPECT_EQ(indices, expected_indices) << rows << "x" << n << " k " << k;
  EXPECT_TRUE(all_close(values, expected_values, 0, 0)) << rows << "x" << n << " k " << k;
}

TEST_P(Reduce, TopkMatchesReferenceWithTiesAndNan) {
  uint32_t seed = 500;
  for (int64_t n : testing::odd_sizes()) {
    for (int64_t k : {int64_t{1}, int64_t{5}, n / 2, n}) {
      if (k > n || k < 1) continue;
      check_topk<float>(4, n, k, seed++);
      check_topk<double>(4, n, k, seed++);
    }
  }
  check_topk<float>(64, 1000, 10, 9);  // threaded
  std::vector<float> x(10, 1.0f), v(11);
  std::vector<int64_t> i(11);
  EXPECT_THROW(topk_rows(x.data(), v.data(), i.data(), 1, 10, 11), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::kernels
