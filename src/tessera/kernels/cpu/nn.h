#pragma once
// Layer kernels: norms, embedding, fused cross-entropy, rotary embedding, depthwise causal
// conv1d. Forward and backward; each has a plain twin in reference.h. T is float or double.
#include <cstdint>

namespace tessera::kernels {

// RMSNorm over rows of length n: y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps).
// w may be null (no weight). rstd[rows] is saved for the backward.
template <typename T>
void rms_norm_forward(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t n, T eps);
// dx = rstd * (g - x * rstd^2 * mean(g * x)), g = dy * w; dw += sum_rows(dy * x * rstd).
// dw may be null; dx may be null.
template <typename T>
void rms_norm_backward(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw,
                       int64_t rows, int64_t n);

// LayerNorm: y = (x - mean) * rstd * w + b; w and b may be null. mean and rstd saved [rows].
template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                        int64_t n, T eps);
// dw += sum(dy * xhat), db += sum(dy) (each may be null); dx may be null.
template <typename T>
void layer_norm_backward(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx,
                         T* dw, T* db, int64_t rows, int64_t n);

// y[i, :] = weight[ids[i], :]; ids already range-checked by the caller.
template <typename T>
void embedding_forward(const T* weight, const int64_t* ids, T* y, int64_t count, int64_t dim);
// dweight[ids[i], :] += dy[i, :]; safe when ids repeat (no racing writes).
template <typename T>
void embedding_backward(const T* dy, const int64_t* ids, T* dweight, int64_t count, int64_t dim,
                        int64_t vocab);

// Fused cross-entropy over rows of logits [rows, V]: loss[r] = lse - (1-s)*x[t] - s*mean(x)
// for label smoothing s; rows whose target == ignore_index get loss 0. lse[rows] is saved.
// Returns the number of rows that were not ignored.
template <typename T>
int64_t cross_entropy_forward(const T* logits, const int64_t* targets, T* loss, T* lse,
                              int64_t rows, int64_t V, int64_t ignore_index, T smoothing);
// dlogits[r] = scale * (softmax(x_r) - (1-s)*onehot(t) - s/V); zero for ignored rows.
template <typename T>
void cross_entropy_backward(const T* logits, const T* lse, const int64_t* targets, T* dlogits,
                            int64_t rows, int64_t V, int64_t ignore_index, T smoothing, T scale);

// Rotary position embedding on x [B, T, H, D] (contiguous), rotating pairs (i, i + D/2)
// ("rotate half", Llama/NeoX) or (2i, 2i+1) when interleaved. Angles come from tables
// cos/sin [max_position, D/2] indexed by positions[T] (or positions[B*T] when per_batch).
// inverse = true rotates by -angle (the backward).
template <typename T>
void rope(const T* x, T* y, const T* cos, const T* sin, const int64_t* positions, int64_t B,
          int64_t T_, int64_t H, int64_t D, bool per_batch, bool interleaved, bool inverse);

// Depthwise causal conv1d on x [B, T, C] with weight [C, K], bias [C] (may be null):
// y[b,t,c] = bias[c] + sum_k w[c,k] * x[b, t-K+1+k, c] (zero before t = 0), as Mamba's conv.
template <typename T>
void causal_conv1d_forward(const T* x, const T* w, const T* bias, T* y, int64_t B, int64_t T_,
                           int64_t C, int64_t K);
// dx (may be null) overwritten; dw, db (may be null) accumulated.
template <typename T>
void causal_conv1d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t B,
                            int64_t T_, int64_t C, int64_t K);

}  // namespace tessera::kernels
