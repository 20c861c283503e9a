#pragma once
// Flat open-addressing hash tables for the BPE hot path: token bytes -> id, and an adjacent
// id pair -> (merge rank, merged id). std::unordered_map costs a node allocation per entry
// and a pointer chase per probe; these keep everything in two contiguous arrays.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::text {

// A 64-bit hash of a byte string (multiply-xorshift over 8-byte words).
inline uint64_t hash_bytes(std::string_view bytes) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0x51ED270B27DEFA13ull ^ (bytes.size() * kMul);
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

// Byte string -> non-negative id. Keys live in one arena string.
class TokenIndex {
 public:
  void reserve(size_t count) {
    size_t capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    rehash(capacity);
  }

  // Inserts or overwrites; returns false if the key was already present (value replaced).
  bool insert(std::string_view key, int32_t id) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    Slot& slot = probe(key);
    if (slot.id >= 0) {
      slot.id = id;
      return false;
    }
    slot.offset = static_cast<uint32_t>(arena_.size());
    slot.length = static_cast<uint32_t>(key.size());
    slot.id = id;
    arena_.append(key);
    ++size_;
    return true;
  }

  // Returns -1 when absent.
  int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash_bytes(key) & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.id < 0) return -1;
      if (slot.length == key.size() &&
          std::memcmp(arena_.data() + slot.offset, key.data(), key.size()) == 0)
        return slot.id;
    }
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint32_t offset = 0;
    uint32_t length = 0;
    int32_t id = -1;
  };

  Slot& probe(std::string_view key) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash_bytes(key) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.id < 0) return slot;
      if (slot.length == key.size() &&
          std::memcmp(arena_.data() + slot.offset, key.data(), key.size()) == 0)
        return slot;
    }
  }

  void rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    const size_t mask = capacity - 1;
    for (const Slot& slot : old) {
      if (slot.id < 0) continue;
      const std::string_view key(arena_.data() + slot.offset, slot.length);
      size_t i = hash_bytes(key) & mask;
      while (slots_[i].id >= 0) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t size_ = 0;
};

// (left id, right id) -> (rank, merged id): the BPE merge table.
class MergeTable {
 public:
  struct Merge {
    uint32_t rank;
    int32_t merged_id;
  };
  static constexpr uint32_t kNoRank = UINT32_MAX;

  void reserve(size_t count) {
    size_t capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    rehash(capacity);
  }

  // Later insertions of the same pair replace earlier ones (the HF loader's behaviour).
  void insert(int32_t left, int32_t right, uint32_t rank, int32_t merged_id) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    const uint64_t key = pack(left, right);
    const size_t mask = slots_.size() - 1;
    for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.merge.rank == kNoRank) {
        slot = {key, {rank, merged_id}};
        ++size_;
        return;
      }
      if (slot.key == key) {
        slot.merge = {rank, merged_id};
        return;
      }
    }
  }

  // Returns {kNoRank, -1} when the pair does not merge.
  Merge find(int32_t left, int32_t right) const {
    if (slots_.empty()) return {kNoRank, -1};
    const uint64_t key = pack(left, right);
    const size_t mask = slots_.size() - 1;
    for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.merge.rank == kNoRank) return {kNoRank, -1};
      if (slot.key == key) return slot.merge;
    }
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key = 0;
    Merge merge{kNoRank, -1};
  };
  static uint64_t pack(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  static uint64_t mix(uint64_t key) {
    key ^= key >> 33;
    key *= 0xFF51AFD7ED558CCDull;
    key ^= key >> 33;
    return key;
  }
  void rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    const size_t mask = capacity - 1;
    for (const Slot& slot : old) {
      if (slot.merge.rank == kNoRank) continue;
      size_t i = mix(slot.key) & mask;
      while (slots_[i].merge.rank != kNoRank) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace tessera::text
