// Fuzzes the PyTorch checkpoint reader (core/io/torch_pickle, core/io/zip_archive). Inputs that
// start with "PK" are read as whole archives; anything else is taken as the pickle of an archive
// that also holds storages "0".."3" of 64 bytes each, so the fuzzer reaches the pickle machine
// without having to discover the ZIP layout first. Refusals must be clean BadInput errors and
// accepted tensors must have the element count their shape says.
#include <string>

#include "../core/torch_save_writer.h"
#include "fuzz_check.h"
#include "tessera/core/io/torch_pickle.h"

using namespace tessera;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string image;
  if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
    image.assign(reinterpret_cast<const char*>(data), size);
  } else {
    testing::ZipWriter zip;
    zip.add("archive/data.pkl", std::string(reinterpret_cast<const char*>(data), size));
    for (int i = 0; i < 4; ++i)
      zip.add("archive/data/" + std::to_string(i), std::string(64, '\x3f'));
    image = zip.finish();
  }
  std::map<std::string, Tensor> tensors;
  if (!fuzz::succeeds([&] {
        tensors = io::read_torch_state_dict(io::ZipArchive::parse(
            reinterpret_cast<const uint8_t*>(image.data()), image.size(), "fuzz.bin"));
      }))
    return 0;
  for (const auto& [name, t] : tensors)
    fuzz::check(t.numel() == shape_numel(t.shape()), "tensor size mismatch");
  return 0;
}
