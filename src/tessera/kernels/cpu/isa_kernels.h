#pragma once
// Entry points that exist once per instruction set: tessera::kernels::avx2::* (compiled with the
// AVX2 baseline) and tessera::kernels::avx512::* (the *_avx512.cpp files). The public functions
// in elementwise.h / reduce.h / nn.h pick one set with active_isa(). Validation, stride
// coalescing and index bookkeeping happen before these are called, so they only compute.
#include <cstdint>

#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/reduce.h"

// Declared by a macro so the two namespaces cannot drift apart.
#define TESSERA_DECLARE_ISA_KERNELS(ns)                                                          \
  namespace tessera::kernels::ns {                                                               \
  template <typename T>                                                                          \
  void unary(UnaryOp op, const T* x, T* y, int64_t n);                                           \
  template <typename T>                                                                          \
  void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n);        \
  template <typename T>                                                                          \
  void pow_scalar(const T* x, T p, T* y, int64_t n);                                             \
  template <typename T>                                                                          \
  void clamp(const T* x, T lo, T hi, T* y, int64_t n);                                           \
  template <typename T>                                                                          \
  void affine(const T* x, T a, T b, T* y, int64_t n);                                            \
  template <typename T>                                                                          \
  void accumulate(const T* src, T* dst, int64_t n);                                              \
  /* out[i] = op(a[i * a_step], b[i * b_step]) for i < n, single-threaded (one run of binary) */ \
  template <typename T>                                                                          \
  void binary_run(BinaryOp op, const T* a, int64_t a_step, const T* b, int64_t b_step, T* out,   \
                  int64_t n);                                                                    \
  void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);                                  \
  void f32_to_bf16(const float* src, uint16_t* dst, int64_t n);                                  \
  void f16_to_f32(const uint16_t* src, float* dst, int64_t n);                                   \
  void f32_to_f16(const float* src, uint16_t* dst, int64_t n);                                   \
  template <typename T>                                                                          \
  void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t n, int64_t inner);           \
  template <typename T>                                                                          \
  void argmax(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner);                  \
  template <typename T>                                                                          \
  void variance(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool unbiased);       \
  template <typename T>                                                                          \
  void softmax_rows(const T* x, T* y, int64_t rows, int64_t n);                                  \
  template <typename T>                                                                          \
  void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n);                              \
  template <typename T>                                                                          \
  void softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n);           \
  template <typename T>                                                                          \
  void log_softmax_backward_rows(const T* y, const T* dy, T* dx, int64_t rows, int64_t n);       \
  template <typename T>                                                                          \
  void rms_norm_forward(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t n, T eps);  \
  template <typename T>                                                                          \
  void rms_norm_backward(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw,       \
                         int64_t rows, int64_t n);                                               \
  template <typename T>                                                                          \
  void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd,            \
                          int64_t rows, int64_t n, T eps);                                       \
  template <typename T>                                                                          \
  void layer_norm_backward(const T* x, const T* w, const T* mean, const T* rstd, const T* dy,    \
                           T* dx, T* dw, T* db, int64_t rows, int64_t n);                        \
  /* targets are already validated; ignored rows get loss 0 and lse 0 */                         \
  template <typename T>                                                                          \
  void cross_entropy_forward(const T* logits, const int64_t* targets, T* loss, T* lse,           \
                             int64_t rows, int64_t V, int64_t ignore_index, T smoothing);        \
  template <typename T>                                                                          \
  void cross_entropy_backward(const T* logits, const T* lse, const int64_t* targets, T* dlogits, \
                              int64_t rows, int64_t V, int64_t ignore_index, T smoothing,        \
                              T scale);                                                          \
  }

TESSERA_DECLARE_ISA_KERNELS(avx2)
TESSERA_DECLARE_ISA_KERNELS(avx512)
#undef TESSERA_DECLARE_ISA_KERNELS
