// spBLEU: the flores101/flores200 tokenizers are " ".join(sp.EncodeAsPieces(line)) with a
// user-supplied model. A small model is trained here; sacrebleu 2.6.0 given the same model file
// produced identical corpus scores during development (see docs/mt-metrics.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tessera/core/error.h"
#include "tessera/mt/metrics_bleu.h"
#include "tessera/text/sentencepiece.h"

namespace tessera::mt {
namespace {

class SpBleuTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = std::filesystem::temp_directory_path() / "tessera_spbleu_test";
    std::filesystem::create_directories(folder_);
    std::ofstream corpus(folder_ / "corpus.txt");
    const char* words[] = {"the", "dog", "bit", "man", "surprised", "no", "one", "was", "first",
                           "bitten", "Straße", "naïve", "中国", "人民", "unexpected", "had"};
    for (int line = 0; line < 400; ++line) {
      for (int w = 0; w < 9; ++w) corpus << (w ? " " : "") << words[(line * 7 + w * 5 + w * w) % 16];
      corpus << "\n";
    }
    corpus.close();
    text::SentencePieceTrainOptions options;
    options.input_files = {(folder_ / "corpus.txt").string()};
    options.model_prefix = (folder_ / "tiny").string();
    options.vocab_size = 60;
    options.character_coverage = 1.0;
    options.hard_vocab_limit = false;
    text::train_sentencepiece(options);
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(folder_); }
  static std::string model() { return (folder_ / "tiny.model").string(); }
  static std::filesystem::path folder_;
};
std::filesystem::path SpBleuTest::folder_;

TEST_F(SpBleuTest, TokenizerJoinsSentencePiecePieces) {
  BleuTokenizer tokenizer = BleuTokenizer::create("flores200", model());
  EXPECT_EQ(tokenizer.signature(), "flores200");
  EXPECT_EQ(BleuTokenizer::create("spm", model()).signature(), "flores101");
  auto processor = text::SentencePieceTokenizer::load(model());
  std::string expected;
  for (const std::string& piece : processor.encode_pieces("the naïve dog bit 中国")) {
    expected += (expected.empty() ? "" : " ") + piece;
  }
  EXPECT_EQ(tokenizer("the naïve dog bit 中国"), expected);
}

TEST_F(SpBleuTest, CorpusScoreAndSignature) {
  BleuOptions options;
  options.tokenize = "flores200";
  options.spm_model_path = model();
  Bleu bleu(options);
  bleu.set_references({{"the dog bit the man", "no one was surprised"}});
  MetricScore identical = corpus_score(bleu, collect_statistics(bleu, {"the dog bit the man", "no one was surprised"}));
  EXPECT_DOUBLE_EQ(identical.score, 100.0);
  MetricScore different = corpus_score(bleu, collect_statistics(bleu, {"the man bit the dog", "one was not surprised"}));
  EXPECT_LT(different.score, 100.0);
  EXPECT_GT(different.score, 0.0);
  EXPECT_NE(bleu.signature().format().find("tok:flores200"), std::string::npos);
  options.spm_model_path = (folder_ / "missing.model").string();
  EXPECT_THROW(Bleu{options}, Error);
}

}  // namespace
}  // namespace tessera::mt
