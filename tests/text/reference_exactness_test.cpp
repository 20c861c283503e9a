// Exact ids against the reference encoders (tiktoken's Rust encoder via WASM, gpt-3-encoder,
// transformers.js with Llama-3's tokenizer.json) on the varied text set of
// tests/tools/tokenizer_fixtures.mjs, plus decode(encode(x)) == x.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>

#include "reference_fixtures.h"
#include "tessera/text/loaders.h"
#include "tessera/text/tokenizer.h"

namespace tessera::text {
namespace {

using testing::reference_fixtures;

struct EncoderUnderTest {
  std::string expected_key;  // key in cases.json "expected"
  std::string path;          // relative to the fixture directory
  bool add_special;
};

std::string describe_difference(const Tokenizer& tokenizer, const std::vector<int32_t>& actual,
                                const std::vector<int32_t>& expected) {
  size_t first = 0;
  while (first < actual.size() && first < expected.size() && actual[first] == expected[first])
    ++first;
  const auto window = [&](const std::vector<int32_t>& ids) {
    std::string out;
    for (size_t i = first; i < ids.size() && i < first + 6; ++i) {
      const int32_t id = ids[i];
      out += fmt::format("{}({}) ", id,
                         id >= 0 && id < tokenizer.vocab_size() ? tokenizer.id_to_token(id) : "?");
    }
    return out;
  };
  return fmt::format("first difference at index {} of {} (expected {}): ours [{}] reference [{}]",
                     first, actual.size(), expected.size(), window(actual), window(expected));
}

class ReferenceExactness : public ::testing::TestWithParam<EncoderUnderTest> {};

TEST_P(ReferenceExactness, IdsMatchReferenceAndDecodeRoundTrips) {
  const auto& fixtures = reference_fixtures();
  ASSERT_FALSE(fixtures.cases.empty()) << "no reference fixtures (see the failure above)";
  const auto& param = GetParam();
  const auto tokenizer = load_tokenizer((fixtures.directory / param.path).string());
  const auto& expected_lists = fixtures.expected.at(param.expected_key);
  ASSERT_EQ(expected_lists.size(), fixtures.cases.size());

  std::map<std::string, std::pair<int, int>> per_class;  // class -> (exact, compared)
  for (size_t i = 0; i < fixtures.cases.size(); ++i) {
    const auto& item = fixtures.cases[i];
    if (expected_lists[i].is_null()) continue;
    const auto expected = expected_lists[i].get<std::vector<int32_t>>();
    const auto ids = tokenizer->encode(item.text, param.add_special);
    auto& [exact, compared] = per_class[item.text_class];
    ++compared;
    if (ids == expected) {
      ++exact;
    } else {
      ADD_FAILURE() << param.expected_key << " / " << item.name << ": "
                    << describe_difference(*tokenizer, ids, expected);
    }
    if (!param.add_special) {
      EXPECT_EQ(tokenizer->decode(ids), item.text)
          << param.expected_key << " / " << item.name << ": decode(encode(x)) != x";
    }
  }
  std::string row = param.expected_key + ":";
  for (const auto& [text_class, counts] : per_class)
    row += fmt::format(" {} {}/{}", text_class, counts.first, counts.second);
  std::printf("[exactness] %s\n", row.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Encodings, ReferenceExactness,
    ::testing::Values(EncoderUnderTest{"gpt2", "tiktoken/gpt2.tiktoken", false},
                      EncoderUnderTest{"r50k_base", "tiktoken/r50k_base.tiktoken", false},
                      EncoderUnderTest{"p50k_base", "tiktoken/p50k_base.tiktoken", false},
                      EncoderUnderTest{"cl100k_base", "tiktoken/cl100k_base.tiktoken", false},
                      EncoderUnderTest{"o200k_base", "tiktoken/o200k_base.tiktoken", false},
                      EncoderUnderTest{"gpt2_directory", "gpt2", false},
                      EncoderUnderTest{"llama3", "llama3/tokenizer.json", false},
                      EncoderUnderTest{"llama3_with_special", "llama3/tokenizer.json", true}),
    [](const auto& info) { return info.param.expected_key; });

}  // namespace
}  // namespace tessera::text
