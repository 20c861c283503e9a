// Pieces of the `mt train` recipe: temperature sampling over directions, the batch layout
// (language tokens, decoder shift, ignored padding), and resuming a run from its checkpoint.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "tessera/core/parallel.h"
#include "tessera/models/causal_lm.h"
#include "tessera/mt/nllb_training.h"
#include "tessera/mt/nllb_training_data.h"

namespace tessera::mt {
namespace {

namespace fs = std::filesystem;

LanguagePairs pairs_of(const std::string& code, int n) {
  LanguagePairs lp;
  lp.code = code;
  for (int i = 0; i < n; ++i) {
    lp.english.push_back({10, 11, 12});
    lp.other.push_back({20, 21});
  }
  return lp;
}

TEST(NllbTrainingData, TemperatureSamplingFlattensDirections) {
  std::vector<LanguagePairs> data = {pairs_of("big_Latn", 900), pairs_of("sml_Latn", 100)};
  auto t1 = make_directions(data, 1.0);
  ASSERT_EQ(t1.size(), 4u);  // both directions of each pair
  EXPECT_NEAR(t1[0].probability, 0.45, 1e-9);
  EXPECT_NEAR(t1[2].probability, 0.05, 1e-9);
  auto t5 = make_directions(data, 5.0);
  const double expected_small =
      std::pow(0.1, 0.2) / (2 * (std::pow(0.9, 0.2) + std::pow(0.1, 0.2)));
  EXPECT_NEAR(t5[2].probability, expected_small, 1e-9);
  EXPECT_GT(t5[2].probability, t1[2].probability);
  Generator gen(3);
  auto picks = sample_picks(data, t5, 4000, gen);
  int small = 0;
  for (auto& [d, i] : picks) {
    small += t5[d].language == 1;
    ASSERT_LT(i, data[t5[d].language].english.size());
  }
  EXPECT_NEAR(small / 4000.0, 2 * expected_small, 0.03);
  EXPECT_THROW(make_directions(data, 0.0), Error);
}

TEST(NllbTrainingData, BatchLayoutFollowsNllb) {
  fs::path dir = fs::temp_directory_path() / ("tessera_nllb_batch_" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "t.txt");
    for (int i = 0; i < 200; ++i) out << "a b c d e f g h\n";
  }
  text::SentencePieceTrainOptions o;
  o.input_files = {(dir / "t.txt").string()};
  o.model_prefix = (dir / "spm").string();
  o.vocab_size = 20;
  o.hard_vocab_limit = false;
  text::train_sentencepiece(o);
  NllbTokenizer tok = NllbTokenizer::from_parts(
      text::SentencePieceTokenizer::load(o.model_prefix + ".model"), {"eng_Latn", "big_Latn"});
  fs::remove_all(dir);
  std::vector<LanguagePairs> data = {pairs_of("big_Latn", 3)};
  data[0].other[1] = {20, 21, 22, 23};
  auto directions = make_directions(data, 1.0);
  Batch b = make_batch(data, directions, {{0, 0}, {1, 1}}, tok, 64);  // eng->big, big->eng (longer)
  const int32_t eng = tok.language_id("eng_Latn"), big = tok.language_id("big_Latn");
  EXPECT_EQ(b.src.to_vector<int64_t>(),
            (std::vector<int64_t>{eng, 10, 11, 12, 2, 1, big, 20, 21, 22, 23, 2}));
  EXPECT_EQ(b.decoder_in.to_vector<int64_t>(),
            (std::vector<int64_t>{2, big, 20, 21, 1, 2, eng, 10, 11, 12}));
  EXPECT_EQ(b.labels.to_vector<int64_t>(),
            (std::vector<int64_t>{big, 20, 21, 2, -100, eng, 10, 11, 12, 2}));
  EXPECT_EQ(b.target_tokens, 9);
  Batch cut = make_batch(data, directions, {{1, 1}}, tok, 4);  // bodies cut to max_tokens - 2
  EXPECT_EQ(cut.src.to_vector<int64_t>(), (std::vector<int64_t>{big, 20, 21, 2}));
}

TEST(NllbTraining, ResumeContinuesFromTheCheckpoint) {
  set_num_threads(1);
  fs::path root = fs::temp_directory_path() / ("tessera_nllb_resume_" + std::to_string(getpid()));
  fs::remove_all(root);
  for (const char* split : {"train", "dev"}) {
    fs::create_directories(root / "corpus" / split);
    std::ofstream out(root / "corpus" / split / "eng_Latn-aaa_Latn.tsv");
    for (int i = 0; i < 60; ++i)
      out << "one two three " << i % 7 << "\tuno dos tres " << i % 7 << "\n";
  }
  MtTrainOptions o;
  o.corpus_dir = (root / "corpus").string();
  o.out_dir = (root / "model").string();
  o.runs_dir = (root / "runs").string();
  o.arch = "moe";
  o.eom_rate = 0.2;
  o.d_model = 16;
  o.layers = 1;
  o.heads = 2;
  o.ffn_dim = 16;
  o.vocab_size = 300;
  o.batch_size = 4;
  o.steps = 6;
  o.eval_every = 0;
  o.log_every = 3;
  EXPECT_EQ(train_translation_model(o).steps_done, 6);
  o.resume = true;
  o.steps = 9;
  MtTrainSummary s = train_translation_model(o);
  EXPECT_EQ(s.steps_done, 9);
  EXPECT_EQ(s.tokens_seen > 0, true);
  nlohmann::json state = models::read_json_file((root / "model" / "trainer_state.json").string());
  EXPECT_EQ(state["step"], 9);
  nlohmann::json config = models::read_json_file((root / "model" / "config.json").string());
  EXPECT_EQ(config["model_type"], "nllb-moe");
  EXPECT_EQ(config["moe_token_dropout"], 0.2);
  // A language without training pairs is refused by name.
  o.languages = {"bbb_Latn"};
  EXPECT_THROW(train_translation_model(o), Error);
  fs::remove_all(root);
}

}  // namespace
}  // namespace tessera::mt
