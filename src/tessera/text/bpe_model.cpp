#include "tessera/text/bpe_model.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <queue>

#include "tessera/core/error.h"
#include "tessera/text/utf8.h"

namespace tessera::text {

// Pre-token -> ids. Each thread owns a direct-mapped table of fixed-size slots: no locks
// while batch encoding in parallel, no allocation per entry, and a slot costs one probe. A
// slot records which model filled it (a process-unique serial), so tokenizers never see each
// other's entries. Only short pre-tokens with short results are cached; the rest are merged.
class EncodeCache {
 public:
  static constexpr size_t kMaxKeyBytes = 30;
  static constexpr size_t kMaxIds = 8;

  explicit EncodeCache(size_t capacity) {
    size_t slots = 1;
    while (slots < capacity) slots *= 2;
    mask_ = slots - 1;
    static std::atomic<uint32_t> next_serial{1};
    serial_ = next_serial.fetch_add(1);
  }

  bool lookup(std::string_view key, uint64_t hash, std::vector<int32_t>& out) const {
    const Slot& slot = table()[hash & mask_];
    if (slot.serial != serial_ || slot.hash != hash || slot.key_length != key.size() ||
        std::memcmp(slot.key, key.data(), key.size()) != 0)
      return false;
    out.insert(out.end(), slot.ids, slot.ids + slot.id_count);
    return true;
  }

  void insert(std::string_view key, uint64_t hash, const int32_t* ids, size_t count) {
    if (key.size() > kMaxKeyBytes || count > kMaxIds) return;
    Slot& slot = table()[hash & mask_];
    slot.serial = serial_;
    slot.hash = hash;
    slot.key_length = static_cast<uint8_t>(key.size());
    slot.id_count = static_cast<uint8_t>(count);
    std::memcpy(slot.key, key.data(), key.size());
    std::memcpy(slot.ids, ids, count * sizeof(int32_t));
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t serial = 0;  // 0: empty
    uint8_t key_length = 0;
    uint8_t id_count = 0;
    char key[kMaxKeyBytes];
    int32_t ids[kMaxIds];
  };
  // The calling thread's table, sized for the largest cache it has served.
  Slot* table() const {
    thread_local std::vector<Slot> slots;
    if (slots.size() < mask_ + 1) slots.assign(mask_ + 1, Slot{});
    return slots.data();
  }

  size_t mask_ = 0;
  uint32_t serial_ = 0;
};

namespace {

// Below this many initial symbols a linear scan for the best pair beats a heap.
constexpr size_t kScanMergeLimit = 48;

std::vector<int32_t>& symbol_scratch() {
  thread_local std::vector<int32_t> symbols;
  return symbols;
}

}  // namespace

BpeModel::~BpeModel() = default;

void BpeModel::set_token(int32_t id, std::string spelling, std::string bytes) {
  if (static_cast<size_t>(id) >= spellings_.size()) {
    spellings_.resize(id + 1);
    bytes_.resize(id + 1);
    defined_.resize(id + 1, false);
  }
  spellings_[id] = std::move(spelling);
  bytes_[id] = std::move(bytes);
  defined_[id] = true;
}

void BpeModel::finish_setup() {
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  std::fill(std::begin(byte_fallback_ids_), std::end(byte_fallback_ids_), -1);
  for (int b = 0; b < 256; ++b) {
    if (options_.byte_level)
      byte_ids_[b] = bytes_index_.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
    if (options_.byte_fallback) {
      byte_fallback_ids_[b] = spelling_to_id(fmt::format("<0x{:02X}>", b));
    }
  }
  if (options_.unk_token) unk_id_ = spelling_to_id(*options_.unk_token);
  simple_byte_symbols_ = options_.byte_level && options_.continuing_subword_prefix.empty() &&
                         options_.end_of_word_suffix.empty();
  if (options_.cache_capacity > 0) cache_ = std::make_unique<EncodeCache>(options_.cache_capacity);
}

std::shared_ptr<BpeModel> BpeModel::from_merges(const Vocab& vocab, const Merges& merges,
                                                BpeModelOptions options) {
  std::shared_ptr<BpeModel> model(new BpeModel());
  model->options_ = std::move(options);
  const bool byte_level = model->options_.byte_level;
  model->bytes_index_.reserve(vocab.size());
  if (byte_level) model->spelling_index_.reserve(vocab.size());
  std::string raw;
  for (const auto& [spelling, id] : vocab) {
    TESSERA_CHECK_INPUT(id >= 0, "vocabulary entry '{}' has negative id {}", spelling, id);
    // Spellings outside the byte-level alphabet can never be produced from bytes; they keep
    // their spelling as their bytes (e.g. "<|endoftext|>" listed in the vocabulary).
    if (byte_level && !byte_level_to_bytes(spelling, raw)) raw = spelling;
    std::string bytes = byte_level ? raw : spelling;
    model->bytes_index_.insert(bytes, id);
    if (byte_level) model->spelling_index_.insert(spelling, id);
    model->set_token(id, spelling, std::move(bytes));
  }
  const std::string& prefix = model->options_.continuing_subword_prefix;
  model->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const int32_t left_id = model->spelling_to_id(left);
    const int32_t right_id = model->spelling_to_id(right);
    TESSERA_CHECK_INPUT(left_id >= 0, "merge #{} '{} {}': '{}' is not in the vocabulary", rank,
                        left, right, left);
    TESSERA_CHECK_INPUT(right_id >= 0, "merge #{} '{} {}': '{}' is not in the vocabulary", rank,
                        left, right, right);
    // With a continuing-subword prefix ("##"), "a" + "##b" merges into "ab".
    const bool strip_prefix = !prefix.empty() && right.starts_with(prefix);
    const std::string merged = left + (strip_prefix ? right.substr(prefix.size()) : right);
    const int32_t merged_id = model->spelling_to_id(merged);
    TESSERA_CHECK_INPUT(merged_id >= 0,
                        "merge #{} '{} {}': the merged token '{}' is not in the vocabulary", rank,
                        left, right, merged);
    model->merges_.insert(left_id, right_id, static_cast<uint32_t>(rank), merged_id);
  }
  model->finish_setup();
  return model;
}

