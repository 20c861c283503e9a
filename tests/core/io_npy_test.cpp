// .npy reading and writing: bytes identical to numpy's own output, versions 1.0/2.0/3.0,
// every supported dtype, zero-copy views, and one test per malformed variant.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>

#include "io_test_helpers.h"
#include "tessera/core/io/npy.h"

namespace tessera::io {
namespace {

using testing::bad_input_message;
using ::testing::HasSubstr;
using testing::le_bytes;
using testing::read_bytes;
using testing::ScratchDir;
using testing::values;

std::string raw(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.raw_data()), c.nbytes());
}

// A .npy image with the given version and header text, exactly as written (no padding added).
std::string npy_image(int version, const std::string& header, const std::string& data) {
  return std::string("\x93NUMPY", 6) + static_cast<char>(version) + '\0' +
         le_bytes(header.size(), version == 1 ? 2 : 4) + header + data;
}

// Parses a copy of `bytes` that the returned tensor keeps alive (it may be a view of it).
Tensor parse(const std::string& bytes, std::optional<DType> want = {}) {
  auto owned = std::make_shared<std::string>(bytes);
  return parse_npy(reinterpret_cast<const uint8_t*>(owned->data()), owned->size(), "memory.npy",
                   owned, want);
}

TEST(NpyWrite, MatchesNumpyBytesExactly) {
  // What numpy 1.24 writes for np.arange(6, dtype='<f4').reshape(2, 3): the dict, 20 spare
  // spaces for growing axis 0 plus padding (58 spaces), '\n'; header length 118 = 0x76, so
  // the data starts at byte 128.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  const std::string expected =
      std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(58, ' ') + "\n" + raw(t);
  ASSERT_EQ(expected.size(), 128u + 24u);
  EXPECT_EQ(serialize_npy(t), expected);
  ScratchDir dir;
  save_npy(dir.file("a.npy"), t);
  EXPECT_EQ(read_bytes(dir.file("a.npy")), expected);
}

TEST(NpyWrite, ScalarAndVectorShapesAreSpelledAsPython) {
  // 0-d: no spare growth spaces; 1-d: "(3,)".
  const std::string scalar = npy_header(Tensor::scalar(3.5, DType::f64));
  EXPECT_EQ(scalar, std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                        "{'descr': '<f8', 'fortran_order': False, 'shape': (), }" +
                        std::string(62, ' ') + "\n");
  const std::string vector = npy_header(Tensor::arange(3, DType::i64));
  EXPECT_THAT(vector, HasSubstr("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"));
  EXPECT_EQ(vector.size() % 64, 0u);
  EXPECT_THAT(npy_header(Tensor::zeros({0}, DType::u8)), HasSubstr("'descr': '|u1'"));
  EXPECT_THAT(npy_header(Tensor::zeros({1}, DType::i8)), HasSubstr("'descr': '|i1'"));
}

TEST(NpyWrite, RefusesBf16) {
  EXPECT_THAT(bad_input_message([] { npy_header(Tensor::zeros({2}, DType::bf16)); }),
              HasSubstr("no bf16 dtype"));
}

TEST(NpyWrite, LongHeaderSwitchesToVersion2) {
  // 23000 dimensions of size 1 make a dict longer than version 1.0's 65535-byte limit.
  Tensor t = Tensor::zeros(Shape(23000, 1), DType::f32);
  const std::string bytes = serialize_npy(t);
  EXPECT_EQ(bytes[6], '\x02');
  NpyHeader header =
      parse_npy_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "long.npy");
  EXPECT_EQ(header.major_version, 2);
  EXPECT_EQ(header.shape.size(), 23000u);
  EXPECT_EQ(header.data_offset % 64, 0u);
}

