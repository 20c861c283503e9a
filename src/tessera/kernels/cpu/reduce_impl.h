#pragma once
// Reductions and row softmax, written once over simd::Vec and compiled per instruction set by
// reduce_avx2.cpp and reduce_avx512.cpp. Formulas and NaN rules: reference_reduce.cpp.
#include "tessera/kernels/cpu/isa_kernels.h"
#include "tessera/kernels/cpu/parallel_policy.h"
#include "tessera/kernels/cpu/row_math.h"

namespace tessera::kernels::TESSERA_ISA_NAMESPACE {

using simd::Vec;

namespace reduce_detail {

// Width of the column blocks when reducing over a middle axis (inner > 1): the accumulators of
// one block stay in L1 while the rows stream past.
inline constexpr int64_t kColumnBlock = 512;

// Partial result of one chunk of a long row; combined in chunk order, so the answer does not
// depend on the number of threads.
template <typename T>
struct Partial {
  T value;  // sum, max or min; for logsumexp the chunk's max
  T scale;  // logsumexp only: sum of e^{x - value} over the chunk
};

template <typename T>
Partial<T> chunk_partial(ReduceOp op, const T* x, int64_t n) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::mean:
      return {rows::sum(x, n), T(0)};
    case ReduceOp::max:
      return {rows::max(x, n), T(0)};
    case ReduceOp::min:
      return {rows::min(x, n), T(0)};
    case ReduceOp::logsumexp: {
      T m = rows::max(x, n);
      bool finite = m - m == T(0);
      return {m, finite ? rows::sum_exp(x, n, m) : T(0)};
    }
  }
  return {T(0), T(0)};
}

template <typename T>
T combine_partials(ReduceOp op, const Partial<T>* parts, int64_t count, int64_t n) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::mean: {
      T total = 0;
      for (int64_t c = 0; c < count; ++c) total += parts[c].value;
      return op == ReduceOp::mean ? total / static_cast<T>(n) : total;
    }
    case ReduceOp::max:
    case ReduceOp::min: {
      T best = parts[0].value;
      for (int64_t c = 1; c < count && best == best; ++c) {
        T v = parts[c].value;
        if (v != v || (op == ReduceOp::max ? v > best : v < best)) best = v;
      }
      return best;
    }
    case ReduceOp::logsumexp: {
      // lse = M + log sum_c s_c e^{m_c - M}, M = max_c m_c.
      T m = parts[0].value;
      for (int64_t c = 1; c < count && m == m; ++c) {
        if (parts[c].value != parts[c].value || parts[c].value > m) m = parts[c].value;
      }
      if (!(m - m == T(0))) return m;
      T total = 0;
      for (int64_t c = 0; c < count; ++c) {
        if (parts[c].scale > T(0)) total += parts[c].scale * std::exp(parts[c].value - m);
      }
      return m + std::log(total);
    }
  }
  return T(0);
}

template <typename T>
T empty_result(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return T(0);
    case ReduceOp::mean:
      return rows::quiet_nan<T>();
    case ReduceOp::max:
    case ReduceOp::logsumexp:
      return -rows::infinity<T>();
    case ReduceOp::min:
      return rows::infinity<T>();
  }
  return T(0);
}

// Contiguous rows (inner == 1): every (row, chunk) pair is one task.
template <typename T>
void reduce_rows(ReduceOp op, const T* x, T* y, int64_t outer, int64_t n) {
  const int64_t chunks = ceil_div(n, kReduceChunk);
  if (chunks == 1) {
#pragma omp parallel for schedule(static) if (outer * n >= kParallelMinElements)
    for (int64_t o = 0; o < outer; ++o) {
      Partial<T> part = chunk_partial(op, x + o * n, n);
      y[o] = combine_partials(op, &part, 1, n);
    }
    return;
  }
  simd::Scratch<Partial<T>> parts(outer * chunks);
  Partial<T>* p = parts.get();
#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < outer * chunks; ++task) {
    const int64_t o = task / chunks, c = task % chunks;
    const int64_t begin = c * kReduceChunk;
    const int64_t length = begin + kReduceChunk < n ? kReduceChunk : n - begin;
    p[task] = chunk_partial(op, x + o * n + begin, length);
  }
  for (int64_t o = 0; o < outer; ++o) y[o] = combine_partials(op, p + o * chunks, chunks, n);
}

// Applies acc = step(acc, row) down the middle axis for the columns [i0, i0 + width) of
// block o; acc holds the first row on entry.
template <typename T, typename Step>
void fold_columns(const T* x, T* acc, int64_t o, int64_t n, int64_t inner, int64_t i0,
                  int64_t width, Step step) {
  using V = Vec<T>;
  for (int64_t j = 1; j < n; ++j) {
    const T* row = x + (o * n + j) * inner + i0;
    int64_t i = 0;
    for (; i + V::lanes <= width; i += V::lanes)
      step(V::load(acc + i), V::load(row + i)).store(acc + i);
    if (i < width) {
      step(V::load_partial(acc + i, width - i, T(0)), V::load_partial(row + i, width - i, T(0)))
          .store_partial(acc + i, width - i);
    }
  }
}

