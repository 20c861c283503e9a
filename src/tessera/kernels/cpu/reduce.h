#pragma once
// Reductions over the middle axis of a contiguous [outer, n, inner] block, softmax over rows,
// cumulative sums and per-row top-k. Plain twins live in reference.h.
#include <cstdint>

namespace tessera::kernels {

enum class ReduceOp { sum, mean, max, min, logsumexp };

// y[o, i] = reduce_j x[o, j, i]; y is [outer, inner].
template <typename T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t n, int64_t inner);

// Index of the first maximum along the middle axis; y is [outer, inner].
template <typename T>
void argmax(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner);

// Variance along the middle axis (divides by n - 1 when unbiased).
template <typename T>
void variance(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool unbiased);

// Softmax / log-softmax over each contiguous row of length n, numerically stable.
template <typename T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n);
template <typename T>
void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n);
// dx = y * (dy - sum(dy * y))            (y = softmax output)
template <typename T>
void softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n);
// dx = dy - exp(y) * sum(dy)             (y = log-softmax output)
template <typename T>
void log_softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n);

// Inclusive prefix sum along the middle axis; `reverse` sums from the end (the backward).
template <typename T>
void cumsum(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse);

// The k largest values of each row of length n, in descending order; ties keep the lower
// index first. values is [rows, k], indices [rows, k].
template <typename T>
void topk_rows(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k);

}  // namespace tessera::kernels
