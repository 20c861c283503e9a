#pragma once
// Norms and fused cross-entropy, written once over simd::Vec and compiled per instruction set by
// nn_avx2.cpp and nn_avx512.cpp. Formulas: reference_nn.cpp.
#include "tessera/kernels/cpu/isa_kernels.h"
#include "tessera/kernels/cpu/parallel_policy.h"
#include "tessera/kernels/cpu/row_math.h"

namespace tessera::kernels::TESSERA_ISA_NAMESPACE {

using simd::Vec;

namespace nn_detail {

// Parameter gradients (dw, db) are sums over rows. Rows are cut into at most kMaxPartialChunks
// groups that depend only on the row count; each group sums into its own row of `partials`,
// and the groups are added in order afterwards: no two threads write one element, and the
// result is the same for every thread count.
struct RowGroups {
  int64_t count;
  int64_t rows_per_group;
  explicit RowGroups(int64_t rows) {
    const int64_t wanted = rows < kMaxPartialChunks ? rows : kMaxPartialChunks;
    rows_per_group = ceil_div(rows, wanted > 0 ? wanted : 1);
    count = rows_per_group > 0 ? ceil_div(rows, rows_per_group) : 0;
  }
};

// target[j] += sum_g partials[g * n + j]
template <typename T>
void add_partials(const T* partials, int64_t groups, int64_t n, T* target) {
  using V = Vec<T>;
  int64_t j = 0;
  for (; j + V::lanes <= n; j += V::lanes) {
    V acc = V::zero();
    for (int64_t g = 0; g < groups; ++g) acc = acc + V::load(partials + g * n + j);
    (V::load(target + j) + acc).store(target + j);
  }
  for (; j < n; ++j) {
    T acc = 0;
    for (int64_t g = 0; g < groups; ++g) acc += partials[g * n + j];
    target[j] += acc;
  }
}

}  // namespace nn_detail

// RMSNorm: rstd = 1/sqrt(mean(x^2) + eps), y = x rstd w.
template <typename T>
void rms_norm_forward(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t n, T eps) {
  using V = Vec<T>;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    const T s = T(1) / std::sqrt(rows::dot(in, in, n) / static_cast<T>(n) + eps);
    rstd[r] = s;
    const V scale = V::broadcast(s);
    if (w) {
      rows::map2(in, w, y + r * n, n, [&](V v, V g) { return v * scale * g; });
    } else {
      rows::map2(in, in, y + r * n, n, [&](V v, V) { return v * scale; });
    }
  }
}

// With g = dy w: dx = rstd g - x (rstd^3 mean(g x)); dw += sum_rows dy x rstd.
template <typename T>
void rms_norm_backward(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw,
                       int64_t rows, int64_t n) {
  using V = Vec<T>;
  const nn_detail::RowGroups groups(rows);
  simd::Scratch<T> partials(dw ? groups.count * n : 0);
  simd::Scratch<T> scratch_rows(w && dx ? groups.count * n : 0);  // g = dy w per group
  T* partial = partials.get();
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMinElements)
  for (int64_t group = 0; group < groups.count; ++group) {
    const int64_t first = group * groups.rows_per_group;
    const int64_t last =
        first + groups.rows_per_group < rows ? first + groups.rows_per_group : rows;
    T* g = w && dx ? scratch_rows.get() + group * n : nullptr;  // g = dy w, when needed
    for (int64_t r = first; r < last; ++r) {
      const T* in = x + r * n;
      const T* grad = dy + r * n;
      const T s = rstd[r];
      if (dx) {
        const T* gw = grad;
        if (w) {
          rows::map2(grad, w, g, n, [](V a, V b) { return a * b; });
          gw = g;
        }
        const V coefficient = V::broadcast(s * s * s * rows::dot(gw, in, n) / static_cast<T>(n));
        const V scale = V::broadcast(s);
        rows::map2(gw, in, dx + r * n, n,
                   [&](V a, V v) { return simd::mul_sub(scale, a, v * coefficient); });
      }
      if (dw) {
        T* acc = partial + group * n;
        const V scale = V::broadcast(s);
        int64_t j = 0;
        for (; j + V::lanes <= n; j += V::lanes) {
          simd::mul_add(V::load(grad + j) * V::load(in + j), scale, V::load(acc + j))
              .store(acc + j);
        }
        for (; j < n; ++j) acc[j] += grad[j] * in[j] * s;
      }
    }
  }
  if (dw) nn_detail::add_partials(partial, groups.count, n, dw);
}

// LayerNorm: mu = mean(x), rstd = 1/sqrt(mean((x - mu)^2) + eps), y = (x - mu) rstd w + b.
template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                        int64_t n, T eps) {
  using V = Vec<T>;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    T* out = y + r * n;
    const T mu = rows::sum(in, n) / static_cast<T>(n);
    const T s = T(1) / std::sqrt(rows::centered_squares(in, n, mu) / static_cast<T>(n) + eps);
    mean[r] = mu;
    rstd[r] = s;
    const V center = V::broadcast(mu), scale = V::broadcast(s);
    int64_t j = 0;
    for (; j < n; j += V::lanes) {
      const int64_t count = n - j < V::lanes ? n - j : V::lanes;
      const bool full = count == V::lanes;
      V v = full ? V::load(in + j) : V::load_partial(in + j, count, T(0));
      V out_v = (v - center) * scale;
      if (w) out_v = out_v * (full ? V::load(w + j) : V::load_partial(w + j, count, T(0)));
      if (b) out_v = out_v + (full ? V::load(b + j) : V::load_partial(b + j, count, T(0)));
      if (full) {
        out_v.store(out + j);
      } else {
        out_v.store_partial(out + j, count);
      }
    }
  }
}

