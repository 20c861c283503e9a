// `tessera info PATH [--json]`: the tensors of a .safetensors file, a .npy file, a GGUF file or
// a model folder (sharded with model.safetensors.index.json, or a single model.safetensors).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/core/io/gguf.h"
#include "tessera/core/io/npy.h"
#include "tessera/core/io/safetensors_folder.h"

namespace tessera::cli {

namespace {

namespace fs = std::filesystem;

struct Row {
  std::string name;
  std::string dtype;                 // as the file spells it
  std::optional<DType> loadable_as;  // empty: Tessera cannot load it
  Shape shape;
  uint64_t bytes = 0;
  std::string file;  // shard, for folders with several files
};

struct Listing {
  std::string path;
  std::string format;  // "safetensors" or "npy"
  std::vector<Row> rows;
  io::StringMetadata metadata;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // format-specific facts
};

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

bool starts_with_npy_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[6] = {};
  in.read(magic, 6);
  return in.gcount() == 6 && std::string(magic, 6) == "\x93NUMPY";
}

bool starts_with_gguf_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::string(magic, 4) == "GGUF";
}

Listing list_npy(const std::string& path) {
  const io::NpyHeader header = io::read_npy_header(path);
  Listing listing{path, "npy", {}, {}, nlohmann::ordered_json::object()};
  listing.rows.push_back({fs::path(path).stem().string(), header.descr, header.dtype, header.shape,
                          header.data_bytes, ""});
  listing.extra["version"] = fmt::format("{}.{}", header.major_version, header.minor_version);
  listing.extra["data_offset"] = header.data_offset;
  return listing;
}

Listing list_safetensors(const std::string& path) {
  const io::SafetensorsFolder weights = io::open_model_weights(path);
  Listing listing{path, "safetensors", {}, weights.metadata(), nlohmann::ordered_json::object()};
  const bool sharded = weights.files().size() > 1;
  for (const std::string& name : weights.names()) {
    const io::TensorInfo& info = weights.info(name);
    listing.rows.push_back({name, info.dtype_name, info.dtype, info.shape, info.nbytes(),
                            sharded ? fs::path(weights.file_of(name)).filename().string() : ""});
  }
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const io::SafetensorsFile& file : weights.files()) files.push_back(file.source());
  listing.extra["files"] = files;
  if (!weights.index_path().empty()) listing.extra["index"] = weights.index_path();
  if (weights.files().size() == 1)
    listing.extra["header_bytes"] = weights.files()[0].header_bytes();
  return listing;
}

// GGUF: ggml type names as the dtype; quantised tensors load as f32 (dequantised), types
// Tessera cannot dequantise have no loadable dtype. Metadata is shown as short renderings
// (token arrays run to 100k+ entries), with each value's GGUF type in --json.
Listing list_gguf(const std::string& path) {
  const io::GgufFile file = io::GgufFile::open(path);
  Listing listing{path, "gguf", {}, {}, nlohmann::ordered_json::object()};
  for (const io::GgufTensorInfo& info : file.tensors()) {
    const io::GgmlTypeTraits& traits = io::ggml_type_traits(info.type);
    std::optional<DType> loadable = traits.dtype;
    if (traits.dequantizable) loadable = DType::f32;
    if (info.type == io::GgmlType::I16) loadable = DType::i32;
    listing.rows.push_back({info.name, std::string(traits.name), loadable, info.shape,
                            info.nbytes, ""});
  }
  nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
  for (const auto& [key, value] : file.metadata()) {
    listing.metadata[key] = value.to_display();
    nlohmann::ordered_json entry{{"type", value.type_description()}};
    switch (value.type()) {
      case io::GgufValueType::string: entry["value"] = value.as_string(); break;
      case io::GgufValueType::boolean: entry["value"] = value.as_bool(); break;
      case io::GgufValueType::f32:
      case io::GgufValueType::f64: entry["value"] = value.as_float(); break;
      case io::GgufValueType::u64: entry["value"] = value.as_uint(); break;
      case io::GgufValueType::array: entry["value"] = value.to_display(); break;
      default: entry["value"] = value.as_int(); break;
    }
    metadata[key] = std::move(entry);
  }
  listing.extra["version"] = std::to_string(file.version());
  listing.extra["alignment"] = file.alignment();
  listing.extra["data_offset"] = file.data_offset();
  listing.extra["metadata"] = std::move(metadata);
  return listing;
}

Listing list_path(const std::string& path) {
  std::error_code error;
  TESSERA_CHECK_INPUT(fs::exists(path, error), "{}: no such file or folder", path);
  if (fs::is_directory(path, error)) return list_safetensors(path);
  if (fs::path(path).extension() == ".npy" || starts_with_npy_magic(path)) return list_npy(path);
  if (starts_with_gguf_magic(path)) return list_gguf(path);
  return list_safetensors(path);
}

