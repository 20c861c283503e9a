// The int8 x int8 product (kernels/cpu/int8_gemm.h): the VNNI kernel equals the plain reference
// over tile and K-tail shapes (the int32 sums are exact; only the final f32 scaling may round
// differently where the compiler fuses it), the reference equals an f64 product of the
// dequantized operands, and row sums.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tessera/kernels/cpu/int8_gemm.h"

namespace tessera::kernels {
namespace {

struct Operands {
  std::vector<int8_t> a, w, packed;
  std::vector<float> a_scale, w_scale, bias;
  std::vector<int32_t> sums;
};

Operands random_operands(int64_t M, int64_t N, int64_t K, int64_t lda, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> value(-127, 127);
  std::uniform_real_distribution<float> scale(0.001f, 0.1f);
  Operands o;
  o.a.resize(M * lda);
  for (auto& v : o.a) v = static_cast<int8_t>(value(gen));
  o.w.resize(N * K);
  for (auto& v : o.w) v = static_cast<int8_t>(value(gen));
  for (int64_t m = 0; m < M; ++m) o.a_scale.push_back(scale(gen));
  for (int64_t n = 0; n < N; ++n) {
    o.w_scale.push_back(scale(gen));
    o.bias.push_back(scale(gen) - 0.05f);
  }
  o.sums.resize(N);
  int8_row_sums(o.w.data(), N, K, o.sums.data());
  o.packed.resize(int8_packed_rows(N) * int8_packed_cols(K));
  int8_pack_rows(o.w.data(), N, K, o.packed.data());
  return o;
}

TEST(Int8Gemm, RowSums) {
  const int8_t w[] = {1, -2, 3, 127, -127, 0};
  int32_t sums[2];
  int8_row_sums(w, 2, 3, sums);
  EXPECT_EQ(sums[0], 2);
  EXPECT_EQ(sums[1], 0);
}

TEST(Int8Gemm, PanelsHoldEveryElementAndZeroPadding) {
  const int64_t N = 19, K = 10;  // two panels, the second with 13 zero rows; K padded to 12
  Operands o = random_operands(1, N, K, K, 3);
  ASSERT_EQ(o.packed.size(), 32u * 12u);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) ASSERT_EQ(int8_packed_at(o.packed.data(), K, n, k), o.w[n * K + k]);
  for (int64_t k = 0; k < K; ++k) EXPECT_EQ(int8_packed_at(o.packed.data(), K, 25, k), 0);
  EXPECT_EQ(o.packed[2 * 64 + 0 * 4 + 2], 0);  // row 0, column 10: K padding
  EXPECT_EQ(o.packed[1 * 64 + 3 * 4 + 1], o.w[3 * K + 5]);  // row 3, column 5
  std::vector<float> row(K);
  int8_dequantize_packed_row(o.packed.data(), K, 17, 0.5f, row.data());
  for (int64_t k = 0; k < K; ++k) EXPECT_EQ(row[k], 0.5f * o.w[17 * K + k]);
}

TEST(Int8Gemm, ReferenceEqualsTheDequantizedProductInF64) {
  const int64_t M = 3, N = 5, K = 37;
  Operands o = random_operands(M, N, K, K, 1);
  std::vector<float> y(M * N);
  int8_gemm_f32_reference(o.a.data(), K, o.a_scale.data(), M, o.w.data(), o.w_scale.data(),
                          o.bias.data(), N, K, y.data(), N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double want = o.bias[n];
      for (int64_t k = 0; k < K; ++k)
        want += (o.a[m * K + k] * static_cast<double>(o.a_scale[m])) *
                (o.w[n * K + k] * static_cast<double>(o.w_scale[n]));
      EXPECT_NEAR(y[m * N + n], want, 1e-5 * (1 + std::fabs(want)));
    }
}

TEST(Int8Gemm, ActivationQuantizationRoundsHalfToEvenWithinAStep) {
  const float row[] = {1.0f, -0.5f, 0.25f, 2.54f};  // max 2.54: scale 0.02
  int8_t q[4];
  float scale;
  int8_quantize_rows_reference(row, 1, 4, q, &scale);
  EXPECT_FLOAT_EQ(scale, 0.02f);
  EXPECT_EQ(q[0], 50);
  EXPECT_EQ(q[1], -25);
  EXPECT_EQ(q[2], 12);  // 12.5 rounds to even
  EXPECT_EQ(q[3], 127);
  const float zeros[3] = {0, 0, 0};
  int8_quantize_rows_reference(zeros, 1, 3, q, &scale);
  EXPECT_EQ(scale, 0.0f);
  EXPECT_EQ(q[0], 0);
  // The dispatched (AVX-512) version equals the plain loop, tails included.
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0, 3);
  for (int64_t cols : {1, 15, 16, 17, 100}) {
    std::vector<float> x(3 * cols);
    for (auto& v : x) v = normal(gen);
    std::vector<int8_t> got(3 * cols), want(3 * cols);
    std::vector<float> got_scale(3), want_scale(3);
    int8_quantize_rows(x.data(), 3, cols, got.data(), got_scale.data());
    int8_quantize_rows_reference(x.data(), 3, cols, want.data(), want_scale.data());
    EXPECT_EQ(got, want) << cols;
    EXPECT_EQ(got_scale, want_scale) << cols;
    for (int64_t i = 0; i < 3 * cols; ++i)
      EXPECT_LE(std::fabs(want[i] * want_scale[i / cols] - x[i]), 0.5001f * want_scale[i / cols]);
  }
}

