// Reading safetensors files: header validation and zero-copy tensor views.
#include "tessera/core/io/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "tessera/core/io/tensor_bytes.h"

namespace tessera::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is used in place");

namespace {

using json = nlohmann::json;

// Every dtype name of the format (safetensors' Dtype enum), with its size in bits.
constexpr std::array<SafetensorsDType, 20> kDTypes{{
    {"F64", 64, DType::f64},      {"F32", 32, DType::f32},      {"F16", 16, DType::f16},
    {"BF16", 16, DType::bf16},    {"I64", 64, DType::i64},      {"I32", 32, DType::i32},
    {"I8", 8, DType::i8},         {"U8", 8, DType::u8},         {"U64", 64, std::nullopt},
    {"U32", 32, std::nullopt},    {"I16", 16, std::nullopt},    {"U16", 16, std::nullopt},
    {"BOOL", 8, std::nullopt},    {"C64", 64, std::nullopt},    {"F8_E4M3", 8, std::nullopt},
    {"F8_E5M2", 8, std::nullopt}, {"F8_E8M0", 8, std::nullopt}, {"F6_E2M3", 6, std::nullopt},
    {"F6_E3M2", 6, std::nullopt}, {"F4", 4, std::nullopt},
}};

std::string offsets_str(uint64_t begin, uint64_t end) {
  return fmt::format("[{}, {}]", begin, end);
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // host is little-endian (static_assert above)
  return v;
}

// nlohmann::json keeps the last of two equal keys without a word; a header with a duplicate
// tensor name is ambiguous, so the parse callback records the first duplicate it sees.
struct DuplicateKeyFinder {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  bool found = false;
  bool at_top_level = false;

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !found &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          found = true;
          duplicate = parsed.get<std::string>();
          at_top_level = open_objects.size() == 1;
        }
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      default:
        break;
    }
    return true;
  }
};

// "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
std::string json_error_detail(const std::exception& e) {
  std::string message = e.what();
  if (!message.empty() && message[0] == '[') {
    size_t close = message.find("] ");
    if (close != std::string::npos) message.erase(0, close + 2);
  }
  return message;
}

json parse_header_json(const uint8_t* begin, uint64_t size, const std::string& source) {
  DuplicateKeyFinder duplicates;
  json header;
  try {
    const char* text = reinterpret_cast<const char*>(begin);
    header = json::parse(text, text + size, std::ref(duplicates));
  } catch (const json::exception& e) {
    throw bad_input("{}: header is not valid JSON: {}", source, json_error_detail(e));
  }
  if (duplicates.found) {
    if (duplicates.at_top_level) {
      throw bad_input("{}: tensor '{}' appears twice in the header", source, duplicates.duplicate);
    }
    throw bad_input("{}: key '{}' appears twice in one header entry", source, duplicates.duplicate);
  }
  if (!header.is_object()) {
    throw bad_input("{}: header is a JSON {}, expected an object", source, header.type_name());
  }
  return header;
}

// A JSON number that is a non-negative integer, or nullopt (floats, negatives, others).
std::optional<uint64_t> as_count(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return std::nullopt;
}

class EntryParser {
 public:
  EntryParser(const std::string& source, const std::string& name, uint64_t buffer_bytes)
      : source_(source), name_(name), buffer_bytes_(buffer_bytes) {}

