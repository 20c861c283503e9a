// The byte-level BPE trainer: deterministic output, a tokenizer.json that Tessera and the HF
// ecosystem (transformers.js) both read to the same ids, and clear errors for bad options.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "reference_fixtures.h"
#include "tessera/core/error.h"
#include "tessera/text/bpe_trainer.h"
#include "tessera/text/loaders.h"

namespace tessera::text {
namespace {

namespace fs = std::filesystem;

std::string training_corpus() {
  static const char* syllables[] = {"ka",  "to", "ri", "men", "sa",  "lo",  "ver", "un", "de",
                                    "qui", "zo", "pa", "ell", "ost", "ing", "東",  "京", "é"};
  std::mt19937 rng(21);
  std::string corpus;
  for (int line = 0; line < 2500; ++line) {
    const int words = 3 + rng() % 10;
    for (int w = 0; w < words; ++w) {
      corpus += w ? " " : "";
      for (int p = 1 + rng() % 3; p > 0; --p) corpus += syllables[rng() % std::size(syllables)];
    }
    corpus += line % 5 == 0 ? " 2024, 31337!\n" : (line % 11 == 0 ? "<|endoftext|>\n" : ".\n");
  }
  return corpus;
}

class BpeTrainer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tessera_bpe_trainer_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "corpus.txt") << training_corpus();
    options_.input_files = {(dir_ / "corpus.txt").string()};
    options_.vocab_size = 500;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string read(const fs::path& path) { return read_text_file(path.string(), "test file"); }
  fs::path dir_;
  BpeTrainOptions options_;
};

TEST_F(BpeTrainer, WritesALoadableTokenizerThatCompresses) {
  const auto result = train_and_save_byte_level_bpe(options_, (dir_ / "out").string());
  EXPECT_EQ(result.token_bytes.size(), 500u);
  EXPECT_EQ(result.merges.size(), 500u - 257u);
  const auto tokenizer = load_tokenizer((dir_ / "out").string());
  EXPECT_EQ(tokenizer->vocab_size(), 500);
  EXPECT_EQ(tokenizer->token_to_id("<|endoftext|>"), 0);
  EXPECT_EQ(tokenizer->eos_id(), 0);  // from the tokenizer_config.json written beside it
  const std::string corpus = training_corpus();
  const auto ids = tokenizer->encode(corpus);
  EXPECT_LT(ids.size(), corpus.size() / 2)
      << "a trained vocabulary should at least halve the bytes";
  EXPECT_EQ(tokenizer->decode(ids), corpus);
  // The special token is never merged into and is matched whole.
  EXPECT_EQ(tokenizer->encode("ka<|endoftext|>to")[1], 0);
  const std::string unseen = "Entirely unseen text: Ωμέγα ж 😀 \xFF";
  EXPECT_EQ(tokenizer->decode(tokenizer->encode(unseen)), unseen);
}

TEST_F(BpeTrainer, IsDeterministicAcrossRunsAndThreadCounts) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  train_and_save_byte_level_bpe(options_, (dir_ / "one").string());
  omp_set_num_threads(std::max(2, threads));
  train_and_save_byte_level_bpe(options_, (dir_ / "many").string());
  omp_set_num_threads(threads);
  EXPECT_EQ(read(dir_ / "one/tokenizer.json"), read(dir_ / "many/tokenizer.json"));
}

TEST_F(BpeTrainer, RejectsBadOptions) {
  BpeTrainOptions too_small = options_;
  too_small.vocab_size = 200;
  EXPECT_THROW(train_byte_level_bpe(too_small), Error);
  BpeTrainOptions missing = options_;
  missing.input_files = {(dir_ / "nope.txt").string()};
  EXPECT_THROW(train_byte_level_bpe(missing), Error);
  BpeTrainOptions bad_pattern = options_;
  bad_pattern.pattern = "(unclosed";
  EXPECT_THROW(train_byte_level_bpe(bad_pattern), Error);
}

// The HF schema check: transformers.js loads the written tokenizer.json and must produce the
// same ids as Tessera. Needs node and the npm packages (scripts/setup.sh).
TEST_F(BpeTrainer, HuggingFaceLoaderReadsTheSameIds) {
  train_and_save_byte_level_bpe(options_, (dir_ / "out").string());
  const std::vector<std::string> texts = {"katori mensalo verun", "quizo 2024, 31337!",
                                          "Unseen WORDS and 東京 é ü 😀\n\n  spaced  out\t",
                                          "<|endoftext|>kato<|endoftext|>", ""};
  std::ofstream(dir_ / "texts.json") << nlohmann::json(texts).dump();
  const fs::path modules = testing::npm_modules_dir();
  ASSERT_TRUE(fs::exists(modules / "@lenml/tokenizers"))
      << "@lenml/tokenizers not found in " << modules << ": run scripts/setup.sh";
  const std::string command = "node \"" + std::string(TESSERA_SOURCE_DIR) +
                              "/tests/tools/encode_with_transformers_js.mjs\" \"" +
                              modules.string() + "\" \"" + (dir_ / "out").string() + "\" \"" +
                              (dir_ / "texts.json").string() + "\" > \"" +
                              (dir_ / "ids.json").string() + "\"";
  ASSERT_EQ(std::system(command.c_str()), 0) << "node failed (run scripts/setup.sh): " << command;
  const auto reference = nlohmann::json::parse(read(dir_ / "ids.json"));
  const auto tokenizer = load_tokenizer((dir_ / "out").string());
  ASSERT_EQ(reference.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(tokenizer->encode(texts[i]), reference[i].get<std::vector<int32_t>>()) << texts[i];
}

}  // namespace
}  // namespace tessera::text
