#pragma once
// Index bookkeeping for the strided kernels (binary, copy_strided): axis coalescing and a cursor
// that walks the outer axes of a row-major iteration while tracking each operand's offset.
#include <cstdint>

namespace tessera::kernels::strided {

inline constexpr int kMaxDims = 8;

// A row-major iteration space over a contiguous output with up to two strided operands.
// Axes of size 1 are dropped and neighbouring axes are merged whenever every operand steps
// through them as through one axis, so e.g. a contiguous [B, T, C] becomes one run of B*T*C and
// a [B, T, C] + [C] broadcast becomes B*T rows of C.
struct Layout {
  int ndim = 0;                  // after coalescing; 0 means a single element
  int64_t shape[kMaxDims] = {};  // outermost first
  int64_t strides[2][kMaxDims] = {};
  int64_t total = 1;  // number of elements (0 if any axis is empty)

  int64_t inner_size() const { return ndim > 0 ? shape[ndim - 1] : 1; }
  int64_t inner_stride(int operand) const { return ndim > 0 ? strides[operand][ndim - 1] : 0; }
};

// Throws std::invalid_argument for ndim outside [0, 8] or a negative extent.
Layout coalesce(const int64_t* shape, int ndim, const int64_t* const* operand_strides,
                int operands);

// Walks rows (every axis but the innermost) in row-major order.
class RowCursor {
 public:
  RowCursor(const Layout& layout, int operands) : layout_(layout), operands_(operands) {}

  // Positions the cursor at outer row `row` (a flat index over the outer axes).
  void seek(int64_t row) {
    offset_[0] = offset_[1] = 0;
    for (int d = layout_.ndim - 2; d >= 0; --d) {
      index_[d] = row % layout_.shape[d];
      row /= layout_.shape[d];
      for (int o = 0; o < operands_; ++o) offset_[o] += index_[d] * layout_.strides[o][d];
    }
  }

  void next() {
    for (int d = layout_.ndim - 2; d >= 0; --d) {
      for (int o = 0; o < operands_; ++o) offset_[o] += layout_.strides[o][d];
      if (++index_[d] < layout_.shape[d]) return;
      for (int o = 0; o < operands_; ++o) offset_[o] -= index_[d] * layout_.strides[o][d];
      index_[d] = 0;
    }
  }

  int64_t offset(int operand) const { return offset_[operand]; }

 private:
  const Layout& layout_;
  int operands_;
  int64_t index_[kMaxDims] = {};
  int64_t offset_[2] = {0, 0};
};

}  // namespace tessera::kernels::strided