  TensorInfo parse(const json& entry) {
    if (!entry.is_object()) {
      fail("entry is a JSON {}, expected an object with dtype, shape and data_offsets",
           entry.type_name());
    }
    TensorInfo info;
    info.name = name_;
    const SafetensorsDType dtype = parse_dtype(field(entry, "dtype"));
    info.dtype_name = std::string(dtype.name);
    info.dtype = dtype.dtype;
    info.shape = parse_shape(field(entry, "shape"));
    std::tie(info.begin, info.end) = parse_offsets(field(entry, "data_offsets"));

    // numel * bits fits in 128 bits: numel < 2^63, bits <= 64.
    unsigned __int128 bits = static_cast<unsigned __int128>(info.numel()) * dtype.bits;
    if (bits % 8 != 0) {
      fail("shape {} of {} is {} bits, not a whole number of bytes", shape_str(info.shape),
           dtype.name, static_cast<uint64_t>(bits));
    }
    unsigned __int128 expected = bits / 8;
    if (expected != info.nbytes()) {
      fail("shape {} of {} needs {} bytes, but data_offsets {} hold {}", shape_str(info.shape),
           dtype.name,
           fmt::to_string(static_cast<uint64_t>(
               std::min<unsigned __int128>(expected, std::numeric_limits<uint64_t>::max()))),
           offsets_str(info.begin, info.end), info.nbytes());
    }
    return info;
  }

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw bad_input("{}: tensor '{}': {}", source_, name_,
                    fmt::format(format, std::forward<Args>(args)...));
  }

  const json& field(const json& entry, const char* key) const {
    auto it = entry.find(key);
    if (it == entry.end()) fail("missing \"{}\"", key);
    return *it;
  }

  SafetensorsDType parse_dtype(const json& value) const {
    if (!value.is_string()) fail("\"dtype\" is a JSON {}, expected a string", value.type_name());
    const std::string& name = value.get_ref<const std::string&>();
    std::optional<SafetensorsDType> dtype = find_safetensors_dtype(name);
    if (!dtype) fail("unknown dtype \"{}\"", name);
    return *dtype;
  }

  Shape parse_shape(const json& value) const {
    if (!value.is_array()) fail("\"shape\" is a JSON {}, expected an array", value.type_name());
    Shape shape;
    // Strides and element counts are int64 products of the dimensions (zeros count as 1 for
    // strides), so that product must fit even when a zero makes the tensor empty.
    uint64_t extent = 1;
    for (const json& d : value) {
      if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0) {
        fail("shape {} has a negative dimension", value.dump());
      }
      std::optional<uint64_t> size = as_count(d);
      if (!size) fail("shape {} has a dimension that is not an integer", value.dump());
      if (__builtin_mul_overflow(extent, std::max<uint64_t>(*size, 1), &extent) ||
          extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail("shape {} is too large (2^63 elements or more)", value.dump());
      }
      shape.push_back(static_cast<int64_t>(*size));
    }
    return shape;
  }

  std::pair<uint64_t, uint64_t> parse_offsets(const json& value) const {
    if (!value.is_array() || value.size() != 2) {
      fail("\"data_offsets\" is {}, expected [begin, end]", value.dump());
    }
    std::optional<uint64_t> begin = as_count(value[0]);
    std::optional<uint64_t> end = as_count(value[1]);
    if (!begin || !end) fail("data_offsets {} are not non-negative integers", value.dump());
    if (*begin > *end) fail("data_offsets {}: begin is after end", offsets_str(*begin, *end));
    if (*end > buffer_bytes_) {
      fail("data_offsets {} extend past the end of the data buffer ({} bytes)",
           offsets_str(*begin, *end), buffer_bytes_);
    }
    return {*begin, *end};
  }

  const std::string& source_;
  const std::string& name_;
  uint64_t buffer_bytes_;
};

StringMetadata parse_metadata(const json& value, const std::string& source) {
  if (!value.is_object()) {
    throw bad_input("{}: __metadata__ is a JSON {}, expected an object of strings", source,
                    value.type_name());
  }
  StringMetadata metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      throw bad_input("{}: __metadata__ value of '{}' is a JSON {}, expected a string", source, key,
                      item.type_name());
    }
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

