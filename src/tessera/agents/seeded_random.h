#pragma once
// The small seeded generator the environments draw from (SplitMix64, Steele et al. 2014).
// Environments need a few integers per episode, not tensors, and their episodes must replay
// bit-for-bit from a task id on any build, so they carry this self-contained generator
// rather than core's tensor-oriented Philox stream.
#include <cstdint>
#include <utility>
#include <vector>

namespace tessera::agents {

class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed = 0) : state_(seed) {}

  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [low, high), without modulo bias (rejection of the short last bucket).
  int64_t randint(int64_t low, int64_t high) {
    uint64_t span = static_cast<uint64_t>(high - low);
    if (span <= 1) return low;
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t draw;
    do {
      draw = next_u64();
    } while (draw >= limit);
    return low + static_cast<int64_t>(draw % span);
  }
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  bool chance(double probability) { return uniform() < probability; }
  template <typename T>
  void shuffle(std::vector<T>& items) {  // Fisher-Yates
    for (int64_t i = static_cast<int64_t>(items.size()) - 1; i > 0; --i) {
      std::swap(items[static_cast<size_t>(i)], items[static_cast<size_t>(randint(0, i + 1))]);
    }
  }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(randint(0, static_cast<int64_t>(items.size())))];
  }

 private:
  uint64_t state_;
};

}  // namespace tessera::agents
