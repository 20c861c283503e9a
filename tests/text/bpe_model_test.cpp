// The BPE merge engines, long pre-tokens, invalid UTF-8 and the encode cache, on models built
// in the test (tiktoken-style ranks and a freshly trained merges list).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "tessera/core/error.h"
#include "tessera/text/bpe_trainer.h"
#include "tessera/text/loaders.h"
#include "tessera/text/tokenizer.h"

namespace tessera::text {
namespace {

namespace fs = std::filesystem;

std::string synthetic_corpus(int lines, uint32_t seed) {
  // Words built from syllables give the trainer thousands of distinct words to merge.
  static const char* syllables[] = {"ka",  "to", "ri", "men", "sa",  "lo",  "ver", "un",  "de",
                                    "qui", "zo", "pa", "ell", "ost", "ing", "th",  "e",   "東",
                                    "京",  "é",  "ï",  "😀",   "12",  "345", "!!",  "...", "\t"};
  std::mt19937 rng(seed);
  std::string corpus;
  for (int line = 0; line < lines; ++line) {
    const int count = 4 + rng() % 12;
    for (int w = 0; w < count; ++w) {
      if (w) corpus += ' ';
      const int parts = 1 + rng() % 4;
      for (int p = 0; p < parts; ++p) corpus += syllables[rng() % std::size(syllables)];
    }
    corpus += '\n';
  }
  return corpus;
}

// A trained byte-level tokenizer shared by the tests of this file.
class TrainedModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("tessera_bpe_model_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "corpus.txt") << synthetic_corpus(3000, 11);
    BpeTrainOptions options;
    options.input_files = {(dir_ / "corpus.txt").string()};
    options.vocab_size = 600;
    train_and_save_byte_level_bpe(options, (dir_ / "tok").string());
    tokenizer_ = load_hf_tokenizer_json((dir_ / "tok/tokenizer.json").string()).release();
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    fs::remove_all(dir_);
  }
  static inline fs::path dir_;
  static inline BpeTokenizer* tokenizer_ = nullptr;
};

// Syllables the model has merged, mixed with single characters it may not have.
std::string random_bytes_text(std::mt19937& rng, size_t length) {
  static const std::vector<std::string> units = {"ka",  "to",  "ri",  "men", "sa", "lo",
                                                 "ver", "ing", "ost", " ",   "1",  "23",
                                                 "\t",  "\n",  "東",  "😀",   "x",  "q"};
  std::string text;
  while (text.size() < length) text += units[rng() % units.size()];
  return text;
}

TEST_F(TrainedModel, ScanAndHeapMergeEnginesAgree) {
  std::mt19937 rng(3);
  const BpeModel& model = tokenizer_->model();
  ASSERT_EQ(model.merge_count(), 600u - 257u);  // the trainer filled the vocabulary
  ASSERT_LT(tokenizer_->encode("kato rimen salo").size(), 8u);
  size_t merged_pieces = 0;
  for (int trial = 0; trial < 400; ++trial) {
    // Lengths on both sides of the scan/heap threshold, raw bytes (valid or not).
    const std::string piece = random_bytes_text(rng, 1 + rng() % 120);
    std::vector<int32_t> scan, heap;
    model.encode_piece_uncached(piece, scan);
    model.encode_piece_with_heap(piece, heap);
    ASSERT_EQ(scan, heap) << "piece: " << piece;
    merged_pieces += scan.size() < piece.size();
    std::string joined;
    for (int32_t id : scan) joined += model.token_bytes(id);
    ASSERT_EQ(joined, piece);
  }
  EXPECT_GT(merged_pieces, 350u);
}

TEST_F(TrainedModel, CachedAndUncachedEncodingAgree) {
  std::mt19937 rng(5);
  const BpeModel& model = tokenizer_->model();
  for (int trial = 0; trial < 300; ++trial) {
    const std::string piece = random_bytes_text(rng, 1 + rng() % 24);
    std::vector<int32_t> first, second, uncached;
    model.encode_piece(piece, first);
    model.encode_piece(piece, second);  // served from the cache
    model.encode_piece_uncached(piece, uncached);
    ASSERT_EQ(first, uncached);
    ASSERT_EQ(second, uncached);
  }
}

TEST_F(TrainedModel, LongRunsAreNotQuadratic) {
  // 200k-byte pre-tokens: a quadratic merge loop would need ~10^10 steps here.
  for (const std::string unit : {"1", " ", "a", "ab", "\xE6\x9D\xB1"}) {
    std::string piece;
    while (piece.size() < 200000) piece += unit;
    const auto start = std::chrono::steady_clock::now();
    std::vector<int32_t> ids;
    tokenizer_->model().encode_piece_uncached(piece, ids);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 5.0) << "unit '" << unit << "'";
    std::string joined;
    for (int32_t id : ids) joined += tokenizer_->model().token_bytes(id);
    EXPECT_EQ(joined, piece);
  }
  // Whole texts with such runs go through the regex pre-tokenizer as well.
  const std::string text = std::string(100000, ' ') + "x" + std::string(100000, '7') + "\n";
  EXPECT_EQ(tokenizer_->decode(tokenizer_->encode(text)), text);
}

