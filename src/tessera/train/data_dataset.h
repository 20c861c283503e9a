#pragma once
// A token dataset opened for reading: index.json checked against the files on disk, shards
// memory-mapped, and the tokens seen as one stream across shards. Ids are checked against
// vocab_size as they are read (cheap, and a corrupt shard names itself the moment it is
// used); check_token_ids() scans everything up front.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tessera/core/storage.h"
#include "tessera/train/data_index.h"

namespace tessera::train {

class TokenDataset {
 public:
  // Opens a folder holding index.json. Throws BadInput naming the folder or file when the
  // index is missing or malformed, a shard is missing, or its size disagrees with the index.
  static TokenDataset open(const std::string& folder);

  const DatasetIndex& index() const { return index_; }
  const std::string& folder() const { return folder_; }
  int64_t num_tokens() const { return index_.num_tokens; }
  int64_t vocab_size() const { return index_.vocab_size; }
  // The tokenizer file the index names, usable as a path: a relative path in the index is
  // relative to the dataset folder (the corpus stores "../tokenizer.json" so it can move).
  // Empty when the index names none.
  std::string tokenizer_path() const;

  // Copies tokens [start, start + count) of the stream (across shards) into `out` as int32.
  // Throws BadInput naming the shard and position of any id >= vocab_size.
  void read(int64_t start, int64_t count, int32_t* out) const;
  std::vector<int32_t> read(int64_t start, int64_t count) const;

  // The raw ids of one shard, straight from the mapping (unchecked).
  std::span<const uint32_t> shard_tokens(size_t shard) const;
  // Global token offsets where documents start (documents.bin), in increasing order.
  std::vector<uint64_t> document_starts() const;

  // Scans every shard; throws BadInput naming the first id >= vocab_size, and checks that
  // documents.bin holds increasing offsets inside the stream.
  void check_token_ids() const;

 private:
  std::string folder_;
  DatasetIndex index_;
  std::vector<std::shared_ptr<MappedFile>> shards_;
};

// Resolves a split inside a data folder: `<folder>/<split>/index.json` when present (the
// layout `data build` and `data corpus` write), else `<folder>` itself when its index names
// that split. Throws BadInput saying what was looked for.
std::string find_split_folder(const std::string& folder, const std::string& split);

}  // namespace tessera::train