TEST(NpyRoundTrip, EveryDTypeAndShape) {
  ScratchDir dir;
  const std::vector<DType> dtypes = {DType::f32, DType::f64, DType::f16, DType::i8,
                                     DType::i32, DType::i64, DType::u8};
  const std::vector<Shape> shapes = {{}, {0}, {7}, {3, 4}, {2, 0, 3}, {2, 3, 2}};
  double next = 1.25;
  for (DType dtype : dtypes) {
    for (const Shape& shape : shapes) {
      SCOPED_TRACE(fmt::format("{} {}", dtype_name(dtype), shape_str(shape)));
      std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
      for (double& v : values) v = (next = std::fmod(next * 7.0 + 3.5, 97.0)) - 40.0;
      if (dtype == DType::u8) {
        for (double& v : values) v = std::fabs(v);
      }
      Tensor t = Tensor::from_vector<double>(values, shape).to(dtype);
      const std::string path = dir.file("t.npy");
      save_npy(path, t);
      Tensor back = load_npy(path);
      EXPECT_EQ(back.dtype(), dtype);
      EXPECT_EQ(back.shape(), shape);
      EXPECT_EQ(raw(back), raw(t));
      EXPECT_EQ(read_npy_header(path).dtype, dtype);
    }
  }
}

TEST(NpyRead, AcceptsVersions2And3AndPythonSpellings) {
  const std::string data = le_bytes(5, 4) + le_bytes(-7, 4);
  // Version 2.0, double quotes, no trailing comma, Python 2 long suffix, other key order.
  Tensor v2 = parse(
      npy_image(2, "{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<i4\"}\n", data));
  EXPECT_EQ(values<int32_t>(v2), (std::vector<int32_t>{5, -7}));
  // Version 3.0 (UTF-8 header), '=' native byte order.
  Tensor v3 =
      parse(npy_image(3, "{'descr': '=i4', 'fortran_order': False, 'shape': (1, 2), }", data));
  EXPECT_EQ(v3.shape(), (Shape{1, 2}));
  // One-byte types accept any byte-order mark.
  Tensor bytes =
      parse(npy_image(1, "{'descr': '<u1', 'fortran_order': False, 'shape': (2,)}", "\x03\x04"));
  EXPECT_EQ(values<int32_t>(bytes), (std::vector<int32_t>{3, 4}));
}

TEST(NpyRead, NumpyAlignedDataIsAZeroCopyView) {
  auto buffer = std::make_shared<std::string>(
      serialize_npy(Tensor::from_vector<float>({1.5f, 2.5f, -3.0f}, {3})));
  const auto* begin = reinterpret_cast<const uint8_t*>(buffer->data());
  Tensor view = parse_npy(begin, buffer->size(), "memory.npy", buffer);
  const auto* data = static_cast<const uint8_t*>(std::as_const(view).raw_data());
  EXPECT_EQ(data, begin + 128);
  EXPECT_TRUE(view.storage()->read_only());
  buffer.reset();  // the view keeps the bytes alive
  EXPECT_EQ(values<float>(view), (std::vector<float>{1.5f, 2.5f, -3.0f}));

  ScratchDir dir;
  save_npy(dir.file("v.npy"), Tensor::from_vector<double>({1, 2}, {2}));
  Tensor first = load_npy(dir.file("v.npy"));
  EXPECT_TRUE(first.storage()->read_only());
  EXPECT_THROW(first.fill_(1.0), Error);  // in-place ops refuse a view of the file
}

TEST(NpyRead, MisalignedDataIsCopied) {
  // A 51-byte header puts the f4 data at byte 10 + 51 = 61, not a multiple of 4.
  const std::string header = "{'descr':'<f4','fortran_order':False,'shape':(1,)} ";
  ASSERT_EQ(header.size(), 51u);
  const std::string image = npy_image(1, header, le_bytes(0x3fc00000, 4));
  Tensor t = parse(image);
  EXPECT_FALSE(t.storage()->read_only());
  EXPECT_EQ(values<float>(t), (std::vector<float>{1.5f}));
}

