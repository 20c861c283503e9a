// Scalar reference for the layer kernels (norms, embedding, cross-entropy, RoPE, causal conv1d)
// and for GEMM.
#pragma GCC optimize("no-tree-vectorize")

#include <cmath>
#include <limits>

#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels::reference {

template <typename T>
void rms_norm_forward(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t n, T eps) {
  // RMSNorm (Zhang & Sennrich 2019): y = x / sqrt(mean(x^2) + eps) * w.
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    T squares = 0;
    for (int64_t j = 0; j < n; ++j) squares += in[j] * in[j];
    T s = T(1) / std::sqrt(squares / static_cast<T>(n) + eps);
    rstd[r] = s;
    for (int64_t j = 0; j < n; ++j) y[r * n + j] = in[j] * s * (w ? w[j] : T(1));
  }
}

template <typename T>
void rms_norm_backward(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw,
                       int64_t rows, int64_t n) {
  // With g = dy * w: dx = rstd (g - x rstd^2 mean(g x)); dw += dy x rstd.
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    const T* grad = dy + r * n;
    const T s = rstd[r];
    T dot = 0;
    for (int64_t j = 0; j < n; ++j) dot += grad[j] * (w ? w[j] : T(1)) * in[j];
    const T mean_gx = dot / static_cast<T>(n);
    for (int64_t j = 0; j < n; ++j) {
      T g = grad[j] * (w ? w[j] : T(1));
      if (dx) dx[r * n + j] = s * (g - in[j] * s * s * mean_gx);
      if (dw) dw[j] += grad[j] * in[j] * s;
    }
  }
}

template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                        int64_t n, T eps) {
  // LayerNorm (Ba et al. 2016): y = (x - mu) / sqrt(var + eps) * w + b, biased variance.
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    T sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += in[j];
    const T mu = sum / static_cast<T>(n);
    T squares = 0;
    for (int64_t j = 0; j < n; ++j) squares += (in[j] - mu) * (in[j] - mu);
    const T s = T(1) / std::sqrt(squares / static_cast<T>(n) + eps);
    mean[r] = mu;
    rstd[r] = s;
    for (int64_t j = 0; j < n; ++j) {
      y[r * n + j] = (in[j] - mu) * s * (w ? w[j] : T(1)) + (b ? b[j] : T(0));
    }
  }
}

template <typename T>
void layer_norm_backward(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx,
                         T* dw, T* db, int64_t rows, int64_t n) {
  // xhat = (x - mu) rstd, g = dy w: dx = rstd (g - mean(g) - xhat mean(g xhat)).
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    const T* grad = dy + r * n;
    T sum_g = 0, sum_gx = 0;
    for (int64_t j = 0; j < n; ++j) {
      T g = grad[j] * (w ? w[j] : T(1));
      T xhat = (in[j] - mean[r]) * rstd[r];
      sum_g += g;
      sum_gx += g * xhat;
    }
    const T mean_g = sum_g / static_cast<T>(n);
    const T mean_gx = sum_gx / static_cast<T>(n);
    for (int64_t j = 0; j < n; ++j) {
      T g = grad[j] * (w ? w[j] : T(1));
      T xhat = (in[j] - mean[r]) * rstd[r];
      if (dx) dx[r * n + j] = rstd[r] * (g - mean_g - xhat * mean_gx);
      if (dw) dw[j] += grad[j] * xhat;
      if (db) db[j] += grad[j];
    }
  }
}

template <typename T>
void embedding_forward(const T* weight, const int64_t* ids, T* y, int64_t count, int64_t dim) {
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t c = 0; c < dim; ++c) y[i * dim + c] = weight[ids[i] * dim + c];
  }
}

template <typename T>
void embedding_backward(const T* dy, const int64_t* ids, T* dweight, int64_t count, int64_t dim,
                        int64_t vocab) {
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t c = 0; c < dim; ++c) dweight[ids[i] * dim + c] += dy[i * dim + c];
  }
}

template <typename T>
int64_t cross_entropy_forward(const T* logits, const int64_t* targets, T* loss, T* lse,
                              int64_t rows, int64_t V, int64_t ignore_index, T smoothing) {
  // Label-smoothed cross-entropy (Szegedy et al. 2016): the target distribution is
  // (1 - s) onehot(t) + s/V, so loss = lse - (1 - s) x_t - s mean(x).
  int64_t counted = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = logits + r * V;
    if (targets[r] == ignore_index) {
      loss[r] = 0;
      lse[r] = 0;
      continue;
    }
    ++counted;
    T m = -std::numeric_limits<T>::infinity();
    T sum_x = 0;
    for (int64_t j = 0; j < V; ++j) {
      if (x[j] > m || std::isnan(x[j])) m = x[j];
      sum_x += x[j];
    }
    T sum = 0;
    for (int64_t j = 0; j < V; ++j) sum += std::exp(x[j] - m);
    lse[r] = m + std::log(sum);
    loss[r] = lse[r] - (T(1) - smoothing) * x[targets[r]] - smoothing * sum_x / static_cast<T>(V);
  }
  return counted;
}

