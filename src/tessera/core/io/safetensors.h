#pragma once
// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON describing every tensor, then one byte buffer. Reading maps the file and hands out
// zero-copy read-only views whenever the bytes can be used in place; writing is atomic.
// docs/formats.md describes the accepted files and every validation rule.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tessera/core/tensor.h"

namespace tessera::io {

// Largest JSON header accepted, as in the reference implementation: a bigger one is corrupt
// or hostile, never a real checkpoint.
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// One dtype as the format spells it ("F32", "BF16", "F8_E4M3", "F4", ...).
struct SafetensorsDType {
  std::string_view name;
  int bits = 0;                // per element; sub-byte types (F4, F6_*) pack several per byte
  std::optional<DType> dtype;  // the Tessera dtype, when Tessera can load this one
};
// The dtype a header names, or nullopt when the format defines no such name.
std::optional<SafetensorsDType> find_safetensors_dtype(std::string_view name);
// "F32" for DType::f32, and so on; every Tessera dtype has a safetensors name.
std::string_view safetensors_dtype_name(DType dtype);

// What the header says about one tensor.
struct TensorInfo {
  std::string name;
  std::string dtype_name;      // as written in the file
  std::optional<DType> dtype;  // empty when Tessera cannot load the dtype (F8_E4M3, BOOL, ...)
  Shape shape;
  uint64_t begin = 0;  // byte range inside the data buffer (after the header)
  uint64_t end = 0;
  uint64_t nbytes() const { return end - begin; }
  int64_t numel() const { return shape_numel(shape); }
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using StringMetadata = std::map<std::string, std::string>;

class SafetensorsFile {
 public:
  // Maps and validates a file; every problem is a BadInput error naming the file (and the
  // tensor, when one is at fault).
  static SafetensorsFile open(const std::string& path);
  // Validates a whole file image already in memory. `source` names it in errors; `owner`
  // keeps the bytes alive while tensors returned by get() view them.
  static SafetensorsFile parse(const uint8_t* bytes, size_t size, std::string source,
                               std::shared_ptr<const void> owner = nullptr);

  const std::string& source() const { return source_; }
  // Tensor names in the order their bytes appear in the file.
  const std::vector<std::string>& names() const { return names_; }
  bool has(const std::string& name) const { return index_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  const std::vector<TensorInfo>& infos() const { return tensors_; }  // same order as names()
  const StringMetadata& metadata() const { return metadata_; }
  uint64_t header_bytes() const { return header_bytes_; }  // N, padding included

  // The tensor, as `want` (default: its own dtype). Without conversion, and when its bytes
  // are aligned for the element type, the result is a read-only view of the file (clone() it
  // to modify); otherwise a fresh copy. Conversions go to floating types only (bf16 or f16 to
  // f32 is the common one). Refuses dtypes Tessera cannot hold, naming them.
  Tensor get(const std::string& name, std::optional<DType> want = {}) const;
  // Whether get(name) without conversion returns a view of the file rather than a copy.
  bool is_zero_copy(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  const uint8_t* tensor_bytes(const TensorInfo& info) const { return buffer_ + info.begin; }

  std::string source_;
  std::shared_ptr<const void> owner_;
  const uint8_t* buffer_ = nullptr;  // first byte after the header
  uint64_t header_bytes_ = 0;
  std::vector<TensorInfo> tensors_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> index_;
  StringMetadata metadata_;
};

// The header bytes (8-byte length + JSON padded with spaces to a multiple of 8) that
// save_safetensors writes for these tensors, laid out contiguously in the given order.
std::string safetensors_header(const NamedTensors& tensors, const StringMetadata& metadata = {});
// A whole file image in memory (header + data).
std::string serialize_safetensors(const NamedTensors& tensors, const StringMetadata& metadata = {});
// Writes `path` atomically (temporary file, fsync, rename). Refuses empty, duplicate or
// reserved ("__metadata__") names and undefined tensors.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const StringMetadata& metadata = {});

}  // namespace tessera::io
