// GEMM through OpenBLAS against the triple loop: every transpose combination, padded leading
// dimensions, alpha/beta (beta = 0 must not read C), empty inner dimension, and both batched
// paths (many small products spread over threads; large ones through threaded BLAS).
#include <limits>
#include <stdexcept>

#include "kernel_test_util.h"
#include "tessera/kernels/cpu/gemm.h"
#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels {
namespace {

using testing::all_close;
using testing::random_values;

template <typename T>
void check_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, T beta, int64_t pad,
                uint32_t seed) {
  const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  auto A = random_values<T>((ta ? K : M) * lda, seed);
  auto B = random_values<T>((tb ? N : K) * ldb, seed + 1);
  auto C = random_values<T>(M * ldc, seed + 2);
  if (beta == T(0)) std::fill(C.begin(), C.end(), std::numeric_limits<T>::quiet_NaN());
  std::vector<T> expected = C;
  gemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  reference::gemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, expected.data(), ldc);
  // Padding columns of C must be left alone; NaN matches NaN there.
  const double relative = sizeof(T) == 4 ? 1e-5 : 1e-12;
  EXPECT_TRUE(all_close(C, expected, relative, relative * static_cast<double>(K)))
      << "ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K << " beta " << beta;
}

TEST(Gemm, MatchesTripleLoopForEveryTransposeCombination) {
  uint32_t seed = 1;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      check_gemm<float>(ta, tb, 7, 33, 17, 1.0f, 0.0f, 0, seed += 3);
      check_gemm<float>(ta, tb, 33, 7, 100, 0.5f, 2.0f, 3, seed += 3);
      check_gemm<double>(ta, tb, 1, 1, 1, 1.0, 0.0, 0, seed += 3);
      check_gemm<double>(ta, tb, 65, 31, 129, -1.5, 0.25, 5, seed += 3);
      check_gemm<float>(ta, tb, 1, 1000, 7, 1.0f, 1.0f, 1, seed += 3);
    }
  }
}

// Up to four rows (decoding a token per sequence) or one column go through GEMV instead of
// GEMM; beta = 0 must still ignore whatever C held (NaN here), with and without padding and
// transposes.
TEST(Gemm, FewRowAndSingleColumnProductsMatchTripleLoop) {
  uint32_t seed = 100;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (int64_t pad : {0, 3}) {
        check_gemm<float>(ta, tb, 1, 257, 100, 1.0f, 0.0f, pad, seed += 3);
        check_gemm<float>(ta, tb, 1, 64, 33, -0.5f, 1.5f, pad, seed += 3);
        check_gemm<double>(ta, tb, 129, 1, 65, 1.0, 0.0, pad, seed += 3);
        check_gemm<double>(ta, tb, 17, 1, 300, 2.0, -1.0, pad, seed += 3);
        check_gemm<double>(ta, tb, 1, 300, 17, 1.0, 0.0, pad, seed += 3);
        check_gemm<float>(ta, tb, 40, 1, 9, 1.0f, 0.0f, pad, seed += 3);
        check_gemm<float>(ta, tb, 3, 130, 70, 1.0f, 0.0f, pad, seed += 3);
        check_gemm<double>(ta, tb, 4, 33, 129, 0.5, 2.0, pad, seed += 3);
        check_gemm<double>(ta, tb, 2, 1, 5, 1.0, 0.0, pad, seed += 3);
      }
    }
  }
}

TEST(Gemm, EmptyInnerDimensionScalesC) {
  std::vector<float> C = {1, 2, 3, 4};
  gemm<float>(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 3.0f, C.data(), 2);
  EXPECT_EQ(C, (std::vector<float>{3, 6, 9, 12}));
  std::vector<float> D(4, std::numeric_limits<float>::quiet_NaN());
  gemm<float>(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.0f, D.data(), 2);
  EXPECT_EQ(D, (std::vector<float>(4, 0.0f)));
}

TEST(Gemm, BadLeadingDimensionIsRejected) {
  std::vector<float> A(6), B(6), C(4);
  EXPECT_THROW(gemm(false, false, 2, 2, 3, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 2),
               std::invalid_argument);
  EXPECT_THROW(gemm(false, false, -1, 2, 3, 1.0f, A.data(), 3, B.data(), 2, 0.0f, C.data(), 2),
               std::invalid_argument);
}

template <typename T>
void check_batched(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t batch,
                   uint32_t seed) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N, ldc = N;
  const int64_t stride_a = M * K + 3, stride_b = K * N + 1, stride_c = M * N + 2;
  auto A = random_values<T>(stride_a * batch, seed);
  auto B = random_values<T>(stride_b * batch, seed + 1);
  auto C = random_values<T>(stride_c * batch, seed + 2);
  std::vector<T> expected = C;
  gemm_batched(ta, tb, M, N, K, T(0.5), A.data(), lda, stride_a, B.data(), ldb, stride_b, T(1),
               C.data(), ldc, stride_c, batch);
  reference::gemm_batched(ta, tb, M, N, K, T(0.5), A.data(), lda, stride_a, B.data(), ldb, stride_b,
                          T(1), expected.data(), ldc, stride_c, batch);
  const double relative = sizeof(T) == 4 ? 1e-5 : 1e-12;
  EXPECT_TRUE(all_close(C, expected, relative, relative * static_cast<double>(K)))
      << "batch " << batch << " of " << M << "x" << N << "x" << K;
}

TEST(Gemm, BatchedSmallAndLargeProducts) {
  check_batched<float>(false, true, 16, 16, 32, 37, 1);  // small: spread over threads
  check_batched<double>(true, false, 9, 5, 7, 11, 2);
  check_batched<float>(false, false, 96, 80, 64, 3, 3);  // large: threaded BLAS per product
  check_batched<float>(true, true, 7, 9, 5, 1, 4);
}

}  // namespace
}  // namespace tessera::kernels
