#pragma once
// Hashes the data pipeline relies on for identity and for reproducible decisions:
// SHA-256 names the exact tokenizer file a dataset was built with (users can check it with
// `sha256sum`), and a seeded 64-bit hash of a document's bytes decides its train/valid split,
// so the decision depends only on the text and the seed, never on file order or threads.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::train {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t nbytes);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // The digest as 64 lowercase hex digits; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view bytes);
// Hashes a whole file; throws BadInput naming the path when it cannot be read.
std::string sha256_file_hex(const std::string& path);

// FNV-1a over the bytes, started from a seed-dependent basis and finished with a
// splitmix64 avalanche so that nearby seeds give unrelated values. Stable across versions:
// changing it would change every corpus split.
uint64_t seeded_hash64(std::string_view bytes, uint64_t seed);

// Maps a hash to [0, 1) with 53 bits of precision (for fraction thresholds).
inline double hash_to_unit(uint64_t hash) {
  return static_cast<double>(hash >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace tessera::train