TEST(NpyRead, ConvertsToFloatOnRequestOnly) {
  const std::string half =
      serialize_npy(Tensor::from_vector<float>({1.0f, -2.0f}, {2}).to(DType::f16));
  EXPECT_EQ(values<float>(parse(half, DType::f32)), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_THAT(bad_input_message([&] { parse(half, DType::i32); }), HasSubstr("to i32"));
  // Found by fuzz_npy: an empty array with a zero inner axis.
  const std::string empty = serialize_npy(Tensor::zeros({5, 0}, DType::f16));
  EXPECT_EQ(parse(empty, DType::f32).shape(), (Shape{5, 0}));
}

struct MalformedNpy {
  std::string label;
  std::string bytes;
  std::vector<std::string> expected;
};

std::string with_header(const std::string& header, size_t data_bytes = 8) {
  return npy_image(1, header, std::string(data_bytes, '\x01'));
}

std::vector<MalformedNpy> malformed_npy() {
  const std::string ok_tail = "'fortran_order': False, 'shape': (2,)}";
  return {
      {"Empty", "", {"not a .npy file"}},
      {"WrongMagic", "\x93NUMPX\x01\x00\x00\x00", {"not a .npy file"}},
      {"Truncated", std::string("\x93NUMPY\x02\x00\x05", 9), {"too short"}},
      {"Version4", npy_image(4, "{}", ""), {"version 4.0"}},
      {"Version1Minor1", std::string("\x93NUMPY\x01\x01\x00\x00", 10), {"version 1.1"}},
      {"HeaderPastEnd",
       std::string("\x93NUMPY\x01\x00\xff\x00{}", 12),
       {"header length 255", "past the end"}},
      {"NotADict", with_header("[1, 2]"), {"header is a list", "expected a dict"}},
      {"Garbage", with_header("{'descr': <f4}"), {"header", "unexpected '<'"}},
      {"Unterminated", with_header("{'descr': '<f4"), {"unterminated string"}},
      {"MissingShape", with_header("{'descr': '<f4', 'fortran_order': False}"), {"no 'shape'"}},
      {"MissingDescr", with_header("{'fortran_order': False, 'shape': (2,)}"), {"no 'descr'"}},
      {"ExtraKey", with_header("{'descr': '<f4', 'x': 1, " + ok_tail), {"unexpected key 'x'"}},
      {"DuplicateKey",
       with_header("{'descr': '<f4', 'descr': '<f4', " + ok_tail),
       {"'descr' twice"}},
      {"FortranOrder",
       with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}"),
       {"fortran_order is True", "not supported"}},
      {"FortranNotBool",
       with_header("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}"),
       {"'fortran_order' is an integer"}},
      {"BigEndian", with_header("{'descr': '>f4', " + ok_tail), {"big-endian", "'>f4'"}},
      {"UnsupportedDtype",
       with_header("{'descr': '<u2', " + ok_tail, 4),
       {"'<u2' is not supported"}},
      {"ObjectDtype", with_header("{'descr': '|O', " + ok_tail), {"'|O' is not supported"}},
      {"StructuredDtype",
       with_header("{'descr': [('a', '<f4')], " + ok_tail),
       {"structured dtype"}},
      {"ShapeNotTuple",
       with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}"),
       {"'shape' is an integer", "expected a tuple"}},
      {"ShapeOfStrings",
       with_header("{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}"),
       {"'shape' holds a string"}},
      {"NegativeShape",
       with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}"),
       {"negative dimension -2"}},
      {"FloatShape",
       with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}"),
       {"floating-point"}},
      {"HugeShape",
       with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999999,)}"),
       {"too large"}},
      {"ShapeOverflow",
       with_header(
           "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296)}"),
       {"too large"}},
      {"DataTooShort",
       with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}"),
       {"(3,)", "needs 12 bytes", "has 8"}},
      {"DataTooLong", with_header("{'descr': '<f4', " + ok_tail, 9), {"needs 8 bytes", "has 9"}},
      {"DeepNesting",
       with_header(std::string(1000, '(') + std::string(1000, ')')),
       {"nesting deeper"}},
  };
}

class NpyMalformed : public ::testing::TestWithParam<MalformedNpy> {};

TEST_P(NpyMalformed, IsRefusedWithAPreciseMessage) {
  const MalformedNpy& variant = GetParam();
  std::string message = bad_input_message([&] {
    parse_npy(reinterpret_cast<const uint8_t*>(variant.bytes.data()), variant.bytes.size(),
              "bad.npy");
  });
  EXPECT_THAT(message, HasSubstr("bad.npy"));
  for (const std::string& part : variant.expected) EXPECT_THAT(message, HasSubstr(part));
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line, please: " << message;
}

INSTANTIATE_TEST_SUITE_P(Variants, NpyMalformed, ::testing::ValuesIn(malformed_npy()),
                         [](const auto& info) { return info.param.label; });

}  // namespace
}  // namespace tessera::io
