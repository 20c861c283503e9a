// Writing GGUF files (version 3): header, metadata, tensor descriptions, then each tensor's
// bytes padded to the alignment, in the caller's order. llama.cpp requires exactly this
// layout (offsets increasing, each the previous end rounded up to the alignment).
#include <cstring>
#include <unordered_set>
#include <utility>

#include "tessera/core/io/atomic_file.h"
#include "tessera/core/io/gguf.h"
#include "tessera/core/io/tensor_bytes.h"

namespace tessera::io {

namespace {

// ggml's GGML_MAX_NAME is 64 including the terminating zero; llama.cpp refuses longer names.
constexpr size_t kMaxTensorNameBytes = 63;

struct PlannedTensor {
  const GgufTensorToWrite* source;
  GgmlType type;
  uint64_t nbytes;
  uint64_t offset;
};

uint64_t align_up(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

std::optional<GgmlType> plain_ggml_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return GgmlType::F32;
    case DType::f16:
      return GgmlType::F16;
    case DType::bf16:
      return GgmlType::BF16;
    case DType::f64:
      return GgmlType::F64;
    case DType::i8:
      return GgmlType::I8;
    case DType::i32:
      return GgmlType::I32;
    case DType::i64:
      return GgmlType::I64;
    case DType::u8:
      return std::nullopt;
  }
  return std::nullopt;
}

uint64_t metadata_alignment(const GgufMetadata& metadata) {
  std::unordered_set<std::string> seen;
  uint64_t alignment = kGgufDefaultAlignment;
  for (const auto& [key, value] : metadata) {
    TESSERA_CHECK_INPUT(!key.empty(), "GGUF: a metadata key is empty");
    TESSERA_CHECK_INPUT(seen.insert(key).second, "GGUF: metadata key '{}' is given twice", key);
    if (key != "general.alignment") continue;
    TESSERA_CHECK_INPUT(value.type() == GgufValueType::u32,
                        "GGUF: metadata 'general.alignment' is {}, expected u32",
                        value.type_description());
    alignment = value.as_uint();
    TESSERA_CHECK_INPUT(alignment != 0 && (alignment & (alignment - 1)) == 0,
                        "GGUF: metadata 'general.alignment' is {}, expected a power of two",
                        alignment);
  }
  return alignment;
}

GgmlType storage_type(const GgufTensorToWrite& entry) {
  const DType dtype = entry.tensor.dtype();
  if (!entry.store_as) {
    std::optional<GgmlType> type = plain_ggml_type(dtype);
    TESSERA_CHECK_INPUT(type.has_value(), "GGUF: tensor '{}' is {}, which GGUF cannot store",
                        entry.name, dtype_name(dtype));
    return *type;
  }
  const GgmlType type = *entry.store_as;
  const GgmlTypeTraits& traits = ggml_type_traits(type);
  const bool from_float = type == GgmlType::F32 || type == GgmlType::F16 ||
                          type == GgmlType::BF16 || type == GgmlType::Q8_0 ||
                          type == GgmlType::Q4_0;
  if (from_float) {
    TESSERA_CHECK_INPUT(is_floating(dtype),
                        "GGUF: tensor '{}' is {}; only floating tensors can "
                        "be stored as {}",
                        entry.name, dtype_name(dtype), traits.name);
  } else {
    TESSERA_CHECK_INPUT(plain_ggml_type(dtype) == type,
                        "GGUF: tensor '{}' is {} and cannot be stored as {} (Tessera writes F32, "
                        "F16, BF16, Q8_0 and Q4_0 from floating tensors, and other plain types "
                        "from the same dtype)",
                        entry.name, dtype_name(dtype), traits.name);
  }
  return type;
}

std::vector<PlannedTensor> plan_tensors(const std::vector<GgufTensorToWrite>& tensors,
                                        uint64_t alignment) {
  std::unordered_set<std::string> seen;
  std::vector<PlannedTensor> planned;
  uint64_t offset = 0;
  for (const GgufTensorToWrite& entry : tensors) {
    TESSERA_CHECK_INPUT(!entry.name.empty(), "GGUF: a tensor has an empty name");
    TESSERA_CHECK_INPUT(entry.name.size() <= kMaxTensorNameBytes,
                        "GGUF: tensor name '{}' is {} bytes; llama.cpp accepts at most {}",
                        entry.name, entry.name.size(), kMaxTensorNameBytes);
    TESSERA_CHECK_INPUT(seen.insert(entry.name).second, "GGUF: tensor '{}' is given twice",
                        entry.name);
    TESSERA_CHECK_INPUT(entry.tensor.defined(), "GGUF: tensor '{}' is undefined", entry.name);
    TESSERA_CHECK_INPUT(entry.tensor.dim() <= static_cast<int64_t>(kGgufMaxDims),
                        "GGUF: tensor '{}' has {} dimensions; GGUF holds at most {}", entry.name,
                        entry.tensor.dim(), kGgufMaxDims);
    const GgmlType type = storage_type(entry);
    const GgmlTypeTraits& traits = ggml_type_traits(type);
    const int64_t row = entry.tensor.dim() == 0 ? 1 : entry.tensor.size(-1);
    TESSERA_CHECK_INPUT(row % traits.block_size == 0,
                        "GGUF: tensor '{}' of shape {} cannot be stored as {}: its last "
                        "dimension must be a multiple of {}",
                        entry.name, shape_str(entry.tensor.shape()), traits.name,
                        traits.block_size);
    const uint64_t nbytes =
        static_cast<uint64_t>(entry.tensor.numel() / traits.block_size * traits.block_bytes);
    planned.push_back({&entry, type, nbytes, offset});
    offset = align_up(offset + nbytes, alignment);
  }
  return planned;
}

void append_u32(std::string& out, uint32_t v) {
  out.append(reinterpret_cast<const char*>(&v), 4);
}
void append_u64(std::string& out, uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), 8);
}
void append_string(std::string& out, const std::string& text) {
  append_u64(out, text.size());
  out += text;
}

