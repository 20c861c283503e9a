#pragma once
// The index of a token dataset folder (DESIGN.md "Files"): `index.json` beside shards
// `tokens-00000.bin`, ... of little-endian uint32 token ids and `documents.bin`, the
// little-endian uint64 global token offset at which each document starts. The index is
// written last and atomically, so a folder either has a complete index naming complete
// shards or no index at all.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::train {

inline constexpr const char* kDatasetFormatName = "tessera-token-dataset";
inline constexpr int kDatasetFormatVersion = 1;
inline constexpr const char* kIndexFileName = "index.json";
inline constexpr const char* kDocumentsFileName = "documents.bin";

struct ShardInfo {
  std::string file;     // name inside the dataset folder, e.g. tokens-00000.bin
  int64_t tokens = 0;   // the file holds exactly 4 * tokens bytes
  int64_t first_token;  // global offset of its first token (sum of earlier shards)
};

struct TokenizerInfo {
  std::string path;    // absolute, or relative to the dataset folder
  std::string sha256;  // of the tokenizer file's bytes
};

struct DatasetIndex {
  std::string split = "train";
  int64_t vocab_size = 0;              // every id is < vocab_size
  std::optional<int32_t> eos_token_id;  // set when documents end with an end-of-document id
  int64_t num_tokens = 0;
  int64_t num_documents = 0;
  std::vector<ShardInfo> shards;
  TokenizerInfo tokenizer;
  nlohmann::json creation;  // the parameters the dataset was built with, for the record

  nlohmann::json to_json() const;
  // Checks structure and internal consistency (shard offsets and totals); throws BadInput
  // naming `source` (the file) and the field that is wrong.
  static DatasetIndex from_json(const nlohmann::json& json, const std::string& source);
};

// `tokens-00042.bin` for shard 42.
std::string shard_file_name(size_t shard);

// Reads and checks `<folder>/index.json`, then checks that each shard exists with the byte
// size the index gives and that documents.bin has one uint64 per document.
DatasetIndex read_dataset_index(const std::string& folder);
// Writes `<folder>/index.json` atomically.
void write_dataset_index(const std::string& folder, const DatasetIndex& index);

}  // namespace tessera::train
