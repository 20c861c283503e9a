// Writing safetensors files: the header exactly as the reference implementation lays it out
// (compact JSON, __metadata__ first, spaces up to a multiple of 8 bytes), then the tensors'
// bytes back to back in the caller's order.
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "tessera/core/io/atomic_file.h"
#include "tessera/core/io/safetensors.h"

namespace tessera::io {

namespace {

// JSON string literal for `text`; names reach the header verbatim, so invalid UTF-8 (which
// no reader would accept) is refused here rather than written.
std::string quoted(const std::string& text, const char* what) {
  try {
    return nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception&) {
    throw bad_input("{} '{}' is not valid UTF-8", what, text);
  }
}

void check_tensors(const NamedTensors& tensors) {
  std::unordered_set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    TESSERA_CHECK_INPUT(!name.empty(), "safetensors: a tensor has an empty name");
    TESSERA_CHECK_INPUT(name != "__metadata__",
                        "safetensors: '__metadata__' is reserved and cannot name a tensor");
    TESSERA_CHECK_INPUT(seen.insert(name).second, "safetensors: tensor '{}' is given twice", name);
    TESSERA_CHECK_INPUT(tensor.defined(), "safetensors: tensor '{}' is undefined", name);
  }
}

}  // namespace

std::string safetensors_header(const NamedTensors& tensors, const StringMetadata& metadata) {
  check_tensors(tensors);
  std::string text = "{";
  if (!metadata.empty()) {
    text += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) text += ',';
      first = false;
      text += quoted(key, "metadata key") + ':' + quoted(value, "metadata value");
    }
    text += '}';
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (text.size() > 1) text += ',';
    std::string shape;
    for (int64_t d : tensor.shape()) {
      if (!shape.empty()) shape += ',';
      shape += std::to_string(d);
    }
    const uint64_t end = offset + tensor.nbytes();
    text += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                        quoted(name, "tensor name"), safetensors_dtype_name(tensor.dtype()), shape,
                        offset, end);
    offset = end;
  }
  text += '}';
  // Padding keeps the data buffer 8-byte aligned in the file, so tensors whose offsets are
  // multiples of their element size can be used in place after mmap.
  text.append((8 - text.size() % 8) % 8, ' ');
  TESSERA_CHECK_INPUT(text.size() <= kSafetensorsMaxHeaderBytes,
                      "safetensors: header of {} bytes exceeds the {} byte limit", text.size(),
                      kSafetensorsMaxHeaderBytes);
  uint64_t length = text.size();
  std::string header(8, '\0');
  for (int i = 0; i < 8; ++i) header[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return header + text;
}

std::string serialize_safetensors(const NamedTensors& tensors, const StringMetadata& metadata) {
  std::string bytes = safetensors_header(tensors, metadata);
  for (const auto& [name, tensor] : tensors) {
    const Tensor contiguous = tensor.contiguous();
    bytes.append(static_cast<const char*>(contiguous.raw_data()), contiguous.nbytes());
  }
  return bytes;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const StringMetadata& metadata) {
  std::string header = safetensors_header(tensors, metadata);
  AtomicFileWriter out(path);
  out.write(header);
  for (const auto& [name, tensor] : tensors) {
    const Tensor contiguous = tensor.contiguous();
    out.write(contiguous.raw_data(), contiguous.nbytes());
  }
  out.commit();
}

}  // namespace tessera::io
