// Fuzzes the GGUF reader on arbitrary bytes: validation must refuse cleanly; every accepted
// tensor must load (or, for types Tessera cannot dequantise, be refused with BadInput) with
// the element count its description promises; the llama helpers must succeed or refuse
// cleanly; and writing the metadata and the plain tensors back and reading them again must
// give the same values, names, shapes and bytes.
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "tessera/core/io/gguf.h"
#include "tessera/core/io/gguf_llama.h"

using namespace tessera;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<io::GgufFile> file;
  if (!fuzz::succeeds([&] { file = io::GgufFile::parse(data, size, "fuzz.gguf"); })) return 0;

  std::vector<io::GgufTensorToWrite> plain;
  for (const io::GgufTensorInfo& info : file->tensors()) {
    fuzz::check(info.nbytes == 0 || file->data_offset() + info.offset + info.nbytes <= size,
                "tensor bytes beyond the input");
    const io::GgmlTypeTraits& traits = io::ggml_type_traits(info.type);
    const bool loadable = traits.dtype || traits.dequantizable || info.type == io::GgmlType::I16;
    Tensor tensor;
    const bool loaded = fuzz::succeeds([&] { tensor = file->get(info.name); });
    fuzz::check(loaded == loadable, "get() disagrees with the type table");
    if (!loaded) continue;
    fuzz::check(tensor.shape() == info.shape, "loaded shape differs from the description");
    Tensor as_f32 = file->get_f32(info.name);
    fuzz::check(as_f32.numel() == info.numel(), "f32 load changed the element count");
    if (file->is_zero_copy(info.name)) {
      const auto* view = static_cast<const uint8_t*>(std::as_const(tensor).raw_data());
      fuzz::check(view >= data && view + tensor.nbytes() <= data + size,
                  "zero-copy view outside the input");
    }
    // Names the writer accepts (llama.cpp's limit) and types it writes as they are.
    if (traits.dtype && !info.name.empty() && info.name.size() < 64) {
      plain.push_back({info.name, tensor, std::nullopt});
    }
  }
  for (const auto& entry : file->metadata()) entry.second.to_display();
  fuzz::succeeds([&] { io::llama_metadata(*file); });
  fuzz::succeeds([&] { io::gguf_tokenizer(*file); });

  // The file is written back only when the writer's extra rules hold (no empty key) and the
  // alignment is one a real file uses (the writer pads every tensor to it).
  bool writable = file->alignment() <= 4096;
  for (const auto& entry : file->metadata()) writable = writable && !entry.first.empty();
  if (!writable) return 0;
  const std::string image = io::serialize_gguf(file->metadata(), plain);
  io::GgufFile again = io::GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()),
                                           image.size(), "round-trip.gguf");
  fuzz::check(again.metadata() == file->metadata(), "round trip changed the metadata");
  fuzz::check(again.tensors().size() == plain.size(), "round trip changed the tensor count");
  for (const io::GgufTensorToWrite& entry : plain) {
    Tensor back = again.get(entry.name);
    fuzz::check(back.dtype() == entry.tensor.dtype() && back.shape() == entry.tensor.shape(),
                "round trip changed a dtype or shape");
    fuzz::check(std::memcmp(std::as_const(back).raw_data(), std::as_const(entry.tensor).raw_data(),
                            entry.tensor.nbytes()) == 0,
                "round trip changed tensor bytes");
  }
  return 0;
}
