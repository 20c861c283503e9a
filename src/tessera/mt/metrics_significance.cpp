#include "tessera/mt/metrics_significance.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "tessera/core/error.h"

namespace tessera::mt {

namespace {

// numpy's SeedSequence(entropy).generate_state(4, uint64) for a non-negative integer seed.
std::array<uint64_t, 4> seed_sequence_state(uint64_t entropy) {
  constexpr uint32_t kInitA = 0x43b0d7e5, kMultA = 0x931e8875;
  constexpr uint32_t kInitB = 0x8b51f9dd, kMultB = 0x58f38ded;
  constexpr uint32_t kMixMultL = 0xca01f9dd, kMixMultR = 0x4973f715;
  constexpr int kShift = 16;
  std::vector<uint32_t> words;  // the integer as little-endian 32-bit words
  do {
    words.push_back(static_cast<uint32_t>(entropy & 0xFFFFFFFFu));
    entropy >>= 32;
  } while (entropy != 0);

  uint32_t hash_constant = kInitA;
  auto hashmix = [&](uint32_t value) {
    value ^= hash_constant;
    hash_constant *= kMultA;
    value *= hash_constant;
    value ^= value >> kShift;
    return value;
  };
  auto mix = [](uint32_t x, uint32_t y) {
    uint32_t result = kMixMultL * x - kMixMultR * y;
    result ^= result >> kShift;
    return result;
  };
  std::array<uint32_t, 4> pool{};
  for (size_t i = 0; i < pool.size(); ++i) pool[i] = hashmix(i < words.size() ? words[i] : 0);
  for (size_t source = 0; source < pool.size(); ++source) {
    for (size_t target = 0; target < pool.size(); ++target) {
      if (source != target) pool[target] = mix(pool[target], hashmix(pool[source]));
    }
  }
  for (size_t source = pool.size(); source < words.size(); ++source) {
    for (size_t target = 0; target < pool.size(); ++target) {
      pool[target] = mix(pool[target], hashmix(words[source]));
    }
  }
  std::array<uint32_t, 8> state32{};
  uint32_t generate_constant = kInitB;
  for (size_t i = 0; i < state32.size(); ++i) {
    uint32_t value = pool[i % pool.size()];
    value ^= generate_constant;
    generate_constant *= kMultB;
    value *= generate_constant;
    value ^= value >> kShift;
    state32[i] = value;
  }
  std::array<uint64_t, 4> state{};
  for (size_t i = 0; i < state.size(); ++i) {
    state[i] = static_cast<uint64_t>(state32[2 * i]) | (static_cast<uint64_t>(state32[2 * i + 1]) << 32);
  }
  return state;
}

// numpy's PCG64 (XSL-RR 128/64) with its 32-bit output buffering.
class Pcg64 {
 public:
  explicit Pcg64(uint64_t seed) {
    std::array<uint64_t, 4> words = seed_sequence_state(seed);
    unsigned __int128 initial_state = (static_cast<unsigned __int128>(words[0]) << 64) | words[1];
    unsigned __int128 sequence = (static_cast<unsigned __int128>(words[2]) << 64) | words[3];
    increment_ = (sequence << 1) | 1;
    state_ = 0;
    step();
    state_ += initial_state;
    step();
  }

  uint64_t next64() {
    step();
    uint64_t high = static_cast<uint64_t>(state_ >> 64);
    uint64_t low = static_cast<uint64_t>(state_);
    uint64_t value = high ^ low;
    unsigned rotation = static_cast<unsigned>(high >> 58);
    return (value >> rotation) | (value << ((64 - rotation) & 63));
  }

  uint32_t next32() {
    if (has_buffered_) {
      has_buffered_ = false;
      return buffered_;
    }
    uint64_t value = next64();
    has_buffered_ = true;
    buffered_ = static_cast<uint32_t>(value >> 32);
    return static_cast<uint32_t>(value);
  }

