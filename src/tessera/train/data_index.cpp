#include "tessera/train/data_index.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "tessera/core/error.h"
#include "tessera/core/io/atomic_file.h"

namespace tessera::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const json& require_field(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  TESSERA_CHECK_INPUT(it != object.end(), "{}: missing field \"{}\"", where, key);
  return *it;
}

int64_t require_count(const json& object, const char* key, const std::string& where) {
  const json& value = require_field(object, key, where);
  TESSERA_CHECK_INPUT(value.is_number_integer() && value.get<int64_t>() >= 0,
                      "{}: field \"{}\" must be a non-negative integer, got {}", where, key,
                      value.dump());
  return value.get<int64_t>();
}

std::string require_string(const json& object, const char* key, const std::string& where) {
  const json& value = require_field(object, key, where);
  TESSERA_CHECK_INPUT(value.is_string(), "{}: field \"{}\" must be a string, got {}", where,
                      key, value.dump());
  return value.get<std::string>();
}

// A shard name must stay inside the dataset folder.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos;
}

}  // namespace

std::string shard_file_name(size_t shard) { return fmt::format("tokens-{:05d}.bin", shard); }

json DatasetIndex::to_json() const {
  json shard_list = json::array();
  for (const ShardInfo& shard : shards) {
    shard_list.push_back({{"file", shard.file},
                          {"tokens", shard.tokens},
                          {"first_token", shard.first_token},
                          {"bytes", shard.tokens * 4}});
  }
  return json{
      {"format", kDatasetFormatName},
      {"version", kDatasetFormatVersion},
      {"split", split},
      {"dtype", "uint32"},
      {"byte_order", "little"},
      {"vocab_size", vocab_size},
      {"eos_token_id", eos_token_id ? json(*eos_token_id) : json(nullptr)},
      {"num_tokens", num_tokens},
      {"num_documents", num_documents},
      {"documents", {{"file", kDocumentsFileName}, {"dtype", "uint64"}, {"count", num_documents}}},
      {"shards", shard_list},
      {"tokenizer", {{"path", tokenizer.path}, {"sha256", tokenizer.sha256}}},
      {"creation", creation.is_null() ? json::object() : creation},
  };
}

DatasetIndex DatasetIndex::from_json(const json& root, const std::string& source) {
  TESSERA_CHECK_INPUT(root.is_object(), "{}: expected a JSON object", source);
  TESSERA_CHECK_INPUT(require_string(root, "format", source) == kDatasetFormatName,
                      "{}: field \"format\" is not \"{}\"", source, kDatasetFormatName);
  const int64_t version = require_count(root, "version", source);
  TESSERA_CHECK_INPUT(version == kDatasetFormatVersion,
                      "{}: format version {} is not supported (this build reads {})", source,
                      version, kDatasetFormatVersion);
  TESSERA_CHECK_INPUT(require_string(root, "dtype", source) == "uint32",
                      "{}: field \"dtype\" must be \"uint32\"", source);
  TESSERA_CHECK_INPUT(require_string(root, "byte_order", source) == "little",
                      "{}: field \"byte_order\" must be \"little\"", source);

  DatasetIndex index;
  index.split = require_string(root, "split", source);
  index.vocab_size = require_count(root, "vocab_size", source);
  TESSERA_CHECK_INPUT(index.vocab_size > 0 && index.vocab_size <= (int64_t(1) << 32),
                      "{}: field \"vocab_size\" must be in [1, 2^32], got {}", source,
                      index.vocab_size);
  const json& eos = require_field(root, "eos_token_id", source);
  if (!eos.is_null()) {
    TESSERA_CHECK_INPUT(eos.is_number_integer() && eos.get<int64_t>() >= 0 &&
                            eos.get<int64_t>() < index.vocab_size,
                        "{}: field \"eos_token_id\" must be null or an id below vocab_size {}, "
                        "got {}",
                        source, index.vocab_size, eos.dump());
    index.eos_token_id = eos.get<int32_t>();
  }
  index.num_tokens = require_count(root, "num_tokens", source);
  index.num_documents = require_count(root, "num_documents", source);

  const json& shard_list = require_field(root, "shards", source);
  TESSERA_CHECK_INPUT(shard_list.is_array(), "{}: field \"shards\" must be an array", source);
  int64_t running_total = 0;
  for (size_t i = 0; i < shard_list.size(); ++i) {
    const std::string where = fmt::format("{}: shards[{}]", source, i);
    TESSERA_CHECK_INPUT(shard_list[i].is_object(), "{}: expected an object", where);
    ShardInfo shard;
    shard.file = require_string(shard_list[i], "file", where);
    TESSERA_CHECK_INPUT(is_plain_file_name(shard.file),
                        "{}: file \"{}\" must be a plain name inside the dataset folder", where,
                        shard.file);
    shard.tokens = require_count(shard_list[i], "tokens", where);
    shard.first_token = require_count(shard_list[i], "first_token", where);
    TESSERA_CHECK_INPUT(shard.first_token == running_total,
                        "{}: first_token is {} but the earlier shards hold {} tokens", where,
                        shard.first_token, running_total);
    running_total += shard.tokens;
    index.shards.push_back(std::move(shard));
  }
  TESSERA_CHECK_INPUT(running_total == index.num_tokens,
                      "{}: shards hold {} tokens but num_tokens is {}", source, running_total,
                      index.num_tokens);

  const json& tokenizer = require_field(root, "tokenizer", source);
  TESSERA_CHECK_INPUT(tokenizer.is_object(), "{}: field \"tokenizer\" must be an object",
                      source);
  index.tokenizer.path = require_string(tokenizer, "path", source + ": tokenizer");
  index.tokenizer.sha256 = require_string(tokenizer, "sha256", source + ": tokenizer");
  if (auto it = root.find("creation"); it != root.end()) index.creation = *it;
  return index;
}