void print_json(const Listing& listing) {
  nlohmann::ordered_json out;
  out["path"] = listing.path;
  out["format"] = listing.format;
  uint64_t total_bytes = 0;
  int64_t total_elements = 0;
  nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
  for (const Row& row : listing.rows) {
    nlohmann::ordered_json t;
    t["name"] = row.name;
    t["dtype"] = row.dtype;
    t["tessera_dtype"] = row.loadable_as
                             ? nlohmann::ordered_json(std::string(dtype_name(*row.loadable_as)))
                             : nullptr;
    t["shape"] = row.shape;
    t["elements"] = shape_numel(row.shape);
    t["bytes"] = row.bytes;
    if (!row.file.empty()) t["file"] = row.file;
    tensors.push_back(std::move(t));
    total_bytes += row.bytes;
    total_elements += shape_numel(row.shape);
  }
  out["tensors"] = std::move(tensors);
  out["total_bytes"] = total_bytes;
  out["total_elements"] = total_elements;
  if (listing.format == "safetensors") out["metadata"] = listing.metadata;
  out.update(listing.extra);
  std::printf("%s\n", out.dump(2).c_str());
}

void print_table(const Listing& listing) {
  const bool with_file = std::any_of(listing.rows.begin(), listing.rows.end(),
                                     [](const Row& r) { return !r.file.empty(); });
  std::vector<std::vector<std::string>> cells = {{"name", "dtype", "shape", "bytes"}};
  if (with_file) cells[0].push_back("file");
  uint64_t total_bytes = 0;
  int64_t total_elements = 0;
  std::vector<std::string> not_loadable;
  for (const Row& row : listing.rows) {
    cells.push_back({row.name, row.dtype, shape_str(row.shape), std::to_string(row.bytes)});
    if (with_file) cells.back().push_back(row.file);
    total_bytes += row.bytes;
    total_elements += shape_numel(row.shape);
    if (!row.loadable_as &&
        std::find(not_loadable.begin(), not_loadable.end(), row.dtype) == not_loadable.end()) {
      not_loadable.push_back(row.dtype);
    }
  }
  std::vector<size_t> widths(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (size_t c = 0; c < line.size(); ++c) widths[c] = std::max(widths[c], line[c].size());
  }
  std::string header =
      fmt::format("{} ({}): {} tensor{}, {} element{}, {}", listing.path, listing.format,
                  listing.rows.size(), listing.rows.size() == 1 ? "" : "s", total_elements,
                  total_elements == 1 ? "" : "s", human_bytes(total_bytes));
  if (listing.extra.contains("version")) {
    header += fmt::format(", format version {}", listing.extra["version"].get<std::string>());
  }
  std::printf("%s\n", header.c_str());
  for (const auto& line : cells) {
    std::string text;
    for (size_t c = 0; c < line.size(); ++c) {
      const bool numeric = c == 3;  // bytes, right-aligned
      const bool last = c + 1 == line.size();
      text += numeric ? fmt::format("{:>{}}", line[c], widths[c])
                      : (last ? line[c] : fmt::format("{:<{}}", line[c], widths[c]));
      if (!last) text += "  ";
    }
    std::printf("%s\n", text.c_str());
  }
  if (!listing.metadata.empty()) {
    std::printf("metadata:\n");
    for (const auto& [key, value] : listing.metadata) {
      std::printf("  %s: %s\n", key.c_str(), value.c_str());
    }
  }
  if (!not_loadable.empty()) {
    std::string joined;
    for (const std::string& d : not_loadable) {
      if (!joined.empty()) joined += ", ";
      joined += d;
    }
    std::printf("note: Tessera cannot load tensors of dtype %s\n", joined.c_str());
  }
}

}  // namespace

void add_info_commands(CLI::App& app) {
  struct Options {
    std::string path;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* info = app.add_subcommand(
      "info",
      "List the tensors (name, dtype, shape, bytes) of a .safetensors, .npy or GGUF file or "
      "a model folder");
  info->add_option("path", options->path,
                   ".safetensors file, .npy file, GGUF file, or a folder with model.safetensors or "
                   "model.safetensors.index.json")
      ->required();
  info->add_flag("--json", options->json, "machine-readable output");
  info->callback([options] {
    const Listing listing = list_path(options->path);
    if (options->json || global_options().json) {
      print_json(listing);
    } else {
      print_table(listing);
    }
  });
}

}  // namespace tessera::cli
