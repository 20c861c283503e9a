#pragma once
// The GGUF format (llama.cpp / ggml): a little-endian header ("GGUF", version, tensor count,
// metadata count), typed metadata key/value pairs, tensor descriptions, then an aligned data
// section. Reading maps the file, validates every count, length and offset against the file
// size, and hands out zero-copy views of F32/F16/BF16 tensors or dequantised f32 copies of
// block-quantised ones. Writing (F32/F16/BF16/..., and Q8_0/Q4_0 quantisation) is atomic and
// lays the file out the way llama.cpp expects. docs/gguf.md lists every validation rule.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tessera/core/io/gguf_types.h"
#include "tessera/core/tensor.h"

namespace tessera::io {

inline constexpr uint32_t kGgufDefaultAlignment = 32;
// Arrays of arrays are legal GGUF; deeper nesting than this is refused as corrupt (it also
// bounds the parser's recursion).
inline constexpr int kGgufMaxArrayDepth = 8;
// ggml tensors have at most four dimensions, so GGUF tensor descriptions do too.
inline constexpr uint32_t kGgufMaxDims = 4;

// One metadata value: a scalar, a string, or an array (of numbers, bools, strings or arrays).
// Values remember their exact GGUF type so that a file read and written again is unchanged.
class GgufValue {
 public:
  static GgufValue u8(uint8_t v) { return numeric(GgufValueType::u8, &v, 1); }
  static GgufValue i8(int8_t v) { return numeric(GgufValueType::i8, &v, 1); }
  static GgufValue u16(uint16_t v) { return numeric(GgufValueType::u16, &v, 2); }
  static GgufValue i16(int16_t v) { return numeric(GgufValueType::i16, &v, 2); }
  static GgufValue u32(uint32_t v) { return numeric(GgufValueType::u32, &v, 4); }
  static GgufValue i32(int32_t v) { return numeric(GgufValueType::i32, &v, 4); }
  static GgufValue u64(uint64_t v) { return numeric(GgufValueType::u64, &v, 8); }
  static GgufValue i64(int64_t v) { return numeric(GgufValueType::i64, &v, 8); }
  static GgufValue f32(float v) { return numeric(GgufValueType::f32, &v, 4); }
  static GgufValue f64(double v) { return numeric(GgufValueType::f64, &v, 8); }
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  // Arrays of numbers: T is one of uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t,
  // uint64_t, int64_t, float, double.
  template <typename T>
  static GgufValue array(const std::vector<T>& values);
  static GgufValue bool_array(const std::vector<bool>& values);
  static GgufValue string_array(std::vector<std::string> values);
  // Every element must itself be an array (of any element type).
  static GgufValue array_of_arrays(std::vector<GgufValue> values);

  GgufValueType type() const { return type_; }
  bool is_array() const { return type_ == GgufValueType::array; }
  // Arrays only (BadInput otherwise).
  GgufValueType element_type() const;
  uint64_t size() const;
  // "u32", "string", "array of 32000 string", ...: used in error messages.
  std::string type_description() const;

  // Typed access. Each throws BadInput "is <type>, expected <what>" on a mismatch;
  // GgufFile's get_* wrappers add the file and key to the message.
  const std::string& as_string() const;
  uint64_t as_uint() const;  // any integer type holding a value >= 0
  int64_t as_int() const;    // any integer type holding a value that fits int64
  double as_float() const;   // f32, f64, or any integer type
  bool as_bool() const;
  const std::vector<std::string>& as_strings() const;  // array of string
  std::vector<int64_t> as_ints() const;                // array of any integer type
  std::vector<double> as_floats() const;               // array of f32, f64 or integers
  std::vector<bool> as_bools() const;                  // array of bool
  const std::vector<GgufValue>& as_arrays() const;     // array of array

  // A short human-readable rendering for listings: 32, 1e-05, "llama", [1, 2, ... (N items)].
  std::string to_display(size_t max_items = 6) const;

  // The little-endian bytes of a numeric scalar or of all elements of a numeric/bool array;
  // the text of a string. Used by the writer.
  const std::string& raw_bytes() const { return bytes_; }

  bool operator==(const GgufValue& other) const = default;

 private:
  friend class GgufParser;
  GgufValue() = default;
  static GgufValue numeric(GgufValueType type, const void* bytes, size_t nbytes);
  [[noreturn]] void mismatch(std::string_view expected) const;
  // Element i of a numeric scalar (i = 0) or numeric array, widened.
  int64_t signed_element(uint64_t i, GgufValueType type) const;
  uint64_t unsigned_element(uint64_t i, GgufValueType type) const;
  double float_element(uint64_t i, GgufValueType type) const;

