#pragma once
// A seeded counter-based generator (Philox4x32-10, Salmon et al. 2011). Element i of a draw
// depends only on (seed, offset + i), never on how the work is split over threads, so the
// same seed gives the same run at any --threads.
#include <array>
#include <cstdint>
#include <vector>

#include "tessera/core/tensor.h"

namespace tessera {

// Four 32-bit random words for a 128-bit counter under a 64-bit key.
std::array<uint32_t, 4> philox4x32(uint64_t counter_lo, uint64_t counter_hi, uint64_t key);

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  // The whole state: restoring (seed, offset) continues the exact sequence (checkpoints).
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }

  // Each call consumes `n` counters.
  void fill_uniform(float* out, int64_t n, float low, float high);
  void fill_uniform(double* out, int64_t n, double low, double high);
  void fill_normal(float* out, int64_t n, float mean, float stddev);
  void fill_normal(double* out, int64_t n, double mean, double stddev);

  uint64_t next_u64();
  double next_double();                      // [0, 1)
  int64_t randint(int64_t low, int64_t high);  // [low, high), unbiased

  template <typename T>
  void shuffle(std::vector<T>& items) {  // Fisher-Yates
    for (int64_t i = static_cast<int64_t>(items.size()) - 1; i > 0; --i) {
      std::swap(items[i], items[randint(0, i + 1)]);
    }
  }

 private:
  uint64_t take(int64_t n) {
    uint64_t start = offset_;
    offset_ += static_cast<uint64_t>(n);
    return start;
  }
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide generator that `--seed` seeds.
Generator& default_generator();

// Tensors of random values (f32 or f64).
Tensor rand_uniform(const Shape& shape, double low, double high, Generator& gen,
                    DType dtype = DType::f32);
Tensor rand_normal(const Shape& shape, double mean, double stddev, Generator& gen,
                   DType dtype = DType::f32);
// 1 with probability p, else 0, in the given floating dtype.
Tensor bernoulli(const Shape& shape, double p, Generator& gen, DType dtype = DType::f32);
// Integers uniform in [low, high), i64.
Tensor randint(const Shape& shape, int64_t low, int64_t high, Generator& gen);

}  // namespace tessera
