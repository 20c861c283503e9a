#pragma once
// Exact n-gram bookkeeping for one segment at a time. Python's Counter keys n-grams by their
// text; here each distinct token (or character) gets a dense id and each distinct n-gram of
// order n gets a dense id built from (id of its first n-1 tokens, id of its last token), so
// counting is array indexing and no hash collision can ever merge two n-grams. Tables are
// reset between segments by bumping a generation stamp instead of clearing memory.
#include <cstdint>
#include <string_view>
#include <vector>

namespace tessera::mt {

// Maps 64-bit keys to dense ids 0, 1, 2... in first-seen order (open addressing).
class DenseKeyIds {
 public:
  void reset();
  uint32_t intern(uint64_t key);
  uint32_t size() const { return size_; }

 private:
  void grow();
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> ids_;
  std::vector<uint32_t> stamps_;
  uint32_t generation_ = 0;
  uint32_t size_ = 0;
};

// Maps strings (views that must outlive the segment) to dense ids in first-seen order.
class DenseStringIds {
 public:
  void reset();
  uint32_t intern(std::string_view text);
  uint32_t size() const { return size_; }

 private:
  void grow();
  std::vector<std::string_view> texts_;
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> ids_;
  std::vector<uint32_t> stamps_;
  uint32_t generation_ = 0;
  uint32_t size_ = 0;
};

// Ids of the n-grams of several token sequences of one segment, one id space per order.
class NgramIndex {
 public:
  void reset(int max_order);
  // Appends, for each order n = 1..max_order, the ids of the n-grams of `token_ids` in order
  // of position to `ids_by_order[n - 1]` (cleared first). Unigram ids are the token ids.
  void index(const std::vector<uint32_t>& token_ids,
             std::vector<std::vector<uint32_t>>& ids_by_order);
  // Number of distinct ids of order n seen since reset (unigrams: 1 + the largest token id).
  uint32_t distinct(int order) const;

 private:
  int max_order_ = 0;
  uint32_t unigram_bound_ = 0;
  std::vector<DenseKeyIds> higher_orders_;  // order n >= 2 at index n - 2
};

// Scratch counts indexed by id, cleared by walking the ids that were touched.
class SparseCounts {
 public:
  void resize(uint32_t size) {
    if (counts_.size() < size) counts_.resize(size, 0);
  }
  // Returns the count before the increment.
  uint32_t add(uint32_t id) {
    if (counts_[id] == 0) touched_.push_back(id);
    return counts_[id]++;
  }
  uint32_t get(uint32_t id) const { return id < counts_.size() ? counts_[id] : 0; }
  void set(uint32_t id, uint32_t value) {
    if (counts_[id] == 0 && value != 0) touched_.push_back(id);
    counts_[id] = value;
  }
  // Ids with a non-zero count, in first-touched order.
  const std::vector<uint32_t>& touched() const { return touched_; }
  void clear() {
    for (uint32_t id : touched_) counts_[id] = 0;
    touched_.clear();
  }

 private:
  std::vector<uint32_t> counts_;
  std::vector<uint32_t> touched_;
};

}  // namespace tessera::mt
