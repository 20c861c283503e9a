// Harvesting from a (small, random) Llama and the downstream evaluation by splicing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "tessera/core/autograd.h"
#include "tessera/core/parallel.h"
#include "tessera/interp/harvest.h"
#include "tessera/interp/sae_eval.h"
#include "tessera/interp/sae_train.h"
#include "tessera/models/presets.h"
#include "tessera/train/data_shards.h"

namespace tessera::interp {
namespace {

namespace fs = std::filesystem;

class HarvestEval : public ::testing::Test {
 protected:
  void SetUp() override {
    set_num_threads(1);
    dir_ = fs::temp_directory_path() / ("tessera_sae_harvest_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    train::DatasetIndex index;
    index.vocab_size = 40;
    train::ShardWriter writer((dir_ / "data").string(), 1024, index);
    std::mt19937 rng(5);
    for (int doc = 0; doc < 20; ++doc) {
      std::vector<int32_t> ids(100);
      for (auto& id : ids) id = static_cast<int32_t>(rng() % 40);
      writer.add_document(ids);
    }
    writer.finish();
    model_ = models::create_model({{"model_type", "llama"},
                                   {"vocab_size", 40},
                                   {"hidden_size", 32},
                                   {"intermediate_size", 64},
                                   {"num_hidden_layers", 2},
                                   {"num_attention_heads", 4},
                                   {"num_key_value_heads", 2},
                                   {"max_position_embeddings", 64},
                                   {"rms_norm_eps", 1e-5},
                                   {"initializer_range", 0.2}},
                                  3);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    set_num_threads(0);
  }
  train::TokenDataset dataset() const {
    return train::TokenDataset::open((dir_ / "data").string());
  }

  fs::path dir_;
  std::unique_ptr<models::CausalLM> model_;
};

TEST_F(HarvestEval, HarvestWritesOneRowPerTokenMatchingTheModel) {
  HarvestOptions options{.layer = 1,
                         .site = "resid_post",
                         .tokens = 500,
                         .seq_len = 32,
                         .batch = 4,
                         .shard_rows = 128};
  const int64_t rows =
      harvest_to_folder(*model_, "tiny", dataset(), options, (dir_ / "acts").string());
  EXPECT_EQ(rows, 500);
  auto acts = open_activations((dir_ / "acts").string());
  EXPECT_EQ(acts->rows(), 500);
  EXPECT_EQ(acts->d(), 32);
  EXPECT_EQ(acts->metadata()["layer"], 1);
  EXPECT_EQ(acts->metadata()["site"], "resid_post");
  // Row 0..31 are the first window's tokens.
  std::vector<int32_t> first = dataset().read(0, 32);
  Tensor ids = Tensor::empty({1, 32}, DType::i64);
  for (int i = 0; i < 32; ++i) ids.data<int64_t>()[i] = first[i];
  std::vector<float> expected;
  {
    NoGrad no_grad;
    expected = model_->hidden_states(ids, 1).to_vector<float>();
  }
  std::vector<float> got(32 * 32);
  acts->read(0, 32, got.data());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5);
}

TEST_F(HarvestEval, HookSitesAgreeWithHiddenStates) {
  Tensor ids = Tensor::from_vector<int64_t>({1, 5, 9, 2, 33, 7}, {1, 6});
  NoGrad no_grad;
  // resid_pre of block 1 is resid_post of block 0; resid_post of block 1 = resid_pre + attn +
  // mlp_out.
  auto pre1 = capture_activations(*model_, ids, 1, "resid_pre").to_vector<float>();
  auto post0 = model_->hidden_states(ids, 0).to_vector<float>();
  for (size_t i = 0; i < pre1.size(); ++i) EXPECT_NEAR(pre1[i], post0[i], 1e-5);
  auto mlp1 = capture_activations(*model_, ids, 1, "mlp_out").to_vector<float>();
  double norm = 0;
  for (float v : mlp1) norm += v * v;
  EXPECT_GT(norm, 0.0);
  EXPECT_THROW(capture_activations(*model_, ids, 2, "resid_post"), Error);
  EXPECT_THROW(capture_activations(*model_, ids, 0, "attn_out"), Error);
}

TEST_F(HarvestEval, IdentitySpliceHasZeroDeltaLossAndAblationsHurt) {
  DownstreamOptions options{
      .layer = 0, .site = "resid_post", .tokens = 256, .seq_len = 32, .batch = 4};
  const ActivationReplacement identity = [](const Tensor& a) { return a; };
  DownstreamMetrics m = evaluate_downstream(*model_, dataset(), options, identity);
  EXPECT_EQ(m.tokens, 256);
  EXPECT_NEAR(m.delta_lm_loss(), 0.0, 1e-9);
  EXPECT_NEAR(m.kl_spliced, 0.0, 1e-9);
  EXPECT_NEAR(m.loss_recovered(), 1.0, 1e-9);
  EXPECT_GT(m.kl_zero_ablation, 1e-4);
  EXPECT_GT(m.kl_mean_ablation, 1e-4);
}

TEST_F(HarvestEval, TrainedSaeSplicesBetterThanAblation) {
  for (const std::string site : {"resid_post", "mlp_out"}) {
    HarvestOptions harvest_options{
        .layer = 0, .site = site, .tokens = 2000, .seq_len = 32, .batch = 8};
    const std::string acts_dir = (dir_ / ("acts_" + site)).string();
    harvest_to_folder(*model_, "tiny", dataset(), harvest_options, acts_dir);
    auto acts = open_activations(acts_dir);
    SaeTrainer trainer(
        *acts, {.latents = 128, .k = 8, .batch = 256, .lr = 3e-3, .tokens = 200'000, .seed = 1});
    trainer.train();
    EXPECT_EQ(trainer.sae().config().hook_layer, 0);
    EXPECT_EQ(trainer.sae().config().hook_site, site);
    ReconstructionMetrics offline = evaluate_reconstruction(trainer.sae(), *acts);
    EXPECT_LT(offline.nmse_mean_baseline, 0.5) << site;
    EXPECT_LE(offline.fvu, offline.nmse_mean_baseline + 1e-9);
    EXPECT_LT(offline.nmse_zero_baseline, offline.nmse_mean_baseline + 1e-9);
    EXPECT_NEAR(offline.l0, 8.0, 0.5);
    ReconstructionMetrics online;
    DownstreamOptions options{.layer = 0, .site = site, .tokens = 512, .seq_len = 32, .batch = 4};
    DownstreamMetrics m = evaluate_downstream(
        *model_, dataset(), options, sae_replacement(trainer.sae()), &trainer.sae(), &online);
    EXPECT_EQ(online.tokens, 512);
    EXPECT_LT(m.kl_spliced, m.kl_zero_ablation) << site;
    EXPECT_GT(m.loss_recovered(), 0.5) << site;
  }
}

TEST_F(HarvestEval, ResidPostHarvestsFromEveryArchitecture) {
  // Mamba-2 and HGRN-Bit at their registered tiny sizes, vocabulary set to the dataset's:
  // resid_post goes through hidden_states, which every CausalLM has.
  std::vector<nlohmann::json> configs;
  for (const char* type : {"mamba2", "hgrn_bit"}) {
    nlohmann::json config = models::preset_config(type, "tiny");
    config["vocab_size"] = 40;
    config["max_position_embeddings"] = 2048;
    configs.push_back(config);
  }
  for (const auto& config : configs) {
    auto model = models::create_model(config, 2);
    HarvestOptions options{.layer = 1, .tokens = 300, .seq_len = 16, .batch = 4};
    const std::string out = (dir_ / ("acts_" + model->model_type())).string();
    EXPECT_EQ(harvest_to_folder(*model, model->model_type(), dataset(), options, out), 300);
    auto acts = open_activations(out);
    EXPECT_EQ(acts->d(), config["hidden_size"].get<int64_t>());
    std::vector<float> row(acts->d());
    acts->read(299, 1, row.data());
    double norm = 0;
    for (float v : row) norm += v * v;
    EXPECT_GT(norm, 0.0) << model->model_type();
  }
}

}  // namespace
}  // namespace tessera::interp
