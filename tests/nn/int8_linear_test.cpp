// Int8 weights with per-row scales: quantization error bounds, the product paths against the
// f32 product of the dequantized weights (and, on the VNNI path, dequantized activations), and
// the layer wrapper.
#include <gtest/gtest.h>

#include <cmath>

#include "tessera/kernels/cpu/int8_gemm.h"
#include "tessera/nn/int8_linear.h"

namespace tessera::nn {
namespace {

TEST(Int8Linear, RowsQuantizeWithinHalfAStep) {
  Generator gen(1);
  Tensor w = rand_normal({37, 53}, 0, 1, gen);
  Int8Matrix q = quantize_rows_int8(w);
  std::vector<float> pw = w.to_vector<float>(), s = q.scale.to_vector<float>();
  std::vector<int32_t> sums = q.row_sums.to_vector<int32_t>();
  for (int64_t n = 0; n < 37; ++n) {
    float absmax = 0;
    int32_t sum = 0;
    for (int64_t k = 0; k < 53; ++k) absmax = std::max(absmax, std::fabs(pw[n * 53 + k]));
    EXPECT_FLOAT_EQ(s[n], absmax / 127);
    for (int64_t k = 0; k < 53; ++k) {
      EXPECT_LE(std::fabs(q.at(n, k) * s[n] - pw[n * 53 + k]), 0.5001f * s[n]);
      sum += q.at(n, k);
    }
    EXPECT_EQ(sums[n], sum);
  }
  Int8Matrix zero = quantize_rows_int8(Tensor::zeros({2, 3}));
  EXPECT_EQ(zero.scale.to_vector<float>(), (std::vector<float>{0, 0}));
}

TEST(Int8Linear, BothPathsEqualTheDequantizedProduct) {
  Generator gen(2);
  Tensor w = rand_normal({300, 70}, 0, 1, gen), bias = rand_normal({300}, 0, 1, gen);
  Int8Matrix q = quantize_rows_int8(w);
  // Dequantized reference weights.
  std::vector<float> deq(300 * 70), s = q.scale.to_vector<float>();
  for (int64_t i = 0; i < 300 * 70; ++i) deq[i] = q.at(i / 70, i % 70) * s[i / 70];
  Tensor wd = Tensor::from_vector(deq, {300, 70});
  for (int64_t rows : {1, 3, 8, 9, 40}) {
    Tensor x = rand_normal({rows, 70}, 0, 1, gen);
    Tensor x_used = x;
    if (kernels::int8_gemm_accelerated()) {
      // The VNNI path multiplies per-row absmax int8 activations: compare with those.
      std::vector<int8_t> xq(rows * 70);
      std::vector<float> scale(rows);
      kernels::int8_quantize_rows(x.data<float>(), rows, 70, xq.data(), scale.data());
      std::vector<float> xd(rows * 70);
      for (int64_t i = 0; i < rows * 70; ++i) xd[i] = xq[i] * scale[i / 70];
      x_used = Tensor::from_vector(xd, {rows, 70});
    }
    std::vector<float> got = int8_linear(x, q, bias).to_vector<float>(),
                       want = linear(x_used, wd, bias).to_vector<float>();
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-3) << rows << " rows";
  }
  Tensor x3 = rand_normal({2, 4, 70}, 0, 1, gen);
  EXPECT_EQ(int8_linear(x3, q).shape(), (Shape{2, 4, 300}));
  EXPECT_THROW(int8_linear(rand_normal({2, 71}, 0, 1, gen), q), Error);
}

TEST(Int8Linear, RowsDequantizeForEmbeddingLookups) {
  Generator gen(4);
  Tensor w = rand_normal({10, 6}, 0, 1, gen);
  Int8Matrix q = quantize_rows_int8(w);
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{3, 0, 3, 9}, {2, 2});
  Tensor rows = int8_rows(q, ids);
  EXPECT_EQ(rows.shape(), (Shape{2, 2, 6}));
  std::vector<float> got = rows.to_vector<float>(), pw = w.to_vector<float>(),
                     s = q.scale.to_vector<float>();
  const int64_t order[] = {3, 0, 3, 9};
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 6; ++k)
      EXPECT_NEAR(got[i * 6 + k], pw[order[i] * 6 + k], 0.5001f * s[order[i]]);
  EXPECT_THROW(int8_rows(q, Tensor::from_vector(std::vector<int64_t>{10}, {1})), Error);
}

TEST(Int8Linear, LayerWrapperQuantizesInPlace) {
  Generator gen(3);
  QuantizableLinear l = QuantizableLinear::create(64, 32, true, 0.1, gen);
  l.bias = rand_normal({32}, 0, 0.1, gen);
  Tensor x = rand_normal({5, 64}, 0, 1, gen);
  std::vector<float> before = l.forward(x).to_vector<float>();
  l.quantize();
  EXPECT_FALSE(l.weight.defined());
  ParameterRefs refs;
  l.parameters("p.", refs);
  ASSERT_EQ(refs.size(), 1u);  // only the f32 bias remains a parameter
  std::vector<float> after = l.forward(x).to_vector<float>();
  double err = 0, norm = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    err += (before[i] - after[i]) * (before[i] - after[i]);
    norm += before[i] * before[i];
  }
  EXPECT_LT(std::sqrt(err / norm), 0.02);
}

}  // namespace
}  // namespace tessera::nn
