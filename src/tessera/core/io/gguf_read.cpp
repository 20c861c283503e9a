// Reading GGUF files: a bounds-checked cursor over the mapped bytes. Every count read from
// the file is checked against the bytes that remain before anything is allocated for it, so
// a corrupt or hostile header fails with a message instead of exhausting memory.
#include <algorithm>
#include <cstring>
#include <limits>

#include "tessera/core/io/gguf.h"
#include "tessera/core/io/tensor_bytes.h"

namespace tessera::io {

namespace {

// The smallest encoding of one value of each type: what an array of `count` such values must
// at least occupy (strings: their 8-byte length; arrays: element type + count).
uint64_t min_encoded_size(GgufValueType type) {
  if (type == GgufValueType::string) return 8;
  if (type == GgufValueType::array) return 12;
  return gguf_value_type_size(type);
}

// A metadata entry is at least a key length (8), a type (4) and a one-byte value.
constexpr uint64_t kMinMetadataEntryBytes = 13;
// A tensor description is at least a name length (8), n_dims (4), type (4) and offset (8).
constexpr uint64_t kMinTensorInfoBytes = 24;

bool is_removed_ggml_type(uint32_t code) {
  return code == 4 || code == 5 || (code >= 31 && code <= 33) || (code >= 36 && code <= 38);
}

std::string hex_bytes(const uint8_t* p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += fmt::format("{}{:02x}", i ? " " : "", p[i]);
  return out;
}

}  // namespace

// Friend of GgufFile and GgufValue: fills their private members while parsing.
class GgufParser {
 public:
  GgufParser(const uint8_t* bytes, size_t size, const std::string& source)
      : bytes_(bytes), size_(size), source_(source) {}

  void parse_into(GgufFile& file) {
    parse_header(file);
    for (uint64_t i = 0; i < metadata_count_; ++i) parse_metadata_entry(file, i);
    file.alignment_ = read_alignment(file);
    check_count(tensor_count_, kMinTensorInfoBytes, "tensors");
    file.tensors_.reserve(tensor_count_);
    for (uint64_t i = 0; i < tensor_count_; ++i) parse_tensor_info(file, i);
    place_data_section(file);
  }

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw bad_input("{}: {}", source_, fmt::format(format, std::forward<Args>(args)...));
  }

  uint64_t remaining() const { return size_ - position_; }