TEST(Int8Gemm, VnniKernelEqualsTheReference) {
  if (!int8_gemm_accelerated()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  uint32_t seed = 10;
  for (int64_t M : {1, 3, 8, 9, 33})
    for (int64_t N : {1, 16, 17, 33, 70})
      for (int64_t K : {1, 63, 64, 65, 200}) {
        const int64_t lda = K + 3, ldy = N + 2;  // strided rows on both sides
        Operands o = random_operands(M, N, K, lda, ++seed);
        std::vector<float> got(M * ldy, -1.0f), want(M * ldy, -1.0f);
        const float* bias = (seed % 2) ? o.bias.data() : nullptr;
        int8_gemm_f32(o.a.data(), lda, o.a_scale.data(), M, o.packed.data(), o.sums.data(),
                      o.w_scale.data(), bias, N, K, got.data(), ldy);
        int8_gemm_f32_reference(o.a.data(), lda, o.a_scale.data(), M, o.w.data(),
                                o.w_scale.data(), bias, N, K, want.data(), ldy);
        for (int64_t i = 0; i < M * ldy; ++i)
          ASSERT_NEAR(got[i], want[i], 1e-6f * (1 + std::fabs(want[i])))
              << "M " << M << " N " << N << " K " << K << " at " << i;
      }
}

TEST(Int8Gemm, VnniKernelThreadsOverLargeProducts) {
  if (!int8_gemm_accelerated()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  const int64_t M = 40, N = 1030, K = 300;  // above the threading threshold
  Operands o = random_operands(M, N, K, K, 99);
  std::vector<float> got(M * N), want(M * N);
  int8_gemm_f32(o.a.data(), K, o.a_scale.data(), M, o.packed.data(), o.sums.data(), o.w_scale.data(),
                o.bias.data(), N, K, got.data(), N);
  int8_gemm_f32_reference(o.a.data(), K, o.a_scale.data(), M, o.w.data(), o.w_scale.data(),
                          o.bias.data(), N, K, want.data(), N);
  for (int64_t i = 0; i < M * N; ++i) ASSERT_NEAR(got[i], want[i], 1e-6f * (1 + std::fabs(want[i])));
}

}  // namespace
}  // namespace tessera::kernels
