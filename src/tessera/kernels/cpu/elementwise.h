#pragma once
// Elementwise kernels on raw pointers. T is float or double. Every function has a plain scalar
// twin in namespace `reference` (reference.h) that tests compare against; the versions here
// dispatch at run time to AVX-512 or the AVX2 baseline.
#include <cstdint>

namespace tessera::kernels {

enum class UnaryOp {
  neg, exp, log, sqrt, rsqrt, tanh, sigmoid, silu, gelu_tanh, gelu_erf, relu, softplus, abs, square
};

// y[i] = op(x[i]); x and y contiguous, may alias.
template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n);

// dx[i] = dy[i] * op'(x[i]); y = op(x) is passed because some derivatives are cheaper from it.
template <typename T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n);

// y = x^p, y = clamp(x, lo, hi), y = a*x + b.
template <typename T>
void pow_scalar(const T* x, T p, T* y, int64_t n);
template <typename T>
void clamp(const T* x, T lo, T hi, T* y, int64_t n);
template <typename T>
void affine(const T* x, T a, T b, T* y, int64_t n);

enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum };

// Broadcasting, strided binary op: out (contiguous, `shape`, ndim <= 8) = op(a, b) where a and
// b are read through element strides (stride 0 = broadcast along that axis). Adjacent axes
// are coalesced; the inner loop is vectorised when the innermost strides are 1 or 0.
template <typename T>
void binary(BinaryOp op, const T* a, const int64_t* a_strides, const T* b, const int64_t* b_strides,
            T* out, const int64_t* shape, int ndim);

// Gathers a strided view into contiguous memory (any element size 1, 2, 4 or 8 bytes).
void copy_strided(const void* src, const int64_t* src_strides, void* dst, const int64_t* shape,
                  int ndim, int64_t element_size);

// dst += src over n contiguous elements (gradient accumulation).
template <typename T>
void accumulate(const T* src, T* dst, int64_t n);

// Storage-format conversions over n contiguous elements.
void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
void f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
void f16_to_f32(const uint16_t* src, float* dst, int64_t n);
void f32_to_f16(const float* src, uint16_t* dst, int64_t n);

}  // namespace tessera::kernels
