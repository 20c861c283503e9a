// GGUF reading and writing: a file built byte by byte (golden), metadata and tensor round
// trips for every supported type, quantisation error bounds, dequantisation checked against
// ggml's reference, llama metadata/tokenizer helpers. Malformed files: io_gguf_errors_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "io_test_helpers.h"
#include "tessera/core/io/gguf.h"
#include "tessera/core/io/gguf_llama.h"

namespace tessera::io {
namespace {

using testing::bad_input_message;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::le_bytes;
using testing::read_bytes;
using testing::ScratchDir;
using testing::write_bytes;

std::string gguf_string(const std::string& text) {
  return le_bytes(text.size(), 8) + text;
}

std::string f32_bytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4);
}

// Tensor::to_vector on a read-only (mapped) view currently throws inside core (it asks the
// contiguous() result for writable data), so tests read file views through a copy.
template <typename T>
std::vector<T> values_of(const Tensor& t) {
  return t.clone().to_vector<T>();
}

// The f16 scale d at the start of block `block` of a Q8_0/Q4_0 tensor in `file`.
float block_scale(const GgufFile& file, const std::string& name, size_t block, size_t block_bytes) {
  uint16_t bits;
  std::memcpy(&bits, file.tensor_bytes(file.tensor_info(name)) + block * block_bytes, 2);
  return f16_to_f32(bits);
}

// The parsed file keeps its own copy of the image alive, so callers may pass a temporary
// (tensors returned by get() can view these bytes).
GgufFile parse_image(const std::string& image, const std::string& name = "test.gguf") {
  auto owned = std::make_shared<const std::string>(image);
  return GgufFile::parse(reinterpret_cast<const uint8_t*>(owned->data()), owned->size(), name, owned);
}

// The golden file: three metadata entries of different kinds, an F32 [2, 3] tensor and one
// Q8_0 block, laid out exactly as the specification describes.
std::string golden_image() {
  std::string h = "GGUF" + le_bytes(3, 4) + le_bytes(2, 8) + le_bytes(4, 8);
  h += gguf_string("general.architecture") + le_bytes(8, 4) + gguf_string("llama");
  h += gguf_string("llama.block_count") + le_bytes(4, 4) + le_bytes(2, 4);
  h += gguf_string("tokenizer.ggml.tokens") + le_bytes(9, 4) + le_bytes(8, 4) + le_bytes(2, 8) +
       gguf_string("a") + gguf_string("bc");
  // An array of arrays of i16: [[1, -2], [3]].
  h += gguf_string("x.nested") + le_bytes(9, 4) + le_bytes(9, 4) + le_bytes(2, 8) + le_bytes(3, 4) +
       le_bytes(2, 8) + le_bytes(1, 2) + le_bytes(0xfffe, 2) + le_bytes(3, 4) + le_bytes(1, 8) +
       le_bytes(3, 2);
  // Tensor "w": ggml dims [3, 2] (3 varies fastest) -> row-major shape [2, 3].
  h += gguf_string("w") + le_bytes(2, 4) + le_bytes(3, 8) + le_bytes(2, 8) + le_bytes(0, 4) +
       le_bytes(0, 8);
  h += gguf_string("q") + le_bytes(1, 4) + le_bytes(32, 8) + le_bytes(8, 4) + le_bytes(32, 8);
  h.append((32 - h.size() % 32) % 32, '\0');
  std::string data = f32_bytes({1, 2, 3, 4, 5, 6});
  data.append(32 - data.size(), '\0');
  data += le_bytes(0x3800, 2);  // f16 0.5
  for (int q = -16; q < 16; ++q) data += static_cast<char>(q);
  return h + data;
}

