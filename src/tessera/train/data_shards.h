#pragma once
// Writes a token dataset folder: documents go in one after another, full shards are written
// atomically as they fill, and finish() writes documents.bin and, last, index.json. Any
// index a previous run left is deleted before the first shard is written, so an interrupted
// run never leaves an index that names shards it did not write completely.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tessera/train/data_index.h"

namespace tessera::train {

class ShardWriter {
 public:
  // Creates `folder` if needed and clears what an earlier dataset left there (index, shards,
  // documents.bin, stale temporaries). `index_template` supplies split, vocab size, eos id,
  // tokenizer and creation parameters; counts and shards are filled in here.
  ShardWriter(std::string folder, int64_t shard_tokens, DatasetIndex index_template);
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // Appends one document's ids (each must be < vocab_size; throws BadInput otherwise).
  void add_document(std::span<const int32_t> ids);
  // Flushes the last shard, writes documents.bin and index.json; returns the index.
  const DatasetIndex& finish();

  int64_t tokens_written() const { return index_.num_tokens; }

 private:
  void flush_shard();

  std::string folder_;
  int64_t shard_tokens_;
  DatasetIndex index_;
  std::vector<uint32_t> pending_;         // tokens of the shard being filled
  std::vector<uint64_t> document_starts_;  // global offsets
  bool finished_ = false;
};

// Removes the files a token dataset consists of from `folder` (index first, so the folder
// stops being a dataset before its shards go). Leaves every other file alone.
void remove_token_dataset_files(const std::string& folder);

}  // namespace tessera::train
