// Scalar reference for reductions, softmax, cumulative sums and top-k.
//
// NaN rules shared with the fast kernels: max/min/argmax/topk treat NaN as larger than every
// number (max, argmax and topk return it; min returns it too: a NaN anywhere makes max and min
// NaN); sum-like reductions propagate it arithmetically. Empty rows (n = 0): sum 0, mean NaN,
// max -inf, min +inf, logsumexp -inf, argmax -1.
#pragma GCC optimize("no-tree-vectorize")

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels::reference {

namespace {
// x[o, j, i] of a contiguous [outer, n, inner] block.
template <typename T>
T at(const T* x, int64_t n, int64_t inner, int64_t o, int64_t j, int64_t i) {
  return x[(o * n + j) * inner + i];
}

template <typename T>
T max_with_nan(T current, T x) {
  if (std::isnan(current)) return current;
  return (x > current || std::isnan(x)) ? x : current;
}
template <typename T>
T min_with_nan(T current, T x) {
  if (std::isnan(current)) return current;
  return (x < current || std::isnan(x)) ? x : current;
}
}  // namespace

template <typename T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  const T inf = std::numeric_limits<T>::infinity();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      T result = 0;
      switch (op) {
        case ReduceOp::sum:
        case ReduceOp::mean:
          for (int64_t j = 0; j < n; ++j) result += at(x, n, inner, o, j, i);
          if (op == ReduceOp::mean) result /= static_cast<T>(n);
          break;
        case ReduceOp::max:
          result = -inf;
          for (int64_t j = 0; j < n; ++j) result = max_with_nan(result, at(x, n, inner, o, j, i));
          break;
        case ReduceOp::min:
          result = inf;
          for (int64_t j = 0; j < n; ++j) result = min_with_nan(result, at(x, n, inner, o, j, i));
          break;
        case ReduceOp::logsumexp: {
          // log sum_j e^{x_j} = m + log sum_j e^{x_j - m}, m = max_j x_j; an infinite or NaN m is
          // already the answer.
          T m = -inf;
          for (int64_t j = 0; j < n; ++j) m = max_with_nan(m, at(x, n, inner, o, j, i));
          if (!std::isfinite(m)) {
            result = m;
            break;
          }
          T sum = 0;
          for (int64_t j = 0; j < n; ++j) sum += std::exp(at(x, n, inner, o, j, i) - m);
          result = m + std::log(sum);
          break;
        }
      }
      y[o * inner + i] = result;
    }
  }
}

template <typename T>
void argmax(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = n > 0 ? 0 : -1;
      for (int64_t j = 1; j < n; ++j) {
        T candidate = at(x, n, inner, o, j, i);
        T current = at(x, n, inner, o, best, i);
        if (std::isnan(current)) break;  // the first NaN wins
        if (candidate > current || std::isnan(candidate)) best = j;
      }
      y[o * inner + i] = best;
    }
  }
}

template <typename T>
void variance(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool unbiased) {
  // Two passes: mean first, then the mean squared deviation (no E[x^2] - E[x]^2 cancellation).
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      T sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += at(x, n, inner, o, j, i);
      T mean = sum / static_cast<T>(n);
      T squares = 0;
      for (int64_t j = 0; j < n; ++j) {
        T d = at(x, n, inner, o, j, i) - mean;
        squares += d * d;
      }
      y[o * inner + i] = squares / static_cast<T>(unbiased ? n - 1 : n);
    }
  }
}

template <typename T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  // softmax(x)_j = e^{x_j - m} / sum_k e^{x_k - m}, m = max x (a row of -inf gives NaN).
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    T* out = y + r * n;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < n; ++j) m = max_with_nan(m, in[j]);
    T sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      out[j] = std::exp(in[j] - m);
      sum += out[j];
    }
    for (int64_t j = 0; j < n; ++j) out[j] /= sum;
  }
}

template <typename T>
void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  // log_softmax(x)_j = x_j - (m + log sum_k e^{x_k - m}).
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    T* out = y + r * n;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < n; ++j) m = max_with_nan(m, in[j]);
    T sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += std::exp(in[j] - m);
    T lse = m + std::log(sum);
    for (int64_t j = 0; j < n; ++j) out[j] = in[j] - lse;
  }
}

template <typename T>
void softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    T dot = 0;
    for (int64_t j = 0; j < n; ++j) dot += dy[r * n + j] * y[r * n + j];
    for (int64_t j = 0; j < n; ++j) dx[r * n + j] = y[r * n + j] * (dy[r * n + j] - dot);
  }
}

template <typename T>
void log_softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    T total = 0;
    for (int64_t j = 0; j < n; ++j) total += dy[r * n + j];
    for (int64_t j = 0; j < n; ++j) dx[r * n + j] = dy[r * n + j] - std::exp(y[r * n + j]) * total;
  }
}

template <typename T>
void cumsum(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      T running = 0;
      for (int64_t step = 0; step < n; ++step) {
        int64_t j = reverse ? n - 1 - step : step;
        running += at(x, n, inner, o, j, i);
        y[(o * n + j) * inner + i] = running;
      }
    }
  }
}

template <typename T>
void topk_rows(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k) {
  // Sort every (value, index) pair: NaN first, then larger values, then lower indices.
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * n;
    for (int64_t j = 0; j < n; ++j) order[static_cast<size_t>(j)] = j;
    std::sort(order.begin(), order.end(), [row](int64_t a, int64_t b) {
      bool a_nan = std::isnan(row[a]), b_nan = std::isnan(row[b]);
      if (a_nan != b_nan) return a_nan;
      if (!a_nan && row[a] != row[b]) return row[a] > row[b];
      return a < b;
    });
    for (int64_t j = 0; j < k; ++j) {
      values[r * k + j] = row[order[static_cast<size_t>(j)]];
      indices[r * k + j] = order[static_cast<size_t>(j)];
    }
  }
}

#define TESSERA_REFERENCE_REDUCE(T)                                                     \
  template void reduce<T>(ReduceOp, const T*, T*, int64_t, int64_t, int64_t);           \
  template void argmax<T>(const T*, int64_t*, int64_t, int64_t, int64_t);               \
  template void variance<T>(const T*, T*, int64_t, int64_t, int64_t, bool);             \
  template void softmax_rows<T>(const T*, T*, int64_t, int64_t);                        \
  template void log_softmax_rows<T>(const T*, T*, int64_t, int64_t);                    \
  template void softmax_backward_rows<T>(const T*, const T*, T*, int64_t, int64_t);     \
  template void log_softmax_backward_rows<T>(const T*, const T*, T*, int64_t, int64_t); \
  template void cumsum<T>(const T*, T*, int64_t, int64_t, int64_t, bool);               \
  template void topk_rows<T>(const T*, T*, int64_t*, int64_t, int64_t, int64_t);
TESSERA_REFERENCE_REDUCE(float)
TESSERA_REFERENCE_REDUCE(double)
#undef TESSERA_REFERENCE_REDUCE

}  // namespace tessera::kernels::reference
