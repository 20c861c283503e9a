// Dense GEMM through OpenBLAS's CBLAS interface (row-major). OpenBLAS is the OpenMP build, so a
// call made inside an OpenMP parallel region runs single-threaded and one made outside uses the
// whole pool: gemm_batched relies on that to choose where the parallelism goes.
#include "tessera/kernels/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "tessera/kernels/cpu/parallel_policy.h"

namespace tessera::kernels {

namespace {

// Below this many multiply-adds a single product cannot keep several threads busy, so a batch
// of them is spread over threads instead (about 64^3).
constexpr int64_t kSmallGemmWork = int64_t{1} << 18;

blasint blas_size(int64_t value, const char* what) {
  if (value < 0 || value > std::numeric_limits<blasint>::max()) {
    throw std::invalid_argument(std::string("gemm: ") + what + " = " + std::to_string(value) +
                                " is outside the BLAS integer range");
  }
  return static_cast<blasint>(value);
}

void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint M, blasint N, blasint K, float alpha,
               const float* A, blasint lda, const float* B, blasint ldb, float beta, float* C, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint M, blasint N, blasint K, double alpha,
               const double* A, blasint lda, const double* B, blasint ldb, double beta, double* C,
               blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void blas_gemv(CBLAS_TRANSPOSE t, blasint rows, blasint cols, float alpha, const float* A, blasint lda,
               const float* x, blasint incx, float beta, float* y, blasint incy) {
  cblas_sgemv(CblasRowMajor, t, rows, cols, alpha, A, lda, x, incx, beta, y, incy);
}
void blas_gemv(CBLAS_TRANSPOSE t, blasint rows, blasint cols, double alpha, const double* A, blasint lda,
               const double* x, blasint incx, double beta, double* y, blasint incy) {
  cblas_dgemv(CblasRowMajor, t, rows, cols, alpha, A, lda, x, incx, beta, y, incy);
}

// A product with a few rows (decoding one token per sequence for a handful of sequences) goes
// to GEMV, one call per row: GEMM would first copy the whole weight matrix into its packed
// layout, which for so few rows costs more than the product itself (decode is memory bound).
// Measured with OpenBLAS 0.3.21 on the project machine: up to 4 rows, GEMV per row wins on
// every decode shape (d 768: 0.15 ms vs 0.46 ms at 4 rows; 32000x768: 5.9 ms vs 8.7 ms);
// from 8 rows GEMM wins.
constexpr blasint kMaxGemvRows = 4;

template <typename T>
void call_blas(bool trans_a, bool trans_b, blasint M, blasint N, blasint K, T alpha, const T* A,
               blasint lda, const T* B, blasint ldb, T beta, T* C, blasint ldc) {
  if (M <= kMaxGemvRows) {
    // C[m, :] = alpha * op(B)^T a_m + beta C[m, :], a_m = op(A)[m, :] (stride lda when A is
    // stored transposed).
    const blasint inc_a = trans_a ? lda : 1;
    for (blasint m = 0; m < M; ++m) {
      const T* a = trans_a ? A + m : A + static_cast<int64_t>(m) * lda;
      T* c = C + static_cast<int64_t>(m) * ldc;
      if (trans_b) {
        blas_gemv(CblasNoTrans, N, K, alpha, B, ldb, a, inc_a, beta, c, 1);
      } else {
        blas_gemv(CblasTrans, K, N, alpha, B, ldb, a, inc_a, beta, c, 1);
      }
    }
    return;
  }
  if (N == 1) {
    // C[:, 0] (stride ldc) = alpha * op(A) b + beta C, b = op(B)[:, 0].
    const blasint inc_b = trans_b ? 1 : ldb;
    if (trans_a) return blas_gemv(CblasTrans, K, M, alpha, A, lda, B, inc_b, beta, C, ldc);
    return blas_gemv(CblasNoTrans, M, K, alpha, A, lda, B, inc_b, beta, C, ldc);
  }
  blas_gemm(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
            A, lda, B, ldb, beta, C, ldc);
}

// C = beta C when the inner dimension is empty (BLAS would reject lda = 0). beta = 0 writes
// zeros without reading C.
template <typename T>
void scale_only(int64_t M, int64_t N, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
  }
}

struct BlasShape {
  blasint M, N, K, lda, ldb, ldc;
};

BlasShape check_shape(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, int64_t lda,
                      int64_t ldb, int64_t ldc) {
  BlasShape s{blas_size(M, "M"),     blas_size(N, "N"),     blas_size(K, "K"),
              blas_size(lda, "lda"), blas_size(ldb, "ldb"), blas_size(ldc, "ldc")};
  // Row-major leading dimensions must cover a row of the stored (not transposed) matrix.
  const int64_t a_row = trans_a ? M : K, b_row = trans_b ? K : N;
  if (lda < std::max<int64_t>(1, a_row) || ldb < std::max<int64_t>(1, b_row) ||
      ldc < std::max<int64_t>(1, N)) {
    throw std::invalid_argument("gemm: leading dimensions lda=" + std::to_string(lda) +
                                ", ldb=" + std::to_string(ldb) + ", ldc=" + std::to_string(ldc) +
                                " too small for M=" + std::to_string(M) +
                                ", N=" + std::to_string(N) + ", K=" + std::to_string(K));
  }
  return s;
}

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const BlasShape s = check_shape(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  if (K == 0) return scale_only(M, N, beta, C, ldc);
  call_blas(trans_a, trans_b, s.M, s.N, s.K, alpha, A, s.lda, B, s.ldb, beta, C, s.ldc);
}

template <typename T>
void gemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta,
                  T* C, int64_t ldc, int64_t stride_c, int64_t batch) {
  if (batch <= 0 || M == 0 || N == 0) return;
  const BlasShape s = check_shape(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  if (K == 0) {
    for (int64_t i = 0; i < batch; ++i) scale_only(M, N, beta, C + i * stride_c, ldc);
    return;
  }
  if (M * N * K < kSmallGemmWork && batch > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < batch; ++i) {
      call_blas(trans_a, trans_b, s.M, s.N, s.K, alpha, A + i * stride_a, s.lda, B + i * stride_b,
                s.ldb, beta, C + i * stride_c, s.ldc);
    }
    return;
  }
  for (int64_t i = 0; i < batch; ++i) {
    call_blas(trans_a, trans_b, s.M, s.N, s.K, alpha, A + i * stride_a, s.lda, B + i * stride_b,
              s.ldb, beta, C + i * stride_c, s.ldc);
  }
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);
template void gemm_batched<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                  int64_t, int64_t, const float*, int64_t, int64_t, float, float*,
                                  int64_t, int64_t, int64_t);
template void gemm_batched<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                   int64_t, int64_t, const double*, int64_t, int64_t, double,
                                   double*, int64_t, int64_t, int64_t);

}  // namespace tessera::kernels
