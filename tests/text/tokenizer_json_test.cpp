// tokenizer.json components on small hand-built files: a character-level BPE with byte
// fallback in the Llama-2 / Mistral layout, every pre-tokenizer split behaviour, normalizers,
// added-token options, and clear errors for malformed files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tessera/core/error.h"
#include "tessera/text/loaders.h"
#include "tessera/text/utf8.h"

namespace tessera::text {
namespace {

using nlohmann::json;
const std::string kMeta = "\xE2\x96\x81";  // ▁

// Vocabulary of a tiny SentencePiece-style BPE: specials, 256 byte tokens, then pieces.
json char_level_tokenizer(bool byte_fallback) {
  json vocab = json::object();
  vocab["<unk>"] = 0;
  vocab["<s>"] = 1;
  vocab["</s>"] = 2;
  for (int b = 0; b < 256; ++b) vocab[fmt::format("<0x{:02X}>", b)] = 3 + b;
  int next = 259;
  const std::vector<std::string> pieces = {kMeta,       "h",  "e",          "l",   "o",
                                           kMeta + "h", "ll", kMeta + "he", "llo", kMeta + "hello",
                                           "w",         "r",  "d"};
  for (const std::string& piece : pieces) vocab[piece] = next++;
  const json merges = {kMeta + " h", "l l", kMeta + "h e", "ll o", kMeta + "he llo"};
  return {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", 0}, {"content", "<unk>"}, {"special", true}, {"normalized", false}},
        {{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
        {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", kMeta}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMeta}}}}}},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", kMeta}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"},
        {"unk_token", "<unk>"},
        {"fuse_unk", true},
        {"byte_fallback", byte_fallback},
        {"vocab", vocab},
        {"merges", merges}}},
  };
}

std::unique_ptr<BpeTokenizer> parse(const json& spec) {
  return parse_hf_tokenizer_json(spec.dump(), "test tokenizer.json");
}

TEST(CharacterLevelBpe, MergesByRankAndDecodesThroughTheDecoderChain) {
  const auto tokenizer = parse(char_level_tokenizer(true));
  const auto ids = tokenizer->encode("hello world");
  // ▁hello ▁ w o r l d (worked by hand from the merge ranks)
  EXPECT_EQ(ids, (std::vector<int32_t>{268, 259, 269, 263, 270, 262, 271}));
  EXPECT_EQ(tokenizer->decode(ids), "hello world");
  EXPECT_EQ(tokenizer->encode("hello world", true).front(), 1);  // BOS from the template
  EXPECT_EQ(tokenizer->bos_id(), 1);
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("hello", true), true), "hello");
  EXPECT_EQ(tokenizer->id_to_token(268), kMeta + "hello");
  EXPECT_EQ(tokenizer->token_to_id(kMeta + "he"), 266);
}

TEST(CharacterLevelBpe, UnknownCharactersUseByteFallback) {
  const auto tokenizer = parse(char_level_tokenizer(true));
  const auto ids = tokenizer->encode("hi \xD0\xB6");  // "hi ж"
  // ▁h <0x69> ▁ <0xD0> <0xB6>
  EXPECT_EQ(ids, (std::vector<int32_t>{264, 3 + 0x69, 259, 3 + 0xD0, 3 + 0xB6}));
  EXPECT_EQ(tokenizer->decode(ids), "hi \xD0\xB6");
}

TEST(CharacterLevelBpe, PairArrayMergesEqualStringMerges) {
  json spec = char_level_tokenizer(true);
  json pairs = json::array();
  for (const auto& merge : spec["model"]["merges"]) {
    const std::string text = merge.get<std::string>();
    const size_t space = text.find(' ');
    pairs.push_back({text.substr(0, space), text.substr(space + 1)});
  }
  spec["model"]["merges"] = pairs;  // tokenizers >= 0.20 writes [["a", "b"], ...]
  EXPECT_EQ(parse(spec)->encode("hello world"),
            parse(char_level_tokenizer(true))->encode("hello world"));
}