// The value without its leading type code (arrays nested in arrays carry none).
void append_value_body(std::string& out, const GgufValue& value) {
  if (value.type() == GgufValueType::string) {
    append_string(out, value.as_string());
    return;
  }
  if (!value.is_array()) {
    out += value.raw_bytes();
    return;
  }
  append_u32(out, static_cast<uint32_t>(value.element_type()));
  append_u64(out, value.size());
  if (value.element_type() == GgufValueType::string) {
    for (const std::string& s : value.as_strings()) append_string(out, s);
  } else if (value.element_type() == GgufValueType::array) {
    for (const GgufValue& element : value.as_arrays()) append_value_body(out, element);
  } else {
    out += value.raw_bytes();
  }
}

std::string header_bytes(const GgufMetadata& metadata, const std::vector<PlannedTensor>& planned,
                         uint64_t alignment) {
  std::string out = "GGUF";
  append_u32(out, 3);
  append_u64(out, planned.size());
  append_u64(out, metadata.size());
  for (const auto& [key, value] : metadata) {
    append_string(out, key);
    append_u32(out, static_cast<uint32_t>(value.type()));
    append_value_body(out, value);
  }
  for (const PlannedTensor& tensor : planned) {
    const Shape& shape = tensor.source->tensor.shape();
    append_string(out, tensor.source->name);
    append_u32(out, static_cast<uint32_t>(shape.size()));
    for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
      append_u64(out, static_cast<uint64_t>(*it));
    }
    append_u32(out, static_cast<uint32_t>(tensor.type));
    append_u64(out, tensor.offset);
  }
  out.append(align_up(out.size(), alignment) - out.size(), '\0');
  return out;
}

// The tensor's bytes as stored in the file.
std::string tensor_bytes(const PlannedTensor& planned) {
  const Tensor source = planned.source->tensor.detach();
  const GgmlTypeTraits& traits = ggml_type_traits(planned.type);
  std::string bytes(planned.nbytes, '\0');
  if (traits.dtype) {
    Tensor stored = source.contiguous();
    if (stored.dtype() != *traits.dtype) stored = convert_on_load(stored, *traits.dtype);
    // std::as_const: the source may be a read-only view of a mapped file (a re-export).
    if (planned.nbytes > 0) {
      std::memcpy(bytes.data(), std::as_const(stored).raw_data(), planned.nbytes);
    }
    return bytes;
  }
  Tensor values = source.contiguous();
  if (values.dtype() != DType::f32) values = convert_on_load(values, DType::f32);
  auto* out = reinterpret_cast<uint8_t*>(bytes.data());
  const float* x = std::as_const(values).data<float>();
  if (planned.type == GgmlType::Q8_0) {
    quantize_q8_0(x, out, values.numel());
  } else {
    quantize_q4_0(x, out, values.numel());
  }
  return bytes;
}

template <typename Sink>
void write_gguf(const GgufMetadata& metadata, const std::vector<GgufTensorToWrite>& tensors,
                Sink&& sink) {
  const uint64_t alignment = metadata_alignment(metadata);
  const std::vector<PlannedTensor> planned = plan_tensors(tensors, alignment);
  sink(header_bytes(metadata, planned, alignment));
  for (const PlannedTensor& tensor : planned) {
    std::string bytes = tensor_bytes(tensor);
    bytes.append(align_up(bytes.size(), alignment) - bytes.size(), '\0');
    sink(bytes);
  }
}

}  // namespace

std::string serialize_gguf(const GgufMetadata& metadata,
                           const std::vector<GgufTensorToWrite>& tensors) {
  std::string image;
  write_gguf(metadata, tensors, [&](const std::string& bytes) { image += bytes; });
  return image;
}

void save_gguf(const std::string& path, const GgufMetadata& metadata,
               const std::vector<GgufTensorToWrite>& tensors) {
  // Validate everything before the temporary file exists.
  plan_tensors(tensors, metadata_alignment(metadata));
  AtomicFileWriter out(path);
  write_gguf(metadata, tensors, [&](const std::string& bytes) { out.write(bytes); });
  out.commit();
}

}  // namespace tessera::io
