#include "tessera/text/sentencepiece.h"

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "tessera/core/error.h"

namespace tessera::text {
namespace {

namespace fs = std::filesystem;

// A small synthetic corpus: sentences built from a fixed syllable inventory, so the trainer
// has real repeated structure to find and the test needs no data files.
std::string make_corpus(int lines, uint32_t seed) {
  static const char* syllables[] = {"ka", "to",  "ri", "men", "sa",  "lo",  "ver", "un",
                                    "de", "qui", "zo", "pa",  "ell", "ost", "ing", "a"};
  std::mt19937 rng(seed);
  std::string corpus;
  for (int line = 0; line < lines; ++line) {
    const int words = 3 + rng() % 9;
    for (int w = 0; w < words; ++w) {
      if (w) corpus += ' ';
      const int parts = 1 + rng() % 3;
      for (int p = 0; p < parts; ++p) corpus += syllables[rng() % 16];
    }
    corpus += (line % 7 == 0) ? " 2024, é ü.\n" : ".\n";
  }
  return corpus;
}

class SentencePieceTest : public ::testing::TestWithParam<SentencePieceModelType> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tessera_spm_" + std::to_string(::getpid()) + "_" +
            (GetParam() == SentencePieceModelType::Bpe ? "bpe" : "unigram"));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "corpus.txt") << make_corpus(2000, 7);
    SentencePieceTrainOptions options;
    options.input_files = {(dir_ / "corpus.txt").string()};
    options.model_prefix = (dir_ / "m").string();
    options.vocab_size = 400;  // 256 byte pieces + 3 specials + the learned ones
    options.model_type = GetParam();
    options.character_coverage = 1.0;
    options.byte_fallback = true;
    train_sentencepiece(options);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(SentencePieceTest, MatchesLibraryIdsAndRoundTrips) {
  const auto model_path = (dir_ / "m.model").string();
  const auto tokenizer = SentencePieceTokenizer::load(model_path);
  sentencepiece::SentencePieceProcessor reference;
  ASSERT_TRUE(reference.Load(model_path).ok());
  EXPECT_EQ(tokenizer.vocab_size(), 400);

  const std::vector<std::string> texts = {"katori menso lover unde", "quizo pa ellost 2024, é ü.",
                                          "", "  leading and  double  spaces",
                                          "unseen letters: ж 東京 🙂"};
  for (const auto& text : texts) {
    std::vector<int> expected_ids;
    ASSERT_TRUE(reference.Encode(text, &expected_ids).ok());
    const auto ids = tokenizer.encode_ids(text);
    EXPECT_EQ(ids, expected_ids) << text;
    std::vector<std::string> expected_pieces;
    ASSERT_TRUE(reference.Encode(text, &expected_pieces).ok());
    EXPECT_EQ(tokenizer.encode_pieces(text), expected_pieces) << text;
    // Byte fallback makes even unseen characters reversible; nmt_nfkc collapses whitespace.
    std::string expected_text;
    ASSERT_TRUE(reference.Decode(expected_ids, &expected_text).ok());
    EXPECT_EQ(tokenizer.decode_ids(ids), expected_text);
    EXPECT_EQ(tokenizer.decode_pieces(tokenizer.encode_pieces(text)), expected_text);
  }
  EXPECT_EQ(tokenizer.decode_ids(tokenizer.encode_ids("katori menso")), "katori menso");
  EXPECT_EQ(tokenizer.decode_ids(tokenizer.encode_ids("東京")), "東京");
}

TEST_P(SentencePieceTest, SpecialIdsAndPieceLookup) {
  const auto tokenizer = SentencePieceTokenizer::load((dir_ / "m.model").string());
  EXPECT_EQ(tokenizer.unk_id(), 0);
  EXPECT_EQ(tokenizer.bos_id(), 1);
  EXPECT_EQ(tokenizer.eos_id(), 2);
  EXPECT_EQ(tokenizer.pad_id(), -1);
  EXPECT_EQ(tokenizer.id_to_piece(1), "<s>");
  EXPECT_TRUE(tokenizer.is_control(1));
  EXPECT_TRUE(tokenizer.is_unknown(0));
  EXPECT_NE(tokenizer.piece_to_id("<0x41>"), tokenizer.unk_id());
  EXPECT_TRUE(tokenizer.is_byte(tokenizer.piece_to_id("<0x41>")));
  EXPECT_EQ(tokenizer.piece_to_id("no-such-piece-here"), tokenizer.unk_id());
  for (int id = 0; id < tokenizer.vocab_size(); ++id)
    EXPECT_EQ(tokenizer.piece_to_id(tokenizer.id_to_piece(id)), id);
  EXPECT_THROW(tokenizer.id_to_piece(tokenizer.vocab_size()), Error);
  EXPECT_THROW(tokenizer.decode_ids({-1}), Error);
  // Serialized bytes load back into an equivalent tokenizer.
  const auto copy = SentencePieceTokenizer::from_serialized(tokenizer.serialized_model());
  EXPECT_EQ(copy.encode_ids("katori menso"), tokenizer.encode_ids("katori menso"));
}

INSTANTIATE_TEST_SUITE_P(BothModelTypes, SentencePieceTest,
                         ::testing::Values(SentencePieceModelType::Unigram,
                                           SentencePieceModelType::Bpe),
                         [](const auto& info) {
                           return info.param == SentencePieceModelType::Bpe ? "Bpe" : "Unigram";
                         });

TEST(SentencePieceErrors, MissingOrCorruptModelIsBadInput) {
  EXPECT_THROW(SentencePieceTokenizer::load("/nonexistent/m.model"), Error);
  const auto path = fs::temp_directory_path() / "tessera_spm_corrupt.model";
  std::ofstream(path) << "this is not a protobuf";
  try {
    SentencePieceTokenizer::load(path.string());
    FAIL() << "corrupt model loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
  }
  fs::remove(path);
}

TEST(SentencePieceErrors, TrainingRejectsMissingInput) {
  SentencePieceTrainOptions options;
  options.input_files = {"/nonexistent/corpus.txt"};
  options.model_prefix = (fs::temp_directory_path() / "tessera_spm_never").string();
  EXPECT_THROW(train_sentencepiece(options), Error);
}

}  // namespace
}  // namespace tessera::text
