#pragma once
// NumPy's .npy format: magic "\x93NUMPY", a version, a Python-literal header
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, then the raw C-order data.
// Versions 1.0, 2.0 and 3.0 are read; 1.0 is written (2.0 when the header needs it).
// docs/formats.md lists the accepted dtypes and every validation rule.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tessera/core/tensor.h"

namespace tessera::io {

struct NpyHeader {
  int major_version = 1;
  int minor_version = 0;
  std::string descr;  // as written: "<f4", "|u1", ...
  DType dtype = DType::f32;
  Shape shape;
  uint64_t data_offset = 0;  // first byte of the array data
  uint64_t data_bytes = 0;   // numel * element size
};

// Validates the header of a whole .npy image (`size` bytes) and that the data that follows
// has exactly the size the header announces. Errors are BadInput naming `source`.
NpyHeader parse_npy_header(const uint8_t* bytes, size_t size, const std::string& source);
// The array of a whole .npy image; a read-only view of the bytes (kept alive by `owner`) when
// they are aligned and no conversion is asked for, else a copy. Conversions go to floating
// types only.
Tensor parse_npy(const uint8_t* bytes, size_t size, const std::string& source,
                 std::shared_ptr<const void> owner = nullptr, std::optional<DType> want = {});
// Maps and reads a .npy file (numpy aligns the data to 64 bytes, so files it wrote are used
// in place).
Tensor load_npy(const std::string& path, std::optional<DType> want = {});
NpyHeader read_npy_header(const std::string& path);

// The header bytes save_npy writes, laid out as numpy 1.24+ does (including the spare
// spaces numpy leaves for growing the first axis), padded so the data starts at a multiple
// of 64 bytes. bf16 has no .npy dtype and is refused.
std::string npy_header(const Tensor& tensor);
std::string serialize_npy(const Tensor& tensor);  // header + data
// Writes atomically (temporary file, fsync, rename).
void save_npy(const std::string& path, const Tensor& tensor);

}  // namespace tessera::io
