#pragma once
// From a JsonMatcher state to the set of vocabulary tokens that may come next. Every token's
// bytes go into a trie once; a depth-first walk feeds the matcher each trie edge, so a prefix
// the grammar rejects prunes every token under it, and shared prefixes are fed once. Masks are
// cached by matcher state: inside a string or between fields the same states recur at every
// step, so most steps are a hash lookup.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tessera/serve/json_grammar.h"
#include "tessera/text/tokenizer.h"

namespace tessera::serve {

// One bit per token id.
class TokenMask {
 public:
  TokenMask() = default;
  explicit TokenMask(int64_t size) : size_(size), words_((size + 63) / 64, 0) {}
  void set(int64_t id) { words_[id >> 6] |= uint64_t{1} << (id & 63); }
  bool test(int64_t id) const { return words_[id >> 6] >> (id & 63) & 1; }
  int64_t size() const { return size_; }
  int64_t count() const;

 private:
  int64_t size_ = 0;
  std::vector<uint64_t> words_;
};

class VocabularyMasker {
 public:
  // Special tokens (and tokens that decode to nothing) are never allowed by the grammar; the
  // end-of-sequence ids are allowed exactly when the document is complete.
  VocabularyMasker(const text::Tokenizer& tokenizer, std::vector<int32_t> end_ids,
                   int64_t vocab_size);

  // The tokens allowed after `state`. The reference stays valid until the next call.
  const TokenMask& allowed(const JsonMatcher& state);
  // The bytes a token adds to the text (what the matcher must be fed after sampling it).
  const std::string& token_bytes(int32_t id) const { return token_bytes_[id]; }
  bool is_end(int32_t id) const;
  int64_t vocab_size() const { return vocab_size_; }
  size_t cache_size() const { return cache_.size(); }

 private:
  struct Node {
    uint32_t first_edge = 0, edge_count = 0;    // into edges_
    uint32_t first_token = 0, token_count = 0;  // into node_tokens_
  };
  void walk(uint32_t node, size_t depth, TokenMask& mask);

  int64_t vocab_size_;
  std::vector<std::string> token_bytes_;
  std::vector<int32_t> end_ids_;
  std::vector<Node> nodes_;
  std::vector<std::pair<uint8_t, uint32_t>> edges_;  // (byte, child), sorted per node
  std::vector<int32_t> node_tokens_;
  std::vector<JsonMatcher> states_;  // the matcher at each trie depth during a walk
  std::unordered_map<std::string, TokenMask> cache_;
  std::string key_;
};

}  // namespace tessera::serve
