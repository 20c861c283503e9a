#pragma once
// The BPE model: turns one pre-token into token ids. Two vocabulary forms share one merge
// engine: HF merges lists (rank = position in the list) and tiktoken rank files (a pair may
// merge whenever the concatenation is itself a token, with the token's rank). The merge loop
// is a scan for short pre-tokens and a linked list with a lazily invalidated priority queue
// for long ones, so runs of thousands of digits or spaces cost O(n log n), not O(n^2).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/text/token_index.h"

namespace tessera::text {

struct BpeModelOptions {
  // Initial symbols are single bytes and vocabulary spellings use GPT-2's byte-level
  // alphabet (converted to raw bytes on load). Otherwise initial symbols are characters.
  bool byte_level = true;
  // A pre-token that is itself in the vocabulary is emitted whole, without merging
  // (tiktoken always; HF `ignore_merges`, e.g. Llama-3).
  bool ignore_merges = false;
  bool byte_fallback = false;  // unknown characters become <0xNN> tokens when present
  bool fuse_unk = false;       // consecutive unknown characters become one unk token
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;  // prepended to every non-initial symbol
  std::string end_of_word_suffix;         // appended to the last symbol
  size_t cache_capacity = 1 << 13;        // pre-token -> ids slots per thread; 0: no cache
};

class EncodeCache;

class BpeModel {
 public:
  using Vocab = std::vector<std::pair<std::string, int32_t>>;
  using Merges = std::vector<std::pair<std::string, std::string>>;

  // HF form: `vocab` maps spellings to ids, `merges` lists pairs in priority order. Throws
  // BadInput naming the first merge whose parts or result are not in the vocabulary.
  static std::shared_ptr<BpeModel> from_merges(const Vocab& vocab, const Merges& merges,
                                               BpeModelOptions options);
  // tiktoken form: raw token bytes with their ranks (rank == id).
  static std::shared_ptr<BpeModel> from_ranks(const Vocab& token_bytes_with_ranks,
                                              size_t cache_capacity = 1 << 13);

  ~BpeModel();

  // Appends the ids of one pre-token (raw bytes, not byte-level spelled).
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  // Same, bypassing the cache (benchmarks and tests of the merge engines).
  void encode_piece_uncached(std::string_view piece, std::vector<int32_t>& out) const;
  // Test hook: forces the priority-queue merge engine even on short pre-tokens.
  void encode_piece_with_heap(std::string_view piece, std::vector<int32_t>& out) const;

  // Spelling as in the vocabulary file (byte-level alphabet for byte-level models); empty
  // for ids the model does not define.
  const std::string& token_spelling(int32_t id) const;
  // The bytes a token stands for (raw bytes for byte-level models, else its spelling).
  const std::string& token_bytes(int32_t id) const;
  bool has_id(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < spellings_.size() && defined_[id];
  }
  // Looks a spelling up; -1 when absent.
  int32_t spelling_to_id(std::string_view spelling) const;
  // One past the largest id.
  int32_t id_limit() const { return static_cast<int32_t>(spellings_.size()); }
  int32_t unk_id() const { return unk_id_; }
  const BpeModelOptions& options() const { return options_; }
  size_t merge_count() const { return merges_.size(); }

 private:
  BpeModel() = default;
  void set_token(int32_t id, std::string spelling, std::string bytes);
  void finish_setup();
  void initial_symbols(std::string_view piece, std::vector<int32_t>& symbols) const;
  void merge_symbols(std::vector<int32_t>& symbols, bool force_heap) const;
  void merge_by_scan(std::vector<int32_t>& symbols) const;
  void merge_by_heap(std::vector<int32_t>& symbols) const;

  BpeModelOptions options_;
  std::vector<std::string> spellings_;  // id -> spelling
  std::vector<std::string> bytes_;      // id -> matching bytes
  std::vector<bool> defined_;
  TokenIndex bytes_index_;     // matching bytes -> id
  TokenIndex spelling_index_;  // spelling -> id (only when it differs from bytes_index_)
  MergeTable merges_;
  int32_t byte_ids_[256];           // byte-level: id of each single-byte token, or -1
  int32_t byte_fallback_ids_[256];  // id of "<0xNN>", or -1
  int32_t unk_id_ = -1;
  bool simple_byte_symbols_ = false;  // byte-level without prefix/suffix: the fast path
  std::unique_ptr<EncodeCache> cache_;
};

}  // namespace tessera::text
