// safetensors reading and writing: hand-built golden bytes, round trips, zero-copy views,
// conversions, atomic writes and sharded folders. Malformed files: io_safetensors_errors_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <utility>

#include "io_test_helpers.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/core/io/safetensors_folder.h"

namespace tessera::io {
namespace {

using testing::bad_input_message;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::le_bytes;
using testing::read_bytes;
using testing::ScratchDir;
using testing::values;
using testing::write_bytes;

std::string safetensors_image(const std::string& header_json, const std::string& data) {
  return le_bytes(header_json.size(), 8) + header_json + data;
}

std::string raw(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.raw_data()), c.nbytes());
}

// A tensor of `dtype` filled with varied, non-zero bytes that are valid values of the type.
Tensor random_tensor(const Shape& shape, DType dtype, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(-3.0, 3.0);
  std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
  for (double& v : values)
    v = is_floating(dtype) ? uniform(rng) : std::floor(uniform(rng) * 40) + 1;
  if (dtype == DType::u8) {
    for (double& v : values) v = std::fabs(v);
  }
  return Tensor::from_vector<double>(values, shape).to(dtype);
}

TEST(SafetensorsWrite, HeaderAndDataMatchHandBuiltBytes) {
  ScratchDir dir;
  const std::string path = dir.file("golden.safetensors");
  save_safetensors(path,
                   {{"a", Tensor::from_vector<float>({1.0f, 2.0f}, {2})},
                    {"b", Tensor::from_vector<int64_t>({7}, {1})}},
                   {{"format", "pt"}});
  // 139 bytes of JSON + 5 spaces of padding = 144 = 0x90.
  const std::string expected =
      std::string("\x90\0\0\0\0\0\0\0", 8) +
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})" +
      "     " + std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8) +
      std::string("\x07\0\0\0\0\0\0\0", 8);
  EXPECT_EQ(read_bytes(path), expected);
  EXPECT_EQ(serialize_safetensors({{"a", Tensor::from_vector<float>({1.0f, 2.0f}, {2})},
                                   {"b", Tensor::from_vector<int64_t>({7}, {1})}},
                                  {{"format", "pt"}}),
            expected);
}

TEST(SafetensorsWrite, HeaderWithoutMetadataIsPaddedToEightBytes) {
  // {"x":{"dtype":"U8","shape":[],"data_offsets":[0,1]}} is 52 bytes: 4 spaces make 56.
  const std::string header = safetensors_header({{"x", Tensor::scalar(9, DType::u8)}});
  EXPECT_EQ(header, std::string("\x38\0\0\0\0\0\0\0", 8) +
                        R"({"x":{"dtype":"U8","shape":[],"data_offsets":[0,1]}})" + "    ");
}

TEST(SafetensorsRead, HandBuiltFileListsTensorsInDataOrder) {
  // Keys out of data order, whitespace and a gap-free buffer as another writer might emit.
  const std::string json = R"({ "w": {"dtype": "I32", "shape": [2, 1], "data_offsets": [4, 12]},
    "__metadata__": {"note": "hand made"},
    "s": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]} })";
  const std::string data = std::string("\x01\x02\x03\x04", 4) + le_bytes(5, 4) + le_bytes(-6, 4);
  const std::string image = safetensors_image(json, data);
  SafetensorsFile file = SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(image.data()),
                                                image.size(), "hand.safetensors");
  EXPECT_THAT(file.names(), ElementsAre("s", "w"));
  EXPECT_EQ(file.metadata().at("note"), "hand made");
  const TensorInfo& w = file.info("w");
  EXPECT_EQ(w.dtype_name, "I32");
  EXPECT_EQ(w.dtype, DType::i32);
  EXPECT_EQ(w.shape, (Shape{2, 1}));
  EXPECT_EQ(w.begin, 4u);
  EXPECT_EQ(w.nbytes(), 8u);
  EXPECT_EQ(values<int32_t>(file.get("w")), (std::vector<int32_t>{5, -6}));
  EXPECT_EQ(values<int32_t>(file.get("s")), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(file.get("w").name(), "w");
}

TEST(SafetensorsRoundTrip, EveryDTypeAndShape) {
  ScratchDir dir;
  const std::vector<DType> dtypes = {DType::f32, DType::f64, DType::bf16, DType::f16,
                                     DType::i8,  DType::i32, DType::i64,  DType::u8};
  const std::vector<Shape> shapes = {{}, {0}, {5}, {3, 4}, {2, 0, 3}, {2, 3, 2}};
  NamedTensors tensors;
  uint32_t seed = 1;
  for (DType dtype : dtypes) {
    for (const Shape& shape : shapes) {
      tensors.emplace_back(fmt::format("{}.{}", dtype_name(dtype), shape_str(shape)),
                           random_tensor(shape, dtype, seed++));
    }
  }
  const std::string path = dir.file("all.safetensors");
  save_safetensors(path, tensors, {{"k", "v"}, {"empty", ""}});
  SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_EQ(file.names().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, expected] = tensors[i];
    SCOPED_TRACE(name);
    EXPECT_EQ(file.names()[i], name);  // written contiguously in the given order
    Tensor got = file.get(name);
    EXPECT_EQ(got.dtype(), expected.dtype());
    EXPECT_EQ(got.shape(), expected.shape());
    EXPECT_EQ(raw(got), raw(expected));
    EXPECT_EQ(file.info(name).dtype_name, safetensors_dtype_name(expected.dtype()));
  }
  EXPECT_EQ(file.metadata(), (StringMetadata{{"k", "v"}, {"empty", ""}}));
}

