// Layer kernels: run-time dispatch of the norms and cross-entropy (nn_impl.h), target checks,
// and the memory-bound kernels compiled once for the baseline (embedding, RoPE, conv1d).
#include "tessera/kernels/cpu/nn.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "tessera/kernels/cpu/dispatch.h"
#include "tessera/kernels/cpu/isa_kernels.h"
#include "tessera/kernels/cpu/parallel_policy.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace tessera::kernels {

namespace {
bool use_avx512() {
  return active_isa() == Isa::avx512;
}

#ifdef _OPENMP
int thread_count() {
  return omp_get_max_threads();
}
#else
int thread_count() {
  return 1;
}
#endif
}  // namespace

template <typename T>
void rms_norm_forward(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t n, T eps) {
  if (rows <= 0 || n <= 0) return;
  use_avx512() ? avx512::rms_norm_forward(x, w, y, rstd, rows, n, eps)
               : avx2::rms_norm_forward(x, w, y, rstd, rows, n, eps);
}

template <typename T>
void rms_norm_backward(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw,
                       int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  use_avx512() ? avx512::rms_norm_backward(x, w, rstd, dy, dx, dw, rows, n)
               : avx2::rms_norm_backward(x, w, rstd, dy, dx, dw, rows, n);
}

template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                        int64_t n, T eps) {
  if (rows <= 0 || n <= 0) return;
  use_avx512() ? avx512::layer_norm_forward(x, w, b, y, mean, rstd, rows, n, eps)
               : avx2::layer_norm_forward(x, w, b, y, mean, rstd, rows, n, eps);
}

template <typename T>
void layer_norm_backward(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx,
                         T* dw, T* db, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  use_avx512() ? avx512::layer_norm_backward(x, w, mean, rstd, dy, dx, dw, db, rows, n)
               : avx2::layer_norm_backward(x, w, mean, rstd, dy, dx, dw, db, rows, n);
}

namespace {
// Targets index the logits row, so a bad one would read out of bounds: refuse it up front.
int64_t count_targets(const int64_t* targets, int64_t rows, int64_t V, int64_t ignore_index) {
  int64_t counted = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] == ignore_index) continue;
    if (targets[r] < 0 || targets[r] >= V) {
      throw std::out_of_range("cross_entropy: target " + std::to_string(targets[r]) + " in row " +
                              std::to_string(r) + " is outside [0, " + std::to_string(V) + ")");
    }
    ++counted;
  }
  return counted;
}
}  // namespace

template <typename T>
int64_t cross_entropy_forward(const T* logits, const int64_t* targets, T* loss, T* lse,
                              int64_t rows, int64_t V, int64_t ignore_index, T smoothing) {
  if (rows <= 0) return 0;
  const int64_t counted = count_targets(targets, rows, V, ignore_index);
  use_avx512()
      ? avx512::cross_entropy_forward(logits, targets, loss, lse, rows, V, ignore_index, smoothing)
      : avx2::cross_entropy_forward(logits, targets, loss, lse, rows, V, ignore_index, smoothing);
  return counted;
}

template <typename T>
void cross_entropy_backward(const T* logits, const T* lse, const int64_t* targets, T* dlogits,
                            int64_t rows, int64_t V, int64_t ignore_index, T smoothing, T scale) {
  if (rows <= 0 || V <= 0) return;
  count_targets(targets, rows, V, ignore_index);
  use_avx512() ? avx512::cross_entropy_backward(logits, lse, targets, dlogits, rows, V,
                                                ignore_index, smoothing, scale)
               : avx2::cross_entropy_backward(logits, lse, targets, dlogits, rows, V, ignore_index,
                                              smoothing, scale);
}

// Row gather: y[i] = weight[ids[i]].
template <typename T>
void embedding_forward(const T* weight, const int64_t* ids, T* y, int64_t count, int64_t dim) {
  if (count <= 0 || dim <= 0) return;
#pragma omp parallel for schedule(static) if (count * dim >= kParallelMinElements)
  for (int64_t i = 0; i < count; ++i) {
    std::memcpy(y + i * dim, weight + ids[i] * dim, static_cast<size_t>(dim) * sizeof(T));
  }
}

