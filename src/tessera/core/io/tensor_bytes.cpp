#include "tessera/core/io/tensor_bytes.h"

#include <cstring>

#include "tessera/kernels/cpu/elementwise.h"

namespace tessera::io {

namespace {

template <typename T>
T load(const void* base, int64_t i) {
  T value;
  std::memcpy(&value, static_cast<const char*>(base) + i * static_cast<int64_t>(sizeof(T)),
              sizeof(T));
  return value;
}

double load_as_double(const void* base, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::f32:
      return load<float>(base, i);
    case DType::f64:
      return load<double>(base, i);
    case DType::bf16:
      return bf16_to_f32(load<uint16_t>(base, i));
    case DType::f16:
      return f16_to_f32(load<uint16_t>(base, i));
    case DType::i8:
      return load<int8_t>(base, i);
    case DType::i32:
      return load<int32_t>(base, i);
    case DType::i64:
      return static_cast<double>(load<int64_t>(base, i));
    case DType::u8:
      return load<uint8_t>(base, i);
  }
  return 0.0;
}

}  // namespace

bool is_aligned_for(const void* p, DType dtype) {
  return reinterpret_cast<uintptr_t>(p) % dtype_size(dtype) == 0;
}

Tensor view_or_copy(const uint8_t* bytes, const Shape& shape, DType dtype,
                    std::shared_ptr<const void> owner, bool allow_view) {
  const size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (allow_view && is_aligned_for(bytes, dtype)) {
    // The storage is marked read-only, so the const_cast never leads to a write.
    auto storage =
        Storage::wrap(const_cast<uint8_t*>(bytes), nbytes, std::move(owner), /*read_only=*/true);
    return Tensor::from_storage(std::move(storage), shape, dtype);
  }
  Tensor copy = Tensor::empty(shape, dtype);
  if (nbytes > 0) std::memcpy(copy.raw_data(), bytes, nbytes);
  return copy;
}

bool can_convert_on_load(DType from, DType to) {
  return from == to || is_floating(to);
}

Tensor convert_on_load(const Tensor& source, DType target) {
  // Empty tensors skip the contiguity check: Tensor::is_contiguous reports false for some
  // zero-size shapes such as [5, 0], and there is nothing to read anyway.
  TESSERA_CHECK(can_convert_on_load(source.dtype(), target) &&
                    (source.numel() == 0 || source.is_contiguous()),
                "convert_on_load: {} -> {} of a {} tensor", dtype_name(source.dtype()),
                dtype_name(target), source.is_contiguous() ? "contiguous" : "strided");
  Tensor out = Tensor::empty(source.shape(), target);
  const int64_t n = source.numel();
  const void* src = source.raw_data();
  void* dst = out.raw_data();
  if (n == 0 || source.dtype() == target) {
    if (n > 0) std::memcpy(dst, src, source.nbytes());
  } else if (source.dtype() == DType::bf16 && target == DType::f32) {
    kernels::bf16_to_f32(static_cast<const uint16_t*>(src), static_cast<float*>(dst), n);
  } else if (source.dtype() == DType::f16 && target == DType::f32) {
    kernels::f16_to_f32(static_cast<const uint16_t*>(src), static_cast<float*>(dst), n);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const double v = load_as_double(src, source.dtype(), i);
      switch (target) {
        case DType::f32:
          static_cast<float*>(dst)[i] = static_cast<float>(v);
          break;
        case DType::f64:
          static_cast<double*>(dst)[i] = v;
          break;
        case DType::bf16:
          static_cast<uint16_t*>(dst)[i] = f32_to_bf16(static_cast<float>(v));
          break;
        case DType::f16:
          static_cast<uint16_t*>(dst)[i] = f32_to_f16(static_cast<float>(v));
          break;
        default:
          break;  // excluded by can_convert_on_load
      }
    }
  }
  return out;
}

}  // namespace tessera::io
