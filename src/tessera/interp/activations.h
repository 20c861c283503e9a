#pragma once
// Activation datasets for SAE training: rows of d floats. Two on-disk forms are read:
//  - a harvest folder (`sae harvest`): index.json {"format": "tessera-sae-activations",
//    "d", "dtype": "f32"|"bf16", "rows", "shards": [{"file", "rows"}], model/layer/site...}
//    with f32 shards as .npy files and bf16 shards as raw little-endian .bf16 files;
//  - any folder of float32 .npy files shaped [N, d] (or one such file), so activations
//    harvested elsewhere can be brought in.
// Shards are memory-mapped; rows are gathered by index (training shuffles).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/core/tensor.h"

namespace tessera::interp {

class ActivationSource {
 public:
  virtual ~ActivationSource() = default;
  virtual int64_t rows() const = 0;
  virtual int64_t d() const = 0;
  // Copies rows row_ids[0..count) (any order, each < rows()) into out [count, d] as f32.
  virtual void gather(const int64_t* row_ids, int64_t count, float* out) const = 0;
  // Contiguous rows [start, start + count).
  void read(int64_t start, int64_t count, float* out) const;
  // What the harvest recorded (model, layer, site, ...); empty for plain .npy folders.
  const nlohmann::json& metadata() const { return metadata_; }
  void set_metadata(nlohmann::json metadata) { metadata_ = std::move(metadata); }

 protected:
  nlohmann::json metadata_ = nlohmann::json::object();
};

// Rows held in memory (tests, online training from a model).
class MemoryActivations : public ActivationSource {
 public:
  MemoryActivations(std::vector<float> values, int64_t d);
  int64_t rows() const override { return rows_; }
  int64_t d() const override { return d_; }
  void gather(const int64_t* row_ids, int64_t count, float* out) const override;
  const std::vector<float>& values() const { return values_; }

 private:
  std::vector<float> values_;
  int64_t d_, rows_;
};

// Opens a harvest folder, a folder of .npy files or one .npy file. BadInput naming the path
// when it is none of these, a shard is missing or truncated, or widths disagree.
std::unique_ptr<ActivationSource> open_activations(const std::string& path);

// Writes a harvest folder shard by shard (each atomically); finish() writes index.json last,
// so a folder with an index always has all its shards.
class ActivationWriter {
 public:
  ActivationWriter(std::string folder, int64_t d, bool bf16, int64_t shard_rows,
                   nlohmann::json metadata = nlohmann::json::object());
  void append(const float* rows, int64_t count);
  int64_t rows_written() const { return rows_; }
  void finish();

 private:
  void flush();
  std::string folder_;
  int64_t d_;
  bool bf16_;
  int64_t shard_rows_;
  nlohmann::json metadata_;
  std::vector<float> pending_;
  nlohmann::json shards_ = nlohmann::json::array();
  int64_t rows_ = 0;
  bool finished_ = false;
};

}  // namespace tessera::interp
