#include "tessera/train/data_shards.h"

#include <bit>
#include <filesystem>
#include <regex>

#include "tessera/core/error.h"
#include "tessera/core/io/atomic_file.h"

namespace tessera::train {
namespace fs = std::filesystem;

// Shards are the in-memory uint32 array written as is: valid only on little-endian hosts,
// which is every machine Tessera targets (x86-64, arm64).
static_assert(std::endian::native == std::endian::little,
              "token shards are written and mapped as little-endian uint32");

void remove_token_dataset_files(const std::string& folder) {
  if (!fs::is_directory(folder)) return;
  std::error_code error;
  fs::remove(fs::path(folder) / kIndexFileName, error);
  static const std::regex dataset_file(
      R"((tokens-\d+\.bin|documents\.bin|index\.json)(\.tmp-\d+)?)");
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(name, dataset_file)) {
      doomed.push_back(entry.path());
    }
  }
  for (const fs::path& path : doomed) {
    if (!fs::remove(path, error) && error) {
      throw bad_input("{}: cannot remove the old dataset file: {}", path.string(),
                      error.message());
    }
  }
}

ShardWriter::ShardWriter(std::string folder, int64_t shard_tokens, DatasetIndex index_template)
    : folder_(std::move(folder)), shard_tokens_(shard_tokens), index_(std::move(index_template)) {
  TESSERA_CHECK_INPUT(shard_tokens_ > 0, "shard size must be at least 1 token, got {}",
                      shard_tokens_);
  TESSERA_CHECK_INPUT(index_.vocab_size > 0, "vocab size must be positive, got {}",
                      index_.vocab_size);
  std::error_code error;
  fs::create_directories(folder_, error);
  TESSERA_CHECK_INPUT(!error && fs::is_directory(folder_), "{}: cannot create folder: {}",
                      folder_, error.message());
  remove_token_dataset_files(folder_);
  index_.num_tokens = 0;
  index_.num_documents = 0;
  index_.shards.clear();
  pending_.reserve(static_cast<size_t>(std::min<int64_t>(shard_tokens_, 1 << 24)));
}

void ShardWriter::add_document(std::span<const int32_t> ids) {
  TESSERA_CHECK(!finished_, "ShardWriter: add_document after finish");
  document_starts_.push_back(static_cast<uint64_t>(index_.num_tokens));
  ++index_.num_documents;
  for (int32_t id : ids) {
    TESSERA_CHECK_INPUT(id >= 0 && id < index_.vocab_size,
                        "token id {} in document {} is outside the vocabulary [0, {})", id,
                        index_.num_documents - 1, index_.vocab_size);
    pending_.push_back(static_cast<uint32_t>(id));
    ++index_.num_tokens;
    if (static_cast<int64_t>(pending_.size()) == shard_tokens_) flush_shard();
  }
}

void ShardWriter::flush_shard() {
  if (pending_.empty()) return;
  ShardInfo shard;
  shard.file = shard_file_name(index_.shards.size());
  shard.tokens = static_cast<int64_t>(pending_.size());
  shard.first_token = index_.num_tokens - shard.tokens;
  io::AtomicFileWriter writer((fs::path(folder_) / shard.file).string());
  writer.write(pending_.data(), pending_.size() * sizeof(uint32_t));
  writer.commit();
  index_.shards.push_back(std::move(shard));
  pending_.clear();
}

const DatasetIndex& ShardWriter::finish() {
  TESSERA_CHECK(!finished_, "ShardWriter: finish called twice");
  flush_shard();
  io::AtomicFileWriter documents((fs::path(folder_) / kDocumentsFileName).string());
  documents.write(document_starts_.data(), document_starts_.size() * sizeof(uint64_t));
  documents.commit();
  write_dataset_index(folder_, index_);
  finished_ = true;
  return index_;
}

}  // namespace tessera::train
