#include "tessera/serve/token_mask.h"

#include <algorithm>
#include <bit>
#include <map>

namespace tessera::serve {

namespace {
// Bounded so that a run of schemas with ever-new states cannot grow memory without limit:
// 4096 masks of a 32k vocabulary are 16 MiB.
constexpr size_t kMaxCachedMasks = 4096;
}  // namespace

int64_t TokenMask::count() const {
  int64_t n = 0;
  for (uint64_t w : words_) n += std::popcount(w);
  return n;
}

VocabularyMasker::VocabularyMasker(const text::Tokenizer& tokenizer, std::vector<int32_t> end_ids,
                                   int64_t vocab_size)
    : vocab_size_(vocab_size), end_ids_(std::move(end_ids)) {
  token_bytes_.resize(static_cast<size_t>(vocab_size_));
  const int32_t tokenizer_size = tokenizer.vocab_size();
  // A temporary trie of maps, flattened afterwards into contiguous sorted edge lists.
  struct BuildNode {
    std::map<uint8_t, uint32_t> children;
    std::vector<int32_t> tokens;
  };
  std::vector<BuildNode> build(1);
  for (int32_t id = 0; id < vocab_size_ && id < tokenizer_size; ++id) {
    if (tokenizer.is_special(id)) continue;
    std::string bytes;
    try {
      const int32_t one[] = {id};
      bytes = tokenizer.decode(one, /*skip_special=*/false);
    } catch (const std::exception&) {
      continue;  // ids the tokenizer cannot spell (holes in the vocabulary) are never allowed
    }
    if (bytes.empty()) continue;
    token_bytes_[static_cast<size_t>(id)] = bytes;
    uint32_t node = 0;
    for (char c : bytes) {
      auto byte = static_cast<uint8_t>(c);
      auto it = build[node].children.find(byte);
      if (it == build[node].children.end()) {
        build.push_back({});
        it = build[node].children.emplace(byte, static_cast<uint32_t>(build.size() - 1)).first;
      }
      node = it->second;
    }
    build[node].tokens.push_back(id);
  }
  nodes_.resize(build.size());
  size_t max_depth = 0;
  for (const auto& bytes : token_bytes_) max_depth = std::max(max_depth, bytes.size());
  for (size_t i = 0; i < build.size(); ++i) {
    nodes_[i].first_edge = static_cast<uint32_t>(edges_.size());
    nodes_[i].edge_count = static_cast<uint32_t>(build[i].children.size());
    for (const auto& [byte, child] : build[i].children) edges_.emplace_back(byte, child);
    nodes_[i].first_token = static_cast<uint32_t>(node_tokens_.size());
    nodes_[i].token_count = static_cast<uint32_t>(build[i].tokens.size());
    node_tokens_.insert(node_tokens_.end(), build[i].tokens.begin(), build[i].tokens.end());
  }
  states_.reserve(max_depth + 1);
}

bool VocabularyMasker::is_end(int32_t id) const {
  return std::find(end_ids_.begin(), end_ids_.end(), id) != end_ids_.end();
}

void VocabularyMasker::walk(uint32_t node_index, size_t depth, TokenMask& mask) {
  const Node& node = nodes_[node_index];
  for (uint32_t e = 0; e < node.edge_count; ++e) {
    const auto& [byte, child] = edges_[node.first_edge + e];
    states_[depth + 1] = states_[depth];  // assignment reuses the vector's capacity
    if (!states_[depth + 1].feed(byte)) continue;
    const Node& reached = nodes_[child];
    for (uint32_t t = 0; t < reached.token_count; ++t)
      mask.set(node_tokens_[reached.first_token + t]);
    if (reached.edge_count > 0) walk(child, depth + 1, mask);
  }
}

const TokenMask& VocabularyMasker::allowed(const JsonMatcher& state) {
  key_.clear();
  const uint64_t grammar_id = state.grammar().id();
  key_.append(reinterpret_cast<const char*>(&grammar_id), sizeof(grammar_id));
  state.append_state_key(key_);
  if (auto it = cache_.find(key_); it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxCachedMasks) cache_.clear();
  TokenMask mask(vocab_size_);
  if (!state.finished()) {
    while (states_.size() < states_.capacity()) states_.push_back(state);
    if (states_.empty()) states_.push_back(state);
    states_[0] = state;
    walk(0, 0, mask);
  }
  if (state.accepting()) {
    for (int32_t id : end_ids_) {
      if (id >= 0 && id < vocab_size_) mask.set(id);
    }
  }
  return cache_.emplace(key_, std::move(mask)).first->second;
}

}  // namespace tessera::serve
