#pragma once
// Single-row building blocks shared by the reduction and layer kernels: sums, maxima and
// exponential sums over one contiguous row, vectorised with four independent accumulators so
// the adds are not serialised on their latency. Same inclusion rule as simd.h.
#include <limits>

#include "tessera/kernels/cpu/vector_math.h"

namespace tessera::kernels::TESSERA_ISA_NAMESPACE::rows {

using simd::Vec;

template <typename T>
inline T quiet_nan() {
  return std::numeric_limits<T>::quiet_NaN();
}
template <typename T>
inline T infinity() {
  return std::numeric_limits<T>::infinity();
}

// max/min that keep a NaN once one has been seen (max_v alone would drop a NaN accumulator).
template <typename V>
inline V max_keep_nan(V acc, V x) {
  return simd::select(simd::is_nan(acc), acc, simd::max_v(acc, x));
}
template <typename V>
inline V min_keep_nan(V acc, V x) {
  return simd::select(simd::is_nan(acc), acc, simd::min_v(acc, x));
}

// Folds a row with four accumulators: step(acc, vector) per full vector, the tail read with
// `fill` in the missing lanes (the identity of the fold), then the accumulators are combined.
template <typename T, typename Step>
inline Vec<T> fold_row(const T* x, int64_t n, T fill, Step step) {
  using V = Vec<T>;
  V acc0 = V::broadcast(fill), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 4 * V::lanes <= n; i += 4 * V::lanes) {
    acc0 = step(acc0, V::load(x + i));
    acc1 = step(acc1, V::load(x + i + V::lanes));
    acc2 = step(acc2, V::load(x + i + 2 * V::lanes));
    acc3 = step(acc3, V::load(x + i + 3 * V::lanes));
  }
  for (; i + V::lanes <= n; i += V::lanes) acc0 = step(acc0, V::load(x + i));
  if (i < n) acc1 = step(acc1, V::load_partial(x + i, n - i, fill));
  return step(step(acc0, acc1), step(acc2, acc3));
}

template <typename T>
inline T sum(const T* x, int64_t n) {
  using V = Vec<T>;
  return simd::reduce_add(fold_row(x, n, T(0), [](V acc, V v) { return acc + v; }));
}

// Largest element; NaN if the row holds one; -inf for an empty row.
template <typename T>
inline T max(const T* x, int64_t n) {
  using V = Vec<T>;
  V acc = fold_row(x, n, -infinity<T>(), [](V a, V v) { return max_keep_nan(a, v); });
  return simd::is_nan(acc).any() ? quiet_nan<T>() : simd::reduce_max(acc);
}

template <typename T>
inline T min(const T* x, int64_t n) {
  using V = Vec<T>;
  V acc = fold_row(x, n, infinity<T>(), [](V a, V v) { return min_keep_nan(a, v); });
  return simd::is_nan(acc).any() ? quiet_nan<T>() : simd::reduce_min(acc);
}

// sum_j e^{x_j - shift}; the tail's missing lanes read -inf, whose exponential is 0.
template <typename T>
inline T sum_exp(const T* x, int64_t n, T shift) {
  using V = Vec<T>;
  const V s = V::broadcast(shift);
  V acc0 = V::zero(), acc1 = acc0;
  int64_t i = 0;
  for (; i + 2 * V::lanes <= n; i += 2 * V::lanes) {
    acc0 = acc0 + simd::exp_v(V::load(x + i) - s);
    acc1 = acc1 + simd::exp_v(V::load(x + i + V::lanes) - s);
  }
  for (; i + V::lanes <= n; i += V::lanes) acc0 = acc0 + simd::exp_v(V::load(x + i) - s);
  if (i < n) acc1 = acc1 + simd::exp_v(V::load_partial(x + i, n - i, -infinity<T>()) - s);
  return simd::reduce_add(acc0 + acc1);
}

// log sum_j e^{x_j} = m + log sum_j e^{x_j - m}, m = max; an infinite or NaN m is the answer.
template <typename T>
inline T logsumexp(const T* x, int64_t n) {
  const T m = max(x, n);
  if (!(m - m == T(0))) return m;  // not finite
  return m + std::log(sum_exp(x, n, m));
}

// sum_j a_j b_j
template <typename T>
inline T dot(const T* a, const T* b, int64_t n) {
  using V = Vec<T>;
  V acc0 = V::zero(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 4 * V::lanes <= n; i += 4 * V::lanes) {
    acc0 = simd::mul_add(V::load(a + i), V::load(b + i), acc0);
    acc1 = simd::mul_add(V::load(a + i + V::lanes), V::load(b + i + V::lanes), acc1);
    acc2 = simd::mul_add(V::load(a + i + 2 * V::lanes), V::load(b + i + 2 * V::lanes), acc2);
    acc3 = simd::mul_add(V::load(a + i + 3 * V::lanes), V::load(b + i + 3 * V::lanes), acc3);
  }
  for (; i + V::lanes <= n; i += V::lanes)
    acc0 = simd::mul_add(V::load(a + i), V::load(b + i), acc0);
  if (i < n) {
    acc1 = simd::mul_add(V::load_partial(a + i, n - i, T(0)), V::load_partial(b + i, n - i, T(0)),
                         acc1);
  }
  return simd::reduce_add((acc0 + acc1) + (acc2 + acc3));
}

// sum_j (x_j - center)^2, four accumulators like fold_row.
template <typename T>
inline T centered_squares(const T* x, int64_t n, T center) {
  using V = Vec<T>;
  const V c = V::broadcast(center);
  V acc[4] = {V::zero(), V::zero(), V::zero(), V::zero()};
  int64_t i = 0;
  for (; i + 4 * V::lanes <= n; i += 4 * V::lanes) {
    for (int u = 0; u < 4; ++u) {
      V d = V::load(x + i + u * V::lanes) - c;
      acc[u] = simd::mul_add(d, d, acc[u]);
    }
  }
  for (; i + V::lanes <= n; i += V::lanes) {
    V d = V::load(x + i) - c;
    acc[0] = simd::mul_add(d, d, acc[0]);
  }
  if (i < n) {
    V d = V::load_partial(x + i, n - i, center) - c;  // missing lanes contribute 0
    acc[1] = simd::mul_add(d, d, acc[1]);
  }
  return simd::reduce_add((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

// out_j = f(a_j, b_j) over one row (a and b may be the same pointer; out may alias either).
template <typename T, typename F>
inline void map2(const T* a, const T* b, T* out, int64_t n, F f) {
  using V = Vec<T>;
  int64_t i = 0;
  for (; i + V::lanes <= n; i += V::lanes) f(V::load(a + i), V::load(b + i)).store(out + i);
  if (i < n) {
    f(V::load_partial(a + i, n - i, T(0)), V::load_partial(b + i, n - i, T(0)))
        .store_partial(out + i, n - i);
  }
}

}  // namespace tessera::kernels::TESSERA_ISA_NAMESPACE::rows
