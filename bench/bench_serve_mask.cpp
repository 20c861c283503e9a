// Constrained decoding's per-step cost on a 32k vocabulary: the token mask for a JSON-schema
// state computed by the trie walk (uncached: inside a string whose length bound makes every
// step a new state; structural: right after an object key), and the cached lookup that most
// steps hit. The vocabulary is byte-level: the 256 bytes, <eos>, then random letter pieces
// (with and without a leading space), like a BPE vocabulary's spread of lengths.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "tessera/serve/json_grammar.h"
#include "tessera/serve/token_mask.h"
#include "tessera/text/loaders.h"

namespace {

using tessera::serve::JsonGrammar;
using tessera::serve::JsonMatcher;
using tessera::serve::VocabularyMasker;

std::string byte_symbol(int b) {
  bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  int cp = b;
  if (!printable) {
    cp = 256;
    for (int x = 0; x < b; ++x)
      cp += !((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174);
  }
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

struct Setup {
  std::unique_ptr<tessera::text::Tokenizer> tokenizer;
  std::unique_ptr<VocabularyMasker> masker;
  std::shared_ptr<const JsonGrammar> grammar;
  Setup() {
    nlohmann::json vocab = nlohmann::json::object();
    for (int b = 0; b < 256; ++b) vocab[byte_symbol(b)] = b;
    std::mt19937 rng(5);
    const std::string letters = "abcdefghijklmnopqrstuvwxyz";
    int id = 257;
    while (id < 32000) {
      std::string piece = rng() % 2 ? byte_symbol(' ') : "";
      int length = 2 + static_cast<int>(rng() % 7);
      for (int i = 0; i < length; ++i) piece += letters[rng() % letters.size()];
      if (!vocab.contains(piece)) vocab[piece] = id++;
    }
    nlohmann::json j = {
        {"version", "1.0"},
        {"added_tokens",
         {{{"id", 256},
           {"content", "<eos>"},
           {"special", true},
           {"single_word", false},
           {"lstrip", false},
           {"rstrip", false},
           {"normalized", false}}}},
        {"normalizer", nullptr},
        {"pre_tokenizer",
         {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", true},
          {"use_regex", true}}},
        {"post_processor", nullptr},
        {"decoder",
         {{"type", "ByteLevel"},
          {"add_prefix_space", true},
          {"trim_offsets", true},
          {"use_regex", true}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
    tokenizer = tessera::text::parse_hf_tokenizer_json(j.dump(), "bench vocabulary");
    masker = std::make_unique<VocabularyMasker>(*tokenizer, std::vector<int32_t>{256},
                                                tokenizer->vocab_size());
    grammar = JsonGrammar::from_schema(nlohmann::json::parse(R"({"type":"object","properties":{
        "answer":{"type":"string","maxLength":100000},"confidence":{"type":"number"},
        "tags":{"type":"array","items":{"enum":["x","y"]}}},"required":["answer","confidence"],
        "additionalProperties":false})"));
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_MaskInsideStringUncached(benchmark::State& state) {
  Setup& s = setup();
  // Kept across repetitions, so that no repetition revisits a state an earlier one cached.
  static JsonMatcher matcher = [&] {
    JsonMatcher m(*s.grammar);
    m.feed(R"({"answer":")");
    return m;
  }();
  for (auto _ : state) {
    // One more character each time: a new length, so a new state the cache has not seen.
    matcher.feed('a');
    benchmark::DoNotOptimize(s.masker->allowed(matcher).count());
  }
}
BENCHMARK(BM_MaskInsideStringUncached)->Unit(benchmark::kMillisecond);

void BM_MaskAfterKeyUncached(benchmark::State& state) {
  Setup& s = setup();
  for (auto _ : state) {
    state.PauseTiming();
    auto grammar = JsonGrammar::from_schema(nlohmann::json::parse(
        R"({"type":"object","properties":{"confidence":{"type":"number"}},"required":["confidence"]})"));
    JsonMatcher matcher(*grammar);
    matcher.feed(R"({"confidence":)");
    state.ResumeTiming();
    benchmark::DoNotOptimize(s.masker->allowed(matcher).count());
  }
}
BENCHMARK(BM_MaskAfterKeyUncached)->Unit(benchmark::kMillisecond);

void BM_MaskCached(benchmark::State& state) {
  Setup& s = setup();
  JsonMatcher matcher(*s.grammar);
  matcher.feed(R"({"answer":"abc","tags":[)");
  s.masker->allowed(matcher);
  for (auto _ : state) benchmark::DoNotOptimize(s.masker->allowed(matcher).count());
}
BENCHMARK(BM_MaskCached)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