TEST(SafetensorsRoundTrip, NonContiguousTensorIsWrittenInLogicalOrder) {
  Tensor m = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const std::string image = serialize_safetensors({{"t", m.transpose(0, 1)}});
  SafetensorsFile file = SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(image.data()),
                                                image.size(), "memory");
  EXPECT_EQ(file.get("t").shape(), (Shape{3, 2}));
  EXPECT_EQ(values<float>(file.get("t")), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(SafetensorsRead, AlignedTensorsAreZeroCopyViewsOfTheMapping) {
  ScratchDir dir;
  const std::string path = dir.file("view.safetensors");
  save_safetensors(path, {{"w", random_tensor({4, 4}, DType::f32, 3)},
                          {"e", random_tensor({3}, DType::f64, 4)}});
  SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_TRUE(file.is_zero_copy("w"));
  Tensor first = file.get("w");
  Tensor second = file.get("w");
  EXPECT_EQ(std::as_const(first).raw_data(), std::as_const(second).raw_data());  // one mapping
  EXPECT_TRUE(first.storage()->read_only());
  EXPECT_THROW(first.fill_(1.0), Error);  // in-place ops refuse a view of the file
  Tensor writable = first.clone();
  writable.data<float>()[0] = 42.0f;
  EXPECT_EQ(values<float>(writable)[0], 42.0f);
  EXPECT_NE(values<float>(file.get("w"))[0], 42.0f);  // the file's bytes are untouched
  EXPECT_EQ(values<float>(file.get("w"))[1], values<float>(writable)[1]);

  // With bytes the test owns, the returned data pointer must lie inside them.
  const std::string image = read_bytes(path);
  auto buffer = std::make_shared<std::string>(image);
  const auto* begin = reinterpret_cast<const uint8_t*>(buffer->data());
  // std::string storage is at least 8-byte aligned from the allocator, as mmap pages are.
  SafetensorsFile in_memory = SafetensorsFile::parse(begin, buffer->size(), "memory", buffer);
  Tensor view = in_memory.get("e");
  const auto* data = static_cast<const uint8_t*>(std::as_const(view).raw_data());
  EXPECT_GE(data, begin);
  EXPECT_LE(data + view.nbytes(), begin + buffer->size());
  buffer.reset();  // the view keeps the bytes alive
  EXPECT_EQ(raw(view), raw(file.get("e")));
}

TEST(SafetensorsRead, MisalignedTensorIsCopied) {
  // A one-byte tensor first puts the f32 at buffer offset 1: not usable in place.
  const std::string json = R"({"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                           R"("f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  const float floats[2] = {1.5f, -0.25f};
  std::string data = "\x09" + std::string(reinterpret_cast<const char*>(floats), 8);
  const std::string image =
      safetensors_image(json + std::string((8 - json.size() % 8) % 8, ' '), data);
  auto buffer = std::make_shared<std::string>(image);
  SafetensorsFile file = SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(buffer->data()),
                                                buffer->size(), "memory", buffer);
  EXPECT_FALSE(file.is_zero_copy("f"));
  Tensor f = file.get("f");
  EXPECT_FALSE(f.storage()->read_only());
  EXPECT_EQ(values<float>(f), (std::vector<float>{1.5f, -0.25f}));
  EXPECT_EQ(values<int32_t>(file.get("b")), (std::vector<int32_t>{9}));
}

TEST(SafetensorsRead, ConvertsBf16AndF16ToF32OnRequest) {
  // bf16: 1.0 = 0x3f80, -2.5 = 0xc020, 0.15625 = 0x3e20; f16: 1.0 = 0x3c00, -2 = 0xc000,
  // 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001.
  const std::string json = R"({"h":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},)"
                           R"("g":{"dtype":"F16","shape":[2,2],"data_offsets":[6,14]}})";
  const std::string data = le_bytes(0x3f80, 2) + le_bytes(0xc020, 2) + le_bytes(0x3e20, 2) +
                           le_bytes(0x3c00, 2) + le_bytes(0xc000, 2) + le_bytes(0x7bff, 2) +
                           le_bytes(0x0001, 2);
  const std::string image = safetensors_image(json, data);
  SafetensorsFile file = SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(image.data()),
                                                image.size(), "memory");
  Tensor h = file.get("h", DType::f32);
  EXPECT_EQ(h.dtype(), DType::f32);
  EXPECT_EQ(values<float>(h), (std::vector<float>{1.0f, -2.5f, 0.15625f}));
  Tensor g = file.get("g", DType::f32);
  EXPECT_EQ(g.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(g), (std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)}));
  EXPECT_EQ(file.get("h").dtype(), DType::bf16);  // no conversion unless asked
  EXPECT_EQ(values<double>(file.get("h", DType::f64)), (std::vector<double>{1.0, -2.5, 0.15625}));
}

