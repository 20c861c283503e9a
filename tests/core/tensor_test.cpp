#include <gtest/gtest.h>

#include <cmath>

#include "tessera/core/ops.h"
#include "tessera/core/tensor.h"

namespace tessera {
namespace {

Tensor iota(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::from_vector(v, shape);
}

TEST(Tensor, FactoriesAndMetadata) {
  Tensor t = Tensor::zeros({2, 3}, DType::f64);
  EXPECT_EQ(t.dim(), 2);
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.size(-1), 3);
  EXPECT_EQ(t.strides(), (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << "storage must be 64-byte aligned";
  EXPECT_EQ(Tensor::full({2}, 2.5).to_vector<float>(), (std::vector<float>{2.5f, 2.5f}));
  EXPECT_EQ(Tensor::arange(4).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(Tensor::scalar(3.0).dim(), 0);
  EXPECT_DOUBLE_EQ(Tensor::scalar(3.0).item<double>(), 3.0);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = iota({3, 4});
  Tensor tt = t.transpose(0, 1);
  EXPECT_EQ(tt.shape(), (Shape{4, 3}));
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.storage(), t.storage());
  EXPECT_DOUBLE_EQ(tt.at({3, 1}), 7.0);
  Tensor row = t.select(0, 2);
  EXPECT_EQ(row.to_vector<float>(), (std::vector<float>{8, 9, 10, 11}));
  Tensor cols = t.slice(1, 1, 4, 2);
  EXPECT_EQ(cols.to_vector<float>(), (std::vector<float>{1, 3, 5, 7, 9, 11}));
  Tensor n = t.narrow(0, 1, 2);
  EXPECT_EQ(n.shape(), (Shape{2, 4}));
  EXPECT_DOUBLE_EQ(n.at({0, 0}), 4.0);
  // Writing through a view is visible in the base.
  Tensor base = iota({2, 2});
  Tensor v = base.select(1, 1);
  v.copy_(Tensor::from_vector<float>({-1, -2}, {2}));
  EXPECT_EQ(base.to_vector<float>(), (std::vector<float>{0, -1, 2, -2}));
}

TEST(Tensor, PermuteExpandReshape) {
  Tensor t = iota({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_DOUBLE_EQ(p.at({1, 1, 2}), t.at({1, 2, 1}));
  Tensor pc = p.contiguous();
  EXPECT_TRUE(pc.is_contiguous());
  EXPECT_DOUBLE_EQ(pc.at({3, 0, 1}), t.at({0, 1, 3}));
  Tensor e = Tensor::from_vector<float>({1, 2}, {2, 1}).expand({3, 2, 4});
  EXPECT_EQ(e.strides()[0], 0);
  EXPECT_DOUBLE_EQ(e.at({2, 1, 3}), 2.0);
  EXPECT_EQ(t.reshape({4, -1}).shape(), (Shape{4, 6}));
  EXPECT_THROW(t.reshape({5, -1}), Error);
  EXPECT_THROW(t.transpose(0, 1).view({24}), Error);  // view refuses to copy
  EXPECT_EQ(t.transpose(0, 1).reshape({24}).numel(), 24);
  EXPECT_EQ(t.unsqueeze(0).shape(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(t.unsqueeze(-1).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_THROW(t.squeeze(0), Error);
}

TEST(Tensor, EmptyTensorsAreContiguousAndCopyable) {
  Tensor e = Tensor::zeros({5, 0});
  EXPECT_TRUE(e.is_contiguous());
  EXPECT_TRUE(e.transpose(0, 1).is_contiguous());
  EXPECT_EQ(e.transpose(0, 1).contiguous().shape(), (Shape{0, 5}));
  EXPECT_TRUE(e.to(DType::f64).to_vector<double>().empty());
}

TEST(Tensor, ErrorsNameTheProblem) {
  Tensor t = iota({2, 3});
  try {
    check_shape(t, {3, 2}, "layers.0.weight");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    EXPECT_STREQ(e.what(), "layers.0.weight: expected shape [3, 2], got [2, 3]");
  }
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_THROW(t.select(0, 5), Error);
  EXPECT_THROW(t.at({0}), Error);
  Error e = bad_input("tensor {}: bad", "w").with_context("model.safetensors");
  EXPECT_STREQ(e.what(), "model.safetensors: tensor w: bad");
  EXPECT_EQ(e.exit_code(), 2);
}

TEST(DType, Bf16AndF16GoldenBits) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);  // halfway, rounds to even
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // halfway, rounds up to even
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);              // overflow -> inf
  EXPECT_EQ(f32_to_f16(5.9604645e-8f), 0x0001);     // smallest subnormal
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_FLOAT_EQ(f16_to_f32(0x0001), 5.9604645e-8f);
  EXPECT_FLOAT_EQ(f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  // Every f16 bit pattern survives f16 -> f32 -> f16 (NaNs stay NaN).
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    float f = f16_to_f32(static_cast<uint16_t>(bits));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), bits) << bits;
  }
}

TEST(Tensor, DtypeConversions) {
  Tensor f = Tensor::from_vector<float>({1.5f, -2.25f, 3.0f, 1e-3f}, {4});
  for (DType d : {DType::f64, DType::bf16, DType::f16}) {
    std::vector<float> back = f.to(d).to(DType::f32).to_vector<float>();
    for (size_t i = 0; i < back.size(); ++i) EXPECT_NEAR(back[i], f.to_vector<float>()[i], 1e-3) << dtype_name(d);
  }
  EXPECT_EQ(f.to(DType::i32).to_vector<int32_t>(), (std::vector<int32_t>{1, -2, 3, 0}));
  Tensor big = Tensor::from_vector<int64_t>({(1LL << 60) + 1}, {1});
  EXPECT_EQ(big.to(DType::i64).to_vector<int64_t>()[0], (1LL << 60) + 1);
  EXPECT_EQ(Tensor::from_vector<int32_t>({7}, {1}).to(DType::i64).item<int64_t>(), 7);
  DType parsed;
  EXPECT_TRUE(parse_dtype("bf16", parsed));
  EXPECT_EQ(parsed, DType::bf16);
  EXPECT_FALSE(parse_dtype("f8", parsed));
}

TEST(Tensor, ReadOnlyStorageRefusesWrites) {
  static float backing[4] = {1, 2, 3, 4};
  auto storage = Storage::wrap(backing, sizeof(backing), nullptr, /*read_only=*/true);
  Tensor t = Tensor::from_storage(storage, {2, 2}, DType::f32);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_THROW(t.fill_(0.0), Error);
  Tensor c = t.clone();
  c.fill_(0.0);
  EXPECT_EQ(backing[0], 1.0f);
  EXPECT_THROW(Tensor::from_storage(storage, {5}, DType::f32), Error);
}

TEST(Tensor, ToStringShowsValues) {
  Tensor t = Tensor::from_vector<float>({1, 2}, {2});
  t.set_name("w");
  EXPECT_EQ(t.to_string(), "Tensor(f32, [2], w) [1, 2]");
}

}  // namespace
}  // namespace tessera