// Scatter-add dweight[ids[i]] += dy[i]. Threads own disjoint column blocks of dweight and each
// walks every id in order, so repeated ids never race and the sum order is fixed.
template <typename T>
void embedding_backward(const T* dy, const int64_t* ids, T* dweight, int64_t count, int64_t dim,
                        int64_t vocab) {
  if (count <= 0 || dim <= 0) return;
  for (int64_t i = 0; i < count; ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw std::out_of_range("embedding_backward: id " + std::to_string(ids[i]) + " at position " +
                              std::to_string(i) + " is outside [0, " + std::to_string(vocab) + ")");
    }
  }
  const bool parallel = count * dim >= kParallelMinElements;
  // 16 elements = one 64-byte line of f32, so blocks never share a cache line's worth of
  // columns in the middle of a row.
  const int64_t threads = parallel ? thread_count() : 1;
  const int64_t block = std::max<int64_t>(16, ceil_div(ceil_div(dim, threads), 16) * 16);
  const int64_t blocks = ceil_div(dim, block);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * block, c1 = std::min(dim, c0 + block);
    for (int64_t i = 0; i < count; ++i) {
      const T* source = dy + i * dim;
      T* target = dweight + ids[i] * dim;
      for (int64_t c = c0; c < c1; ++c) target[c] += source[c];
    }
  }
}

// RoFormer eq. 34: rotate each pair (p, q) by the angle of its position; inverse negates it.
// Pairs are read before they are written, so y may be x.
template <typename T>
void rope(const T* x, T* y, const T* cos, const T* sin, const int64_t* positions, int64_t B,
          int64_t T_, int64_t H, int64_t D, bool per_batch, bool interleaved, bool inverse) {
  if (B <= 0 || T_ <= 0 || H <= 0 || D <= 0) return;
  if (D % 2 != 0)
    throw std::invalid_argument("rope: head dimension " + std::to_string(D) + " is odd");
  const int64_t half = D / 2;
  const T sign = inverse ? T(-1) : T(1);
#pragma omp parallel for schedule(static) if (B * T_ * H * D >= kParallelMinElements)
  for (int64_t bt = 0; bt < B * T_; ++bt) {
    const int64_t position = positions[per_batch ? bt : bt % T_];
    const T* c = cos + position * half;
    const T* s = sin + position * half;
    for (int64_t h = 0; h < H; ++h) {
      const T* in = x + (bt * H + h) * D;
      T* out = y + (bt * H + h) * D;
      if (interleaved) {
        for (int64_t i = 0; i < half; ++i) {
          const T xp = in[2 * i], xq = in[2 * i + 1], si = sign * s[i];
          out[2 * i] = xp * c[i] - xq * si;
          out[2 * i + 1] = xq * c[i] + xp * si;
        }
      } else {
        for (int64_t i = 0; i < half; ++i) {
          const T xp = in[i], xq = in[i + half], si = sign * s[i];
          out[i] = xp * c[i] - xq * si;
          out[i + half] = xq * c[i] + xp * si;
        }
      }
    }
  }
}

// Mamba's depthwise causal conv: y[b,t,c] = bias[c] + sum_k w[c,k] x[b, t-K+1+k, c]. Weights are
// transposed to [K, C] once so the channel loop reads them contiguously and vectorises.
template <typename T>
void causal_conv1d_forward(const T* x, const T* w, const T* bias, T* y, int64_t B, int64_t T_,
                           int64_t C, int64_t K) {
  if (B <= 0 || T_ <= 0 || C <= 0) return;
  std::vector<T> taps(static_cast<size_t>(K * C));
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t k = 0; k < K; ++k) taps[static_cast<size_t>(k * C + c)] = w[c * K + k];
  }
  const T* tap = taps.data();
#pragma omp parallel for schedule(static) if (B * T_ * C * K >= kParallelMinElements)
  for (int64_t bt = 0; bt < B * T_; ++bt) {
    const int64_t b = bt / T_, t = bt % T_;
    T* out = y + bt * C;
    for (int64_t c = 0; c < C; ++c) out[c] = bias ? bias[c] : T(0);
    for (int64_t k = 0; k < K; ++k) {
      const int64_t source = t - K + 1 + k;
      if (source < 0) continue;
      const T* in = x + (b * T_ + source) * C;
      const T* wk = tap + k * C;
      for (int64_t c = 0; c < C; ++c) out[c] += wk[c] * in[c];
    }
  }
}