  void need(uint64_t n, const std::string& what) const {
    if (n > remaining()) {
      fail("truncated: {} at byte {} needs {} bytes, but the file ends at byte {}", what, position_,
           n, size_);
    }
  }

  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_ + position_, sizeof(T));
    position_ += sizeof(T);
    return value;
  }

  std::string read_string(const std::string& what) {
    const uint64_t length = read<uint64_t>(what + " (length)");
    if (length > remaining()) {
      fail("truncated: {} at byte {} is {} bytes long, but only {} bytes remain", what,
           position_ - 8, length, remaining());
    }
    std::string text(reinterpret_cast<const char*>(bytes_ + position_), length);
    position_ += length;
    return text;
  }

  // Refuses a count that the rest of the file could not possibly hold.
  void check_count(uint64_t count, uint64_t min_bytes_each, const char* what) const {
    if (count > remaining() / min_bytes_each) {
      fail("header claims {} {}, but the remaining {} bytes can hold at most {}", count, what,
           remaining(), remaining() / min_bytes_each);
    }
  }

  void parse_header(GgufFile& file) {
    if (size_ < 4) fail("file is {} bytes, too short for the GGUF magic", size_);
    if (std::memcmp(bytes_, "GGUF", 4) != 0) {
      fail("not a GGUF file: it starts with bytes {}, expected \"GGUF\" (47 47 55 46)",
           hex_bytes(bytes_, 4));
    }
    position_ = 4;
    const uint32_t version = read<uint32_t>("the version");
    if (version == 1) {
      fail(
          "GGUF version 1 is not supported (Tessera reads versions 2 and 3); convert the model "
          "again with a current llama.cpp");
    }
    if (version == 0x02000000u || version == 0x03000000u) {
      fail("this is a big-endian GGUF file; Tessera reads little-endian files only");
    }
    if (version != 2 && version != 3) {
      fail("GGUF version {} is not supported (Tessera reads versions 2 and 3)", version);
    }
    file.version_ = version;
    tensor_count_ = read<uint64_t>("the tensor count");
    metadata_count_ = read<uint64_t>("the metadata count");
    check_count(metadata_count_, kMinMetadataEntryBytes, "metadata entries");
    check_count(tensor_count_, kMinTensorInfoBytes, "tensors");
  }

  void parse_metadata_entry(GgufFile& file, uint64_t index) {
    std::string key = read_string(fmt::format("the key of metadata entry {}", index));
    if (file.key_index_.count(key) != 0) fail("metadata key '{}' appears twice", key);
    const std::string what = fmt::format("metadata '{}'", key);
    const uint32_t type_code = read<uint32_t>(what + " (type)");
    if (type_code >= kGgufValueTypeCount) fail("{}: unknown value type {}", what, type_code);
    GgufValue value = read_value(static_cast<GgufValueType>(type_code), 0, what);
    file.key_index_.emplace(key, file.metadata_.size());
    file.metadata_.emplace_back(std::move(key), std::move(value));
  }

  GgufValue read_value(GgufValueType type, int depth, const std::string& what) {
    GgufValue value;
    value.type_ = type;
    if (type == GgufValueType::string) {
      value.bytes_ = read_string(what);
    } else if (type == GgufValueType::array) {
      read_array(value, depth, what);
    } else {
      const size_t n = gguf_value_type_size(type);
      need(n, what);
      value.bytes_.assign(reinterpret_cast<const char*>(bytes_ + position_), n);
      position_ += n;
    }
    return value;
  }

  void read_array(GgufValue& value, int depth, const std::string& what) {
    if (depth >= kGgufMaxArrayDepth) {
      fail("{}: arrays nested more than {} deep", what, kGgufMaxArrayDepth);
    }
    const uint32_t element_code = read<uint32_t>(what + " (array element type)");
    if (element_code >= kGgufValueTypeCount) {
      fail("{}: unknown array element type {}", what, element_code);
    }
    const auto element_type = static_cast<GgufValueType>(element_code);
    const uint64_t count = read<uint64_t>(what + " (array length)");
    const uint64_t min_each = min_encoded_size(element_type);
    if (count > remaining() / min_each) {
      fail("{}: array of {} {} needs at least {} bytes per element, but only {} bytes remain", what,
           count, gguf_value_type_name(element_type), min_each, remaining());
    }
    value.element_type_ = element_type;
    value.count_ = count;
    if (element_type == GgufValueType::string) {
      value.strings_.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        value.strings_.push_back(read_string(fmt::format("{} element {}", what, i)));
      }
    } else if (element_type == GgufValueType::array) {
      value.arrays_.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        value.arrays_.push_back(
            read_value(GgufValueType::array, depth + 1, fmt::format("{} element {}", what, i)));
      }
    } else {
      const uint64_t n = count * min_each;  // bounded by remaining() above
      value.bytes_.assign(reinterpret_cast<const char*>(bytes_ + position_), n);
      position_ += n;
    }
  }

  uint64_t read_alignment(const GgufFile& file) const {
    const GgufValue* value = file.find("general.alignment");
    if (value == nullptr) return kGgufDefaultAlignment;
    if (value->type() != GgufValueType::u32) {
      fail("metadata 'general.alignment' is {}, expected u32", value->type_description());
    }
    const uint64_t alignment = value->as_uint();
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
      fail("metadata 'general.alignment' is {}, expected a power of two", alignment);
    }
    return alignment;
  }

  void parse_tensor_info(GgufFile& file, uint64_t index) {
    GgufTensorInfo info;
    info.name = read_string(fmt::format("the name of tensor {}", index));
    if (file.tensor_index_.count(info.name) != 0) fail("tensor '{}' appears twice", info.name);
    const std::string what = fmt::format("tensor '{}'", info.name);
    const uint32_t n_dims = read<uint32_t>(what + " (number of dimensions)");
    if (n_dims > kGgufMaxDims) {
      fail("{}: has {} dimensions; ggml tensors have at most {}", what, n_dims, kGgufMaxDims);
    }
    uint64_t extent = 1;  // product of the dims, zeros counted as 1 (strides must fit too)
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t size = read<uint64_t>(fmt::format("{} (dimension {})", what, d));
      if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(extent, std::max<uint64_t>(size, 1), &extent) ||
          extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail("{}: dimensions overflow (2^63 elements or more) at dimension {} = {}", what, d, size);
      }
      info.ggml_dims.push_back(static_cast<int64_t>(size));
    }
    info.shape.assign(info.ggml_dims.rbegin(), info.ggml_dims.rend());

    const uint32_t type_code = read<uint32_t>(what + " (type)");
    const GgmlTypeTraits* traits = find_ggml_type(type_code);
    if (traits == nullptr) {
      if (is_removed_ggml_type(type_code)) {
        fail("{}: ggml type {} was removed from ggml and is no longer readable", what, type_code);
      }
      fail("{}: unknown ggml type {}", what, type_code);
    }
    info.type = traits->type;
    const int64_t row = info.ggml_dims.empty() ? 1 : info.ggml_dims[0];
    if (row % traits->block_size != 0) {
      fail("{}: rows of {} elements are not a whole number of {}-element {} blocks", what, row,
           traits->block_size, traits->name);
    }
    const unsigned __int128 nbytes =
        static_cast<unsigned __int128>(info.numel()) / traits->block_size * traits->block_bytes;
    if (nbytes > size_) {
      fail("{}: shape {} of {} needs {} bytes, more than the whole file ({} bytes)", what,
           shape_str(info.shape), traits->name,
           fmt::to_string(static_cast<uint64_t>(
               std::min<unsigned __int128>(nbytes, std::numeric_limits<uint64_t>::max()))),
           size_);
    }
    info.nbytes = static_cast<uint64_t>(nbytes);
    info.offset = read<uint64_t>(what + " (offset)");
    file.tensor_index_.emplace(info.name, file.tensors_.size());
    file.tensors_.push_back(std::move(info));
  }

  void place_data_section(GgufFile& file) {
    const uint64_t alignment = file.alignment_;
    const uint64_t header_end = position_;
    // header_end <= size_ < 2^63, and alignment <= 2^31, so this cannot overflow.
    const uint64_t data_offset = (header_end + alignment - 1) / alignment * alignment;
    file.data_offset_ = data_offset;
    const uint64_t data_bytes = data_offset <= size_ ? size_ - data_offset : 0;
    std::vector<const GgufTensorInfo*> by_offset;
    for (const GgufTensorInfo& info : file.tensors_) {
      if (info.offset % alignment != 0) {
        fail("tensor '{}': offset {} is not a multiple of the alignment {}", info.name, info.offset,
             alignment);
      }
      if (info.offset > data_bytes || info.nbytes > data_bytes - info.offset) {
        fail(
            "tensor '{}': {} bytes at offset {} extend past the end of the data section ({} "
            "bytes from byte {}; the file is {} bytes)",
            info.name, info.nbytes, info.offset, data_bytes, data_offset, size_);
      }
      if (info.nbytes > 0) by_offset.push_back(&info);
    }
    std::sort(
        by_offset.begin(), by_offset.end(),
        [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const GgufTensorInfo& previous = *by_offset[i - 1];
      const GgufTensorInfo& current = *by_offset[i];
      if (current.offset < previous.offset + previous.nbytes) {
        fail("tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", previous.name, previous.offset,
             previous.offset + previous.nbytes, current.name, current.offset,
             current.offset + current.nbytes);
      }
    }
  }

  const uint8_t* bytes_;
  uint64_t size_;
  const std::string& source_;
  uint64_t position_ = 0;
  uint64_t tensor_count_ = 0;
  uint64_t metadata_count_ = 0;
};

GgufFile GgufFile::open(const std::string& path) {
  std::shared_ptr<MappedFile> mapped = MappedFile::open(path);
  return parse(mapped->data(), mapped->size(), path, mapped);
}

GgufFile GgufFile::parse(const uint8_t* bytes, size_t size, std::string source,
                         std::shared_ptr<const void> owner) {
  GgufFile file;
  file.source_ = std::move(source);
  file.owner_ = std::move(owner);
  file.file_bytes_ = bytes;
  file.file_size_ = size;
  GgufParser(bytes, size, file.source_).parse_into(file);
  return file;
}

}  // namespace tessera::io
