#pragma once
// Plain scalar twins of every CPU kernel (elementwise.h, reduce.h, nn.h, gemm.h): one loop per
// formula, no threads, no vectors, <cmath> for the elementary functions. They are the
// specification the fast kernels are tested against, so they are written to be obviously
// right rather than fast. T is float or double; the conversions match tessera/core/dtype.h.
#include <cstdint>

#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/nn.h"
#include "tessera/kernels/cpu/reduce.h"

namespace tessera::kernels::reference {

// ---- elementwise (reference_elementwise.cpp)
template <typename T>
T unary_scalar(UnaryOp op, T x);
template <typename T>
T unary_derivative_scalar(UnaryOp op, T x, T y);  // d op(x) / dx, given y = op(x)
template <typename T>
T binary_scalar(BinaryOp op, T a, T b);

template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n);
template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n);
template <typename T>
void pow_scalar(const T* x, T p, T* y, int64_t n);
template <typename T>
void clamp(const T* x, T lo, T hi, T* y, int64_t n);
template <typename T>
void affine(const T* x, T a, T b, T* y, int64_t n);
template <typename T>
void binary(BinaryOp op, const T* a, const int64_t* a_strides, const T* b, const int64_t* b_strides,
            T* out, const int64_t* shape, int ndim);
void copy_strided(const void* src, const int64_t* src_strides, void* dst, const int64_t* shape,
                  int ndim, int64_t element_size);
template <typename T>
void accumulate(const T* src, T* dst, int64_t n);

uint16_t f32_to_bf16_scalar(float f);
float bf16_to_f32_scalar(uint16_t bits);
uint16_t f32_to_f16_scalar(float f);
float f16_to_f32_scalar(uint16_t bits);
void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
void f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
void f16_to_f32(const uint16_t* src, float* dst, int64_t n);
void f32_to_f16(const float* src, uint16_t* dst, int64_t n);

// ---- reductions (reference_reduce.cpp)
template <typename T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void argmax(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void variance(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool unbiased);
template <typename T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n);
template <typename T>
void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n);
template <typename T>
void softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n);
template <typename T>
void log_softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n);
template <typename T>
void cumsum(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse);
template <typename T>
void topk_rows(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k);

// ---- layers (reference_nn.cpp)
template <typename T>
void rms_norm_forward(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t n, T eps);
template <typename T>
void rms_norm_backward(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw,
                       int64_t rows, int64_t n);
template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                        int64_t n, T eps);
template <typename T>
void layer_norm_backward(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx,
                         T* dw, T* db, int64_t rows, int64_t n);
template <typename T>
void embedding_forward(const T* weight, const int64_t* ids, T* y, int64_t count, int64_t dim);
template <typename T>
void embedding_backward(const T* dy, const int64_t* ids, T* dweight, int64_t count, int64_t dim,
                        int64_t vocab);
template <typename T>
int64_t cross_entropy_forward(const T* logits, const int64_t* targets, T* loss, T* lse,
                              int64_t rows, int64_t V, int64_t ignore_index, T smoothing);
template <typename T>
void cross_entropy_backward(const T* logits, const T* lse, const int64_t* targets, T* dlogits,
                            int64_t rows, int64_t V, int64_t ignore_index, T smoothing, T scale);
template <typename T>
void rope(const T* x, T* y, const T* cos, const T* sin, const int64_t* positions, int64_t B,
          int64_t T_, int64_t H, int64_t D, bool per_batch, bool interleaved, bool inverse);
template <typename T>
void causal_conv1d_forward(const T* x, const T* w, const T* bias, T* y, int64_t B, int64_t T_,
                           int64_t C, int64_t K);
template <typename T>
void causal_conv1d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t B,
                            int64_t T_, int64_t C, int64_t K);

// ---- dense products (reference_nn.cpp): the triple loop, BLAS conventions (beta = 0 means C is
// not read, so NaN in an uninitialised C does not leak through).
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);
template <typename T>
void gemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta,
                  T* C, int64_t ldc, int64_t stride_c, int64_t batch);

}  // namespace tessera::kernels::reference
