// bf16 / f16 storage conversions: bit-exact agreement with the scalar rules of
// tessera/core/dtype.h (reimplemented in reference.cpp), every half value, random and boundary
// f32 bit patterns, NaN payloads, and tails of odd length.
#include <cstring>
#include <limits>

#include "kernel_test_util.h"
#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels {
namespace {

class Conversion : public testing::IsaTest {};
TESSERA_INSTANTIATE_ISA_SUITE(Conversion);

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
uint32_t to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Random bit patterns (every class: zeros, subnormals, normals, inf, NaN with payloads) plus the
// rounding boundaries of both formats.
std::vector<float> f32_patterns() {
  std::vector<float> values;
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) values.push_back(from_bits(static_cast<uint32_t>(rng())));
  // Values near the f16 range: uniform exponent in [-30, 17].
  std::uniform_int_distribution<uint32_t> exponent(97, 144), mantissa(0, 0x7fffff);
  for (int i = 0; i < 200000; ++i) {
    uint32_t sign = (rng() & 1u) << 31;
    values.push_back(from_bits(sign | exponent(rng) << 23 | mantissa(rng)));
  }
  const float boundaries[] = {0.0f,
                              -0.0f,
                              65504.0f,
                              65519.99f,
                              65520.0f,
                              65536.0f,
                              1e30f,
                              0x1p-14f,
                              0x1p-24f,
                              0x1p-25f,
                              0x1.000002p-25f,
                              0x1.8p-24f,
                              0x1.4p-24f,
                              0x1.cp-24f,
                              0x1.ffep-15f,
                              1.0f + 0x1p-11f,
                              1.0f + 0x1.8p-11f,
                              1.0f + 0x1p-8f,
                              1.0f + 0x1.8p-8f,
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::max(),
                              std::numeric_limits<float>::denorm_min(),
                              from_bits(0x7fc00000u),
                              from_bits(0xffc00001u),
                              from_bits(0x7f800001u),
                              from_bits(0x7fbfffffu),
                              from_bits(0x3f80ffffu),
                              from_bits(0x3f818000u),
                              from_bits(0x3f828000u),
                              from_bits(0x7f7fffffu)};
  for (float b : boundaries) {
    values.push_back(b);
    values.push_back(-b);
  }
  return values;
}

TEST_P(Conversion, HalfToFloatMatchesScalarRuleForEveryValue) {
  std::vector<uint16_t> halves(65536);
  for (uint32_t h = 0; h < 65536; ++h) halves[h] = static_cast<uint16_t>(h);
  std::vector<float> out(halves.size());
  f16_to_f32(halves.data(), out.data(), static_cast<int64_t>(halves.size()));
  for (uint32_t h = 0; h < 65536; ++h) {
    ASSERT_EQ(to_bits(out[h]), to_bits(reference::f16_to_f32_scalar(static_cast<uint16_t>(h))))
        << "half 0x" << std::hex << h;
  }
}

TEST_P(Conversion, BfloatToFloatMatchesScalarRuleForEveryValue) {
  std::vector<uint16_t> halves(65536);
  for (uint32_t h = 0; h < 65536; ++h) halves[h] = static_cast<uint16_t>(h);
  std::vector<float> out(halves.size());
  bf16_to_f32(halves.data(), out.data(), static_cast<int64_t>(halves.size()));
  for (uint32_t h = 0; h < 65536; ++h) {
    ASSERT_EQ(to_bits(out[h]), h << 16) << "bf16 0x" << std::hex << h;
  }
}

TEST_P(Conversion, FloatToHalfAndBfloatMatchScalarRules) {
  const auto values = f32_patterns();
  const auto n = static_cast<int64_t>(values.size());
  std::vector<uint16_t> half(values.size()), bfloat(values.size());
  f32_to_f16(values.data(), half.data(), n);
  f32_to_bf16(values.data(), bfloat.data(), n);
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(half[i], reference::f32_to_f16_scalar(values[i]))
        << "f32 bits 0x" << std::hex << to_bits(values[i]);
    ASSERT_EQ(bfloat[i], reference::f32_to_bf16_scalar(values[i]))
        << "f32 bits 0x" << std::hex << to_bits(values[i]);
  }
}

