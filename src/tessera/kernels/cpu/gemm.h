#pragma once
// Dense GEMM is OpenBLAS's (DESIGN.md: never hand-rolled). Row-major.
// C = alpha * op(A) * op(B) + beta * C, op(A) is [M, K], op(B) is [K, N].
#include <cstdint>

namespace tessera::kernels {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// `batch` independent GEMMs at fixed element strides. Small matrices are spread over threads
// (one single-threaded BLAS call each); large ones let BLAS use all threads.
template <typename T>
void gemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta,
                  T* C, int64_t ldc, int64_t stride_c, int64_t batch);

}  // namespace tessera::kernels
