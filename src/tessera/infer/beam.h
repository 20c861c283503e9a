#pragma once
// Decoding for encoder-decoder translation models (models/seq2seq.h): greedy, sampling and
// beam search with a length penalty, a maximum length that grows with the source, a
// no-repeat n-gram constraint, forced target-language tokens, early stopping, n-best lists
// with scores, and batches of sentences sorted by length so that padding stays small.
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/infer/sampler.h"
#include "tessera/models/seq2seq.h"

namespace tessera::infer {

enum class EarlyStopping {
  when_full,  // stop a sentence once beam_size hypotheses have finished (transformers' True)
  heuristic,  // ... or once no running beam can beat the worst finished one at its current length
  never,      // run until every beam has finished or the length limit (exact with a wide beam)
};

struct DecodeOptions {
  int64_t beam_size = 4;   // 1: greedy (or sampling with `sample`)
  int64_t num_return = 1;  // n-best size (<= beam_size)
  // Hypothesis score = sum log p / length^length_penalty, length counting generated tokens
  // including the final EOS (fairseq's convention).
  double length_penalty = 1.0;
  // Generated tokens at most ceil(max_length_ratio * source_length) + max_length_offset,
  // capped by the model's max positions (fairseq's max_len_a / max_len_b).
  double max_length_ratio = 1.5;
  int64_t max_length_offset = 10;
  int64_t min_length = 0;  // EOS is banned before this many generated tokens
  int64_t no_repeat_ngram_size = 0;
  EarlyStopping early_stopping = EarlyStopping::when_full;
  // Tokens forced right after the decoder start token (NLLB: the target-language code).
  std::vector<int32_t> forced_prefix;
  bool sample = false;  // beam_size 1 only: draw from `sampling` instead of argmax
  SamplingParams sampling;
  int64_t batch_size = 32;  // sentences decoded together
};

struct Hypothesis {
  std::vector<int32_t>
      tokens;             // after the decoder start token, forced prefix included, EOS excluded
  double score = 0;       // length-normalised
  double log_prob = 0;    // sum of token log-probabilities (forced tokens count 0)
  bool finished = false;  // ended with EOS (false: cut at the length limit)
};

struct DecodeStats {
  int64_t sentences = 0, source_tokens = 0, generated_tokens = 0, decoder_steps = 0;
  double seconds = 0;
};

// Source id sequences (as the model expects them, e.g. [src_lang, ..., eos]) -> for each, the
// n-best hypotheses, best first. Throws BadInput for an empty source or inconsistent options.
std::vector<std::vector<Hypothesis>> decode(models::Seq2SeqLM& model,
                                            const std::vector<std::vector<int32_t>>& sources,
                                            const DecodeOptions& options,
                                            DecodeStats* stats = nullptr);

// Banned next tokens under no-repeat n-gram size n for a token history.
std::vector<int32_t> banned_ngram_tokens(const std::vector<int32_t>& history, int64_t n);

}  // namespace tessera::infer