// Middle-axis reduction (inner > 1), one task per (outer index, column block).
template <typename T>
void reduce_columns(ReduceOp op, const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  using V = Vec<T>;
  const int64_t blocks = ceil_div(inner, kColumnBlock);
#pragma omp parallel for schedule(static) if (outer * n * inner >= kParallelMinElements)
  for (int64_t task = 0; task < outer * blocks; ++task) {
    const int64_t o = task / blocks, i0 = (task % blocks) * kColumnBlock;
    const int64_t width = i0 + kColumnBlock < inner ? kColumnBlock : inner - i0;
    T* out = y + o * inner + i0;
    const T* first = x + o * n * inner + i0;
    for (int64_t i = 0; i < width; ++i) out[i] = first[i];
    switch (op) {
      case ReduceOp::sum:
      case ReduceOp::mean:
        fold_columns(x, out, o, n, inner, i0, width, [](V a, V v) { return a + v; });
        if (op == ReduceOp::mean) {
          const T scale = T(1) / static_cast<T>(n);
          for (int64_t i = 0; i < width; ++i) out[i] *= scale;
        }
        break;
      case ReduceOp::max:
        fold_columns(x, out, o, n, inner, i0, width,
                     [](V a, V v) { return rows::max_keep_nan(a, v); });
        break;
      case ReduceOp::min:
        fold_columns(x, out, o, n, inner, i0, width,
                     [](V a, V v) { return rows::min_keep_nan(a, v); });
        break;
      case ReduceOp::logsumexp: {
        fold_columns(x, out, o, n, inner, i0, width,
                     [](V a, V v) { return rows::max_keep_nan(a, v); });
        T sums[kColumnBlock] = {};
        for (int64_t j = 0; j < n; ++j) {
          const T* row = x + (o * n + j) * inner + i0;
          int64_t i = 0;
          for (; i + V::lanes <= width; i += V::lanes) {
            V e = simd::exp_v(V::load(row + i) - V::load(out + i));
            (V::load(sums + i) + e).store(sums + i);
          }
          if (i < width) {
            V e = simd::exp_v(V::load_partial(row + i, width - i, T(0)) -
                              V::load_partial(out + i, width - i, T(0)));
            (V::load_partial(sums + i, width - i, T(0)) + e).store_partial(sums + i, width - i);
          }
        }
        for (int64_t i = 0; i < width; ++i) {
          const T m = out[i];
          if (m - m == T(0)) out[i] = m + std::log(sums[i]);
        }
        break;
      }
    }
  }
}

}  // namespace reduce_detail

template <typename T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  if (outer <= 0 || inner <= 0) return;
  if (n <= 0) {
    for (int64_t i = 0; i < outer * inner; ++i) y[i] = reduce_detail::empty_result<T>(op);
    return;
  }
  if (inner == 1) return reduce_detail::reduce_rows(op, x, y, outer, n);
  reduce_detail::reduce_columns(op, x, y, outer, n, inner);
}

template <typename T>
void argmax(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner) {
  using V = Vec<T>;
  if (outer <= 0 || inner <= 0) return;
  if (n <= 0) {
    for (int64_t i = 0; i < outer * inner; ++i) y[i] = -1;
    return;
  }
  if (inner == 1) {
    // Two passes: the vectorised maximum, then the first position holding it (or the first NaN).
#pragma omp parallel for schedule(static) if (outer * n >= kParallelMinElements)
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * n;
      const T m = rows::max(row, n);
      const bool nan = m != m;
      const V target = V::broadcast(m);
      int64_t found = -1;
      int64_t i = 0;
      for (; i < n && found < 0; i += V::lanes) {
        const int64_t count = n - i < V::lanes ? n - i : V::lanes;
        V v = count == V::lanes ? V::load(row + i) : V::load_partial(row + i, count, T(0));
        if ((nan ? simd::is_nan(v) : simd::equal(v, target)).any()) {
          for (int64_t j = i; j < i + count; ++j) {
            if (nan ? row[j] != row[j] : row[j] == m) {
              found = j;
              break;
            }
          }
        }
      }
      y[o] = found;
    }
    return;
  }
  // Middle axis: a running best per column; strict > keeps the first maximum.
  const int64_t blocks = ceil_div(inner, reduce_detail::kColumnBlock);
#pragma omp parallel for schedule(static) if (outer * n * inner >= kParallelMinElements)
  for (int64_t task = 0; task < outer * blocks; ++task) {
    const int64_t o = task / blocks, i0 = (task % blocks) * reduce_detail::kColumnBlock;
    const int64_t width =
        i0 + reduce_detail::kColumnBlock < inner ? reduce_detail::kColumnBlock : inner - i0;
    T best[reduce_detail::kColumnBlock];
    int64_t* index = y + o * inner + i0;
    for (int64_t i = 0; i < width; ++i) {
      best[i] = x[o * n * inner + i0 + i];
      index[i] = 0;
    }
    for (int64_t j = 1; j < n; ++j) {
      const T* row = x + (o * n + j) * inner + i0;
      for (int64_t i = 0; i < width; ++i) {
        const bool take = best[i] == best[i] && (row[i] > best[i] || row[i] != row[i]);
        best[i] = take ? row[i] : best[i];
        index[i] = take ? j : index[i];
      }
    }
  }
}