TEST(SafetensorsRead, RefusesLossyIntegerConversion) {
  const std::string image = serialize_safetensors({{"x", Tensor::from_vector<float>({1.5f}, {1})}});
  SafetensorsFile file = SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(image.data()),
                                                image.size(), "conv.safetensors");
  std::string message = bad_input_message([&] { file.get("x", DType::i32); });
  EXPECT_THAT(message, HasSubstr("conv.safetensors"));
  EXPECT_THAT(message, HasSubstr("'x'"));
  EXPECT_THAT(message, HasSubstr("i32"));
  const std::string ints =
      serialize_safetensors({{"n", Tensor::from_vector<int32_t>({-3, 8}, {2})}});
  SafetensorsFile int_file =
      SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(ints.data()), ints.size(), "ints");
  EXPECT_EQ(values<float>(int_file.get("n", DType::f32)), (std::vector<float>{-3.0f, 8.0f}));
}

TEST(SafetensorsRead, UnsupportedDTypesAreListedButNotLoaded) {
  const std::string json = R"({"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]},)"
                           R"("m":{"dtype":"BOOL","shape":[2],"data_offsets":[4,6]},)"
                           R"("p":{"dtype":"F4","shape":[2,3],"data_offsets":[6,9]}})";
  const std::string image = safetensors_image(json, std::string(9, '\x11'));
  SafetensorsFile file = SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(image.data()),
                                                image.size(), "fp8.safetensors");
  EXPECT_THAT(file.names(), ElementsAre("q", "m", "p"));
  EXPECT_EQ(file.info("q").dtype_name, "F8_E4M3");
  EXPECT_FALSE(file.info("q").dtype.has_value());
  EXPECT_EQ(file.info("p").nbytes(), 3u);  // six 4-bit values
  std::string message = bad_input_message([&] { file.get("q"); });
  EXPECT_THAT(message, HasSubstr("fp8.safetensors"));
  EXPECT_THAT(message, HasSubstr("'q'"));
  EXPECT_THAT(message, HasSubstr("F8_E4M3"));
  EXPECT_THAT(message, HasSubstr("cannot load"));
  EXPECT_THAT(bad_input_message([&] { file.get("m", DType::f32); }), HasSubstr("BOOL"));
  EXPECT_THAT(bad_input_message([&] { file.get("absent"); }),
              HasSubstr("no tensor named 'absent'"));
}

TEST(SafetensorsWrite, IsAtomicAndLeavesNoTemporaryFiles) {
  ScratchDir dir;
  const std::string path = dir.file("model.safetensors");
  save_safetensors(path, {{"old", Tensor::scalar(1.0)}});
  const std::string before = read_bytes(path);
  // A refused write (duplicate name) must leave the previous file exactly as it was.
  std::string message = bad_input_message([&] {
    save_safetensors(path, {{"a", Tensor::scalar(1.0)}, {"a", Tensor::scalar(2.0)}});
  });
  EXPECT_THAT(message, HasSubstr("'a' is given twice"));
  EXPECT_EQ(read_bytes(path), before);
  save_safetensors(path, {{"new", Tensor::from_vector<int32_t>({3}, {1})}});
  EXPECT_EQ(SafetensorsFile::open(path).names(), std::vector<std::string>{"new"});
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename(), "model.safetensors");
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(SafetensorsWrite, RefusesBadNamesAndFolders) {
  ScratchDir dir;
  EXPECT_THAT(bad_input_message([&] {
                safetensors_header({{"", Tensor::scalar(1.0)}});
              }),
              HasSubstr("empty name"));
  EXPECT_THAT(bad_input_message([&] {
                safetensors_header({{"__metadata__", Tensor::scalar(1.0)}});
              }),
              HasSubstr("reserved"));
  EXPECT_THAT(bad_input_message([&] {
                safetensors_header({{"u", Tensor()}});
              }),
              HasSubstr("'u' is undefined"));
  EXPECT_THAT(bad_input_message([&] {
                safetensors_header({{"bad\xff", Tensor::scalar(1.0)}});
              }),
              HasSubstr("not valid UTF-8"));
  const std::string nowhere = dir.file("missing/sub/out.safetensors");
  EXPECT_THAT(bad_input_message([&] {
                save_safetensors(nowhere, {{"a", Tensor::scalar(1.0)}});
              }),
              HasSubstr(nowhere));
}

TEST(SafetensorsRead, MissingFileIsNamed) {
  EXPECT_THAT(bad_input_message([] { SafetensorsFile::open("/nonexistent/x.safetensors"); }),
              HasSubstr("/nonexistent/x.safetensors"));
}

}  // namespace
}  // namespace tessera::io
