#include "tessera/infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "tessera/core/error.h"

namespace tessera::infer {

Sampler::Sampler(SamplingParams params) : params_(std::move(params)), gen_(params_.seed) {
  TESSERA_CHECK_INPUT(params_.temperature >= 0, "temperature {} is negative", params_.temperature);
  TESSERA_CHECK_INPUT(params_.top_p > 0 && params_.top_p <= 1, "top_p {} outside (0, 1]", params_.top_p);
  TESSERA_CHECK_INPUT(params_.min_p >= 0 && params_.min_p <= 1, "min_p {} outside [0, 1]", params_.min_p);
  TESSERA_CHECK_INPUT(params_.top_k >= 0, "top_k {} is negative", params_.top_k);
  TESSERA_CHECK_INPUT(params_.repetition_penalty > 0, "repetition_penalty must be positive");
}

std::vector<float> log_probabilities(std::span<const float> logits) {
  double mx = -std::numeric_limits<double>::infinity();
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double z = 0;
  for (float v : logits) z += std::exp(static_cast<double>(v) - mx);
  double lz = mx + std::log(z);
  std::vector<float> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<float>(logits[i] - lz);
  return out;
}

int32_t Sampler::sample(std::span<const float> logits_in, std::span<const int32_t> history) {
  const int64_t V = static_cast<int64_t>(logits_in.size());
  TESSERA_CHECK(V > 0, "sample: empty logits");
  std::vector<double> logits(logits_in.begin(), logits_in.end());
  for (const auto& [id, bias] : params_.logit_bias) {
    if (id >= 0 && id < V) logits[id] += bias;
  }
  if (params_.repetition_penalty != 1.0 || params_.frequency_penalty != 0.0 ||
      params_.presence_penalty != 0.0) {
    std::unordered_map<int32_t, int64_t> counts;
    for (int32_t id : history) {
      if (id >= 0 && id < V) counts[id]++;
    }
    for (const auto& [id, count] : counts) {
      double& l = logits[id];
      if (params_.repetition_penalty != 1.0) {
        l = l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty;
      }
      l -= params_.frequency_penalty * static_cast<double>(count) + params_.presence_penalty;
    }
  }
  if (params_.temperature == 0.0) {
    int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    std::vector<float> f(logits.begin(), logits.end());
    last_logprobs_ = log_probabilities(f);
    return best;
  }
  for (double& l : logits) l /= params_.temperature;
  // Candidates sorted by logit (descending; ties by id for determinism).
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  int64_t keep = V;
  if (params_.top_k > 0 && params_.top_k < V) {
    keep = params_.top_k;
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_logit);
  } else {
    std::sort(order.begin(), order.end(), by_logit);
  }
  const double mx = logits[order[0]];
  std::vector<double> probs(static_cast<size_t>(keep));
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += (probs[i] = std::exp(logits[order[i]] - mx));
  for (double& p : probs) p /= total;
  if (params_.top_p < 1.0) {  // smallest prefix whose mass reaches top_p
    double mass = 0;
    int64_t cut = keep;
    for (int64_t i = 0; i < keep; ++i) {
      mass += probs[i];
      if (mass >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
  }
  if (params_.min_p > 0.0) {
    const double threshold = params_.min_p * probs[0];
    int64_t cut = 1;
    while (cut < keep && probs[cut] >= threshold) ++cut;
    keep = cut;
  }
  double kept_mass = 0;
  for (int64_t i = 0; i < keep; ++i) kept_mass += probs[i];
  // The distribution actually sampled from, as log-probabilities over the whole vocabulary.
  last_logprobs_.assign(static_cast<size_t>(V), -std::numeric_limits<float>::infinity());
  for (int64_t i = 0; i < keep; ++i) last_logprobs_[order[i]] = static_cast<float>(std::log(probs[i] / kept_mass));
  double u = gen_.next_double() * kept_mass;
  double acc = 0;
  for (int64_t i = 0; i < keep; ++i) {
    acc += probs[i];
    if (u < acc) return order[i];
  }
  return order[keep - 1];
}

}  // namespace tessera::infer
