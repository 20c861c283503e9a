// The training loop: it learns, it resumes exactly, and it records its metrics.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tessera/core/rng.h"
#include "tessera/train/data_shards.h"
#include "tessera/train/trainer.h"

namespace tessera::train {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("tessera_trainer_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

// A learnable stream: documents that count upwards modulo 29 from a random start.
void write_split(const fs::path& folder, const std::string& split, int64_t docs, uint64_t seed) {
  DatasetIndex tmpl;
  tmpl.split = split;
  tmpl.vocab_size = 32;
  tmpl.eos_token_id = 31;
  ShardWriter writer(folder.string(), 4096, tmpl);
  Generator gen(seed);
  for (int64_t d = 0; d < docs; ++d) {
    std::vector<int32_t> ids;
    int32_t start = static_cast<int32_t>(gen.randint(0, 29));
    for (int i = 0; i < 40; ++i) ids.push_back((start + i) % 29);
    ids.push_back(31);
    writer.add_document(ids);
  }
  writer.finish();
}

std::unique_ptr<models::CausalLM> small_model() {
  nlohmann::json c = {{"model_type", "llama"},    {"vocab_size", 32},        {"hidden_size", 32},
                      {"intermediate_size", 64},  {"num_hidden_layers", 2},  {"num_attention_heads", 4},
                      {"num_key_value_heads", 2}, {"max_position_embeddings", 64}, {"tie_word_embeddings", true}};
  return models::create_model(c, 1);
}

TrainOptions options_for(const fs::path& root, int64_t steps) {
  TrainOptions o;
  o.out_dir = (root / "model").string();
  o.runs_dir = (root / "runs").string();
  o.steps = steps;
  o.batch_size = 4;
  o.seq_len = 16;
  o.schedule.peak_lr = 1e-2;
  o.schedule.warmup_steps = 5;
  o.eval_every = 0;
  o.save_every = 0;
  o.eval_batches = 5;
  o.progress = false;
  return o;
}

TEST(Trainer, LearnsAndWritesMetrics) {
  fs::path root = scratch("learn");
  write_split(root / "data" / "train", "train", 200, 1);
  write_split(root / "data" / "valid", "valid", 20, 2);
  auto model = small_model();
  auto summary = train(*model, (root / "data" / "train").string(), (root / "data" / "valid").string(),
                       options_for(root, 60));
  EXPECT_EQ(summary.steps_done, 60);
  EXPECT_LT(summary.valid_loss_after, summary.valid_loss_before - 1.0)
      << summary.valid_loss_before << " -> " << summary.valid_loss_after;
  EXPECT_TRUE(fs::exists(root / "model" / "model.safetensors"));
  EXPECT_TRUE(fs::exists(root / "model" / "optimizer.safetensors"));
  EXPECT_TRUE(fs::exists(root / "model" / "trainer_state.json"));
  std::ifstream metrics(root / "runs" / "model" / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line); ++lines) EXPECT_TRUE(nlohmann::json::parse(line).is_object());
  EXPECT_GE(lines, 6);
  EXPECT_TRUE(fs::exists(root / "runs" / "model" / "summary.json"));
  double reloaded = evaluate_loss(*models::load_model((root / "model").string()),
                                  TokenDataset::open((root / "data" / "valid").string()), 4, 16, 5);
  EXPECT_NEAR(reloaded, summary.valid_loss_after, 1e-5);
  fs::remove_all(root);
}

TEST(Trainer, ResumeReproducesTheUninterruptedLossSequence) {
  fs::path root = scratch("resume");
  write_split(root / "data", "train", 100, 3);
  std::vector<double> straight, resumed;
  {
    auto model = small_model();
    train(*model, (root / "data").string(), "", options_for(root / "a", 12),
          [&](int64_t, double loss) { straight.push_back(loss); });
  }
  {
    auto model = small_model();
    TrainOptions first = options_for(root / "b", 12);
    first.minutes = 1e-9;  // stops (and checkpoints) after the first step
    first.schedule.total_steps = 12;  // the same schedule as the uninterrupted run
    train(*model, (root / "data").string(), "", first, [&](int64_t, double loss) { resumed.push_back(loss); });
    ASSERT_EQ(resumed.size(), 1u);
    TrainOptions rest = options_for(root / "b", 12);
    rest.resume = true;
    auto reloaded = load_for_training(rest.out_dir);
    train(*reloaded, (root / "data").string(), "", rest, [&](int64_t, double loss) { resumed.push_back(loss); });
  }
  ASSERT_EQ(straight.size(), resumed.size());
  for (size_t i = 0; i < straight.size(); ++i) EXPECT_EQ(straight[i], resumed[i]) << "step " << i + 1;
  fs::remove_all(root);
}

TEST(Trainer, RefusesATornCheckpoint) {
  fs::path root = scratch("torn");
  write_split(root / "data", "train", 50, 4);
  auto model = small_model();
  TrainOptions o = options_for(root, 3);
  train(*model, (root / "data").string(), "", o);
  nlohmann::json state = models::read_json_file((root / "model" / "trainer_state.json").string());
  state["step"] = 2;  // as if the weights were written after a later step than the state
  models::write_json_file((root / "model" / "trainer_state.json").string(), state);
  o.resume = true;
  o.steps = 5;
  auto reloaded = load_for_training(o.out_dir);
  EXPECT_THROW(train(*reloaded, (root / "data").string(), "", o), Error);
  fs::remove_all(root);
}

}  // namespace
}  // namespace tessera::train