// xhat = (x - mu) rstd, g = dy w: dx = rstd (g - mean(g) - xhat mean(g xhat));
// dw += sum_rows dy xhat, db += sum_rows dy.
template <typename T>
void layer_norm_backward(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx,
                         T* dw, T* db, int64_t rows, int64_t n) {
  using V = Vec<T>;
  const nn_detail::RowGroups groups(rows);
  simd::Scratch<T> dw_partials(dw ? groups.count * n : 0);
  simd::Scratch<T> db_partials(db ? groups.count * n : 0);
  simd::Scratch<T> scratch_rows(groups.count * n * 2);  // xhat and g for the current row
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMinElements)
  for (int64_t group = 0; group < groups.count; ++group) {
    const int64_t first = group * groups.rows_per_group;
    const int64_t last =
        first + groups.rows_per_group < rows ? first + groups.rows_per_group : rows;
    T* xhat = scratch_rows.get() + group * n * 2;
    T* g = xhat + n;
    for (int64_t r = first; r < last; ++r) {
      const T* in = x + r * n;
      const T* grad = dy + r * n;
      const V center = V::broadcast(mean[r]), scale = V::broadcast(rstd[r]);
      rows::map2(in, in, xhat, n, [&](V v, V) { return (v - center) * scale; });
      if (dx) {
        const T* gw = grad;
        if (w) {
          rows::map2(grad, w, g, n, [](V a, V c) { return a * c; });
          gw = g;
        }
        const V mean_g = V::broadcast(rows::sum(gw, n) / static_cast<T>(n));
        const V mean_gx = V::broadcast(rows::dot(gw, xhat, n) / static_cast<T>(n));
        rows::map2(gw, xhat, dx + r * n, n,
                   [&](V a, V h) { return scale * simd::neg_mul_add(h, mean_gx, a - mean_g); });
      }
      if (dw) {
        T* acc = dw_partials.get() + group * n;
        rows::map2(grad, xhat, g, n, [](V a, V h) { return a * h; });  // g no longer needed
        rows::map2(acc, g, acc, n, [](V a, V p) { return a + p; });
      }
      if (db) {
        T* acc = db_partials.get() + group * n;
        rows::map2(acc, grad, acc, n, [](V a, V p) { return a + p; });
      }
    }
  }
  if (dw) nn_detail::add_partials(dw_partials.get(), groups.count, n, dw);
  if (db) nn_detail::add_partials(db_partials.get(), groups.count, n, db);
}

// loss = lse - (1 - s) x_t - s mean(x); lse = m + log sum e^{x - m}.
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* targets, T* loss, T* lse, int64_t rows,
                           int64_t V_, int64_t ignore_index, T smoothing) {
#pragma omp parallel for schedule(static) if (rows * V_ >= kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] == ignore_index) {
      loss[r] = 0;
      lse[r] = 0;
      continue;
    }
    const T* x = logits + r * V_;
    const T m = rows::max(x, V_);
    const T log_sum = m + std::log(rows::sum_exp(x, V_, m));
    const T mean_x = smoothing != T(0) ? rows::sum(x, V_) / static_cast<T>(V_) : T(0);
    lse[r] = log_sum;
    loss[r] = log_sum - (T(1) - smoothing) * x[targets[r]] - smoothing * mean_x;
  }
}

// dlogits = scale (softmax(x) - (1 - s) onehot(t) - s/V); zero rows where t == ignore_index.
template <typename T>
void cross_entropy_backward(const T* logits, const T* lse, const int64_t* targets, T* dlogits,
                            int64_t rows, int64_t V_, int64_t ignore_index, T smoothing, T scale) {
  using V = Vec<T>;
#pragma omp parallel for schedule(static) if (rows * V_ >= kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = logits + r * V_;
    T* out = dlogits + r * V_;
    if (targets[r] == ignore_index) {
      rows::map2(x, x, out, V_, [](V, V) { return V::zero(); });
      continue;
    }
    const V shift = V::broadcast(lse[r]), factor = V::broadcast(scale);
    const V uniform = V::broadcast(smoothing / static_cast<T>(V_));
    rows::map2(x, x, out, V_, [&](V v, V) { return factor * (simd::exp_v(v - shift) - uniform); });
    const int64_t t = targets[r];
    out[t] =
        scale * (std::exp(x[t] - lse[r]) - smoothing / static_cast<T>(V_) - (T(1) - smoothing));
  }
}

}  // namespace tessera::kernels::TESSERA_ISA_NAMESPACE

// Explicit instantiations for one instruction set (used by nn_avx2.cpp / nn_avx512.cpp).
#define TESSERA_INSTANTIATE_NN_KERNELS(T)                                                         \
  template void rms_norm_forward<T>(const T*, const T*, T*, T*, int64_t, int64_t, T);             \
  template void rms_norm_backward<T>(const T*, const T*, const T*, const T*, T*, T*, int64_t,     \
                                     int64_t);                                                    \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, \
                                      T);                                                         \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*,  \
                                       T*, int64_t, int64_t);                                     \
  template void cross_entropy_forward<T>(const T*, const int64_t*, T*, T*, int64_t, int64_t,      \
                                         int64_t, T);                                             \
  template void cross_entropy_backward<T>(const T*, const T*, const int64_t*, T*, int64_t,        \
                                          int64_t, int64_t, T, T);