std::shared_ptr<BpeModel> BpeModel::from_ranks(const Vocab& token_bytes_with_ranks,
                                               size_t cache_capacity) {
  std::shared_ptr<BpeModel> model(new BpeModel());
  model->options_.byte_level = true;
  model->options_.ignore_merges = true;  // tiktoken emits a pre-token that is a token whole
  model->options_.cache_capacity = cache_capacity;
  model->bytes_index_.reserve(token_bytes_with_ranks.size());
  model->spelling_index_.reserve(token_bytes_with_ranks.size());
  for (const auto& [bytes, rank] : token_bytes_with_ranks) {
    TESSERA_CHECK_INPUT(rank >= 0, "negative rank {}", rank);
    TESSERA_CHECK_INPUT(!bytes.empty(), "rank {} has an empty token", rank);
    TESSERA_CHECK_INPUT(model->bytes_index_.insert(bytes, rank),
                        "rank {}: the same token bytes appear twice", rank);
    std::string spelling = bytes_to_byte_level(bytes);
    model->spelling_index_.insert(spelling, rank);
    model->set_token(rank, std::move(spelling), bytes);
  }
  // A pair of adjacent parts merges exactly when their concatenation is a token; list every
  // split of every token into two tokens so the merge engine needs only pair lookups.
  for (const auto& [bytes, rank] : token_bytes_with_ranks) {
    const std::string_view whole = bytes;
    for (size_t split = 1; split < whole.size(); ++split) {
      const int32_t left = model->bytes_index_.find(whole.substr(0, split));
      if (left < 0) continue;
      const int32_t right = model->bytes_index_.find(whole.substr(split));
      if (right < 0) continue;
      model->merges_.insert(left, right, static_cast<uint32_t>(rank), rank);
    }
  }
  model->finish_setup();
  return model;
}

const std::string& BpeModel::token_spelling(int32_t id) const {
  static const std::string empty;
  return has_id(id) ? spellings_[id] : empty;
}

const std::string& BpeModel::token_bytes(int32_t id) const {
  static const std::string empty;
  return has_id(id) ? bytes_[id] : empty;
}

int32_t BpeModel::spelling_to_id(std::string_view spelling) const {
  return options_.byte_level ? spelling_index_.find(spelling) : bytes_index_.find(spelling);
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<int32_t>& symbols) const {
  symbols.clear();
  if (simple_byte_symbols_) {
    bool all_known = true;
    for (char c : piece) {
      const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
      symbols.push_back(id);
      all_known &= id >= 0;
    }
    if (all_known) return;
    symbols.clear();  // an incomplete byte alphabet: take the general path below
  }
  const std::string& prefix = options_.continuing_subword_prefix;
  const std::string& suffix = options_.end_of_word_suffix;
  std::string key;
  bool previous_was_unk = false;
  for (size_t pos = 0; pos < piece.size();) {
    const size_t length = options_.byte_level ? 1 : utf8_unit_length(piece, pos);
    const std::string_view unit = piece.substr(pos, length);
    const bool last = pos + length == piece.size();
    key.clear();
    if (pos > 0) key += prefix;
    key += unit;
    if (last) key += suffix;
    pos += length;
    if (const int32_t id = bytes_index_.find(key); id >= 0) {
      symbols.push_back(id);
      previous_was_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all_bytes = true;
      for (char c : unit) all_bytes &= byte_fallback_ids_[static_cast<uint8_t>(c)] >= 0;
      if (all_bytes) {
        for (char c : unit) symbols.push_back(byte_fallback_ids_[static_cast<uint8_t>(c)]);
        previous_was_unk = false;
        continue;
      }
    }
    // Unknown: one unk (fused with a preceding unk when asked), or dropped without one.
    if (unk_id_ >= 0 && !(options_.fuse_unk && previous_was_unk)) symbols.push_back(unk_id_);
    previous_was_unk = unk_id_ >= 0;
  }
}

