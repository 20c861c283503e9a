#pragma once
// Bootstrap confidence intervals and the paired bootstrap test (Koehn 2004) with sacrebleu's
// semantics: resample segment indices with replacement, re-score every resample from the
// summed statistics, report the resampled mean and half the 95% interval width, and for a
// system against the baseline the p-value (c + 1) / (n + 1), where c counts resamples whose
// centred |delta| exceeds the observed |delta|.
//
// The indices are drawn exactly as numpy's default_rng(seed).choice(N, (n, N)) draws them
// (SeedSequence -> PCG64 -> Lemire's bounded integers), so with the default seed 12345 the
// resamples are the ones sacrebleu uses. sacrebleu sums resampled statistics in float32;
// Tessera sums in double, so the intervals agree wherever the float32 sums are exact.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tessera/mt/metrics_base.h"

namespace tessera::mt {

inline constexpr uint64_t kDefaultBootstrapSeed = 12345;
inline constexpr int kDefaultBootstrapResamples = 1000;

// numpy.random.default_rng(seed).choice(num_segments, size=(resamples, num_segments)),
// row-major.
std::vector<uint32_t> bootstrap_indices(size_t num_segments, int resamples, uint64_t seed);

// A metric and one system's statistics to be scored on every resample.
struct BootstrapJob {
  const Metric* metric = nullptr;
  const SegmentStatistics* statistics = nullptr;
};
// scores[job][resample]; all jobs see the same resamples. Indices are generated in blocks,
// so memory stays small for 100k-segment corpora; scoring runs in parallel (OpenMP).
std::vector<std::vector<double>> bootstrap_scores(const std::vector<BootstrapJob>& jobs,
                                                  int resamples, uint64_t seed);

// numpy's pairwise summation (what ndarray.mean() uses), so resampled means agree with
// sacrebleu's to the last bit.
double numpy_pairwise_sum(const double* values, size_t count);

struct ConfidenceInterval {
  double mean = 0.0;
  double half_width = 0.0;  // sacrebleu's "ci": half the spread of the central 95%
};
// sacrebleu's estimate_ci: sort, take the n//40-th score from each end.
ConfidenceInterval estimate_confidence(std::vector<double> scores);

// Corpus score with a bootstrap interval (sacrebleu --confidence); also records bs/seed in
// the metric's signature.
MetricScore corpus_score_with_confidence(Metric& metric, const SegmentStatistics& statistics,
                                         int resamples, uint64_t seed);

struct PairedSystemScore {
  std::string system;
  double score = 0.0;
  double mean = 0.0;
  double half_width = 0.0;
  std::optional<double> p_value;  // absent for the baseline
};

struct PairedMetricResult {
  std::string metric_name;  // "BLEU", "chrF2++", "TER"
  Signature signature;      // with bs:<resamples>|seed:<seed>
  std::vector<PairedSystemScore> systems;  // baseline first
};

struct NamedSystem {
  std::string name;
  std::vector<std::string> hypotheses;
};

// sacrebleu --paired-bs: the first system is the baseline. Every metric must already hold
// the references. BadInput for fewer than two systems or mismatched segment counts.
std::vector<PairedMetricResult> paired_bootstrap_test(const std::vector<Metric*>& metrics,
                                                      const std::vector<NamedSystem>& systems,
                                                      int resamples, uint64_t seed);

}  // namespace tessera::mt
