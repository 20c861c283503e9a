#include "tessera/interp/activations.h"

#include <algorithm>
#include <filesystem>

#include "tessera/core/dtype.h"
#include "tessera/core/error.h"
#include "tessera/core/io/atomic_file.h"
#include "tessera/core/io/npy.h"
#include "tessera/core/storage.h"
#include "tessera/models/causal_lm.h"

namespace tessera::interp {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormatName = "tessera-sae-activations";

// One shard: either an f32 array (a view of a mapped .npy) or raw bf16 words.
struct Shard {
  int64_t first_row = 0, rows = 0;
  Tensor f32;                             // defined for f32 shards
  std::shared_ptr<MappedFile> bf16_file;  // defined for bf16 shards
};

class ShardedActivations : public ActivationSource {
 public:
  ShardedActivations(std::vector<Shard> shards, int64_t d, nlohmann::json metadata)
      : shards_(std::move(shards)), d_(d) {
    metadata_ = std::move(metadata);
    for (const Shard& s : shards_) rows_ += s.rows;
    for (const Shard& s : shards_) starts_.push_back(s.first_row);
  }
  int64_t rows() const override { return rows_; }
  int64_t d() const override { return d_; }
  void gather(const int64_t* row_ids, int64_t count, float* out) const override {
    // Checked before the parallel loop: an exception must not leave an OpenMP region.
    for (int64_t i = 0; i < count; ++i) {
      TESSERA_CHECK(row_ids[i] >= 0 && row_ids[i] < rows_, "activation row {} outside [0, {})",
                    row_ids[i], rows_);
    }
#pragma omp parallel for schedule(static) if (count * d_ > (int64_t{1} << 16))
    for (int64_t i = 0; i < count; ++i) {
      const int64_t row = row_ids[i];
      const size_t s = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), row) -
                                           starts_.begin() - 1);
      const Shard& shard = shards_[s];
      const int64_t local = row - shard.first_row;
      float* dst = out + i * d_;
      if (shard.f32.defined()) {
        const float* src = shard.f32.data<float>() + local * d_;
        std::copy(src, src + d_, dst);
      } else {
        const auto* src = reinterpret_cast<const uint16_t*>(shard.bf16_file->data()) + local * d_;
        for (int64_t j = 0; j < d_; ++j) dst[j] = bf16_to_f32(src[j]);
      }
    }
  }

 private:
  std::vector<Shard> shards_;
  std::vector<int64_t> starts_;
  int64_t d_ = 0, rows_ = 0;
};

Shard npy_shard(const std::string& path, int64_t first_row, int64_t& d) {
  Tensor t = io::load_npy(path, DType::f32);
  TESSERA_CHECK_INPUT(t.dim() == 2, "{}: activations must be a 2-D [N, d] array, got {}", path,
                      shape_str(t.shape()));
  if (d == 0) d = t.size(1);
  TESSERA_CHECK_INPUT(t.size(1) == d, "{}: width {} differs from {} in the other files", path,
                      t.size(1), d);
  Shard s;
  s.first_row = first_row;
  s.rows = t.size(0);
  s.f32 = t.contiguous();
  return s;
}

std::unique_ptr<ActivationSource> open_harvest(const fs::path& folder) {
  const std::string index_path = (folder / "index.json").string();
  const nlohmann::json index = models::read_json_file(index_path);
  TESSERA_CHECK_INPUT(index.value("format", std::string()) == kFormatName,
                      "{}: not an activation index (format must be '{}')", index_path, kFormatName);
  int64_t d = index.value("d", int64_t{0});
  TESSERA_CHECK_INPUT(d > 0, "{}: 'd' must be positive", index_path);
  const std::string dtype = index.value("dtype", std::string("f32"));
  TESSERA_CHECK_INPUT(dtype == "f32" || dtype == "bf16", "{}: dtype '{}' (expected f32 or bf16)",
                      index_path, dtype);
  TESSERA_CHECK_INPUT(index.contains("shards") && index["shards"].is_array(),
                      "{}: missing 'shards'", index_path);
  std::vector<Shard> shards;
  int64_t first = 0;
  for (const auto& entry : index["shards"]) {
    const std::string file = (folder / entry.value("file", std::string())).string();
    const int64_t rows = entry.value("rows", int64_t{-1});
    TESSERA_CHECK_INPUT(fs::exists(file), "{}: shard {} is missing", index_path, file);
    Shard s;
    if (dtype == "f32") {
      s = npy_shard(file, first, d);
    } else {
      s.first_row = first;
      s.bf16_file = MappedFile::open(file);
      s.rows = static_cast<int64_t>(s.bf16_file->size() / (2 * static_cast<size_t>(d)));
      TESSERA_CHECK_INPUT(s.bf16_file->size() == static_cast<size_t>(s.rows * d * 2),
                          "{}: size is not a whole number of {}-wide bf16 rows", file, d);
    }
    TESSERA_CHECK_INPUT(s.rows == rows, "{}: holds {} rows, the index says {}", file, s.rows, rows);
    first += s.rows;
    shards.push_back(std::move(s));
  }
  TESSERA_CHECK_INPUT(first == index.value("rows", first),
                      "{}: shard rows add up to {}, index says {}", index_path, first,
                      index.value("rows", first));
  nlohmann::json metadata = index;
  metadata.erase("shards");
  return std::make_unique<ShardedActivations>(std::move(shards), d, std::move(metadata));
}

}  // namespace

