// Every malformed GGUF variant is refused with one BadInput error naming the file (and the key
// or tensor at fault), never a crash: one case per rule, then every truncation and thousands
// of seeded byte corruptions of a valid file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "io_test_helpers.h"
#include "tessera/core/io/gguf.h"
#include "tessera/core/io/gguf_llama.h"

namespace tessera::io {
namespace {

using testing::bad_input_message;
using ::testing::HasSubstr;
using testing::le_bytes;

std::string str(const std::string& text) {
  return le_bytes(text.size(), 8) + text;
}
std::string u32(uint64_t v) {
  return le_bytes(v, 4);
}
std::string u64(uint64_t v) {
  return le_bytes(v, 8);
}

std::string header(uint64_t tensors, uint64_t entries, uint32_t version = 3) {
  return "GGUF" + u32(version) + u64(tensors) + u64(entries);
}

std::string tensor(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                   uint64_t offset) {
  std::string out = str(name) + u32(dims.size());
  for (uint64_t d : dims) out += u64(d);
  return out + u32(type) + u64(offset);
}

std::string padded(std::string bytes, size_t alignment = 32) {
  bytes.append((alignment - bytes.size() % alignment) % alignment, '\0');
  return bytes;
}

// An array value nested `depth` times around an empty u8 array.
std::string nested_array(int depth) {
  std::string body = u32(0) + u64(0);
  for (int i = 1; i < depth; ++i) body = u32(9) + u64(1) + body;
  return u32(9) + body;
}

struct Malformed {
  std::string label;
  std::string bytes;
  std::vector<std::string> expected;
};

void PrintTo(const Malformed& m, std::ostream* os) {
  *os << m.label;
}

std::vector<Malformed> malformed_files() {
  const std::string f32_tensor = padded(header(1, 0) + tensor("t", {4}, 0, 0));
  return {
      {"Empty", "", {"bad.gguf: file is 0 bytes, too short for the GGUF magic"}},
      {"BadMagic", "GGML" + u32(3), {"not a GGUF file", "47 47 4d 4c", "expected \"GGUF\""}},
      {"Version1", header(0, 0, 1), {"GGUF version 1 is not supported", "versions 2 and 3"}},
      {"Version4", header(0, 0, 4), {"GGUF version 4 is not supported"}},
      {"BigEndian", header(0, 0, 0x03000000u), {"big-endian GGUF file"}},
      {"TruncatedCounts",
       "GGUF" + u32(3) + u64(0) + "\x01\x02",
       {"truncated: the metadata count at byte 16 needs 8 bytes"}},
      {"AbsurdEntryCount",
       header(0, 1ull << 40),
       {"header claims 1099511627776 metadata entries", "remaining 0 bytes"}},
      {"AbsurdTensorCount",
       header(1ull << 50, 0) + std::string(100, '\0'),
       {"claims 1125899906842624 tensors", "at most 4"}},
      {"TruncatedKey",
       header(0, 1) + u64(100) + "abc" + std::string(10, '\0'),
       {"truncated: the key of metadata entry 0 at byte 24 is 100 bytes long, but only 13 "
        "bytes remain"}},
      {"UnknownValueType",
       header(0, 1) + str("k") + u32(13) + u32(0),
       {"bad.gguf: metadata 'k': unknown value type 13"}},
      {"TruncatedValue",
       header(0, 1) + str("k") + u32(4) + "\x01\x02",
       {"truncated: metadata 'k' at byte 37 needs 4 bytes"}},
      {"UnknownElementType",
       header(0, 1) + str("k") + u32(9) + u32(99) + u64(0),
       {"metadata 'k': unknown array element type 99"}},
      {"AbsurdArrayLength",
       header(0, 1) + str("k") + u32(9) + u32(4) + u64(1000000) + u32(1),
       {"metadata 'k': array of 1000000 u32 needs at least 4 bytes per element"}},
      {"TruncatedStringInArray",
       header(0, 1) + str("k") + u32(9) + u32(8) + u64(2) + str("a") + u64(50) + "b" + u64(0),
       {"metadata 'k' element 1 at byte", "is 50 bytes long"}},
      {"NestedTooDeep",
       header(0, 1) + str("k") + nested_array(9) + std::string(64, '\0'),
       {"metadata 'k' element 0 element 0", "arrays nested more than 8 deep"}},
      {"DuplicateKey",
       header(0, 2) + str("k") + u32(0) + "\x01" + str("k") + u32(0) + "\x02",
       {"metadata key 'k' appears twice"}},
      {"AlignmentNotU32",
       header(0, 1) + str("general.alignment") + u32(10) + u64(64),
       {"metadata 'general.alignment' is u64, expected u32"}},
      {"AlignmentNotPowerOfTwo",
       header(0, 1) + str("general.alignment") + u32(4) + u32(48),
       {"metadata 'general.alignment' is 48, expected a power of two"}},
      {"AlignmentZero",
       header(0, 1) + str("general.alignment") + u32(4) + u32(0),
       {"metadata 'general.alignment' is 0, expected a power of two"}},
      {"TooManyDims",
       padded(header(1, 0) + tensor("t", {1, 1, 1, 1, 1}, 0, 0)),
       {"bad.gguf: tensor 't': has 5 dimensions; ggml tensors have at most 4"}},
      {"DimsOverflow",
       padded(header(1, 0) + tensor("t", {1ull << 32, 1ull << 32}, 0, 0)),
       {"tensor 't': dimensions overflow", "at dimension 1"}},
      {"DimNegativeAsInt64",
       padded(header(1, 0) + tensor("t", {1ull << 63}, 0, 0)),
       {"tensor 't': dimensions overflow", "at dimension 0 = 9223372036854775808"}},
      {"UnknownGgmlType",
       padded(header(1, 0) + tensor("t", {4}, 99, 0)),
       {"tensor 't': unknown ggml type 99"}},
      {"RemovedGgmlType",
       padded(header(1, 0) + tensor("t", {32}, 4, 0)),
       {"tensor 't': ggml type 4 was removed"}},
      {"PartialBlock",
       padded(header(1, 0) + tensor("t", {31, 2}, 8, 0)) + std::string(128, '\0'),
       {"tensor 't': rows of 31 elements are not a whole number of 32-element Q8_0 blocks"}},
      {"MisalignedOffset",
       padded(header(1, 0) + tensor("t", {4}, 0, 4)) + std::string(64, '\0'),
       {"tensor 't': offset 4 is not a multiple of the alignment 32"}},
      {"DataPastEnd",
       f32_tensor + std::string(8, '\0'),
       {"tensor 't': 16 bytes at offset 0 extend past the end of the data section (8 bytes"}},
      {"NoDataSection",
       f32_tensor.substr(0, f32_tensor.size() - 4),
       {"tensor 't': 16 bytes at offset 0 extend past the end of the data section (0 bytes"}},
      {"HugeOffset",
       padded(header(1, 0) + tensor("t", {4}, 0, 1ull << 62)) + std::string(32, '\0'),
       {"tensor 't': 16 bytes at offset 4611686018427387904 extend past the end"}},
      {"TensorLargerThanFile",
       padded(header(1, 0) + tensor("t", {1ull << 40}, 0, 0)),
       {"tensor 't': shape [1099511627776] of F32 needs 4398046511104 bytes, more than the "
        "whole file"}},
      {"DuplicateTensor",
       padded(header(2, 0) + tensor("t", {4}, 0, 0) + tensor("t", {4}, 0, 32)) +
           std::string(64, '\0'),
       {"tensor 't' appears twice"}},
      {"OverlappingTensors",
       padded(header(2, 0) + tensor("a", {16}, 0, 0) + tensor("b", {16}, 0, 32)) +
           std::string(96, '\0'),
       {"tensors 'a' [0, 64) and 'b' [32, 96) overlap"}},
      {"TruncatedTensorInfo",
       header(1, 0) + str("t") + u32(3) + u64(4) + u64(2),
       {"truncated: tensor 't' (dimension 2) at byte 53 needs 8 bytes"}},
  };
}

class GgufMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(GgufMalformed, FailsWithItsMessage) {
  const Malformed& m = GetParam();
  const std::string message = bad_input_message([&] {
    GgufFile::parse(reinterpret_cast<const uint8_t*>(m.bytes.data()), m.bytes.size(), "bad.gguf");
  });
  EXPECT_THAT(message, HasSubstr("bad.gguf: "));
  for (const std::string& part : m.expected) EXPECT_THAT(message, HasSubstr(part));
}

INSTANTIATE_TEST_SUITE_P(Variants, GgufMalformed, ::testing::ValuesIn(malformed_files()),
                         [](const auto& info) { return info.param.label; });

TEST(GgufErrors, UnsupportedTypeIsListedButRefusedOnGet) {
  const std::string image =
      padded(header(1, 0) + tensor("iq", {256}, 16, 0)) + std::string(96, '\0');
  const GgufFile file =
      GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "iq.gguf");
  EXPECT_EQ(file.tensor_info("iq").type_name(), "IQ2_XXS");
  EXPECT_EQ(file.tensor_info("iq").nbytes, 66u);
  const std::string message = bad_input_message([&] { file.get("iq"); });
  EXPECT_THAT(message, HasSubstr("iq.gguf: tensor 'iq' has ggml type IQ2_XXS, which Tessera "
                                 "cannot load"));
  EXPECT_THAT(message, HasSubstr("Q4_K"));
  EXPECT_THAT(bad_input_message([&] { file.get_f32("iq"); }), HasSubstr("IQ2_XXS"));
  EXPECT_EQ(bad_input_message([&] { file.get("nope"); }), "iq.gguf: no tensor named 'nope'");
}

TEST(GgufErrors, EmptyTensorNeedsNoDataSection) {
  // No padding after the header: the data section would start past the end of the file,
  // which is fine for a tensor with no elements.
  const std::string image = header(1, 0) + tensor("e", {0, 4}, 0, 0);
  const GgufFile file =
      GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "e.gguf");
  EXPECT_GT(file.data_offset(), image.size());
  const Tensor e = file.get("e");
  EXPECT_EQ(e.shape(), (Shape{4, 0}));
  EXPECT_EQ(e.numel(), 0);
}