// Two-pass variance: the mean, then the mean squared deviation from it.
template <typename T>
void variance(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool unbiased) {
  using V = Vec<T>;
  if (outer <= 0 || inner <= 0) return;
  const T divisor = static_cast<T>(unbiased ? n - 1 : n);
  const T inv_n = T(1) / static_cast<T>(n);
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * n >= kParallelMinElements)
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * n;
      const T mean = rows::sum(row, n) * inv_n;
      y[o] = rows::centered_squares(row, n, mean) / divisor;
    }
    return;
  }
  const int64_t blocks = ceil_div(inner, reduce_detail::kColumnBlock);
#pragma omp parallel for schedule(static) if (outer * n * inner >= kParallelMinElements)
  for (int64_t task = 0; task < outer * blocks; ++task) {
    const int64_t o = task / blocks, i0 = (task % blocks) * reduce_detail::kColumnBlock;
    const int64_t width =
        i0 + reduce_detail::kColumnBlock < inner ? reduce_detail::kColumnBlock : inner - i0;
    T mean[reduce_detail::kColumnBlock] = {};
    T squares[reduce_detail::kColumnBlock] = {};
    for (int64_t j = 0; j < n; ++j) {
      rows::map2(x + (o * n + j) * inner + i0, mean, mean, width, [](V v, V a) { return a + v; });
    }
    for (int64_t i = 0; i < width; ++i) mean[i] *= inv_n;
    for (int64_t j = 0; j < n; ++j) {
      const T* row = x + (o * n + j) * inner + i0;
      int64_t i = 0;
      for (; i + V::lanes <= width; i += V::lanes) {
        V d = V::load(row + i) - V::load(mean + i);
        simd::mul_add(d, d, V::load(squares + i)).store(squares + i);
      }
      for (; i < width; ++i) squares[i] += (row[i] - mean[i]) * (row[i] - mean[i]);
    }
    for (int64_t i = 0; i < width; ++i) y[o * inner + i0 + i] = squares[i] / divisor;
  }
}

// softmax(x)_j = e^{x_j - m} / sum_k e^{x_k - m}: max pass, exp-and-sum pass writing y, scale.
template <typename T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  using V = Vec<T>;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    T* out = y + r * n;
    const V m = V::broadcast(rows::max(in, n));
    V acc = V::zero();
    int64_t i = 0;
    for (; i + V::lanes <= n; i += V::lanes) {
      V e = simd::exp_v(V::load(in + i) - m);
      e.store(out + i);
      acc = acc + e;
    }
    if (i < n) {
      V e = simd::exp_v(V::load_partial(in + i, n - i, -rows::infinity<T>()) - m);
      e.store_partial(out + i, n - i);
      acc = acc + e;
    }
    const V inv = V::broadcast(T(1) / simd::reduce_add(acc));
    rows::map2(out, out, out, n, [&](V v, V) { return v * inv; });
  }
}

// log_softmax(x)_j = x_j - lse, lse = m + log sum_k e^{x_k - m}.
template <typename T>
void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  using V = Vec<T>;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    const T m = rows::max(in, n);
    const V lse = V::broadcast(m + std::log(rows::sum_exp(in, n, m)));
    rows::map2(in, in, y + r * n, n, [&](V v, V) { return v - lse; });
  }
}

// dx = y (dy - sum(dy y)), y = softmax(x).
template <typename T>
void softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n) {
  using V = Vec<T>;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const V dot = V::broadcast(rows::dot(dy + r * n, y + r * n, n));
    rows::map2(y + r * n, dy + r * n, dx + r * n, n, [&](V p, V g) { return p * (g - dot); });
  }
}

// dx = dy - e^y sum(dy), y = log_softmax(x).
template <typename T>
void log_softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n) {
  using V = Vec<T>;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const V total = V::broadcast(rows::sum(dy + r * n, n));
    rows::map2(y + r * n, dy + r * n, dx + r * n, n,
               [&](V l, V g) { return simd::neg_mul_add(simd::exp_v(l), total, g); });
  }
}

}  // namespace tessera::kernels::TESSERA_ISA_NAMESPACE

// Explicit instantiations for one instruction set (used by reduce_avx2.cpp / reduce_avx512.cpp).
#define TESSERA_INSTANTIATE_REDUCE_KERNELS(T)                                       \
  template void reduce<T>(ReduceOp, const T*, T*, int64_t, int64_t, int64_t);       \
  template void argmax<T>(const T*, int64_t*, int64_t, int64_t, int64_t);           \
  template void variance<T>(const T*, T*, int64_t, int64_t, int64_t, bool);         \
  template void softmax_rows<T>(const T*, T*, int64_t, int64_t);                    \
  template void log_softmax_rows<T>(const T*, T*, int64_t, int64_t);                \
  template void softmax_backward_rows<T>(const T*, const T*, T*, int64_t, int64_t); \
  template void log_softmax_backward_rows<T>(const T*, const T*, T*, int64_t, int64_t);