TEST(CharacterLevelBpe, MetaspacePreTokenizerAndDecoderRoundTrip) {
  json spec = char_level_tokenizer(true);
  spec["normalizer"] = nullptr;
  spec["pre_tokenizer"] = {{"type", "Metaspace"},
                           {"replacement", kMeta},
                           {"prepend_scheme", "always"},
                           {"split", false}};
  spec["decoder"] = {{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "always"}};
  const auto tokenizer = parse(spec);
  const auto ids = tokenizer->encode("hello world");
  EXPECT_EQ(ids, (std::vector<int32_t>{268, 259, 269, 263, 270, 262, 271}));
  EXPECT_EQ(tokenizer->decode(ids), "hello world");  // the prepended space is removed again
}

TEST(CharacterLevelBpe, UnknownCharactersFuseIntoOneUnkWithoutByteFallback) {
  const auto tokenizer = parse(char_level_tokenizer(false));
  EXPECT_EQ(tokenizer->encode("h\xD0\xB6\xD0\xB6"), (std::vector<int32_t>{264, 0}));
}

// A byte-level tokenizer.json: the 256 byte tokens, a few merges, a given pre-tokenizer.
json byte_level_tokenizer(const json& pre_tokenizer, const json& added_tokens = json::array(),
                          const json& normalizer = nullptr) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b)
    vocab[bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = b;
  vocab[bytes_to_byte_level(" t")] = 256;
  vocab[bytes_to_byte_level("he")] = 257;
  vocab[bytes_to_byte_level(" the")] = 258;
  const json merges = {bytes_to_byte_level(" ") + " t", "h e", bytes_to_byte_level(" t") + " he"};
  return {{"added_tokens", added_tokens},
          {"normalizer", normalizer},
          {"pre_tokenizer", pre_tokenizer},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json(merges)}}}};
}

json split(const std::string& behavior, bool invert = false) {
  return {{"type", "Split"},
          {"pattern", {{"String", "-"}}},
          {"behavior", behavior},
          {"invert", invert}};
}

