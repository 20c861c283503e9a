#pragma once
// Turning bytes read from a file into tensors, shared by the safetensors and .npy readers:
// a zero-copy view when the bytes can be used in place, a copy otherwise, and the dtype
// conversions a loader may apply.
#include <cstdint>
#include <memory>

#include "tessera/core/tensor.h"

namespace tessera::io {

// Whether `p` may be read as elements of `dtype` without misaligned access.
bool is_aligned_for(const void* p, DType dtype);

// A tensor of `shape` and `dtype` over the contiguous little-endian bytes at `bytes`.
// When allowed and `bytes` is aligned, it is a read-only view that keeps `owner` alive;
// otherwise a fresh copy.
Tensor view_or_copy(const uint8_t* bytes, const Shape& shape, DType dtype,
                    std::shared_ptr<const void> owner, bool allow_view);

// Loaders convert to floating types only: float -> int would silently truncate.
bool can_convert_on_load(DType from, DType to);
// A converted contiguous copy; `source` must be contiguous (read-only views are fine).
Tensor convert_on_load(const Tensor& source, DType target);

}  // namespace tessera::io
