#pragma once
// A Hugging Face model folder's weights as one set of tensors: sharded checkpoints
// (model.safetensors.index.json with its "weight_map"), a single model.safetensors, or a
// folder holding exactly one .safetensors file (as SAE releases ship them).
#include <string>
#include <unordered_map>
#include <vector>

#include "tessera/core/io/safetensors.h"

namespace tessera::io {

class SafetensorsFolder {
 public:
  // `path` is a folder (see above) or a single .safetensors file.
  static SafetensorsFolder open(const std::string& path);

  const std::string& path() const { return path_; }
  // The index file when the weights are sharded, else empty.
  const std::string& index_path() const { return index_path_; }
  // Tensor names, shard by shard, each shard's in file order.
  const std::vector<std::string>& names() const { return names_; }
  bool has(const std::string& name) const { return shard_of_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const { return shard(name).info(name); }
  Tensor get(const std::string& name, std::optional<DType> want = {}) const {
    return shard(name).get(name, want);
  }
  // The file holding `name` (its path as opened).
  const std::string& file_of(const std::string& name) const { return shard(name).source(); }
  const std::vector<SafetensorsFile>& files() const { return files_; }
  // The index's "metadata" (non-string values as their JSON text), or the single file's
  // __metadata__.
  const StringMetadata& metadata() const { return metadata_; }

 private:
  SafetensorsFolder() = default;
  const SafetensorsFile& shard(const std::string& name) const;
  void open_index(const std::string& folder, const std::string& index_path);
  void add_single_file(const std::string& file);

  std::string path_;
  std::string index_path_;
  std::vector<SafetensorsFile> files_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> shard_of_;
  StringMetadata metadata_;
};

// The weights of a model folder (or one .safetensors file); the entry point for loaders.
inline SafetensorsFolder open_model_weights(const std::string& path) {
  return SafetensorsFolder::open(path);
}

}  // namespace tessera::io