std::vector<std::string> pieces_of(const json& pre_tokenizer, const std::string& text) {
  return parse(
             byte_level_tokenizer(
                 {{"type", "Sequence"},
                  {"pretokenizers",
                   {pre_tokenizer,
                    {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}))
      ->pre_tokenize(text);
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizers, SplitBehavioursFollowHuggingFace) {
  const std::string text = "the-final--countdown";
  EXPECT_EQ(pieces_of(split("Removed"), text), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(pieces_of(split("Isolated"), text),
            (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(pieces_of(split("MergedWithPrevious"), text),
            (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(pieces_of(split("MergedWithNext"), text), (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(pieces_of(split("Contiguous"), text), (Pieces{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(pieces_of(split("Removed", true), text), (Pieces{"-", "-", "-"}));
}

TEST(PreTokenizers, DigitsWhitespaceAndMetaspace) {
  EXPECT_EQ(pieces_of({{"type", "Digits"}, {"individual_digits", true}}, "Call 123 please"),
            (Pieces{"Call ", "1", "2", "3", " please"}));
  EXPECT_EQ(pieces_of({{"type", "Digits"}, {"individual_digits", false}}, "Call 123 please"),
            (Pieces{"Call ", "123", " please"}));
  EXPECT_EQ(pieces_of({{"type", "Whitespace"}}, "Hey man!! x_1"),
            (Pieces{"Hey", "man", "!!", "x_1"}));
  EXPECT_EQ(pieces_of({{"type", "WhitespaceSplit"}}, "Hey \t man!\n"), (Pieces{"Hey", "man!"}));
  json spec = char_level_tokenizer(true);
  spec["normalizer"] = nullptr;
  spec["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "first"}, {"split", true}};
  EXPECT_EQ(parse(spec)->pre_tokenize("Hey friend!"), (Pieces{kMeta + "Hey", kMeta + "friend!"}));
  // "first": only the text's first section gets the prefix, not the one after a special token.
  EXPECT_EQ(parse(spec)->pre_tokenize("a</s>b c"), (Pieces{kMeta + "a", "</s>", "b", kMeta + "c"}));
}

TEST(PreTokenizers, ByteLevelRegexAndPrefixSpace) {
  const auto tokenizer =
      parse(byte_level_tokenizer({{"type", "ByteLevel"}, {"add_prefix_space", true}}));
  EXPECT_EQ(tokenizer->pre_tokenize("the cat's 42"), (Pieces{" the", " cat", "'s", " 42"}));
  EXPECT_EQ(tokenizer->encode("the"), (std::vector<int32_t>{258}));
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("the the")), " the the");
}

TEST(Normalizers, UnicodeFormsCaseAndReplace) {
  const auto normalized = [](const json& normalizer, const std::string& text) {
    const auto tokenizer = parse(byte_level_tokenizer(nullptr, json::array(), normalizer));
    return tokenizer->pre_tokenize(text).at(0);
  };
  EXPECT_EQ(normalized({{"type", "NFC"}}, "e\xCC\x81"), "\xC3\xA9");  // e + U+0301 -> é
  EXPECT_EQ(normalized({{"type", "NFD"}}, "\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(normalized({{"type", "NFKC"}}, "\xEF\xAC\x81 \xEF\xBC\xA1"), "fi A");  // ﬁ Ａ
  EXPECT_EQ(normalized({{"type", "Lowercase"}},
                       "\xC3\x80"
                       "BC \xCE\xA3"),
            "\xC3\xA0"
            "bc \xCF\x83");
  EXPECT_EQ(normalized({{"type", "Sequence"},
                        {"normalizers", {{{"type", "NFD"}}, {{"type", "StripAccents"}}}}},
                       "caf\xC3\xA9"),
            "cafe");
  EXPECT_EQ(normalized({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, "  x \t"),
            "x");
  EXPECT_EQ(normalized({{"type", "Replace"}, {"pattern", {{"Regex", "\\d+"}}}, {"content", "#"}},
                       "a1b22c"),
            "a#b#c");
  // Invalid bytes pass through normalisation untouched.
  EXPECT_EQ(normalized({{"type", "NFC"}},
                       "\xFF"
                       "e\xCC\x81"),
            "\xFF\xC3\xA9");
}

TEST(AddedTokens, StripSingleWordAndSpecialHandling) {
  const json added = {
      {{"id", 300},
       {"content", "<mask>"},
       {"special", true},
       {"lstrip", true},
       {"normalized", false}},
      {{"id", 301},
       {"content", "cat"},
       {"special", false},
       {"single_word", true},
       {"normalized", false}},
      {{"id", 302},
       {"content", "[R]"},
       {"special", false},
       {"rstrip", true},
       {"normalized", false}},
  };
  const auto tokenizer = parse(byte_level_tokenizer(nullptr, added));
  // lstrip swallows the spaces before <mask>; rstrip the spaces after [R].
  EXPECT_EQ(tokenizer->encode("a  <mask>b"), (std::vector<int32_t>{'a', 300, 'b'}));
  EXPECT_EQ(tokenizer->encode("[R]   x"), (std::vector<int32_t>{302, 'x'}));
  // single_word: "cat" inside "concat" stays text.
  EXPECT_EQ(tokenizer->encode("cat"), (std::vector<int32_t>{301}));
  EXPECT_EQ(tokenizer->encode("concat"), (std::vector<int32_t>{'c', 'o', 'n', 'c', 'a', 't'}));
  // Specials can be treated as text, and skipped when decoding.
  EXPECT_EQ(tokenizer->encode("<mask>", false, false).size(), 6u);
  EXPECT_EQ(tokenizer->decode(std::vector<int32_t>{'a', 300, 'b'}, true), "ab");
  EXPECT_TRUE(tokenizer->is_special(300));
  EXPECT_FALSE(tokenizer->is_special(301));
  EXPECT_EQ(tokenizer->vocab_size(), 303);
  EXPECT_EQ(tokenizer->token_to_id("<mask>"), 300);
}

// Every malformed file gives one BadInput line naming the source and the problem.
void expect_bad_input(const std::string& text, const std::string& fragment) {
  try {
    parse_hf_tokenizer_json(text, "broken/tokenizer.json");
    ADD_FAILURE() << "accepted: " << text.substr(0, 200);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    const std::string message = e.what();
    EXPECT_NE(message.find("broken/tokenizer.json"), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message must be one line: " << message;
  }
}

TEST(MalformedTokenizerJson, GivesClearErrors) {
  expect_bad_input("{\"model\": ", "not valid JSON");
  expect_bad_input("[1, 2]", "JSON object");
  expect_bad_input("{}", "'model' is missing");
  expect_bad_input(R"({"model": 1})", "'model' must be an object");
  expect_bad_input(R"({"model": {"type": "WordPiece", "vocab": {}}})", "WordPiece");
  expect_bad_input(R"({"model": {"type": "BPE", "vocab": [], "merges": []}})",
                   "'vocab' must be an object");
  expect_bad_input(R"({"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})",
                   "'a' must be an integer");
  expect_bad_input(R"({"model": {"type": "BPE", "vocab": {"a": 0}}})", "'merges' is missing");
  expect_bad_input(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})",
                   "merged token 'ab' is not in the vocabulary");
  expect_bad_input(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a z"]}})",
                   "'z' is not in the vocabulary");
  expect_bad_input(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}})",
                   "two tokens");
  expect_bad_input(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}})",
                   "merge #0");
  expect_bad_input(
      R"({"pre_tokenizer": {"type": "Nonsense"}, "model": {"type": "BPE", "vocab": {}, "merges": []}})",
      "pre_tokenizer type 'Nonsense' is not supported");
  expect_bad_input(
      R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"},
                      "model": {"type": "BPE", "vocab": {}, "merges": []}})",
      "invalid regex");
  expect_bad_input(
      R"({"pre_tokenizer": {"type": "Split", "pattern": {"String": "x"}, "behavior": "Sideways"},
                      "model": {"type": "BPE", "vocab": {}, "merges": []}})",
      "unknown split behavior 'Sideways'");
  expect_bad_input(
      R"({"normalizer": {"type": "Precompiled"}, "model": {"type": "BPE", "vocab": {}, "merges": []}})",
      "normalizer type 'Precompiled'");
  expect_bad_input(
      R"({"decoder": {"type": "Strip", "content": " "}, "model": {"type": "BPE", "vocab": {}, "merges": []}})",
      "field 'start' is missing");
  expect_bad_input(
      R"({"added_tokens": [{"content": "<s>"}], "model": {"type": "BPE", "vocab": {}, "merges": []}})",
      "added_tokens[0]: field 'id' is missing");
  expect_bad_input(
      R"({"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}]},
                      "model": {"type": "BPE", "vocab": {}, "merges": []}})",
      "'<s>' is not defined");
}

TEST(MalformedTokenizerJson, MissingFileAndDecodeOfUnknownIdAreBadInput) {
  EXPECT_THROW(load_hf_tokenizer_json("/nonexistent/tokenizer.json"), Error);
  const auto tokenizer = parse(byte_level_tokenizer(nullptr));
  EXPECT_THROW(tokenizer->decode(std::vector<int32_t>{5000}), Error);
  EXPECT_THROW(tokenizer->decode(std::vector<int32_t>{-1}), Error);
  EXPECT_THROW(tokenizer->id_to_token(5000), Error);
}

}  // namespace
}  // namespace tessera::text
