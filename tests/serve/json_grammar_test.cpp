// The JSON-schema automaton and the vocabulary masks built from it: documents accepted and
// rejected byte by byte, masks equal to feeding every token separately, and random walks
// through the masks always ending in documents that an independent validator accepts.
#include "tessera/serve/json_grammar.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "schema_validator.h"
#include "tessera/serve/protocol.h"
#include "tessera/serve/token_mask.h"
#include "tessera/text/loaders.h"
#include "test_model.h"

namespace tessera::serve {
namespace {

using nlohmann::json;

bool matches(const JsonGrammar& grammar, const std::string& text) {
  JsonMatcher m(grammar);
  return m.feed(text) && m.accepting();
}

const json kPerson = json::parse(R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "maxLength": 12},
    "age": {"type": "integer"},
    "score": {"type": "number"},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 4}, "maxItems": 3},
    "kind": {"enum": ["cat", "dog", 7, null]},
    "ok": {"type": "boolean"},
    "note": {"type": ["string", "null"], "maxLength": 5}
  },
  "required": ["name", "age"],
  "additionalProperties": false
})");

TEST(JsonGrammar, AcceptsWhatTheSchemaAllows) {
  auto grammar = JsonGrammar::from_schema(kPerson);
  for (
      const char* good :
      {R"({"name":"Ann","age":3})", R"({"age":-12,"name":""})",
       R"({"name":"Bob","age":0,"score":-1.5e+3,"tags":["a","bcd"],"kind":"dog","ok":true,"note":null})",
       R"({"name":"\u00e9\n\"x","age":1,"kind":7,"note":"hé"})",
       R"({"name":"Zoë","age":10,"tags":[]})"}) {
    EXPECT_TRUE(matches(*grammar, good)) << good;
    std::string violation = testing::schema_violation(json::parse(good), kPerson);
    EXPECT_EQ(violation, "") << good;
  }
  for (const char* bad : {R"({"name":"Ann"})",                       // age is required
                          R"({"name":"Ann","age":1.5})",             // integer
                          R"({"name":"Ann","age":01})",              // leading zero
                          R"({"name":"Ann","age":1,"extra":1})",     // additionalProperties false
                          R"({"name":"Ann","age":1,"age":2})",       // a key twice
                          R"({"name":"Ann","age":1,"kind":"cow"})",  // enum
                          R"({"name":"Ann","age":1,"tags":["a","b","c","d"]})",  // maxItems
                          R"({"name":"Ann","age":1,"tags":["abcde"]})",          // maxLength
                          R"({"name":"Ann Annabelle Smith","age":1})",           // maxLength
                          R"({"name": "Ann","age":1})",     // no insignificant space
                          R"({"name":"A\qn","age":1})",     // bad escape
                          R"({"name":"\ud800","age":1})",   // lone surrogate
                          "{\"name\":\"\x01\",\"age\":1}",  // control character
                          "{\"name\":\"\xC3\",\"age\":1}",  // broken UTF-8
                          R"({"name":"Ann","age":1} )",     // trailing bytes
                          R"([1])"}) {
    EXPECT_FALSE(matches(*grammar, bad)) << bad;
  }
  JsonMatcher partial(*grammar);
  EXPECT_TRUE(partial.feed(R"({"name":"Ann","ag)"));
  EXPECT_FALSE(partial.accepting());
}

TEST(JsonGrammar, JsonObjectModeTakesAnyObject) {
  auto grammar = JsonGrammar::any_object();
  EXPECT_TRUE(matches(*grammar, R"({"a":[1,2.5,{"b":null}],"c":"d","e":{}})"));
  EXPECT_TRUE(matches(*grammar, "{}"));
  EXPECT_FALSE(matches(*grammar, "[]"));
  EXPECT_FALSE(matches(*grammar, "\"x\""));
  EXPECT_FALSE(matches(*grammar, R"({"a":tru})"));
}

TEST(JsonGrammar, TopLevelScalarsAndNumbersEndAtTheEnd) {
  auto number = JsonGrammar::from_schema({{"type", "number"}});
  EXPECT_TRUE(matches(*number, "12.5"));
  EXPECT_TRUE(matches(*number, "-0"));
  EXPECT_FALSE(matches(*number, "12."));
  EXPECT_FALSE(matches(*number, "1x"));
  auto prefixes = JsonGrammar::from_schema({{"enum", {1, 12, 123}}});
  EXPECT_TRUE(matches(*prefixes, "1"));
  EXPECT_TRUE(matches(*prefixes, "12"));
  EXPECT_FALSE(matches(*prefixes, "124"));
  auto list = JsonGrammar::from_schema(
      json::parse(R"({"type":"array","items":{"enum":[1,12]},"minItems":2})"));
  EXPECT_TRUE(matches(*list, "[12,1]"));
  EXPECT_FALSE(matches(*list, "[12]"));
}

