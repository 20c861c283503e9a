#pragma once
// Data side of `mt train`: the corpus read into token ids, the direction sampler and batches.
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/core/rng.h"
#include "tessera/core/tensor.h"
#include "tessera/mt/nllb_tokenizer.h"

namespace tessera::mt {

// One language's pairs with English, as token ids without specials.
struct LanguagePairs {
  std::string code;
  std::vector<std::vector<int32_t>> english, other;
};

struct Direction {
  size_t language = 0;  // index into the LanguagePairs list
  bool from_english = true;
  std::string src, tgt;
  int64_t pairs = 0;
  double probability = 0;  // temperature-sampled
};

// Every direction (eng->x and x->eng) with p_d = n_d^(1/T) / sum.
std::vector<Direction> make_directions(const std::vector<LanguagePairs>& data, double temperature);

struct Batch {
  Tensor src, decoder_in, labels;  // [B, S], [B, T], [B, T] (labels -100 at padding)
  int64_t target_tokens = 0;
};

// Builds a batch: source [src_lang] body </s>; decoder input </s> [tgt_lang] body; labels
// [tgt_lang] body </s>. Bodies are cut to max_tokens - 2.
Batch make_batch(const std::vector<LanguagePairs>& data, const std::vector<Direction>& directions,
                 const std::vector<std::pair<size_t, size_t>>& picks,  // (direction, pair index)
                 const NllbTokenizer& tokenizer, int64_t max_tokens);

// Draws `count` (direction, pair) picks: direction by its probability, pair uniformly.
std::vector<std::pair<size_t, size_t>> sample_picks(const std::vector<LanguagePairs>& data,
                                                    const std::vector<Direction>& directions,
                                                    int64_t count, Generator& gen);

// Reads <corpus>/<split>/eng_Latn-<code>.tsv for each code and encodes both sides in parallel.
std::vector<LanguagePairs> load_encoded_pairs(const std::string& corpus_dir,
                                              const std::string& split,
                                              const std::vector<std::string>& codes,
                                              const NllbTokenizer& tokenizer);

// Trains the SentencePiece model (unigram, byte fallback) on a temperature-sampled mix of both
// sides of the training text and returns the NLLB tokenizer over it with `codes` (eng_Latn first).
NllbTokenizer train_nllb_tokenizer(const std::string& corpus_dir,
                                   const std::vector<std::string>& codes, int64_t vocab_size,
                                   double temperature, const std::string& work_dir, uint64_t seed);

}  // namespace tessera::mt
