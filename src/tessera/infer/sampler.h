#pragma once
// Turning logits into the next token, with the controls users of llama.cpp and the OpenAI API
// expect. Order (as llama.cpp and transformers apply them): logit bias, repetition penalty,
// frequency/presence penalties, temperature, top-k, top-p, min-p, then a draw from the seeded
// generator. Temperature 0 is greedy.
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "tessera/core/rng.h"

namespace tessera::infer {

struct SamplingParams {
  double temperature = 1.0;
  int64_t top_k = 0;        // 0: off
  double top_p = 1.0;       // 1: off
  double min_p = 0.0;       // 0: off; keep tokens with p >= min_p * p_max
  double repetition_penalty = 1.0;  // CTRL/transformers: divide positive logits, multiply negative
  double frequency_penalty = 0.0;   // OpenAI: logit -= frequency * count
  double presence_penalty = 0.0;    // OpenAI: logit -= presence * (count > 0)
  std::map<int32_t, double> logit_bias;
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplingParams params);
  // Picks a token from logits[vocab] given the tokens seen so far (prompt and generated,
  // for the penalties). Deterministic for a given seed and call sequence.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
  // The adjusted log-probabilities the last sample() drew from (for logprobs reporting).
  const std::vector<float>& last_logprobs() const { return last_logprobs_; }
  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  Generator gen_;
  std::vector<float> last_logprobs_;
};

// log_softmax of raw logits in double precision, returned as float.
std::vector<float> log_probabilities(std::span<const float> logits);

}  // namespace tessera::infer