TEST(GgufGolden, ReadsHandBuiltFile) {
  const std::string image = golden_image();
  const GgufFile file = parse_image(image);
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.alignment(), 32u);
  EXPECT_EQ(file.data_offset() % 32, 0u);
  EXPECT_THAT(file.keys(), ElementsAre("general.architecture", "llama.block_count",
                                       "tokenizer.ggml.tokens", "x.nested"));
  EXPECT_EQ(file.get_string("general.architecture"), "llama");
  EXPECT_EQ(file.get_uint("llama.block_count"), 2u);
  EXPECT_EQ(file.value("llama.block_count").type(), GgufValueType::u32);
  EXPECT_THAT(file.get_strings("tokenizer.ggml.tokens"), ElementsAre("a", "bc"));
  const auto& nested = file.value("x.nested").as_arrays();
  ASSERT_EQ(nested.size(), 2u);
  EXPECT_EQ(nested[0].element_type(), GgufValueType::i16);
  EXPECT_THAT(nested[0].as_ints(), ElementsAre(1, -2));
  EXPECT_THAT(nested[1].as_ints(), ElementsAre(3));

  ASSERT_EQ(file.tensors().size(), 2u);
  const GgufTensorInfo& w = file.tensor_info("w");
  EXPECT_EQ(w.type, GgmlType::F32);
  EXPECT_THAT(w.ggml_dims, ElementsAre(3, 2));
  EXPECT_THAT(w.shape, ElementsAre(2, 3));
  EXPECT_EQ(w.nbytes, 24u);
  const Tensor wt = file.get("w");
  EXPECT_EQ(wt.dtype(), DType::f32);
  EXPECT_THAT(values_of<float>(wt), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_EQ(wt.at({1, 0}), 4.0);
  EXPECT_TRUE(file.is_zero_copy("w"));
  EXPECT_TRUE(wt.storage()->read_only());

  const GgufTensorInfo& q = file.tensor_info("q");
  EXPECT_EQ(q.type_name(), "Q8_0");
  EXPECT_EQ(q.nbytes, 34u);
  const Tensor qt = file.get("q");
  EXPECT_EQ(qt.dtype(), DType::f32);
  ASSERT_EQ(qt.numel(), 32);
  const std::vector<float> qv = values_of<float>(qt);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(qv[i], 0.5f * (i - 16)) << i;
  EXPECT_FALSE(file.is_zero_copy("q"));
}

TEST(GgufGolden, WriterProducesTheSameBytesForPlainTensors) {
  // The writer's layout, checked byte by byte against a hand-built file.
  std::string h = "GGUF" + le_bytes(3, 4) + le_bytes(1, 8) + le_bytes(2, 8);
  h += gguf_string("general.architecture") + le_bytes(8, 4) + gguf_string("llama");
  h += gguf_string("general.alignment") + le_bytes(4, 4) + le_bytes(64, 4);
  h += gguf_string("w") + le_bytes(2, 4) + le_bytes(3, 8) + le_bytes(2, 8) + le_bytes(0, 4) +
       le_bytes(0, 8);
  h.append((64 - h.size() % 64) % 64, '\0');
  std::string data = f32_bytes({1, 2, 3, 4, 5, 6});
  data.append(64 - data.size(), '\0');

  const GgufMetadata metadata{{"general.architecture", GgufValue::string("llama")},
                              {"general.alignment", GgufValue::u32(64)}};
  const Tensor w = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(serialize_gguf(metadata, {{"w", w, std::nullopt}}), h + data);
  const GgufFile file = parse_image(h + data);
  EXPECT_EQ(file.alignment(), 64u);
  EXPECT_EQ(file.data_offset() % 64, 0u);
}

TEST(GgufGolden, AcceptsVersion2) {
  std::string image = golden_image();
  image[4] = 2;
  EXPECT_EQ(parse_image(image).version(), 2u);
}

GgufMetadata every_kind_of_value() {
  return {
      {"v.u8", GgufValue::u8(200)},
      {"v.i8", GgufValue::i8(-100)},
      {"v.u16", GgufValue::u16(60000)},
      {"v.i16", GgufValue::i16(-30000)},
      {"v.u32", GgufValue::u32(4000000000u)},
      {"v.i32", GgufValue::i32(-2000000000)},
      {"v.u64", GgufValue::u64(std::numeric_limits<uint64_t>::max())},
      {"v.i64", GgufValue::i64(std::numeric_limits<int64_t>::min())},
      {"v.f32", GgufValue::f32(1e-5f)},
      {"v.f64", GgufValue::f64(500000.25)},
      {"v.bool", GgufValue::boolean(true)},
      {"v.string", GgufValue::string("héllo\nworld")},
      {"v.empty_string", GgufValue::string("")},
      {"a.u8", GgufValue::array<uint8_t>({1, 2, 255})},
      {"a.i8", GgufValue::array<int8_t>({-1, 2})},
      {"a.u16", GgufValue::array<uint16_t>({1, 65535})},
      {"a.i16", GgufValue::array<int16_t>({-5})},
      {"a.u32", GgufValue::array<uint32_t>({7, 8, 9})},
      {"a.i32", GgufValue::array<int32_t>({-7, 0, 7})},
      {"a.u64", GgufValue::array<uint64_t>({1ull << 40})},
      {"a.i64", GgufValue::array<int64_t>({-(1ll << 40)})},
      {"a.f32", GgufValue::array<float>({0.5f, -1.25f})},
      {"a.f64", GgufValue::array<double>({1e300})},
      {"a.bool", GgufValue::bool_array({true, false, true})},
      {"a.string", GgufValue::string_array({"x", "", "yz"})},
      {"a.empty", GgufValue::array<int32_t>({})},
      {"a.nested",
       GgufValue::array_of_arrays({GgufValue::string_array({"p"}),
                                   GgufValue::array_of_arrays({GgufValue::array<float>({2.0f})})})},
  };
}