DatasetIndex read_dataset_index(const std::string& folder) {
  TESSERA_CHECK_INPUT(fs::is_directory(folder), "{}: not a dataset folder (no such directory)",
                      folder);
  const std::string index_path = (fs::path(folder) / kIndexFileName).string();
  std::ifstream in(index_path);
  TESSERA_CHECK_INPUT(in.good(), "{}: missing; not a token dataset folder (run `tessera data "
                                 "build` or an interrupted build left no index)",
                      index_path);
  std::stringstream text;
  text << in.rdbuf();
  json root = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  TESSERA_CHECK_INPUT(!root.is_discarded(), "{}: not valid JSON", index_path);
  DatasetIndex index = DatasetIndex::from_json(root, index_path);

  for (const ShardInfo& shard : index.shards) {
    const fs::path shard_path = fs::path(folder) / shard.file;
    std::error_code error;
    const auto size = fs::file_size(shard_path, error);
    TESSERA_CHECK_INPUT(!error, "{}: shard named by the index is missing", shard_path.string());
    TESSERA_CHECK_INPUT(size == static_cast<uintmax_t>(shard.tokens) * 4,
                        "{}: {} bytes but the index says {} tokens ({} bytes); the shard is "
                        "truncated or does not belong to this index",
                        shard_path.string(), size, shard.tokens, shard.tokens * 4);
  }
  const fs::path documents_path = fs::path(folder) / kDocumentsFileName;
  std::error_code error;
  const auto documents_size = fs::file_size(documents_path, error);
  TESSERA_CHECK_INPUT(!error, "{}: missing (the index names {} documents)",
                      documents_path.string(), index.num_documents);
  TESSERA_CHECK_INPUT(documents_size == static_cast<uintmax_t>(index.num_documents) * 8,
                      "{}: {} bytes but the index says {} documents ({} bytes)",
                      documents_path.string(), documents_size, index.num_documents,
                      index.num_documents * 8);
  return index;
}

void write_dataset_index(const std::string& folder, const DatasetIndex& index) {
  io::AtomicFileWriter writer((fs::path(folder) / kIndexFileName).string());
  writer.write(index.to_json().dump(2) + "\n");
  writer.commit();
}

}  // namespace tessera::train
