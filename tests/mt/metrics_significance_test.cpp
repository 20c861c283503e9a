// Bootstrap resampling against sacrebleu 2.6.0 / numpy 1.24.2 (sacrebleu --paired-bs on its
// README example, numpy.random.default_rng(12345).choice).
#include <gtest/gtest.h>

#include "tessera/mt/metrics_bleu.h"
#include "tessera/mt/metrics_chrf.h"
#include "tessera/mt/metrics_report.h"
#include "tessera/mt/metrics_significance.h"

namespace tessera::mt {
namespace {

TEST(BootstrapTest, IndicesMatchNumpyDefaultRng) {
  std::vector<uint32_t> expected = {6, 2, 7, 3, 2, 7, 6, 6, 9, 3, 8, 3, 5, 5, 2, 1, 2, 6, 6, 9};
  EXPECT_EQ(bootstrap_indices(10, 2, 12345), expected);
  EXPECT_EQ(bootstrap_indices(1, 3, 12345), (std::vector<uint32_t>{0, 0, 0}));
}

TEST(BootstrapTest, PairwiseSumAndInterval) {
  std::vector<double> values(300);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.1 * static_cast<double>(i % 17);
  double sequential = 0.0;
  for (double v : values) sequential += v;
  EXPECT_NEAR(numpy_pairwise_sum(values.data(), values.size()), sequential, 1e-9);
  std::vector<double> scores(40);
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = static_cast<double>(i);
  ConfidenceInterval interval = estimate_confidence(scores);
  EXPECT_EQ(interval.mean, 19.5);
  EXPECT_EQ(interval.half_width, 0.5 * (38 - 1));  // indices n//40 and n - n//40 - 1
}

TEST(PairedBootstrapTest, MatchesSacrebleuOnReadmeExample) {
  const References references = {
      {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
      {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};
  std::vector<NamedSystem> systems = {
      {"h1", {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."}},
      {"h2", {"The dog bit a man.", "It was surprising.", "The man bit him."}}};
  Bleu bleu(BleuOptions{});
  Chrf chrf(ChrfOptions{});
  bleu.set_references(references);
  chrf.set_references(references);
  auto results = paired_bootstrap_test({&bleu, &chrf}, systems, 1000, 12345);
  ASSERT_EQ(results.size(), 2u);
  const PairedSystemScore& baseline = results[0].systems[0];
  EXPECT_EQ(baseline.score, 48.530827009929865);
  EXPECT_NEAR(baseline.mean, 46.95974811953181, 1e-9);
  EXPECT_NEAR(baseline.half_width, 46.754996737202504, 1e-9);
  EXPECT_FALSE(baseline.p_value.has_value());
  const PairedSystemScore& system = results[0].systems[1];
  EXPECT_EQ(system.score, 35.827636937885366);
  EXPECT_NEAR(system.mean, 34.99646229384172, 1e-9);
  EXPECT_NEAR(system.half_width, 20.997901165850035, 1e-9);
  EXPECT_DOUBLE_EQ(*system.p_value, 0.14385614385614387);
  EXPECT_DOUBLE_EQ(*results[1].systems[1].p_value, 0.5394605394605395);
  // sacrebleu's chrF divides numpy float32 statistics (float32 arithmetic); Tessera uses
  // double throughout, hence agreement to about 1e-7 rather than to the last bit.
  EXPECT_NEAR(results[1].systems[1].half_width, 7.5625221339376445, 1e-6);
  EXPECT_EQ(results[0].signature.format(),
            "nrefs:2|bs:1000|seed:12345|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0+tessera");

  std::string report = format_paired_report(results, 1000, 1, false);
  EXPECT_NE(report.find("│ Baseline: h1 │ 48.5 (47.0 ± 46.8)  │  59.7 (60.3 ± 32.3)  │"), std::string::npos)
      << report;
  EXPECT_NE(report.find("│              │    (p = 0.1439)     │     (p = 0.5395)     │"), std::string::npos)
      << report;
}

TEST(ConfidenceTest, SingleSystemInterval) {
  Bleu bleu(BleuOptions{});
  bleu.set_references({{"a b c d", "e f g h", "i j k l"}});
  auto statistics = collect_statistics(bleu, {"a b c d", "e f x h", "i j k"});
  MetricScore score = corpus_score_with_confidence(bleu, statistics, 100, 12345);
  ASSERT_TRUE(score.bootstrap_mean.has_value());
  EXPECT_GT(*score.bootstrap_ci, 0.0);
  EXPECT_NE(bleu.signature().format().find("bs:100|seed:12345"), std::string::npos);
}

}  // namespace
}  // namespace tessera::mt
