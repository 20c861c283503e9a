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
  const double mx = *std::max_element(logits.begin(), logits.end());
  // Candidates in descending logit order (ties by id, so the order is total and the result
  // deterministic), sorted lazily: top-p and min-p usually stop after a few dozen tokens, and
  // sorting the whole vocabulary for every token was the largest cost of sampling.
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  int64_t pool = V, sorted = 0;
  auto ensure_sorted = [&](int64_t n) {
    n = std::min(pool, n);
    if (n <= sorted) return;
    std::partial_sort(order.begin() + sorted, order.begin() + n, order.begin() + pool, by_logit);
    sorted = n;
  };
  auto grow = [&](int64_t needed) { ensure_sorted(std::max(needed, std::max<int64_t>(64, 2 * sorted))); };
  double total = 0;
  if (params_.top_k > 0 && params_.top_k < V) {
    ensure_sorted(params_.top_k);
    pool = params_.top_k;
    for (int64_t i = 0; i < pool; ++i) total += std::exp(logits[order[i]] - mx);
  } else {
    for (double l : logits) total += std::exp(l - mx);
  }
  auto prob = [&](int64_t rank) { return std::exp(logits[order[rank]] - mx) / total; };
  last_logprobs_.assign(static_cast<size_t>(V), -std::numeric_limits<float>::infinity());
  if (pool == V && params_.top_p >= 1.0 && params_.min_p <= 0.0) {
    // The whole distribution: no order needed; walk the vocabulary by id.
    for (int64_t id = 0; id < V; ++id) last_logprobs_[id] = static_cast<float>(logits[id] - mx - std::log(total));
    double u = gen_.next_double(), acc = 0;
    for (int64_t id = 0; id < V; ++id) {
      acc += std::exp(logits[id] - mx) / total;
      if (u < acc) return static_cast<int32_t>(id);
    }
    // u fell past the rounded total: the most probable token.
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  int64_t keep = pool;
  if (params_.top_p < 1.0) {  // smallest prefix whose mass reaches top_p
    double mass = 0;
    for (int64_t i = 0; i < pool; ++i) {
      if (i >= sorted) grow(i + 1);
      mass += prob(i);
      if (mass >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0) {
    ensure_sorted(1);
    const double threshold = params_.min_p * prob(0);
    int64_t cut = 1;
    while (cut < keep) {
      if (cut >= sorted) grow(cut + 1);
      if (prob(cut) < threshold) break;
      ++cut;
    }
    keep = cut;
  }
  ensure_sorted(keep);
  double kept_mass = 0;
  for (int64_t i = 0; i < keep; ++i) kept_mass += prob(i);
  // The distribution actually sampled from, as log-probabilities over the whole vocabulary.
  for (int64_t i = 0; i < keep; ++i) last_logprobs_[order[i]] = static_cast<float>(std::log(prob(i) / kept_mass));
  double u = gen_.next_double() * kept_mass;
  double acc = 0;
  for (int64_t i = 0; i < keep; ++i) {
    acc += prob(i);
    if (u < acc) return order[i];
  }
  return order[keep - 1];
}

}  // namespace tessera::infer