  GgufValueType type_ = GgufValueType::u8;
  GgufValueType element_type_ = GgufValueType::u8;  // arrays only
  uint64_t count_ = 0;                              // arrays only
  std::string bytes_;
  std::vector<std::string> strings_;  // array of string
  std::vector<GgufValue> arrays_;     // array of array
};

// Metadata in file order.
using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

// What the file says about one tensor.
struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ggml_dims;  // as stored: ggml_dims[0] varies fastest
  Shape shape;                     // row-major: ggml_dims reversed
  uint64_t offset = 0;             // from the start of the data section
  uint64_t nbytes = 0;
  int64_t numel() const { return shape_numel(shape); }
  std::string_view type_name() const { return ggml_type_name(type); }
};

class GgufFile {
 public:
  // Maps and validates a file; every problem is a BadInput error naming the file (and the
  // key or tensor at fault).
  static GgufFile open(const std::string& path);
  // Validates a file image already in memory. `source` names it in errors; `owner` keeps the
  // bytes alive while tensors returned by get() view them (without one, the caller must).
  static GgufFile parse(const uint8_t* bytes, size_t size, std::string source,
                        std::shared_ptr<const void> owner = nullptr);

  const std::string& source() const { return source_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const {
    return data_offset_;
  }  // in the file; data_offset % alignment == 0
  uint64_t file_size() const { return file_size_; }

  // ---- metadata ----
  const GgufMetadata& metadata() const { return metadata_; }
  std::vector<std::string> keys() const;
  bool has(const std::string& key) const { return key_index_.count(key) != 0; }
  const GgufValue* find(const std::string& key) const;   // nullptr when absent
  const GgufValue& value(const std::string& key) const;  // BadInput naming the key when absent
  // Typed getters: BadInput "<file>: metadata 'key': is <type>, expected <what>" on mismatch.
  const std::string& get_string(const std::string& key) const;
  uint64_t get_uint(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;
  std::vector<int64_t> get_ints(const std::string& key) const;
  std::vector<double> get_floats(const std::string& key) const;

  // ---- tensors ----
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // file order
  bool has_tensor(const std::string& name) const { return tensor_index_.count(name) != 0; }
  const GgufTensorInfo& tensor_info(const std::string& name) const;
  // The tensor as Tessera holds it: F32/F16/BF16/F64/I8/I32/I64 as that dtype (a read-only
  // view of the file when aligned; clone() it to modify), I16 widened to i32, and the block
  // formats Tessera can dequantise (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, Q8_K) as a fresh
  // f32 tensor. Other types are refused with a message naming the type.
  Tensor get(const std::string& name) const;
  // Always f32 (converted or dequantised as needed).
  Tensor get_f32(const std::string& name) const;
  // Whether get(name) returns a view of the file rather than a copy.
  bool is_zero_copy(const std::string& name) const;
  // The tensor's raw bytes in the file (blocks as stored, for quantised types).
  const uint8_t* tensor_bytes(const GgufTensorInfo& info) const;

 private:
  friend class GgufParser;
  GgufFile() = default;

  std::string source_;
  std::shared_ptr<const void> owner_;
  const uint8_t* file_bytes_ = nullptr;
  uint64_t file_size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  GgufMetadata metadata_;
  std::unordered_map<std::string, size_t> key_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// ---- writing ----

// One tensor to write. `store_as` picks the GGUF type: by default the tensor's own dtype
// (f32 -> F32, f16 -> F16, bf16 -> BF16, f64 -> F64, i8 -> I8, i32 -> I32, i64 -> I64);
// a floating tensor may instead be stored as F32, F16, BF16, or quantised to Q8_0 or Q4_0
// (its last dimension must then be a multiple of 32).
struct GgufTensorToWrite {
  std::string name;
  Tensor tensor;
  std::optional<GgmlType> store_as;
};

// The whole file image in memory (tests, fuzz seeds). Version 3; the alignment is
// `general.alignment` when the metadata sets it (a u32 power of two), 32 otherwise. Tensors
// are laid out in the given order, each padded to the alignment, as llama.cpp requires.
std::string serialize_gguf(const GgufMetadata& metadata,
                           const std::vector<GgufTensorToWrite>& tensors);
// Writes `path` atomically (temporary file, fsync, rename), streaming one tensor at a time.
// Refuses empty, duplicate or over-long (>= 64 bytes, llama.cpp's limit) tensor names,
// duplicate or empty keys, undefined tensors, more than 4 dimensions, and conversions the
// format cannot express.
void save_gguf(const std::string& path, const GgufMetadata& metadata,
               const std::vector<GgufTensorToWrite>& tensors);

}  // namespace tessera::io