void ActivationSource::read(int64_t start, int64_t count, float* out) const {
  std::vector<int64_t> ids(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) ids[i] = start + i;
  gather(ids.data(), count, out);
}

MemoryActivations::MemoryActivations(std::vector<float> values, int64_t d)
    : values_(std::move(values)),
      d_(d),
      rows_(d > 0 ? static_cast<int64_t>(values_.size()) / d : 0) {
  TESSERA_CHECK_INPUT(d > 0 && static_cast<int64_t>(values_.size()) == rows_ * d,
                      "activations: {} values are not rows of width {}", values_.size(), d);
}

void MemoryActivations::gather(const int64_t* row_ids, int64_t count, float* out) const {
  for (int64_t i = 0; i < count; ++i) {
    TESSERA_CHECK(row_ids[i] >= 0 && row_ids[i] < rows_, "activation row {} outside [0, {})",
                  row_ids[i], rows_);
    std::copy_n(values_.data() + row_ids[i] * d_, d_, out + i * d_);
  }
}

std::unique_ptr<ActivationSource> open_activations(const std::string& path) {
  const fs::path p(path);
  TESSERA_CHECK_INPUT(fs::exists(p), "{}: no such activation folder or file", path);
  if (fs::is_regular_file(p)) {
    TESSERA_CHECK_INPUT(p.extension() == ".npy", "{}: activations must be a folder or a .npy file",
                        path);
    int64_t d = 0;
    std::vector<Shard> shards;
    shards.push_back(npy_shard(path, 0, d));
    return std::make_unique<ShardedActivations>(std::move(shards), d, nlohmann::json::object());
  }
  if (fs::exists(p / "index.json")) return open_harvest(p);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(p)) {
    if (entry.is_regular_file() && entry.path().extension() == ".npy")
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  TESSERA_CHECK_INPUT(!files.empty(), "{}: no index.json and no .npy files", path);
  int64_t d = 0, first = 0;
  std::vector<Shard> shards;
  for (const auto& file : files) {
    shards.push_back(npy_shard(file, first, d));
    first += shards.back().rows;
  }
  return std::make_unique<ShardedActivations>(std::move(shards), d, nlohmann::json::object());
}

ActivationWriter::ActivationWriter(std::string folder, int64_t d, bool bf16, int64_t shard_rows,
                                   nlohmann::json metadata)
    : folder_(std::move(folder)),
      d_(d),
      bf16_(bf16),
      shard_rows_(std::max<int64_t>(shard_rows, 1)),
      metadata_(std::move(metadata)) {
  std::error_code ec;
  fs::create_directories(folder_, ec);
  TESSERA_CHECK_INPUT(!ec && fs::is_directory(folder_), "{}: cannot create the output folder",
                      folder_);
  fs::remove(fs::path(folder_) / "index.json", ec);  // a stale index must not name new shards
}

void ActivationWriter::append(const float* rows, int64_t count) {
  TESSERA_CHECK(!finished_, "ActivationWriter: append after finish");
  pending_.insert(pending_.end(), rows, rows + count * d_);
  rows_ += count;
  while (static_cast<int64_t>(pending_.size()) >= shard_rows_ * d_) flush();
}

void ActivationWriter::flush() {
  const int64_t count = std::min<int64_t>(static_cast<int64_t>(pending_.size()) / d_, shard_rows_);
  if (count == 0) return;
  const std::string name = fmt::format("acts-{:05d}.{}", shards_.size(), bf16_ ? "bf16" : "npy");
  const std::string path = (fs::path(folder_) / name).string();
  if (bf16_) {
    std::vector<uint16_t> words(static_cast<size_t>(count * d_));
    for (size_t i = 0; i < words.size(); ++i) words[i] = f32_to_bf16(pending_[i]);
    io::AtomicFileWriter writer(path);
    writer.write(words.data(), words.size() * sizeof(uint16_t));
    writer.commit();
  } else {
    std::vector<float> rows(pending_.begin(), pending_.begin() + count * d_);
    io::save_npy(path, Tensor::from_vector<float>(rows, {count, d_}));
  }
  pending_.erase(pending_.begin(), pending_.begin() + count * d_);
  shards_.push_back({{"file", name}, {"rows", count}});
}

void ActivationWriter::finish() {
  if (finished_) return;
  flush();
  finished_ = true;
  nlohmann::json index = metadata_;
  index["format"] = kFormatName;
  index["version"] = 1;
  index["d"] = d_;
  index["dtype"] = bf16_ ? "bf16" : "f32";
  index["rows"] = rows_;
  index["shards"] = shards_;
  models::write_json_file((fs::path(folder_) / "index.json").string(), index);
}

}  // namespace tessera::interp
