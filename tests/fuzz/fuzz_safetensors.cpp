// Fuzzes the safetensors reader on arbitrary bytes: validation must refuse cleanly, every
// tensor it accepts must load (in its own dtype and, for floats, as f32), and writing the
// accepted tensors back and reading them again must give the same names, shapes and bytes.
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "fuzz_check.h"
#include "tessera/core/io/safetensors.h"

using namespace tessera;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<io::SafetensorsFile> file;
  if (!fuzz::succeeds([&] { file = io::SafetensorsFile::parse(data, size, "fuzz.safetensors"); })) {
    return 0;
  }
  io::NamedTensors loadable;
  for (const io::TensorInfo& info : file->infos()) {
    fuzz::check(info.end <= size, "tensor offsets beyond the input");
    if (!info.dtype) {
      fuzz::check(!fuzz::succeeds([&] { file->get(info.name); }), "unsupported dtype was loaded");
      continue;
    }
    Tensor tensor = file->get(info.name);
    fuzz::check(tensor.nbytes() == info.nbytes(), "loaded byte count differs from the header");
    if (file->is_zero_copy(info.name)) {
      const auto* view = static_cast<const uint8_t*>(std::as_const(tensor).raw_data());
      fuzz::check(view >= data && view + tensor.nbytes() <= data + size,
                  "zero-copy view outside the input");
    }
    if (is_floating(*info.dtype)) {
      Tensor as_f32 = file->get(info.name, DType::f32);
      fuzz::check(as_f32.numel() == tensor.numel(), "conversion changed the element count");
    }
    if (!info.name.empty()) loadable.emplace_back(info.name, tensor);  // the writer refuses ""
  }

  const std::string image = io::serialize_safetensors(loadable, file->metadata());
  io::SafetensorsFile again = io::SafetensorsFile::parse(
      reinterpret_cast<const uint8_t*>(image.data()), image.size(), "round-trip.safetensors");
  fuzz::check(again.names().size() == loadable.size(), "round trip changed the tensor count");
  fuzz::check(again.metadata() == file->metadata(), "round trip changed the metadata");
  for (const auto& [name, tensor] : loadable) {
    Tensor back = again.get(name);
    fuzz::check(back.dtype() == tensor.dtype() && back.shape() == tensor.shape(),
                "round trip changed a dtype or shape");
    fuzz::check(std::memcmp(std::as_const(back).raw_data(), std::as_const(tensor).raw_data(),
                            tensor.nbytes()) == 0,
                "round trip changed tensor bytes");
  }
  return 0;
}