TEST_P(Conversion, OddLengthsConvertEveryElementAndNoMore) {
  for (int64_t n : testing::odd_sizes()) {
    auto values = testing::random_values<float>(n, 3 + static_cast<uint32_t>(n), 1e-3, 1e3);
    if (n > 3) values[static_cast<size_t>(n - 2)] = std::numeric_limits<float>::quiet_NaN();
    std::vector<uint16_t> half(static_cast<size_t>(n) + 1, 0xabcd), bfloat(half);
    f32_to_f16(values.data(), half.data(), n);
    f32_to_bf16(values.data(), bfloat.data(), n);
    EXPECT_EQ(half.back(), 0xabcd);  // the element past the end is untouched
    EXPECT_EQ(bfloat.back(), 0xabcd);
    std::vector<float> back(static_cast<size_t>(n) + 1, 42.0f), back_b(back);
    f16_to_f32(half.data(), back.data(), n);
    bf16_to_f32(bfloat.data(), back_b.data(), n);
    EXPECT_EQ(back.back(), 42.0f);
    EXPECT_EQ(back_b.back(), 42.0f);
    for (int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<size_t>(i);
      EXPECT_EQ(half[k], reference::f32_to_f16_scalar(values[k]));
      EXPECT_EQ(bfloat[k], reference::f32_to_bf16_scalar(values[k]));
      EXPECT_EQ(to_bits(back[k]), to_bits(reference::f16_to_f32_scalar(half[k])));
    }
  }
}

TEST(ConversionRules, KnownEncodings) {
  EXPECT_EQ(reference::f32_to_f16_scalar(1.0f), 0x3c00);
  EXPECT_EQ(reference::f32_to_f16_scalar(-2.0f), 0xc000);
  EXPECT_EQ(reference::f32_to_f16_scalar(65504.0f), 0x7bff);
  EXPECT_EQ(reference::f32_to_f16_scalar(65520.0f), 0x7c00);                // rounds up to inf
  EXPECT_EQ(reference::f32_to_f16_scalar(0x1p-24f), 0x0001);                // smallest subnormal
  EXPECT_EQ(reference::f32_to_f16_scalar(0x1p-25f), 0x0000);                // tie to even: 0
  EXPECT_EQ(reference::f32_to_f16_scalar(0x1.8p-24f), 0x0002);              // tie to even: 2
  EXPECT_EQ(reference::f32_to_f16_scalar(1.0f + 0x1p-11f), 0x3c00);         // tie to even: down
  EXPECT_EQ(reference::f32_to_f16_scalar(from_bits(0xffc00001u)), 0xfe00);  // NaN keeps sign
  EXPECT_EQ(reference::f16_to_f32_scalar(0x0001), 0x1p-24f);
  EXPECT_EQ(reference::f16_to_f32_scalar(0x7bff), 65504.0f);
  EXPECT_EQ(reference::f32_to_bf16_scalar(1.0f), 0x3f80);
  EXPECT_EQ(reference::f32_to_bf16_scalar(from_bits(0x3f808000u)), 0x3f80);  // tie to even
  EXPECT_EQ(reference::f32_to_bf16_scalar(from_bits(0x3f818000u)), 0x3f82);  // tie to even
  EXPECT_EQ(reference::f32_to_bf16_scalar(from_bits(0x7f800001u)), 0x7fc0);  // NaN stays NaN
  EXPECT_EQ(reference::f32_to_bf16_scalar(from_bits(0x7f7fffffu)), 0x7f80);  // max rounds to inf
}

}  // namespace
}  // namespace tessera::kernels