TEST(GgufMetadataRoundTrip, EveryValueTypeSurvivesWriteAndRead) {
  const GgufMetadata metadata = every_kind_of_value();
  const std::string image = serialize_gguf(metadata, {});
  const GgufFile file = parse_image(image);
  ASSERT_EQ(file.metadata().size(), metadata.size());
  for (size_t i = 0; i < metadata.size(); ++i) {
    EXPECT_EQ(file.metadata()[i].first, metadata[i].first);
    EXPECT_TRUE(file.metadata()[i].second == metadata[i].second) << metadata[i].first;
  }
  // Reading and writing again reproduces the file exactly.
  EXPECT_EQ(serialize_gguf(file.metadata(), {}), image);

  EXPECT_EQ(file.get_uint("v.u8"), 200u);
  EXPECT_EQ(file.get_int("v.i8"), -100);
  EXPECT_EQ(file.get_uint("v.u32"), 4000000000u);
  EXPECT_EQ(file.get_uint("v.u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(file.get_int("v.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_FLOAT_EQ(static_cast<float>(file.get_float("v.f32")), 1e-5f);
  EXPECT_EQ(file.get_float("v.f64"), 500000.25);
  EXPECT_EQ(file.get_float("v.u16"), 60000.0);  // integers read as floats too
  EXPECT_TRUE(file.get_bool("v.bool"));
  EXPECT_EQ(file.get_string("v.string"), "héllo\nworld");
  EXPECT_THAT(file.get_ints("a.u8"), ElementsAre(1, 2, 255));
  EXPECT_THAT(file.get_ints("a.i32"), ElementsAre(-7, 0, 7));
  EXPECT_THAT(file.get_floats("a.f32"), ElementsAre(0.5, -1.25));
  EXPECT_THAT(file.value("a.bool").as_bools(), ElementsAre(true, false, true));
  EXPECT_THAT(file.get_strings("a.string"), ElementsAre("x", "", "yz"));
  EXPECT_EQ(file.value("a.empty").size(), 0u);
  EXPECT_EQ(file.value("a.nested").as_arrays()[1].as_arrays()[0].as_floats()[0], 2.0);
}

TEST(GgufMetadataRoundTrip, MismatchedGettersNameFileKeyAndTypes) {
  const GgufFile file = parse_image(serialize_gguf(every_kind_of_value(), {}), "m.gguf");
  EXPECT_EQ(bad_input_message([&] { file.get_string("v.u32"); }),
            "m.gguf: metadata 'v.u32': is u32, expected a string");
  EXPECT_THAT(bad_input_message([&] { file.get_uint("v.i8"); }),
              HasSubstr("m.gguf: metadata 'v.i8': value -100 is negative"));
  EXPECT_THAT(bad_input_message([&] { file.get_int("v.u64"); }),
              HasSubstr("does not fit a signed 64-bit integer"));
  EXPECT_EQ(bad_input_message([&] { file.get_strings("a.u8"); }),
            "m.gguf: metadata 'a.u8': is array of 3 u8, expected an array of string");
  EXPECT_EQ(bad_input_message([&] { file.get_bool("v.string"); }),
            "m.gguf: metadata 'v.string': is string, expected a bool");
  EXPECT_EQ(bad_input_message([&] { file.value("missing.key"); }),
            "m.gguf: metadata key 'missing.key' is missing");
  EXPECT_EQ(file.find("missing.key"), nullptr);
  EXPECT_EQ(file.value("a.u32").to_display(2), "[7, 8, ... (3 items)]");
  EXPECT_EQ(file.value("v.string").to_display(), "\"héllo\\nworld\"");
}

// A tensor of `dtype` with varied values that the type holds exactly.
Tensor random_tensor(const Shape& shape, DType dtype, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(-3.0, 3.0);
  std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
  for (double& v : values)
    v = is_floating(dtype) ? uniform(rng) : std::floor(uniform(rng) * 40) + 1;
  return Tensor::from_vector<double>(values, shape).to(dtype);
}

class GgufPlainRoundTrip : public ::testing::TestWithParam<DType> {};

TEST_P(GgufPlainRoundTrip, SaveAndOpenGivesTheSameTensor) {
  const DType dtype = GetParam();
  ScratchDir dir;
  const Tensor a = random_tensor({3, 5, 2}, dtype, 1);
  const Tensor b = random_tensor({7}, dtype, 2);
  const Tensor s = random_tensor({}, dtype, 3);
  const Tensor empty = Tensor::empty({0, 4}, dtype);
  save_gguf(dir.file("m.gguf"), {{"general.architecture", GgufValue::string("test")}},
            {{"a", a, std::nullopt},
             {"b.weight", b, std::nullopt},
             {"s", s, std::nullopt},
             {"empty", empty, std::nullopt}});
  const GgufFile file = GgufFile::open(dir.file("m.gguf"));
  for (const auto& [name, expected] : std::vector<std::pair<std::string, Tensor>>{
           {"a", a}, {"b.weight", b}, {"s", s}, {"empty", empty}}) {
    const Tensor got = file.get(name);
    EXPECT_EQ(got.dtype(), dtype) << name;
    EXPECT_EQ(got.shape(), expected.shape()) << name;
    EXPECT_EQ(values_of<double>(got), expected.to_vector<double>()) << name;
    EXPECT_TRUE(file.is_zero_copy(name)) << name;
    const Tensor f = file.get_f32(name);
    EXPECT_EQ(f.dtype(), DType::f32);
    EXPECT_EQ(values_of<float>(f), expected.to_vector<float>()) << name;
  }
  EXPECT_THAT(file.tensor_info("a").ggml_dims, ElementsAre(2, 5, 3));
  // Tensors loaded as read-only views of the file can be written out again unchanged.
  std::vector<GgufTensorToWrite> again;
  for (const GgufTensorInfo& info : file.tensors())
    again.push_back({info.name, file.get(info.name), {}});
  EXPECT_EQ(serialize_gguf(file.metadata(), again), read_bytes(dir.file("m.gguf")));
  for (const GgufTensorInfo& info : file.tensors()) EXPECT_EQ(info.offset % 32, 0u) << info.name;
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

INSTANTIATE_TEST_SUITE_P(Types, GgufPlainRoundTrip,
                         ::testing::Values(DType::f32, DType::f16, DType::bf16, DType::f64,
                                           DType::i8, DType::i32, DType::i64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(GgufWrite, ConvertsFloatingTensorsOnRequest) {
  const Tensor x = random_tensor({4, 8}, DType::f32, 4);
  const GgufFile file = parse_image(serialize_gguf({}, {{"h", x, GgmlType::F16},
                                                        {"b", x, GgmlType::BF16},
                                                        {"f", x.to(DType::bf16), GgmlType::F32}}));
  EXPECT_EQ(file.get("h").dtype(), DType::f16);
  EXPECT_EQ(values_of<float>(file.get("h")), x.to(DType::f16).to_vector<float>());
  EXPECT_EQ(values_of<float>(file.get("b")), x.to(DType::bf16).to_vector<float>());
  EXPECT_EQ(file.get("f").dtype(), DType::f32);
  EXPECT_EQ(values_of<float>(file.get("f")), x.to(DType::bf16).to_vector<float>());
}

TEST(GgufWrite, RefusesWhatTheFormatCannotHold) {
  const Tensor x = random_tensor({2, 32}, DType::f32, 5);
  auto write = [](const GgufMetadata& m, std::vector<GgufTensorToWrite> t) {
    return [m, t] { serialize_gguf(m, t); };
  };
  EXPECT_THAT(bad_input_message(write({}, {{"x", x, std::nullopt}, {"x", x, std::nullopt}})),
              HasSubstr("tensor 'x' is given twice"));
  EXPECT_THAT(bad_input_message(write({}, {{"", x, std::nullopt}})), HasSubstr("empty name"));
  EXPECT_THAT(bad_input_message(write({}, {{std::string(64, 'n'), x, std::nullopt}})),
              HasSubstr("llama.cpp accepts at most 63"));
  EXPECT_THAT(bad_input_message(write({}, {{"u", Tensor(), std::nullopt}})),
              HasSubstr("tensor 'u' is undefined"));
  EXPECT_THAT(bad_input_message(write({}, {{"r", Tensor::zeros({1, 1, 1, 1, 2}), std::nullopt}})),
              HasSubstr("5 dimensions; GGUF holds at most 4"));
  EXPECT_THAT(bad_input_message(write({}, {{"q", Tensor::zeros({2, 20}), GgmlType::Q8_0}})),
              HasSubstr("last dimension must be a multiple of 32"));
  EXPECT_THAT(
      bad_input_message(write({}, {{"i", Tensor::zeros({32}, DType::i32), GgmlType::Q8_0}})),
      HasSubstr("only floating tensors can be stored as Q8_0"));
  EXPECT_THAT(bad_input_message(write({}, {{"k", x, GgmlType::Q4_K}})),
              HasSubstr("cannot be stored as Q4_K"));
  EXPECT_THAT(bad_input_message(write({}, {{"u8", Tensor::zeros({3}, DType::u8), std::nullopt}})),
              HasSubstr("is u8, which GGUF cannot store"));
  EXPECT_THAT(bad_input_message(write({{"k", GgufValue::u8(1)}, {"k", GgufValue::u8(2)}}, {})),
              HasSubstr("metadata key 'k' is given twice"));
  EXPECT_THAT(bad_input_message(write({{"general.alignment", GgufValue::u32(48)}}, {})),
              HasSubstr("expected a power of two"));
  EXPECT_THAT(bad_input_message(write({{"general.alignment", GgufValue::u64(64)}}, {})),
              HasSubstr("is u64, expected u32"));
}

// Per block of 32: every dequantised value is within half a step of the input.
TEST(GgufQuantize, Q8_0ErrorIsAtMostHalfAStep) {
  const Tensor x = random_tensor({6, 64}, DType::f32, 6);
  const std::vector<float> in = x.to_vector<float>();
  const GgufFile file = parse_image(serialize_gguf({}, {{"q", x, GgmlType::Q8_0}}));
  EXPECT_EQ(file.tensor_info("q").nbytes, 12u * 34);
  const std::vector<float> out = file.get("q").to_vector<float>();
  for (size_t block = 0; block < in.size() / 32; ++block) {
    float amax = 0;
    for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(in[32 * block + j]));
    const float d = block_scale(file, "q", block, 34);
    EXPECT_NEAR(d, amax / 127.0f, amax / 127.0f / 1024);  // f16 rounding of max|x| / 127
    for (size_t j = 0; j < 32; ++j) {
      const size_t i = 32 * block + j;
      EXPECT_LE(std::fabs(out[i] - in[i]), d / 2 * (1 + 1e-6f)) << i;
    }
  }
}

TEST(GgufQuantize, Q4_0ErrorIsBounded) {
  const Tensor x = random_tensor({4, 96}, DType::f32, 7);
  const std::vector<float> in = x.to_vector<float>();
  const GgufFile file = parse_image(serialize_gguf({}, {{"q", x, GgmlType::Q4_0}}));
  EXPECT_EQ(file.tensor_info("q").nbytes, 12u * 18);
  const std::vector<float> out = file.get_f32("q").to_vector<float>();
  for (size_t block = 0; block < in.size() / 32; ++block) {
    float extreme = 0;
    for (size_t j = 0; j < 32; ++j) {
      if (std::fabs(in[32 * block + j]) > std::fabs(extreme)) extreme = in[32 * block + j];
    }
    const float d = block_scale(file, "q", block, 18);
    EXPECT_NEAR(d, extreme / -8.0f, std::fabs(extreme) / 8 / 1024);
    for (size_t j = 0; j < 32; ++j) {
      const size_t i = 32 * block + j;
      // Levels run from -8 to 7 steps with the extreme at -8: beyond +7.5 steps values clip.
      const float level = in[i] / d;
      const float allowed = (level > 7.5f ? (level - 7.0f) : 0.5f) * std::fabs(d) * (1 + 1e-6f);
      EXPECT_LE(std::fabs(out[i] - in[i]), allowed) << i;
    }
    // The extreme sits exactly on level -8, so only the f16 rounding of d touches it.
    size_t arg = 32 * block;
    for (size_t j = 0; j < 32; ++j) {
      if (std::fabs(in[32 * block + j]) > std::fabs(in[arg])) arg = 32 * block + j;
    }
    EXPECT_NEAR(out[arg], in[arg], std::fabs(in[arg]) / 1024) << "block extreme " << block;
  }
}

TEST(GgufQuantize, ZeroBlocksStayZero) {
  const Tensor zeros = Tensor::zeros({64});
  const GgufFile file =
      parse_image(serialize_gguf({}, {{"a", zeros, GgmlType::Q8_0}, {"b", zeros, GgmlType::Q4_0}}));
  for (float v : file.get("a").to_vector<float>()) EXPECT_EQ(v, 0.0f);
  for (float v : file.get("b").to_vector<float>()) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace tessera::io
