#include "tessera/core/io/safetensors_folder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tessera::io {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json read_index(const std::string& index_path) {
  std::ifstream in(index_path, std::ios::binary);
  TESSERA_CHECK_INPUT(in.good(), "{}: cannot open", index_path);
  std::ostringstream text;
  text << in.rdbuf();
  json index;
  try {
    index = json::parse(text.str());
  } catch (const json::exception& e) {
    throw bad_input("{}: not valid JSON: {}", index_path, e.what());
  }
  TESSERA_CHECK_INPUT(index.is_object(), "{}: expected a JSON object, found a {}", index_path,
                      index.type_name());
  return index;
}

// Shard names come from a downloaded file: they must stay inside the model folder.
bool is_plain_relative(const std::string& file) {
  fs::path p(file);
  if (file.empty() || p.is_absolute()) return false;
  for (const fs::path& part : p) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

SafetensorsFolder SafetensorsFolder::open(const std::string& path) {
  SafetensorsFolder folder;
  folder.path_ = path;
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    folder.add_single_file(path);  // MappedFile::open names the path if it does not exist
    return folder;
  }
  const fs::path dir(path);
  if (fs::exists(dir / "model.safetensors.index.json")) {
    folder.open_index(path, (dir / "model.safetensors.index.json").string());
  } else if (fs::exists(dir / "model.safetensors")) {
    folder.add_single_file((dir / "model.safetensors").string());
  } else {
    std::vector<std::string> candidates;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      if (entry.path().extension() == ".safetensors") candidates.push_back(entry.path().string());
    }
    std::sort(candidates.begin(), candidates.end());
    TESSERA_CHECK_INPUT(!candidates.empty(),
                        "{}: no model.safetensors.index.json, model.safetensors or other "
                        ".safetensors file",
                        path);
    if (candidates.size() > 1) {
      std::string listed;
      for (const std::string& c : candidates) {
        if (!listed.empty()) listed += ", ";
        listed += fs::path(c).filename().string();
      }
      throw bad_input(
          "{}: no model.safetensors.index.json or model.safetensors, and {} other .safetensors "
          "files ({}): which one is meant is ambiguous, give its path instead",
          path, candidates.size(), listed);
    }
    folder.add_single_file(candidates[0]);
  }
  return folder;
}

void SafetensorsFolder::add_single_file(const std::string& file) {
  files_.push_back(SafetensorsFile::open(file));
  metadata_ = files_.back().metadata();
  names_ = files_.back().names();
  for (const std::string& name : names_) shard_of_.emplace(name, 0);
}

void SafetensorsFolder::open_index(const std::string& folder, const std::string& index_path) {
  index_path_ = index_path;
  json index = read_index(index_path);
  auto map_it = index.find("weight_map");
  TESSERA_CHECK_INPUT(map_it != index.end() && map_it->is_object(),
                      "{}: expected an object \"weight_map\" (tensor name -> shard file)",
                      index_path);
  auto metadata_it = index.find("metadata");
  if (metadata_it != index.end() && metadata_it->is_object()) {
    for (const auto& [key, value] : metadata_it->items()) {
      metadata_[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }

  // Shard file -> the tensors the index places there.
  std::map<std::string, std::vector<std::string>> wanted_by_file;
  for (const auto& [name, file] : map_it->items()) {
    TESSERA_CHECK_INPUT(file.is_string(), "{}: weight_map entry '{}' is a {}, expected a file name",
                        index_path, name, file.type_name());
    const std::string& file_name = file.get_ref<const std::string&>();
    TESSERA_CHECK_INPUT(is_plain_relative(file_name),
                        "{}: weight_map entry '{}' names '{}', which is outside the folder",
                        index_path, name, file_name);
    wanted_by_file[file_name].push_back(name);
  }
  for (auto& [file_name, wanted] : wanted_by_file) {
    files_.push_back(SafetensorsFile::open((fs::path(folder) / file_name).string()));
    const SafetensorsFile& shard = files_.back();
    for (const std::string& name : wanted) {
      TESSERA_CHECK_INPUT(shard.has(name),
                          "{}: weight_map puts tensor '{}' in {}, which has no such tensor",
                          index_path, name, file_name);
    }
    // File order within the shard, restricted to what the index lists.
    std::sort(wanted.begin(), wanted.end());
    for (const std::string& name : shard.names()) {
      if (std::binary_search(wanted.begin(), wanted.end(), name)) {
        names_.push_back(name);
        shard_of_.emplace(name, files_.size() - 1);
      }
    }
  }
}

const SafetensorsFile& SafetensorsFolder::shard(const std::string& name) const {
  auto it = shard_of_.find(name);
  if (it == shard_of_.end()) throw bad_input("{}: no tensor named '{}'", path_, name);
  return files_[it->second];
}

}  // namespace tessera::io