// Tensors sorted by position; a byte may belong to at most one tensor. Gaps are tolerated
// (they waste space but cannot confuse a reader).
void check_no_overlap(const std::vector<TensorInfo>& sorted, const std::string& source) {
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& info : sorted) {
    if (info.nbytes() == 0) continue;
    if (previous != nullptr && info.begin < previous->end) {
      throw bad_input("{}: tensors '{}' {} and '{}' {} overlap", source, previous->name,
                      offsets_str(previous->begin, previous->end), info.name,
                      offsets_str(info.begin, info.end));
    }
    if (previous == nullptr || info.end > previous->end) previous = &info;
  }
}

}  // namespace

std::optional<SafetensorsDType> find_safetensors_dtype(std::string_view name) {
  for (const SafetensorsDType& d : kDTypes) {
    if (d.name == name) return d;
  }
  return std::nullopt;
}

std::string_view safetensors_dtype_name(DType dtype) {
  for (const SafetensorsDType& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  throw runtime_error("dtype {} has no safetensors name", dtype_name(dtype));
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  std::shared_ptr<MappedFile> file = MappedFile::open(path);
  return parse(file->data(), file->size(), path, file);
}

SafetensorsFile SafetensorsFile::parse(const uint8_t* bytes, size_t size, std::string source,
                                       std::shared_ptr<const void> owner) {
  if (size < 8) {
    throw bad_input("{}: file is {} bytes, too short for the 8-byte header length", source, size);
  }
  const uint64_t header_bytes = read_le64(bytes);
  if (header_bytes > kSafetensorsMaxHeaderBytes) {
    throw bad_input("{}: header length {} exceeds the {} byte limit (corrupt or not safetensors)",
                    source, header_bytes, kSafetensorsMaxHeaderBytes);
  }
  if (header_bytes > size - 8) {
    throw bad_input("{}: header length {} runs past the end of the file ({} bytes)", source,
                    header_bytes, size);
  }
  json header = parse_header_json(bytes + 8, header_bytes, source);

  SafetensorsFile file;
  file.source_ = std::move(source);
  file.owner_ = std::move(owner);
  file.header_bytes_ = header_bytes;
  file.buffer_ = bytes + 8 + header_bytes;
  const uint64_t buffer_bytes = size - 8 - header_bytes;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      file.metadata_ = parse_metadata(entry, file.source_);
    } else {
      file.tensors_.push_back(EntryParser(file.source_, name, buffer_bytes).parse(entry));
    }
  }
  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
            });
  check_no_overlap(file.tensors_, file.source_);
  for (size_t i = 0; i < file.tensors_.size(); ++i) {
    file.names_.push_back(file.tensors_[i].name);
    file.index_.emplace(file.tensors_[i].name, i);
  }
  return file;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw bad_input("{}: no tensor named '{}'", source_, name);
  return tensors_[it->second];
}

bool SafetensorsFile::is_zero_copy(const std::string& name) const {
  const TensorInfo& tensor = info(name);
  return tensor.dtype.has_value() && is_aligned_for(tensor_bytes(tensor), *tensor.dtype);
}

Tensor SafetensorsFile::get(const std::string& name, std::optional<DType> want) const {
  const TensorInfo& tensor = info(name);
  if (!tensor.dtype) {
    throw bad_input(
        "{}: tensor '{}' has dtype {}, which Tessera cannot load "
        "(it loads F32, F64, BF16, F16, I8, I32, I64, U8)",
        source_, name, tensor.dtype_name);
  }
  const DType stored = *tensor.dtype;
  const DType target = want.value_or(stored);
  if (target != stored && !can_convert_on_load(stored, target)) {
    throw bad_input(
        "{}: tensor '{}' is {}; converting it to {} on load is not supported "
        "(only conversions to floating types are)",
        source_, name, tensor.dtype_name, dtype_name(target));
  }
  Tensor stored_tensor =
      view_or_copy(tensor_bytes(tensor), tensor.shape, stored, owner_, /*allow_view=*/true);
  Tensor result = target == stored ? stored_tensor : convert_on_load(stored_tensor, target);
  result.set_name(name);
  return result;
}

}  // namespace tessera::io
