#include "tessera/mt/metrics_ngrams.h"

#include <algorithm>
#include <functional>

namespace tessera::mt {

namespace {
constexpr size_t kInitialCapacity = 256;

inline uint64_t mix(uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ULL;
  key ^= key >> 33;
  return key;
}
}  // namespace

void DenseKeyIds::reset() {
  if (keys_.empty()) {
    keys_.assign(kInitialCapacity, 0);
    ids_.assign(kInitialCapacity, 0);
    stamps_.assign(kInitialCapacity, 0);
  }
  if (++generation_ == 0) {  // the stamp wrapped: stale entries would look current
    std::fill(stamps_.begin(), stamps_.end(), 0);
    generation_ = 1;
  }
  size_ = 0;
}

uint32_t DenseKeyIds::intern(uint64_t key) {
  if ((size_ + 1) * 2 > keys_.size()) grow();
  size_t mask = keys_.size() - 1;
  for (size_t slot = mix(key) & mask;; slot = (slot + 1) & mask) {
    if (stamps_[slot] != generation_) {
      stamps_[slot] = generation_;
      keys_[slot] = key;
      ids_[slot] = size_;
      return size_++;
    }
    if (keys_[slot] == key) return ids_[slot];
  }
}

void DenseKeyIds::grow() {
  std::vector<uint64_t> old_keys = std::move(keys_);
  std::vector<uint32_t> old_ids = std::move(ids_);
  std::vector<uint32_t> old_stamps = std::move(stamps_);
  size_t capacity = old_keys.size() * 2;
  keys_.assign(capacity, 0);
  ids_.assign(capacity, 0);
  stamps_.assign(capacity, 0);
  size_t mask = capacity - 1;
  for (size_t i = 0; i < old_keys.size(); ++i) {
    if (old_stamps[i] != generation_) continue;
    size_t slot = mix(old_keys[i]) & mask;
    while (stamps_[slot] == generation_) slot = (slot + 1) & mask;
    stamps_[slot] = generation_;
    keys_[slot] = old_keys[i];
    ids_[slot] = old_ids[i];
  }
}

void DenseStringIds::reset() {
  if (texts_.empty()) {
    texts_.assign(kInitialCapacity, {});
    hashes_.assign(kInitialCapacity, 0);
    ids_.assign(kInitialCapacity, 0);
    stamps_.assign(kInitialCapacity, 0);
  }
  if (++generation_ == 0) {
    std::fill(stamps_.begin(), stamps_.end(), 0);
    generation_ = 1;
  }
  size_ = 0;
}

uint32_t DenseStringIds::intern(std::string_view text) {
  if ((size_ + 1) * 2 > texts_.size()) grow();
  uint64_t hash = std::hash<std::string_view>{}(text);
  size_t mask = texts_.size() - 1;
  for (size_t slot = mix(hash) & mask;; slot = (slot + 1) & mask) {
    if (stamps_[slot] != generation_) {
      stamps_[slot] = generation_;
      texts_[slot] = text;
      hashes_[slot] = hash;
      ids_[slot] = size_;
      return size_++;
    }
    if (hashes_[slot] == hash && texts_[slot] == text) return ids_[slot];
  }
}

void DenseStringIds::grow() {
  std::vector<std::string_view> old_texts = std::move(texts_);
  std::vector<uint64_t> old_hashes = std::move(hashes_);
  std::vector<uint32_t> old_ids = std::move(ids_);
  std::vector<uint32_t> old_stamps = std::move(stamps_);
  size_t capacity = old_texts.size() * 2;
  texts_.assign(capacity, {});
  hashes_.assign(capacity, 0);
  ids_.assign(capacity, 0);
  stamps_.assign(capacity, 0);
  size_t mask = capacity - 1;
  for (size_t i = 0; i < old_texts.size(); ++i) {
    if (old_stamps[i] != generation_) continue;
    size_t slot = mix(old_hashes[i]) & mask;
    while (stamps_[slot] == generation_) slot = (slot + 1) & mask;
    stamps_[slot] = generation_;
    texts_[slot] = old_texts[i];
    hashes_[slot] = old_hashes[i];
    ids_[slot] = old_ids[i];
  }
}

void NgramIndex::reset(int max_order) {
  max_order_ = max_order;
  unigram_bound_ = 0;
  if (higher_orders_.size() < static_cast<size_t>(std::max(0, max_order - 1))) {
    higher_orders_.resize(static_cast<size_t>(max_order - 1));
  }
  for (auto& ids : higher_orders_) ids.reset();
}

void NgramIndex::index(const std::vector<uint32_t>& token_ids,
                       std::vector<std::vector<uint32_t>>& ids_by_order) {
  if (max_order_ <= 0) return;
  if (ids_by_order.size() < static_cast<size_t>(max_order_)) ids_by_order.resize(max_order_);
  auto& unigrams = ids_by_order[0];
  unigrams.assign(token_ids.begin(), token_ids.end());
  for (uint32_t id : token_ids) unigram_bound_ = std::max(unigram_bound_, id + 1);
  for (int order = 2; order <= max_order_; ++order) {
    const auto& shorter = ids_by_order[order - 2];
    auto& current = ids_by_order[order - 1];
    current.clear();
    DenseKeyIds& table = higher_orders_[order - 2];
    // The n-gram at i is (the (n-1)-gram at i) followed by token i + n - 1.
    for (size_t i = 0; i + order <= token_ids.size(); ++i) {
      uint64_t key = (static_cast<uint64_t>(shorter[i]) << 32) | token_ids[i + order - 1];
      current.push_back(table.intern(key));
    }
  }
}

uint32_t NgramIndex::distinct(int order) const {
  return order == 1 ? unigram_bound_ : higher_orders_[order - 2].size();
}

}  // namespace tessera::mt
