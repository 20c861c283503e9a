// Training: planted-dictionary recovery, AuxK revival, variants, checkpoint/resume.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "planted.h"
#include "tessera/core/parallel.h"
#include "tessera/interp/sae_format.h"
#include "tessera/interp/sae_train.h"

namespace tessera::interp {
namespace {

namespace fs = std::filesystem;
using testing::planted_dictionary;
using testing::recovered_fraction;

// These problems are tiny: one thread, so a loaded CI machine does not turn OpenMP's
// spin-waiting into the dominant cost.
class SaeTrain : public ::testing::Test {
 protected:
  void SetUp() override { set_num_threads(1); }
  void TearDown() override { set_num_threads(0); }
};

fs::path temp_dir(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("tessera_sae_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

TEST_F(SaeTrain, RecoversAPlantedDictionary) {
  auto planted = planted_dictionary(/*d=*/32, /*atoms=*/48, /*active=*/3, /*N=*/20000, 7);
  MemoryActivations data(planted.rows, 32);
  SaeTrainOptions options{.latents = 96,
                          .k = 3,
                          .dead_tokens = 20000,
                          .batch = 256,
                          .lr = 2e-3,
                          .tokens = 1'000'000,
                          .seed = 1};
  SaeTrainer trainer(data, options);
  trainer.train();
  const double recovered = recovered_fraction(planted, trainer.sae().W_dec, 96);
  std::printf("planted recovery: %.1f%% of 48 directions at cos > 0.9, fvu %.4f\n", 100 * recovered,
              trainer.last_stats().fvu);
  EXPECT_GE(recovered, 0.9);
  EXPECT_LT(trainer.last_stats().fvu, 0.1);
}

// Most latents start "dead": their encoder rows are scaled so small that they can never win
// the top-k, though their pre-activations stay positive. The 16 live ones cannot explain 48
// planted directions, so there is residual left to explain. Without AuxK nothing ever trains
// the dead ones; with AuxK they learn to predict the residual and come back.
constexpr int64_t kKilled = 80;

struct RevivalResult {
  int64_t dead = 0;
  double fvu = 0;
};

RevivalResult dead_after_training(int64_t aux_k) {
  auto planted = planted_dictionary(32, 48, 3, 20000, 9);
  MemoryActivations data(planted.rows, 32);
  SaeTrainOptions options{.latents = 96,
                          .k = 3,
                          .aux_k = aux_k,
                          .dead_tokens = 2560,
                          .batch = 256,
                          .lr = 2e-3,
                          .tokens = 1'200'000,
                          .seed = 2};
  SaeTrainer trainer(data, options);
  trainer.start();
  TopKSae& sae = trainer.mutable_sae();
  for (int64_t l = 0; l < kKilled; ++l) {
    for (int64_t i = 0; i < 32; ++i) sae.W_enc[l * 32 + i] *= 0.01f;
  }
  trainer.train();
  int64_t dead = 0;
  for (int64_t l = 0; l < kKilled; ++l) dead += trainer.tokens_since_fired()[l] >= 2560;
  std::printf("aux_k=%lld: %lld of 80 planted-dead latents still dead, fvu %.4f\n",
              static_cast<long long>(aux_k), static_cast<long long>(dead),
              trainer.last_stats().fvu);
  return {dead, trainer.last_stats().fvu};
}

TEST_F(SaeTrain, AuxKRevivesDeadLatents) {
  const RevivalResult without = dead_after_training(0);
  const RevivalResult with = dead_after_training(32);
  EXPECT_GE(without.dead, 72);
  // 48 directions need about 48 latents: at least 32 of the 80 must come back (16 live ones
  // already exist); the rest have nothing left to explain and may rightly stay dead.
  EXPECT_LE(with.dead, 48);
  EXPECT_LT(with.fvu, 0.5 * without.fvu);
}

TEST_F(SaeTrain, MultiTopKAndBatchTopKTrain) {
  auto planted = planted_dictionary(16, 24, 2, 4000, 3);
  MemoryActivations data(planted.rows, 16);
  for (int variant = 0; variant < 2; ++variant) {
    SaeTrainOptions options{.latents = 48,
                            .k = 2,
                            .multi_topk = variant == 0,
                            .batch_topk = variant == 1,
                            .batch = 128,
                            .lr = 2e-3,
                            .tokens = 100'000,
                            .seed = 4};
    SaeTrainer trainer(data, options);
    const double first = trainer.step().fvu;
    trainer.train();
    EXPECT_LT(trainer.last_stats().fvu, 0.5 * first)
        << (variant == 0 ? "multi-topk" : "batch-topk");
    if (variant == 0) {
      EXPECT_GT(trainer.last_stats().multi_fvu, 0.0);
    }
  }
}

TEST_F(SaeTrain, NormalisationsAreUndoneOnReconstruction) {
  auto planted = planted_dictionary(16, 24, 2, 4000, 5);
  for (float& v : planted.rows) v = 40.0f * v + 3.0f;  // far from unit scale, off-centre
  MemoryActivations data(planted.rows, 16);
  for (auto norm : {SaeNormalization::scale, SaeNormalization::layer_norm}) {
    SaeTrainOptions options{.latents = 48,
                            .k = 4,
                            .normalization = norm,
                            .batch = 128,
                            .lr = 2e-3,
                            .tokens = 200'000,
                            .seed = 6};
    SaeTrainer trainer(data, options);
    trainer.train();
    std::vector<float> x_hat(100 * 16);
    trainer.sae().reconstruct(planted.rows.data(), 100, x_hat.data());
    double err = 0, total = 0;
    for (int64_t i = 0; i < 100 * 16; ++i) {
      err += (x_hat[i] - planted.rows[i]) * (x_hat[i] - planted.rows[i]);
      total += (planted.rows[i] - 3.0) * (planted.rows[i] - 3.0);
    }
    EXPECT_LT(err / total, 0.2) << normalization_name(norm);
  }
}

TEST_F(SaeTrain, ResumeContinuesExactly) {
  auto planted = planted_dictionary(8, 12, 2, 1000, 11);
  MemoryActivations data(planted.rows, 8);
  const fs::path a = temp_dir("resume_a"), b = temp_dir("resume_b");
  SaeTrainOptions options{.latents = 24,
                          .k = 2,
                          .aux_k = 4,
                          .dead_tokens = 64,
                          .batch = 64,
                          .tokens = 64 * 40,
                          .seed = 3,
                          .out_dir = a.string()};
  SaeTrainer straight(data, options);
  straight.train();
  // Second run: stop after 15 steps (a checkpoint), then a fresh trainer resumes.
  options.out_dir = b.string();
  options.tokens = 64 * 15;
  SaeTrainer first_half(data, options);
  first_half.train();
  options.tokens = 64 * 40;
  SaeTrainer second_half(data, options);
  second_half.train();
  EXPECT_EQ(second_half.steps(), 40);
  EXPECT_EQ(second_half.sae().W_dec, straight.sae().W_dec);
  EXPECT_EQ(second_half.sae().b_pre, straight.sae().b_pre);
  EXPECT_EQ(second_half.tokens_since_fired(), straight.tokens_since_fired());
  // The output folder is a loadable SAELens SAE.
  TopKSae loaded = load_sae(b.string());
  EXPECT_EQ(loaded.W_dec, straight.sae().W_dec);
  // A checkpoint of another shape is refused with a clear message.
  options.latents = 32;
  SaeTrainer mismatched(data, options);
  EXPECT_THROW(mismatched.start(), Error);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_F(SaeTrain, RejectsBadOptions) {
  MemoryActivations data(std::vector<float>(16, 1.0f), 4);
  EXPECT_THROW(SaeTrainer(data, {.latents = 0}), Error);
  EXPECT_THROW(SaeTrainer(data, {.latents = 8, .k = 9}), Error);
  EXPECT_THROW(SaeTrainer(data, {.latents = 8, .k = 2, .multi_topk = true, .batch_topk = true}),
               Error);
}

TEST_F(SaeTrain, DefaultLearningRateFollowsThePaper) {
  EXPECT_DOUBLE_EQ(default_learning_rate(16384), 2e-4);
  EXPECT_DOUBLE_EQ(default_learning_rate(65536), 1e-4);
}

TEST(GeometricMedian, IgnoresOutliers) {
  std::vector<float> pts = {0, 0, 1, 0, 0, 1, 1, 1, 0.5f, 0.5f, 1000, 1000};
  auto m = geometric_median(pts.data(), 6, 2);
  EXPECT_NEAR(m[0], 0.5, 0.05);
  EXPECT_NEAR(m[1], 0.5, 0.05);
}

}  // namespace
}  // namespace tessera::interp
