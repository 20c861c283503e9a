// Ternary packing and multiplication-free products: round trips of both packings, and the
// SIMD products (AVX2 and AVX-512) equal to an int64 multiply-accumulate reference exactly,
// on odd shapes (padding, odd block counts, token tails).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tessera/kernels/cpu/dispatch.h"
#include "tessera/kernels/cpu/ternary.h"

namespace tessera::kernels {
namespace {

std::vector<int8_t> random_trits(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-1, 1);
  std::vector<int8_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = static_cast<int8_t>(d(rng));
  return t;
}

// Activations over the whole allowed range, extremes included.
std::vector<int8_t> random_activations(int64_t batch, int64_t cols, int64_t ld, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> x(static_cast<size_t>(batch * ld), 0);
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t k = 0; k < cols; ++k) x[n * ld + k] = static_cast<int8_t>(d(rng));
    if (cols > 1) x[n * ld] = 127, x[n * ld + 1] = -127;
  }
  return x;
}

TEST(Ternary, PackingsRoundTrip) {
  for (int64_t cols : {1, 5, 7, 127, 128, 129, 300, 640}) {
    const int64_t rows = 3;
    auto trits = random_trits(rows * cols, static_cast<uint32_t>(cols));
    std::vector<uint8_t> p2(rows * ternary2_row_bytes(cols)), p3(rows * ternary3_row_bytes(cols));
    pack_ternary2(trits.data(), rows, cols, p2.data());
    pack_ternary3(trits.data(), rows, cols, p3.data());
    std::vector<int8_t> back2(trits.size()), back3(trits.size());
    unpack_ternary2(p2.data(), rows, cols, back2.data());
    unpack_ternary3(p3.data(), rows, cols, back3.data());
    EXPECT_EQ(back2, trits) << cols;
    EXPECT_EQ(back3, trits) << cols;
    EXPECT_TRUE(ternary2_codes_valid(p2.data(), static_cast<int64_t>(p2.size())));
    EXPECT_TRUE(ternary3_codes_valid(p3.data(), static_cast<int64_t>(p3.size())));
  }
  EXPECT_EQ(ternary2_row_bytes(2048), 512);
  EXPECT_EQ(ternary3_row_bytes(2048), 410);  // 1.6 bits per weight
}

TEST(Ternary, InvalidCodesAreDetected) {
  std::vector<uint8_t> p2 = {0x55, 0x57};  // second byte holds a code 3
  EXPECT_FALSE(ternary2_codes_valid(p2.data(), 2));
  std::vector<uint8_t> p3 = {0, 242, 243};
  EXPECT_FALSE(ternary3_codes_valid(p3.data(), 3));
  EXPECT_TRUE(ternary3_codes_valid(p3.data(), 2));
}

TEST(Ternary, AbsmeanTernarizationMatchesTheReleasedRule) {
  // mean |w| = 0.5: w * 2 rounds half to even (0.25 * 2 = 0.5 -> 0, 0.75 * 2 = 1.5 -> 2 -> 1).
  std::vector<float> w = {0.25f, -0.75f, 0.5f, -0.5f};
  std::vector<int8_t> t(4);
  const float factor = ternarize_absmean(w.data(), 4, t.data());
  EXPECT_FLOAT_EQ(factor, 0.5f);
  EXPECT_EQ(t, (std::vector<int8_t>{0, -1, 1, -1}));
  std::vector<float> zeros(4, 0.0f);
  EXPECT_FLOAT_EQ(ternarize_absmean(zeros.data(), 4, t.data()), 1e-5f);  // clamped scale
  EXPECT_EQ(t, (std::vector<int8_t>{0, 0, 0, 0}));
}

TEST(Ternary, AbsmaxActivationQuantization) {
  std::vector<float> x = {0.5f, -2.0f, 1.0f, 0.0f, 0.01f};
  std::vector<int8_t> q(8, 99);
  float scale = 0;
  quantize_rows_absmax(x.data(), 1, 5, q.data(), 8, &scale);
  EXPECT_FLOAT_EQ(scale, 63.5f);
  // 0.5 * 63.5 = 31.75 -> 32; 1.0 * 63.5 = 63.5 -> 64 (half away from zero).
  EXPECT_EQ(q, (std::vector<int8_t>{32, -127, 64, 0, 1, 0, 0, 0}));
}

void expect_products_exact(Isa isa) {
  const Isa saved = active_isa();
  set_isa(isa);
  if (active_isa() != isa) {
    set_isa(saved);
    GTEST_SKIP() << "CPU lacks " << isa_name(isa);
  }
  struct Shape {
    int64_t rows, cols, batch;
  };
  for (Shape s : {Shape{1, 1, 1}, Shape{5, 100, 1}, Shape{17, 128, 3}, Shape{9, 384, 5},
                  Shape{64, 640, 7}, Shape{130, 1000, 2}, Shape{256, 2048, 1}}) {
    auto trits = random_trits(s.rows * s.cols, static_cast<uint32_t>(s.rows * 31 + s.cols));
    std::vector<uint8_t> p2(s.rows * ternary2_row_bytes(s.cols));
    std::vector<uint8_t> p3(s.rows * ternary3_row_bytes(s.cols));
    pack_ternary2(trits.data(), s.rows, s.cols, p2.data());
    pack_ternary3(trits.data(), s.rows, s.cols, p3.data());
    const int64_t padded = ternary2_padded_cols(s.cols);
    auto xp = random_activations(s.batch, s.cols, padded, static_cast<uint32_t>(s.cols));
    auto x = random_activations(s.batch, s.cols, s.cols, static_cast<uint32_t>(s.cols));
    std::vector<int32_t> want(s.rows * s.batch), got(s.rows * s.batch, -7);
    ternary2_gemm_reference(p2.data(), s.rows, s.cols, xp.data(), s.batch, want.data());
    ternary2_gemm(p2.data(), s.rows, s.cols, xp.data(), s.batch, got.data());
    EXPECT_EQ(got, want) << "2-bit " << s.rows << "x" << s.cols << " batch " << s.batch;
    ternary3_gemm_reference(p3.data(), s.rows, s.cols, x.data(), s.batch, want.data());
    std::fill(got.begin(), got.end(), -7);
    ternary3_gemm(p3.data(), s.rows, s.cols, x.data(), s.batch, got.data());
    EXPECT_EQ(got, want) << "base-3 " << s.rows << "x" << s.cols << " batch " << s.batch;
  }
  set_isa(saved);
}

TEST(Ternary, ProductsExactAvx2) {
  expect_products_exact(Isa::avx2);
}
TEST(Ternary, ProductsExactAvx512) {
  expect_products_exact(Isa::avx512);
}

TEST(Ternary, ExtremeRowsStayExact) {
  // Every weight +1 and every activation 127 (and -127): the largest sums a row can produce.
  const int64_t rows = 2, cols = 5632;
  std::vector<int8_t> trits(rows * cols, 1);
  for (int64_t k = 0; k < cols; ++k) trits[cols + k] = -1;
  std::vector<uint8_t> p2(rows * ternary2_row_bytes(cols));
  pack_ternary2(trits.data(), rows, cols, p2.data());
  std::vector<int8_t> x(ternary2_padded_cols(cols), 0);
  for (int64_t k = 0; k < cols; ++k) x[k] = (k % 2) ? 127 : -127;
  x[0] = 127;
  std::vector<int32_t> y(2);
  ternary2_gemm(p2.data(), rows, cols, x.data(), 1, y.data());
  EXPECT_EQ(y[0], 254);
  EXPECT_EQ(y[1], -254);
}

}  // namespace
}  // namespace tessera::kernels