TEST(GgufErrors, OpenNamesAMissingFile) {
  EXPECT_THAT(bad_input_message([] { GgufFile::open("/nonexistent/dir/model.gguf"); }),
              HasSubstr("/nonexistent/dir/model.gguf"));
}

// A valid file exercising every reader path: all value kinds, several tensor types.
std::string rich_image() {
  GgufMetadata metadata{
      {"general.architecture", GgufValue::string("llama")},
      {"llama.block_count", GgufValue::u32(1)},
      {"tokenizer.ggml.tokens", GgufValue::string_array({"a", "b", "c"})},
      {"tokenizer.ggml.scores", GgufValue::array<float>({0, 1, 2})},
      {"x.nested", GgufValue::array_of_arrays({GgufValue::array<int16_t>({1, 2})})},
      {"x.flag", GgufValue::boolean(false)},
  };
  const Tensor x = Tensor::full({2, 32}, 0.25);
  return serialize_gguf(metadata, {{"a", x, std::nullopt},
                                   {"b", x, GgmlType::F16},
                                   {"c", x, GgmlType::Q8_0},
                                   {"d", x, GgmlType::Q4_0}});
}

// Parses and touches everything; anything but BadInput (or a crash) fails the test.
void parse_and_read(const std::string& bytes) {
  try {
    const GgufFile file =
        GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "m.gguf");
    for (const GgufTensorInfo& info : file.tensors()) file.get_f32(info.name);
    for (const auto& entry : file.metadata()) entry.second.to_display();
  } catch (const Error& e) {
    ASSERT_EQ(e.kind(), ErrorKind::BadInput) << e.what();
    ASSERT_THAT(std::string(e.what()), HasSubstr("m.gguf: "));
  }
}

TEST(GgufErrors, EveryTruncationFailsCleanly) {
  const std::string image = rich_image();
  for (size_t size = 0; size < image.size(); ++size) {
    SCOPED_TRACE(size);
    const std::string prefix = image.substr(0, size);
    // Only cuts inside the final tensor's padding can still be valid files.
    parse_and_read(prefix);
  }
  EXPECT_NO_THROW(parse_and_read(image));
}

TEST(GgufErrors, RandomCorruptionsNeverCrash) {
  const std::string image = rich_image();
  std::mt19937 rng(2024);
  std::uniform_int_distribution<size_t> position(0, image.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255), flips(1, 4);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string corrupted = image;
    for (int f = flips(rng); f > 0; --f) corrupted[position(rng)] = static_cast<char>(byte(rng));
    parse_and_read(corrupted);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace tessera::io