TEST(JsonGrammar, RefusesWhatItCannotEnforce) {
  for (const char* schema :
       {R"({"anyOf":[{"type":"string"}]})", R"({"type":"string","pattern":"a"})",
        R"({"$ref":"#/x"})", R"({"type":"integer","minimum":0})", R"({"type":"tuple"})",
        R"({"type":"object","properties":{"a":{}},"required":["b"]})",
        R"({"type":"string","maxLength":-1})", "false", "3"}) {
    try {
      JsonGrammar::from_schema(json::parse(schema));
      ADD_FAILURE() << "accepted " << schema;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.param(), "response_format");
    }
  }
}

class MaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_ = text::parse_hf_tokenizer_json(testing::synthetic_tokenizer_json(3000, 1).dump(),
                                               "synthetic");
    vocab_ = tokenizer_->vocab_size();
    masker_ = std::make_unique<VocabularyMasker>(*tokenizer_, std::vector<int32_t>{256}, vocab_);
  }
  std::unique_ptr<text::Tokenizer> tokenizer_;
  int32_t vocab_ = 0;
  std::unique_ptr<VocabularyMasker> masker_;
};

TEST_F(MaskTest, MasksEqualFeedingEveryTokenAlone) {
  auto grammar = JsonGrammar::from_schema(kPerson);
  std::mt19937 rng(3);
  JsonMatcher state(*grammar);
  for (int step = 0; step < 60 && !state.finished(); ++step) {
    const TokenMask& mask = masker_->allowed(state);
    std::vector<int32_t> allowed;
    for (int32_t id = 0; id < vocab_; ++id) {
      bool expected;
      if (id == 256) {
        expected = state.accepting();
      } else {
        JsonMatcher probe = state;
        const std::string& bytes = masker_->token_bytes(id);
        expected = !bytes.empty() && !tokenizer_->is_special(id) && probe.feed(bytes);
      }
      ASSERT_EQ(mask.test(id), expected) << "token " << id << " at step " << step;
      if (expected && id != 256) allowed.push_back(id);
    }
    if (allowed.empty()) break;
    ASSERT_TRUE(state.feed(masker_->token_bytes(allowed[rng() % allowed.size()])));
  }
}

TEST_F(MaskTest, RandomWalksThroughTheMasksAreValidDocuments) {
  const std::vector<json> schemas = {
      kPerson,
      json::parse(
          R"({"type":"object","properties":{"answer":{"type":"string","maxLength":8},"confidence":{"type":"number"}},"required":["answer","confidence"],"additionalProperties":false})"),
      json::parse(R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":4})"),
      json::parse(
          R"({"type":"object","properties":{"steps":{"type":"array","maxItems":2,"items":{"type":"object","properties":{"op":{"enum":["add","mul"]},"x":{"type":"number"}},"required":["op"]}}},"required":["steps"]})"),
  };
  std::mt19937 rng(11);
  int complete = 0;
  for (const json& schema : schemas) {
    auto grammar = JsonGrammar::from_schema(schema);
    for (int walk = 0; walk < 15; ++walk) {
      JsonMatcher state(*grammar);
      std::string text;
      for (int step = 0; step < 400; ++step) {
        const TokenMask& mask = masker_->allowed(state);
        std::vector<int32_t> allowed;
        for (int32_t id = 0; id < vocab_; ++id) {
          if (mask.test(id)) allowed.push_back(id);
        }
        ASSERT_FALSE(allowed.empty()) << "dead end after " << text;
        // Walks prefer closing once a document may end, like a model that has said enough.
        if (mask.test(256) && (allowed.size() == 1 || rng() % 3 == 0)) {
          json parsed = json::parse(text, nullptr, false);
          ASSERT_FALSE(parsed.is_discarded()) << text;
          EXPECT_EQ(testing::schema_violation(parsed, schema), "") << text;
          ++complete;
          break;
        }
        int32_t id = allowed[rng() % allowed.size()];
        if (id == 256) continue;
        text += masker_->token_bytes(id);
        ASSERT_TRUE(state.feed(masker_->token_bytes(id))) << text;
      }
    }
  }
  EXPECT_GE(complete, 40);
}

TEST(VocabularyMasker, A32kVocabularyIsMaskedQuickly) {
  auto tokenizer = text::parse_hf_tokenizer_json(testing::synthetic_tokenizer_json(32000, 2).dump(),
                                                 "synthetic");
  VocabularyMasker masker(*tokenizer, {256}, tokenizer->vocab_size());
  auto grammar = JsonGrammar::from_schema(kPerson);
  JsonMatcher state(*grammar);
  ASSERT_TRUE(state.feed(R"({"name":"A)"));
  auto start = std::chrono::steady_clock::now();
  const TokenMask& inside_string = masker.allowed(state);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Inside a string almost every token continues it; the walk visits the whole trie.
  EXPECT_GT(inside_string.count(), tokenizer->vocab_size() / 2);
  // Generous for a shared CI machine; bench/bench_serve_mask.cpp measures it properly.
  EXPECT_LT(seconds, 0.5);
  start = std::chrono::steady_clock::now();
  masker.allowed(state);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.01);
  EXPECT_EQ(masker.cache_size(), 1u);
}

}  // namespace
}  // namespace tessera::serve
