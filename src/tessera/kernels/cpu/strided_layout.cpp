#include "tessera/kernels/cpu/strided_layout.h"

#include <stdexcept>
#include <string>

namespace tessera::kernels::strided {

Layout coalesce(const int64_t* shape, int ndim, const int64_t* const* operand_strides,
                int operands) {
  if (ndim < 0 || ndim > kMaxDims) {
    throw std::invalid_argument("strided kernel: " + std::to_string(ndim) +
                                " dimensions (supported: 0 to 8)");
  }
  Layout layout;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] < 0) {
      throw std::invalid_argument("strided kernel: negative extent " + std::to_string(shape[d]) +
                                  " on axis " + std::to_string(d));
    }
    layout.total *= shape[d];
  }
  if (layout.total == 0) return layout;
  // Walk from the innermost axis outwards, merging axis d into the current one when every
  // operand's stride over d equals its stride over the current axis times that axis's extent.
  int64_t merged_shape[kMaxDims];
  int64_t merged_strides[2][kMaxDims];
  int count = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    bool mergeable = count > 0;
    for (int o = 0; o < operands && mergeable; ++o) {
      mergeable = operand_strides[o][d] == merged_strides[o][count - 1] * merged_shape[count - 1];
    }
    if (mergeable) {
      merged_shape[count - 1] *= shape[d];
      continue;
    }
    merged_shape[count] = shape[d];
    for (int o = 0; o < operands; ++o) merged_strides[o][count] = operand_strides[o][d];
    ++count;
  }
  layout.ndim = count;
  for (int i = 0; i < count; ++i) {  // back to outermost-first
    layout.shape[i] = merged_shape[count - 1 - i];
    for (int o = 0; o < operands; ++o) layout.strides[o][i] = merged_strides[o][count - 1 - i];
  }
  return layout;
}

}  // namespace tessera::kernels::strided