  // Uniform in [0, range] (Lemire's method as numpy's buffered_bounded_lemire_uint32).
  uint32_t bounded(uint32_t range) {
    if (range == 0) return 0;
    if (range == 0xFFFFFFFFu) return next32();
    const uint32_t range_exclusive = range + 1;
    uint64_t product = static_cast<uint64_t>(next32()) * range_exclusive;
    uint32_t leftover = static_cast<uint32_t>(product);
    if (leftover < range_exclusive) {
      const uint32_t threshold = (0xFFFFFFFFu - range) % range_exclusive;
      while (leftover < threshold) {
        product = static_cast<uint64_t>(next32()) * range_exclusive;
        leftover = static_cast<uint32_t>(product);
      }
    }
    return static_cast<uint32_t>(product >> 32);
  }

 private:
  void step() {
    static const unsigned __int128 kMultiplier =
        (static_cast<unsigned __int128>(2549297995355413924ULL) << 64) | 4865540595714422341ULL;
    state_ = state_ * kMultiplier + increment_;
  }

  unsigned __int128 state_ = 0;
  unsigned __int128 increment_ = 0;
  bool has_buffered_ = false;
  uint32_t buffered_ = 0;
};

void fill_indices(Pcg64& generator, size_t num_segments, size_t count, std::vector<uint32_t>& out) {
  out.resize(count * num_segments);
  const uint32_t range = static_cast<uint32_t>(num_segments - 1);
  for (uint32_t& index : out) index = generator.bounded(range);
}

void check_resampling(size_t num_segments, int resamples) {
  TESSERA_CHECK_INPUT(resamples >= 1, "the number of bootstrap resamples must be at least 1, got {}",
                      resamples);
  TESSERA_CHECK_INPUT(num_segments >= 1 && num_segments <= 0xFFFFFFFFull,
                      "bootstrap resampling needs 1 to 2^32 segments, got {}", num_segments);
}

}  // namespace

std::vector<uint32_t> bootstrap_indices(size_t num_segments, int resamples, uint64_t seed) {
  check_resampling(num_segments, resamples);
  Pcg64 generator(seed);
  std::vector<uint32_t> indices;
  fill_indices(generator, num_segments, static_cast<size_t>(resamples), indices);
  return indices;
}

std::vector<std::vector<double>> bootstrap_scores(const std::vector<BootstrapJob>& jobs,
                                                  int resamples, uint64_t seed) {
  std::vector<std::vector<double>> scores(jobs.size(), std::vector<double>(static_cast<size_t>(std::max(resamples, 0))));
  if (jobs.empty()) return scores;
  const size_t num_segments = jobs.front().statistics->num_segments;
  check_resampling(num_segments, resamples);
  for (const BootstrapJob& job : jobs) {
    TESSERA_CHECK(job.statistics->num_segments == num_segments,
                  "bootstrap jobs must share the number of segments");
  }
  Pcg64 generator(seed);
  // Blocks of resamples keep the index matrix small (sacrebleu holds all of it at once).
  const size_t block = std::max<size_t>(1, std::min<size_t>(256, (size_t{1} << 24) / num_segments));
  std::vector<uint32_t> indices;
  for (size_t first = 0; first < static_cast<size_t>(resamples); first += block) {
    const size_t count = std::min(block, static_cast<size_t>(resamples) - first);
    fill_indices(generator, num_segments, count, indices);
    const int64_t tasks = static_cast<int64_t>(count * jobs.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const size_t k = static_cast<size_t>(task) % count;
      const BootstrapJob& job = jobs[static_cast<size_t>(task) / count];
      const size_t width = job.statistics->width;
      std::vector<double> total(width, 0.0);
      const uint32_t* sample = indices.data() + k * num_segments;
      for (size_t i = 0; i < num_segments; ++i) {
        const double* row = job.statistics->row(sample[i]);
        for (size_t j = 0; j < width; ++j) total[j] += row[j];
      }
      scores[static_cast<size_t>(task) / count][first + k] = job.metric->score_from_statistics(total.data()).score;
    }
  }
  return scores;
}

double numpy_pairwise_sum(const double* values, size_t count) {
  constexpr size_t kBlock = 128;
  if (count < 8) {
    double sum = 0.0;  // numpy starts from -0.0; the result is the same for these sums
    for (size_t i = 0; i < count; ++i) sum += values[i];
    return sum;
  }
  if (count <= kBlock) {
    double r[8];
    for (int i = 0; i < 8; ++i) r[i] = values[i];
    size_t i = 8;
    for (; i < count - (count % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += values[i + static_cast<size_t>(j)];
    }
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < count; ++i) sum += values[i];
    return sum;
  }
  size_t half = count / 2;
  half -= half % 8;
  return numpy_pairwise_sum(values, half) + numpy_pairwise_sum(values + half, count - half);
}

ConfidenceInterval estimate_confidence(std::vector<double> scores) {
  TESSERA_CHECK(!scores.empty(), "estimate_confidence needs at least one score");
  std::sort(scores.begin(), scores.end());
  const size_t n = scores.size();
  const size_t lower_index = n / 40;
  const size_t upper_index = n - lower_index - 1;
  ConfidenceInterval interval;
  interval.half_width = 0.5 * (scores[upper_index] - scores[lower_index]);
  interval.mean = numpy_pairwise_sum(scores.data(), n) / static_cast<double>(n);
  return interval;
}

MetricScore corpus_score_with_confidence(Metric& metric, const SegmentStatistics& statistics,
                                         int resamples, uint64_t seed) {
  MetricScore score = corpus_score(metric, statistics);
  std::vector<std::vector<double>> resampled = bootstrap_scores({{&metric, &statistics}}, resamples, seed);
  ConfidenceInterval interval = estimate_confidence(std::move(resampled.front()));
  score.bootstrap_mean = interval.mean;
  score.bootstrap_ci = interval.half_width;
  metric.set_bootstrap_signature(resamples, std::to_string(seed));
  return score;
}

std::vector<PairedMetricResult> paired_bootstrap_test(const std::vector<Metric*>& metrics,
                                                      const std::vector<NamedSystem>& systems,
                                                      int resamples, uint64_t seed) {
  TESSERA_CHECK_INPUT(systems.size() >= 2,
                      "the paired test needs a baseline and at least one more system, got {}",
                      systems.size());
  // statistics[metric][system]
  std::vector<std::vector<SegmentStatistics>> statistics(metrics.size());
  std::vector<BootstrapJob> jobs;
  for (size_t m = 0; m < metrics.size(); ++m) {
    for (const NamedSystem& system : systems) {
      try {
        statistics[m].push_back(collect_statistics(*metrics[m], system.hypotheses));
      } catch (const Error& error) {
        throw error.with_context(system.name);
      }
    }
  }
  for (size_t m = 0; m < metrics.size(); ++m) {
    for (size_t s = 0; s < systems.size(); ++s) jobs.push_back({metrics[m], &statistics[m][s]});
  }
  std::vector<std::vector<double>> resampled = bootstrap_scores(jobs, resamples, seed);

  std::vector<PairedMetricResult> results;
  for (size_t m = 0; m < metrics.size(); ++m) {
    metrics[m]->set_bootstrap_signature(resamples, std::to_string(seed));
    PairedMetricResult result;
    result.metric_name = metrics[m]->name();
    result.signature = metrics[m]->signature();
    const std::vector<double>& baseline_samples = resampled[m * systems.size()];
    const double baseline_score = corpus_score(*metrics[m], statistics[m][0]).score;
    for (size_t s = 0; s < systems.size(); ++s) {
      const std::vector<double>& samples = resampled[m * systems.size() + s];
      PairedSystemScore entry;
      entry.system = systems[s].name;
      entry.score = s == 0 ? baseline_score : corpus_score(*metrics[m], statistics[m][s]).score;
      ConfidenceInterval interval = estimate_confidence(samples);
      entry.mean = interval.mean;
      entry.half_width = interval.half_width;
      if (s > 0) {
        const double observed = std::abs(baseline_score - entry.score);
        std::vector<double> deltas(samples.size());
        for (size_t k = 0; k < samples.size(); ++k) deltas[k] = std::abs(samples[k] - baseline_samples[k]);
        const double mean_delta = numpy_pairwise_sum(deltas.data(), deltas.size()) / static_cast<double>(deltas.size());
        size_t exceed = 0;
        for (double delta : deltas) exceed += (delta - mean_delta) > observed;
        entry.p_value = static_cast<double>(exceed + 1) / static_cast<double>(deltas.size() + 1);
      }
      result.systems.push_back(entry);
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace tessera::mt