// dx[b,s,c] = sum_k w[c,k] dy[b, s+K-1-k, c]; dw[c,k] += sum_{b,t} dy[b,t,c] x[b,t-K+1+k,c];
// db[c] += sum_{b,t} dy[b,t,c]. dx runs over time steps; dw and db over channel blocks, each
// summing all time steps in order (no races, thread-count independent).
template <typename T>
void causal_conv1d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t B,
                            int64_t T_, int64_t C, int64_t K) {
  if (B <= 0 || T_ <= 0 || C <= 0) return;
  const bool parallel = B * T_ * C * K >= kParallelMinElements;
  if (dx) {
    std::vector<T> taps(static_cast<size_t>(K * C));
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t k = 0; k < K; ++k) taps[static_cast<size_t>(k * C + c)] = w[c * K + k];
    }
    const T* tap = taps.data();
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t bs = 0; bs < B * T_; ++bs) {
      const int64_t b = bs / T_, s = bs % T_;
      T* out = dx + bs * C;
      for (int64_t c = 0; c < C; ++c) out[c] = T(0);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t target = s + K - 1 - k;
        if (target >= T_) continue;
        const T* grad = dy + (b * T_ + target) * C;
        const T* wk = tap + k * C;
        for (int64_t c = 0; c < C; ++c) out[c] += wk[c] * grad[c];
      }
    }
  }
  if (!dw && !db) return;
  constexpr int64_t kChannelBlock = 64;
  const int64_t blocks = ceil_div(C, kChannelBlock);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t c0 = block * kChannelBlock, width = std::min(kChannelBlock, C - c0);
    std::vector<T> weight_sums(static_cast<size_t>(K * width), T(0));  // [K, width]
    std::vector<T> bias_sums(static_cast<size_t>(width), T(0));
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < T_; ++t) {
        const T* grad = dy + (b * T_ + t) * C + c0;
        for (int64_t c = 0; c < width; ++c) bias_sums[static_cast<size_t>(c)] += grad[c];
        for (int64_t k = 0; k < K; ++k) {
          const int64_t source = t - K + 1 + k;
          if (source < 0) continue;
          const T* in = x + (b * T_ + source) * C + c0;
          T* sums = weight_sums.data() + k * width;
          for (int64_t c = 0; c < width; ++c) sums[c] += grad[c] * in[c];
        }
      }
    }
    for (int64_t c = 0; c < width; ++c) {
      if (db) db[c0 + c] += bias_sums[static_cast<size_t>(c)];
      if (dw) {
        for (int64_t k = 0; k < K; ++k)
          dw[(c0 + c) * K + k] += weight_sums[static_cast<size_t>(k * width + c)];
      }
    }
  }
}

#define TESSERA_DISPATCH_NN(T)                                                                    \
  template void rms_norm_forward<T>(const T*, const T*, T*, T*, int64_t, int64_t, T);             \
  template void rms_norm_backward<T>(const T*, const T*, const T*, const T*, T*, T*, int64_t,     \
                                     int64_t);                                                    \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, \
                                      T);                                                         \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*,  \
                                       T*, int64_t, int64_t);                                     \
  template void embedding_forward<T>(const T*, const int64_t*, T*, int64_t, int64_t);             \
  template void embedding_backward<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t);   \
  template int64_t cross_entropy_forward<T>(const T*, const int64_t*, T*, T*, int64_t, int64_t,   \
                                            int64_t, T);                                          \
  template void cross_entropy_backward<T>(const T*, const T*, const int64_t*, T*, int64_t,        \
                                          int64_t, int64_t, T, T);                                \
  template void rope<T>(const T*, T*, const T*, const T*, const int64_t*, int64_t, int64_t,       \
                        int64_t, int64_t, bool, bool, bool);                                      \
  template void causal_conv1d_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t,      \
                                         int64_t, int64_t);                                       \
  template void causal_conv1d_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t,      \
                                          int64_t, int64_t, int64_t);
TESSERA_DISPATCH_NN(float)
TESSERA_DISPATCH_NN(double)
#undef TESSERA_DISPATCH_NN

}  // namespace tessera::kernels
