#include "tessera/train/data_dataset.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "tessera/core/error.h"

namespace tessera::train {
namespace fs = std::filesystem;

TokenDataset TokenDataset::open(const std::string& folder) {
  TokenDataset dataset;
  dataset.folder_ = folder;
  dataset.index_ = read_dataset_index(folder);
  dataset.shards_.reserve(dataset.index_.shards.size());
  for (const ShardInfo& shard : dataset.index_.shards) {
    auto mapped = MappedFile::open((fs::path(folder) / shard.file).string());
    // The file could change between the index check and the mapping; check what was mapped.
    TESSERA_CHECK_INPUT(mapped->size() == static_cast<size_t>(shard.tokens) * 4,
                        "{}: {} bytes but the index says {} tokens", mapped->path(),
                        mapped->size(), shard.tokens);
    dataset.shards_.push_back(std::move(mapped));
  }
  return dataset;
}

std::string TokenDataset::tokenizer_path() const {
  const std::string& recorded = index_.tokenizer.path;
  if (recorded.empty() || fs::path(recorded).is_absolute()) return recorded;
  return (fs::path(folder_) / recorded).lexically_normal().string();
}

std::span<const uint32_t> TokenDataset::shard_tokens(size_t shard) const {
  TESSERA_CHECK(shard < shards_.size(), "shard {} out of range ({} shards)", shard,
                shards_.size());
  const MappedFile& file = *shards_[shard];
  return {reinterpret_cast<const uint32_t*>(file.data()), file.size() / 4};
}

void TokenDataset::read(int64_t start, int64_t count, int32_t* out) const {
  TESSERA_CHECK(start >= 0 && count >= 0 && start + count <= index_.num_tokens,
                "read [{}, {}) outside the {} tokens of {}", start, start + count,
                index_.num_tokens, folder_);
  if (count == 0) return;
  // The shard holding `start`: the last one whose first_token <= start.
  auto it = std::upper_bound(
      index_.shards.begin(), index_.shards.end(), start,
      [](int64_t position, const ShardInfo& shard) { return position < shard.first_token; });
  size_t shard = static_cast<size_t>(it - index_.shards.begin()) - 1;
  const uint32_t limit = static_cast<uint32_t>(std::min<int64_t>(index_.vocab_size, UINT32_MAX));
  while (count > 0) {
    const ShardInfo& info = index_.shards[shard];
    const int64_t offset = start - info.first_token;
    const int64_t take = std::min(count, info.tokens - offset);
    const uint32_t* ids = shard_tokens(shard).data() + offset;
    for (int64_t i = 0; i < take; ++i) {
      if (ids[i] >= limit) {
        throw bad_input("{}: token {} (position {} of the shard) is {}, not below vocab_size {}",
                        (fs::path(folder_) / info.file).string(), start + i, offset + i, ids[i],
                        index_.vocab_size);
      }
      out[i] = static_cast<int32_t>(ids[i]);
    }
    out += take;
    start += take;
    count -= take;
    ++shard;
  }
}

std::vector<int32_t> TokenDataset::read(int64_t start, int64_t count) const {
  std::vector<int32_t> ids(static_cast<size_t>(std::max<int64_t>(count, 0)));
  read(start, count, ids.data());
  return ids;
}

std::vector<uint64_t> TokenDataset::document_starts() const {
  auto file = MappedFile::open((fs::path(folder_) / kDocumentsFileName).string());
  TESSERA_CHECK_INPUT(file->size() == static_cast<size_t>(index_.num_documents) * 8,
                      "{}: {} bytes but the index says {} documents", file->path(),
                      file->size(), index_.num_documents);
  std::vector<uint64_t> starts(static_cast<size_t>(index_.num_documents));
  if (!starts.empty()) std::memcpy(starts.data(), file->data(), file->size());
  return starts;
}

void TokenDataset::check_token_ids() const {
  for (size_t shard = 0; shard < shards_.size(); ++shard) {
    std::span<const uint32_t> ids = shard_tokens(shard);
    for (size_t i = 0; i < ids.size(); ++i) {
      TESSERA_CHECK_INPUT(ids[i] < static_cast<uint64_t>(index_.vocab_size),
                          "{}: position {} holds id {}, not below vocab_size {}",
                          (fs::path(folder_) / index_.shards[shard].file).string(), i, ids[i],
                          index_.vocab_size);
    }
  }
  const std::vector<uint64_t> starts = document_starts();
  for (size_t i = 0; i < starts.size(); ++i) {
    const bool in_order = i == 0 ? starts[i] == 0 : starts[i] >= starts[i - 1];
    TESSERA_CHECK_INPUT(in_order && starts[i] <= static_cast<uint64_t>(index_.num_tokens),
                        "{}: document {} starts at {}, out of order or past the {} tokens",
                        (fs::path(folder_) / kDocumentsFileName).string(), i, starts[i],
                        index_.num_tokens);
  }
}

std::string find_split_folder(const std::string& folder, const std::string& split) {
  const fs::path nested = fs::path(folder) / split;
  if (fs::exists(nested / kIndexFileName)) return nested.string();
  if (fs::exists(fs::path(folder) / kIndexFileName)) {
    const DatasetIndex index = read_dataset_index(folder);
    TESSERA_CHECK_INPUT(index.split == split, "{}: holds split \"{}\", not \"{}\"", folder,
                        index.split, split);
    return folder;
  }
  throw bad_input("{}: no \"{}\" split (looked for {} and {})", folder, split,
                  (nested / kIndexFileName).string(),
                  (fs::path(folder) / kIndexFileName).string());
}

}  // namespace tessera::train
