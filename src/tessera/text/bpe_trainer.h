#pragma once
// Byte-level BPE training for Tessera's own small models. The result is written as a
// tokenizer.json in HF tokenizers' schema (Split regex + ByteLevel pre-tokenizer, ByteLevel
// decoder, BPE model with "a b" merges), so the Hugging Face libraries load it unchanged.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tessera::text {

// Llama-3 / cl100k pre-tokenization: contractions, letter runs, 1-3 digit groups,
// punctuation runs, newlines, spaces.
inline constexpr const char* kDefaultTrainingPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct BpeTrainOptions {
  std::vector<std::string> input_files;  // UTF-8 text; each line (with its newline) is a sample
  int vocab_size = 8000;                 // special tokens + 256 bytes + merges
  int64_t min_frequency = 2;             // pairs seen fewer times are never merged
  std::vector<std::string> special_tokens = {"<|endoftext|>"};  // ids 0, 1, ...
  std::string pattern = kDefaultTrainingPattern;
  bool verbose = false;  // progress lines on stderr
};

struct BpeTrainResult {
  std::vector<std::string> special_tokens;
  std::vector<std::string> token_bytes;  // id -> raw bytes (specials first, then 256 bytes)
  std::vector<std::pair<int32_t, int32_t>> merges;  // in priority order
  int64_t corpus_bytes = 0;
  int64_t distinct_words = 0;
};

// Counts pre-tokens in the input files (in parallel) and learns merges, most frequent pair
// first (ties: the smaller id pair, as HF's trainer). Throws BadInput for a missing input or
// a vocabulary too small to hold the specials and 256 bytes.
BpeTrainResult train_byte_level_bpe(const BpeTrainOptions& options);

// Serialises a trained model as tokenizer.json text (HF schema).
std::string byte_level_bpe_tokenizer_json(const BpeTrainResult& result, const std::string& pattern);

// Trains and writes <out_dir>/tokenizer.json and tokenizer_config.json (atomically: each file
// is written under a temporary name and renamed).
BpeTrainResult train_and_save_byte_level_bpe(const BpeTrainOptions& options,
                                             const std::string& out_dir);

}  // namespace tessera::text
