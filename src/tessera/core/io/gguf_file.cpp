// GgufFile access: metadata getters that name the file and key on a mismatch, and tensors as
// zero-copy views, converted copies or dequantised f32.
#include <cstring>

#include "tessera/core/io/gguf.h"
#include "tessera/core/io/tensor_bytes.h"

namespace tessera::io {

namespace {

// Runs `read` on the value of `key`, prefixing any BadInput with the file and key.
template <typename Read>
auto typed_get(const GgufFile& file, const std::string& key, Read&& read)
    -> decltype(read(file.value(key))) {
  const GgufValue& value = file.value(key);
  try {
    return read(value);
  } catch (const Error& e) {
    throw e.with_context(fmt::format("{}: metadata '{}'", file.source(), key));
  }
}

std::string loadable_types_description() {
  return "it reads F32, F16, BF16, F64, I8, I16, I32, I64 and dequantises " +
         dequantizable_type_names();
}

}  // namespace

std::vector<std::string> GgufFile::keys() const {
  std::vector<std::string> keys;
  keys.reserve(metadata_.size());
  for (const auto& entry : metadata_) keys.push_back(entry.first);
  return keys;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufValue& GgufFile::value(const std::string& key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) throw bad_input("{}: metadata key '{}' is missing", source_, key);
  return *value;
}

const std::string& GgufFile::get_string(const std::string& key) const {
  return typed_get(*this, key,
                   [](const GgufValue& v) -> const std::string& { return v.as_string(); });
}

uint64_t GgufFile::get_uint(const std::string& key) const {
  return typed_get(*this, key, [](const GgufValue& v) { return v.as_uint(); });
}

int64_t GgufFile::get_int(const std::string& key) const {
  return typed_get(*this, key, [](const GgufValue& v) { return v.as_int(); });
}

double GgufFile::get_float(const std::string& key) const {
  return typed_get(*this, key, [](const GgufValue& v) { return v.as_float(); });
}

bool GgufFile::get_bool(const std::string& key) const {
  return typed_get(*this, key, [](const GgufValue& v) { return v.as_bool(); });
}

const std::vector<std::string>& GgufFile::get_strings(const std::string& key) const {
  return typed_get(*this, key, [](const GgufValue& v) -> const std::vector<std::string>& {
    return v.as_strings();
  });
}

std::vector<int64_t> GgufFile::get_ints(const std::string& key) const {
  return typed_get(*this, key, [](const GgufValue& v) { return v.as_ints(); });
}

std::vector<double> GgufFile::get_floats(const std::string& key) const {
  return typed_get(*this, key, [](const GgufValue& v) { return v.as_floats(); });
}

const GgufTensorInfo& GgufFile::tensor_info(const std::string& name) const {
  auto it = tensor_index_.find(name);
  if (it == tensor_index_.end()) throw bad_input("{}: no tensor named '{}'", source_, name);
  return tensors_[it->second];
}

const uint8_t* GgufFile::tensor_bytes(const GgufTensorInfo& info) const {
  // An empty tensor may sit at a data section that starts past the end of the file (a header
  // without final padding); it reads no bytes, so any pointer inside the file will do.
  if (info.nbytes == 0) return file_bytes_;
  return file_bytes_ + data_offset_ + info.offset;
}

bool GgufFile::is_zero_copy(const std::string& name) const {
  const GgufTensorInfo& info = tensor_info(name);
  const GgmlTypeTraits& traits = ggml_type_traits(info.type);
  return traits.dtype.has_value() && is_aligned_for(tensor_bytes(info), *traits.dtype);
}

Tensor GgufFile::get(const std::string& name) const {
  const GgufTensorInfo& info = tensor_info(name);
  const GgmlTypeTraits& traits = ggml_type_traits(info.type);
  const uint8_t* bytes = tensor_bytes(info);
  Tensor result;
  if (traits.dtype) {
    result = view_or_copy(bytes, info.shape, *traits.dtype, owner_, /*allow_view=*/true);
  } else if (info.type == GgmlType::I16) {
    // Tessera has no 16-bit integer dtype; i32 holds every value exactly.
    result = Tensor::empty(info.shape, DType::i32);
    int32_t* out = result.data<int32_t>();
    for (int64_t i = 0; i < info.numel(); ++i) {
      int16_t v;
      std::memcpy(&v, bytes + 2 * i, 2);
      out[i] = v;
    }
  } else if (traits.dequantizable) {
    result = Tensor::empty(info.shape, DType::f32);
    dequantize_blocks(info.type, bytes, result.data<float>(), info.numel());
  } else {
    throw bad_input("{}: tensor '{}' has ggml type {}, which Tessera cannot load ({})", source_,
                    name, traits.name, loadable_types_description());
  }
  result.set_name(name);
  return result;
}

Tensor GgufFile::get_f32(const std::string& name) const {
  Tensor tensor = get(name);
  if (tensor.dtype() == DType::f32) return tensor;
  Tensor converted = convert_on_load(tensor, DType::f32);
  converted.set_name(name);
  return converted;
}

}  // namespace tessera::io