template <typename T>
void cross_entropy_backward(const T* logits, const T* lse, const int64_t* targets, T* dlogits,
                            int64_t rows, int64_t V, int64_t ignore_index, T smoothing, T scale) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < V; ++j) {
      T d = 0;
      if (targets[r] != ignore_index) {
        d = std::exp(logits[r * V + j] - lse[r]) - smoothing / static_cast<T>(V);
        if (j == targets[r]) d -= T(1) - smoothing;
      }
      dlogits[r * V + j] = scale * d;
    }
  }
}

template <typename T>
void rope(const T* x, T* y, const T* cos, const T* sin, const int64_t* positions, int64_t B,
          int64_t T_, int64_t H, int64_t D, bool per_batch, bool interleaved, bool inverse) {
  // RoFormer (Su et al. 2021) eq. 34: each pair (p, q) is rotated by its angle theta:
  // y_p = x_p cos - x_q sin, y_q = x_q cos + x_p sin; the inverse rotation negates theta.
  const int64_t half = D / 2;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T_; ++t) {
      const int64_t position = positions[per_batch ? b * T_ + t : t];
      for (int64_t h = 0; h < H; ++h) {
        const int64_t base = ((b * T_ + t) * H + h) * D;
        for (int64_t i = 0; i < half; ++i) {
          const T c = cos[position * half + i];
          const T s = inverse ? -sin[position * half + i] : sin[position * half + i];
          const int64_t p = interleaved ? 2 * i : i;
          const int64_t q = interleaved ? 2 * i + 1 : i + half;
          const T xp = x[base + p], xq = x[base + q];
          y[base + p] = xp * c - xq * s;
          y[base + q] = xq * c + xp * s;
        }
      }
    }
  }
}

template <typename T>
void causal_conv1d_forward(const T* x, const T* w, const T* bias, T* y, int64_t B, int64_t T_,
                           int64_t C, int64_t K) {
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T_; ++t) {
      for (int64_t c = 0; c < C; ++c) {
        T acc = bias ? bias[c] : T(0);
        for (int64_t k = 0; k < K; ++k) {
          int64_t source = t - K + 1 + k;
          if (source >= 0) acc += w[c * K + k] * x[(b * T_ + source) * C + c];
        }
        y[(b * T_ + t) * C + c] = acc;
      }
    }
  }
}

template <typename T>
void causal_conv1d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t B,
                            int64_t T_, int64_t C, int64_t K) {
  // y[t] uses x[t - K + 1 + k] with weight k, so x[s] reaches y[s + K - 1 - k].
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t s = 0; s < T_; ++s) {
      for (int64_t c = 0; c < C; ++c) {
        const T x_value = x[(b * T_ + s) * C + c];
        const T dy_value = dy[(b * T_ + s) * C + c];
        if (db) db[c] += dy_value;
        T acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          int64_t target = s + K - 1 - k;
          if (target < T_) {
            acc += w[c * K + k] * dy[(b * T_ + target) * C + c];
            if (dw) dw[c * K + k] += x_value * dy[(b * T_ + target) * C + c];
          }
        }
        if (dx) dx[(b * T_ + s) * C + c] = acc;
      }
    }
  }
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        T a = trans_a ? A[k * lda + i] : A[i * lda + k];
        T b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      T& c = C[i * ldc + j];
      c = beta == T(0) ? alpha * acc : alpha * acc + beta * c;
    }
  }
}

template <typename T>
void gemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta,
                  T* C, int64_t ldc, int64_t stride_c, int64_t batch) {
  for (int64_t i = 0; i < batch; ++i) {
    gemm(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
         C + i * stride_c, ldc);
  }
}

#define TESSERA_REFERENCE_NN(T)                                                                   \
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
                                          int64_t, int64_t, int64_t);                             \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,    \
                        int64_t, T, T*, int64_t);                                                 \
  template void gemm_batched<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,      \
                                int64_t, const T*, int64_t, int64_t, T, T*, int64_t, int64_t,     \
                                int64_t);
TESSERA_REFERENCE_NN(float)
TESSERA_REFERENCE_NN(double)
#undef TESSERA_REFERENCE_NN

}  // namespace tessera::kernels::reference