void BpeModel::merge_symbols(std::vector<int32_t>& symbols, bool force_heap) const {
  if (symbols.size() < 2 || merges_.size() == 0) return;
  if (!force_heap && symbols.size() <= kScanMergeLimit)
    merge_by_scan(symbols);
  else
    merge_by_heap(symbols);
}

// Repeatedly merges the leftmost pair of lowest rank; O(n^2) but with tiny constants.
void BpeModel::merge_by_scan(std::vector<int32_t>& symbols) const {
  MergeTable::Merge pairs[kScanMergeLimit];
  size_t count = symbols.size();
  for (size_t i = 0; i + 1 < count; ++i) pairs[i] = merges_.find(symbols[i], symbols[i + 1]);
  while (count > 1) {
    uint32_t best_rank = MergeTable::kNoRank;
    size_t best = 0;
    for (size_t i = 0; i + 1 < count; ++i) {
      if (pairs[i].rank < best_rank) {
        best_rank = pairs[i].rank;
        best = i;
      }
    }
    if (best_rank == MergeTable::kNoRank) break;
    symbols[best] = pairs[best].merged_id;
    std::copy(symbols.begin() + best + 2, symbols.begin() + count, symbols.begin() + best + 1);
    std::copy(pairs + best + 1, pairs + count - 1, pairs + best);
    --count;
    if (best > 0) pairs[best - 1] = merges_.find(symbols[best - 1], symbols[best]);
    if (best + 1 < count) pairs[best] = merges_.find(symbols[best], symbols[best + 1]);
  }
  symbols.resize(count);
}

// The same merge order as merge_by_scan in O(n log n): symbols form a linked list, candidate
// pairs sit in a min-heap keyed by (rank, position), and a popped candidate whose two
// symbols have changed since it was pushed is skipped (lazy invalidation).
void BpeModel::merge_by_heap(std::vector<int32_t>& symbols) const {
  struct Node {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  struct Candidate {
    uint32_t rank;
    uint32_t position;
    int32_t left_id;
    int32_t right_id;
    int32_t merged_id;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : position > other.position;
    }
  };
  const auto n = static_cast<int32_t>(symbols.size());
  std::vector<Node> nodes(n);
  for (int32_t i = 0; i < n; ++i) nodes[i] = {symbols[i], i - 1, i + 1 < n ? i + 1 : -1};
  std::vector<Candidate> storage;
  storage.reserve(n);
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap(std::greater<>{},
                                                                              std::move(storage));
  const auto push_pair = [&](int32_t left) {
    if (left < 0 || nodes[left].next < 0) return;
    const int32_t right_id = nodes[nodes[left].next].id;
    const auto merge = merges_.find(nodes[left].id, right_id);
    if (merge.rank != MergeTable::kNoRank)
      heap.push(
          {merge.rank, static_cast<uint32_t>(left), nodes[left].id, right_id, merge.merged_id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    Node& left = nodes[top.position];
    if (left.id != top.left_id || left.next < 0) continue;
    Node& right = nodes[left.next];
    if (right.id != top.right_id) continue;
    left.id = top.merged_id;
    right.id = -1;  // removed; ids are never negative, so stale candidates fail the check
    left.next = right.next;
    if (right.next >= 0) nodes[right.next].prev = static_cast<int32_t>(top.position);
    push_pair(left.prev);
    push_pair(static_cast<int32_t>(top.position));
  }
  symbols.clear();
  for (int32_t i = 0; i >= 0; i = nodes[i].next) symbols.push_back(nodes[i].id);
}

void BpeModel::encode_piece_uncached(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    if (const int32_t id = bytes_index_.find(piece); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  auto& symbols = symbol_scratch();
  initial_symbols(piece, symbols);
  merge_symbols(symbols, false);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeModel::encode_piece_with_heap(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  std::vector<int32_t> symbols;
  initial_symbols(piece, symbols);
  merge_symbols(symbols, true);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    if (const int32_t id = bytes_index_.find(piece); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  // One- and two-byte pre-tokens are cheaper to merge than to look up.
  const bool cacheable = cache_ && piece.size() > 2 && piece.size() <= EncodeCache::kMaxKeyBytes;
  const uint64_t hash = cacheable ? hash_bytes(piece) : 0;
  if (cacheable && cache_->lookup(piece, hash, out)) return;
  auto& symbols = symbol_scratch();
  initial_symbols(piece, symbols);
  merge_symbols(symbols, false);
  if (cacheable) cache_->insert(piece, hash, symbols.data(), symbols.size());
  out.insert(out.end(), symbols.begin(), symbols.end());
}

}  // namespace tessera::text
