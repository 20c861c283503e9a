#pragma once
// Helpers shared by the ops_*.cpp files (not part of the public API).
#include <string_view>

#include "tessera/core/autograd.h"
#include "tessera/core/tensor.h"

namespace tessera::detail {

// Calls fn.template operator()<T>() with T = float or double for the tensor's dtype.
template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, std::string_view op, Fn&& fn) {
  switch (dtype) {
    case DType::f32: return fn.template operator()<float>();
    case DType::f64: return fn.template operator()<double>();
    default:
      throw runtime_error("{}: needs an f32 or f64 tensor, got {} (convert with .to())", op,
                          dtype_name(dtype));
  }
}

inline void check_same_dtype(const Tensor& a, const Tensor& b, std::string_view op) {
  TESSERA_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ ({} vs {})", op, dtype_name(a.dtype()),
                dtype_name(b.dtype()));
}

// Integer index tensors (i32, i64, u8, i8) as a contiguous i64 tensor.
inline Tensor as_index(const Tensor& t, std::string_view op) {
  TESSERA_CHECK(!is_floating(t.dtype()), "{}: indices must be integers, got {}", op,
                dtype_name(t.dtype()));
  return t.to(DType::i64).contiguous();
}

// Strides that read `t` as if it had `shape` (broadcast axes get stride 0).
std::vector<int64_t> broadcast_strides(const Tensor& t, const Shape& shape);

}  // namespace tessera::detail
