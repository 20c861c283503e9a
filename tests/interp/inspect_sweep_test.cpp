// Latent inspection (top contexts, HTML browser) and scaling sweeps (fits, SVG).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "planted.h"
#include "tessera/core/parallel.h"
#include "tessera/interp/harvest.h"
#include "tessera/interp/sae_inspect.h"
#include "tessera/interp/sae_sweep.h"
#include "tessera/train/data_shards.h"

namespace tessera::interp {
namespace {

namespace fs = std::filesystem;

class InspectSweep : public ::testing::Test {
 protected:
  void SetUp() override { set_num_threads(1); }
  void TearDown() override { set_num_threads(0); }
};

TEST_F(InspectSweep, TopContextsAreTheLargestActivationsWithTheTokenMarked) {
  const fs::path dir =
      fs::temp_directory_path() / ("tessera_sae_inspect_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  train::DatasetIndex index;
  index.vocab_size = 30;
  {
    train::ShardWriter writer((dir / "data").string(), 4096, index);
    std::mt19937 rng(2);
    std::vector<int32_t> ids(600);
    for (auto& id : ids) id = static_cast<int32_t>(rng() % 30);
    writer.add_document(ids);
    writer.finish();
  }
  auto data = train::TokenDataset::open((dir / "data").string());
  auto model = models::create_model({{"model_type", "llama"},
                                     {"vocab_size", 30},
                                     {"hidden_size", 16},
                                     {"intermediate_size", 32},
                                     {"num_hidden_layers", 1},
                                     {"num_attention_heads", 2},
                                     {"num_key_value_heads", 2},
                                     {"max_position_embeddings", 64},
                                     {"initializer_range", 0.3}},
                                    4);
  SaeConfig config{.d_in = 16, .n_latents = 24, .k = 3, .hook_layer = 0};
  TopKSae sae = TopKSae::initialize(config, 9);
  InspectOptions options{.layer = 0, .tokens = 400, .seq_len = 32, .batch = 4, .top = 5};
  InspectReport report = inspect_latents(*model, data, sae, options);
  EXPECT_EQ(report.tokens, 400);
  ASSERT_EQ(report.summaries.size(), 24u);
  int64_t total_fired = 0;
  for (const auto& s : report.summaries) total_fired += s.fired;
  EXPECT_GT(total_fired, 0);
  // Recompute one latent's activations directly and compare with the kept top examples.
  const LatentSummary* busiest = &report.summaries[0];
  for (const auto& s : report.summaries) {
    if (s.fired > busiest->fired) busiest = &s;
  }
  ASSERT_GE(busiest->top.size(), 2u);
  for (size_t i = 1; i < busiest->top.size(); ++i)
    EXPECT_GE(busiest->top[i - 1].activation, busiest->top[i].activation);
  EXPECT_FLOAT_EQ(busiest->top[0].activation, busiest->max_activation);
  int64_t hist_total = 0;
  for (int64_t c : busiest->histogram) hist_total += c;
  EXPECT_EQ(hist_total, busiest->fired);
  const LatentExample& best = busiest->top[0];
  EXPECT_EQ(best.context[best.marked], data.read(best.token_index, 1)[0]);
  auto token_text = [](int32_t id) { return "<t" + std::to_string(id) + ">"; };
  const std::string text = format_latent(*busiest, token_text);
  EXPECT_NE(text.find("[[<t" + std::to_string(best.context[best.marked]) + ">]]"),
            std::string::npos)
      << text;
  const std::string html = latent_browser_html(report, token_text, "test </script> page");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("</script> page"), std::string::npos);  // the title is escaped
  EXPECT_NE(html.find("&lt;/script&gt; page"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);  // nothing fetched from elsewhere
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("\"latent\":" + std::to_string(busiest->latent)), std::string::npos);
  fs::remove_all(dir);
}

TEST_F(InspectSweep, ScalingLawFitRecoversKnownCoefficients) {
  ScalingLawFit truth{
      .alpha = 1.0, .beta_k = -0.6, .beta_n = -0.25, .gamma = 0.02, .zeta = -4.0, .eta = -0.3};
  std::vector<SweepPoint> points;
  for (int64_t n : {256, 512, 1024, 2048, 4096}) {
    for (int64_t k : {4, 8, 16, 32}) {
      points.push_back({.latents = n, .k = k, .compute = 1e6 * n, .nmse = truth.predict(n, k)});
    }
  }
  ScalingLawFit fit = fit_scaling_law(points);
  EXPECT_LT(fit.rms_log_error, 1e-3);
  for (const auto& p : points) EXPECT_NEAR(fit.predict(p.latents, p.k) / p.nmse, 1.0, 5e-3);
  auto laws = fit_compute_laws(points);
  ASSERT_EQ(laws.size(), 4u);
  for (const auto& law : laws) {
    EXPECT_LT(law.exponent, 0);
    EXPECT_GT(law.r2, 0.9);
  }
}

TEST_F(InspectSweep, SweepTrainsEveryPointAndPlotsThem) {
  auto planted = testing::planted_dictionary(16, 32, 3, 6000, 21);
  MemoryActivations data(planted.rows, 16);
  SweepOptions options{.latents = {16, 32, 64}, .ks = {2, 4}};
  options.train = {.batch = 256, .lr = 2e-3, .tokens = 60'000, .seed = 1};
  SweepResult result = run_sweep(data, options);
  ASSERT_EQ(result.points.size(), 6u);
  for (const auto& p : result.points) {
    EXPECT_GT(p.nmse, 0.0);
    EXPECT_LT(p.nmse, 1.0);
  }
  // More latents help at fixed k (the planted dictionary has 32 directions).
  EXPECT_LT(result.points[4].nmse, result.points[0].nmse);
  EXPECT_TRUE(std::isfinite(result.joint.rms_log_error));
  const std::string svg = sweep_svg(result);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
  EXPECT_NE(svg.find("k = 4"), std::string::npos);
  const auto json = result.to_json();
  EXPECT_EQ(json["points"].size(), 6u);
  EXPECT_TRUE(json["joint_fit"].contains("beta_n"));
}

}  // namespace
}  // namespace tessera::interp
