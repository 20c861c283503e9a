// Every malformed safetensors variant is refused with one BadInput error that names the file
// (and the tensor at fault), never a crash. One test per variant.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io_test_helpers.h"
#include "tessera/core/io/safetensors.h"

namespace tessera::io {
namespace {

using testing::bad_input_message;
using ::testing::HasSubstr;
using testing::le_bytes;

struct Malformed {
  std::string label;
  std::string bytes;                  // the whole file image
  std::vector<std::string> expected;  // substrings of the error message
};

std::string image(const std::string& json, size_t data_bytes) {
  return le_bytes(json.size(), 8) + json + std::string(data_bytes, '\x01');
}

std::string entry(const std::string& name, const std::string& fields) {
  return "{\"" + name + "\":{" + fields + "}}";
}

std::vector<Malformed> malformed_files() {
  const std::string ok_fields = R"("dtype":"F32","shape":[2],"data_offsets":[0,8])";
  return {
      {"Empty", "", {"is 0 bytes", "too short"}},
      {"ShorterThanLength", std::string("\x05\0\0", 3), {"is 3 bytes", "too short"}},
      {"HeaderLongerThanFile", le_bytes(64, 8) + "{}", {"header length 64", "past the end"}},
      {"HeaderOverLimit", le_bytes(100'000'001, 8) + "{}", {"100000001", "limit"}},
      {"HeaderNotJson", image("{\"w\": [", 0), {"not valid JSON"}},
      {"HeaderNotUtf8", image("{\"w\xff\": 1}", 0), {"not valid JSON"}},
      {"HeaderNotObject", image("[1, 2]", 0), {"JSON array", "expected an object"}},
      {"EntryNotObject", image("{\"w\": 3}", 0), {"tensor 'w'", "JSON number"}},
      {"MissingDtype",
       image(entry("w", R"("shape":[2],"data_offsets":[0,8])"), 8),
       {"tensor 'w'", "missing \"dtype\""}},
      {"MissingShape",
       image(entry("w", R"("dtype":"F32","data_offsets":[0,8])"), 8),
       {"tensor 'w'", "missing \"shape\""}},
      {"MissingOffsets",
       image(entry("w", R"("dtype":"F32","shape":[2])"), 8),
       {"tensor 'w'", "missing \"data_offsets\""}},
      {"UnknownDtype",
       image(entry("w", R"("dtype":"F33","shape":[2],"data_offsets":[0,8])"), 8),
       {"tensor 'w'", "unknown dtype \"F33\""}},
      {"DtypeNotString",
       image(entry("w", R"("dtype":4,"shape":[2],"data_offsets":[0,8])"), 8),
       {"tensor 'w'", "\"dtype\" is a JSON number"}},
      {"ShapeNotArray",
       image(entry("w", R"("dtype":"F32","shape":2,"data_offsets":[0,8])"), 8),
       {"tensor 'w'", "\"shape\" is a JSON number"}},
      {"NegativeShape",
       image(entry("w", R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"), 8),
       {"tensor 'w'", "negative dimension"}},
      {"FractionalShape",
       image(entry("w", R"("dtype":"F32","shape":[1.5],"data_offsets":[0,8])"), 8),
       {"tensor 'w'", "not an integer"}},
      {"StringShape",
       image(entry("w", R"("dtype":"F32","shape":["2"],"data_offsets":[0,8])"), 8),
       {"tensor 'w'", "not an integer"}},
      {"HugeShape",
       image(entry("w", R"("dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0])"), 0),
       {"tensor 'w'", "too large"}},
      {"HugeShapeWithZero",
       image(entry("w", R"("dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0])"),
             0),
       {"tensor 'w'", "too large"}},
      {"OffsetsNotPair",
       image(entry("w", R"("dtype":"F32","shape":[2],"data_offsets":[0])"), 8),
       {"tensor 'w'", "expected [begin, end]"}},
      {"NegativeOffset",
       image(entry("w", R"("dtype":"F32","shape":[2],"data_offsets":[-8,0])"), 8),
       {"tensor 'w'", "not non-negative integers"}},
      {"BeginAfterEnd",
       image(entry("w", R"("dtype":"F32","shape":[2],"data_offsets":[8,0])"), 8),
       {"tensor 'w'", "[8, 0]", "begin is after end"}},
      {"ByteCountMismatch",
       image(entry("w", R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"), 8),
       {"tensor 'w'", "needs 12 bytes", "hold 8"}},
      {"SubByteNotWhole",
       image(entry("w", R"("dtype":"F4","shape":[3],"data_offsets":[0,2])"), 8),
       {"tensor 'w'", "12 bits", "not a whole number of bytes"}},
      {"OffsetsBeyondBuffer",
       image(entry("w", ok_fields), 4),
       {"tensor 'w'", "[0, 8]", "past the end of the data buffer (4 bytes)"}},
      {"OffsetsOverflow",
       image(entry("w", R"("dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,0])"), 8),
       {"tensor 'w'", "begin is after end"}},
      {"Overlapping",
       image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
             12),
       {"'a' [0, 8]", "'b' [4, 12]", "overlap"}},
      {"DuplicateName",
       image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
             R"("w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
             16),
       {"tensor 'w' appears twice"}},
      {"DuplicateField",
       image(entry("w", R"("dtype":"F32","dtype":"I32","shape":[2],"data_offsets":[0,8])"), 8),
       {"key 'dtype' appears twice"}},
      {"MetadataNotObject", image(R"({"__metadata__":[1]})", 0), {"__metadata__", "JSON array"}},
      {"MetadataValueNotString",
       image(R"({"__metadata__":{"epoch":3}})", 0),
       {"__metadata__ value of 'epoch'", "JSON number"}},
  };
}

class SafetensorsMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(SafetensorsMalformed, IsRefusedWithAPreciseMessage) {
  const Malformed& variant = GetParam();
  auto buffer = std::make_shared<std::string>(variant.bytes);
  std::string message = bad_input_message([&] {
    SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(buffer->data()), buffer->size(),
                           "bad.safetensors", buffer);
  });
  EXPECT_THAT(message, HasSubstr("bad.safetensors"));
  for (const std::string& part : variant.expected) EXPECT_THAT(message, HasSubstr(part));
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line, please: " << message;
}

INSTANTIATE_TEST_SUITE_P(Variants, SafetensorsMalformed, ::testing::ValuesIn(malformed_files()),
                         [](const auto& info) { return info.param.label; });

TEST(SafetensorsTolerated, GapsAndTrailingBytesAreAccepted) {
  // Unused bytes between or after tensors cannot mislead a reader, so they are accepted.
  const std::string bytes = image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                  R"("b":{"dtype":"U8","shape":[1],"data_offsets":[4,5]}})",
                                  9);
  SafetensorsFile file =
      SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "gap");
  EXPECT_EQ(file.names().size(), 2u);
}

TEST(SafetensorsTolerated, EmptyTensorsMayShareAnOffset) {
  const std::string bytes = image(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                  8);
  SafetensorsFile file =
      SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "empty");
  EXPECT_EQ(file.get("a").numel(), 0);
}

}  // namespace
}  // namespace tessera::io
