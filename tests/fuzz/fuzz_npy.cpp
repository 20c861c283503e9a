// Fuzzes the .npy reader (and its Python-literal header parser) on arbitrary bytes: refusals
// must be clean BadInput errors, accepted arrays must convert to f32 when floating, and
// writing an accepted array back and reading it again must give the same shape and bytes.
#include <cstring>
#include <string>
#include <utility>

#include "fuzz_check.h"
#include "tessera/core/io/npy.h"

using namespace tessera;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Tensor array;
  if (!fuzz::succeeds([&] { array = io::parse_npy(data, size, "fuzz.npy"); })) return 0;
  const io::NpyHeader header = io::parse_npy_header(data, size, "fuzz.npy");
  fuzz::check(header.data_offset + array.nbytes() == size, "data size differs from the header");
  if (is_floating(array.dtype())) {
    Tensor as_f32 = io::parse_npy(data, size, "fuzz.npy", nullptr, DType::f32);
    fuzz::check(as_f32.numel() == array.numel(), "conversion changed the element count");
  }
  const std::string image = io::serialize_npy(array);
  fuzz::check(image.size() % 64 == array.nbytes() % 64, "written data is not 64-byte aligned");
  Tensor back =
      io::parse_npy(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "round-trip.npy");
  fuzz::check(back.dtype() == array.dtype() && back.shape() == array.shape(),
              "round trip changed the dtype or shape");
  fuzz::check(std::memcmp(std::as_const(back).raw_data(), std::as_const(array).raw_data(),
                          array.nbytes()) == 0,
              "round trip changed the data");
  return 0;
}