TEST_F(TrainedModel, InvalidUtf8IsEncodedByteWise) {
  const std::vector<std::string> inputs = {"\xFF\xFE",
                                           "abc\xC3",
                                           "\xC3(",
                                           "\xED\xA0\x80 surrogate",
                                           "\xF4\x90\x80\x80 too big",
                                           "\xC0\xAF overlong",
                                           "ok \x80\x80\x80 continuation",
                                           std::string("nul\0byte", 8),
                                           "mixed \xE6\x9D\xB1\xE4\xBA tail"};
  for (const auto& text : inputs) {
    const auto ids = tokenizer_->encode(text);
    EXPECT_EQ(tokenizer_->decode(ids), text);
  }
  std::mt19937 rng(9);
  for (int trial = 0; trial < 200; ++trial) {
    std::string text(1 + rng() % 64, '\0');
    for (char& c : text) c = static_cast<char>(rng() & 0xFF);
    ASSERT_EQ(tokenizer_->decode(tokenizer_->encode(text)), text);
  }
}

TEST_F(TrainedModel, BatchEncodingMatchesSequential) {
  std::vector<std::string> documents;
  for (int i = 0; i < 64; ++i) documents.push_back(synthetic_corpus(1 + i % 7, 100 + i));
  const auto batch = tokenizer_->encode_batch(documents);
  ASSERT_EQ(batch.size(), documents.size());
  for (size_t i = 0; i < documents.size(); ++i)
    EXPECT_EQ(batch[i], tokenizer_->encode(documents[i]));
}

// tiktoken semantics: a pair merges when its concatenation is a token, ranked by that token.
TEST(RankModel, MergesByRankOfConcatenation) {
  BpeModel::Vocab ranks;
  for (int b = 0; b < 256; ++b) ranks.emplace_back(std::string(1, static_cast<char>(b)), b);
  ranks.emplace_back("bc", 256);
  ranks.emplace_back("ab", 257);
  ranks.emplace_back("abc", 258);  // reachable as "a"+"bc" although no "ab"+"c" merge is listed
  const auto model = BpeModel::from_ranks(ranks);
  std::vector<int32_t> ids;
  model->encode_piece("abcd", ids);  // bc first (rank 256), then a+bc -> abc
  EXPECT_EQ(ids, (std::vector<int32_t>{258, 'd'}));
  ids.clear();
  model->encode_piece("abab", ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{257, 257}));
  EXPECT_THROW(BpeModel::from_ranks({{"a", 0}, {"a", 1}}), Error);
}

TEST(TiktokenFiles, CustomFileNeedsPatternAndMalformedLinesAreReported) {
  const auto dir = fs::temp_directory_path() / ("tessera_tiktoken_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "mine.tiktoken");
    for (int b = 0; b < 256; ++b)
      out << encode_base64(std::string(1, static_cast<char>(b))) << ' ' << b << '\n';
    out << encode_base64("hi") << " 256\n";
  }
  EXPECT_THROW(load_tokenizer((dir / "mine.tiktoken").string()), Error);  // no --pattern
  TokenizerLoadOptions options;
  options.tiktoken_pattern = R"(\w+|\s+|[^\w\s]+)";
  options.tiktoken_special_tokens = {{"<|end|>", 257}};
  const auto tokenizer = load_tokenizer((dir / "mine.tiktoken").string(), options);
  EXPECT_EQ(tokenizer->encode("hi<|end|>hi!"), (std::vector<int32_t>{256, 257, 256, '!'}));
  EXPECT_EQ(tokenizer->vocab_size(), 258);
  std::ofstream(dir / "bad.tiktoken") << "aGk= 1\nnot base64! 2\n";
  try {
    load_tokenizer((dir / "bad.tiktoken").string(), options);
    ADD_FAILURE() << "accepted a malformed tiktoken file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.tiktoken:2"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(LoadTokenizer, DetectsFormatsAndReportsEmptyFolders) {
  const auto dir = fs::temp_directory_path() / ("tessera_detect_" + std::to_string(::getpid()));
  fs::create_directories(dir / "empty");
  try {
    load_tokenizer((dir / "empty").string());
    ADD_FAILURE() << "loaded a tokenizer from an empty folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer here"), std::string::npos);
  }
  EXPECT_THROW(load_tokenizer((dir / "missing.json").string()), Error);
  std::ofstream(dir / "garbage.bin") << "\x01\x02 definitely not a tokenizer";
  EXPECT_THROW(load_tokenizer((dir / "garbage.bin").string()), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tessera::text
