// Gathers a strided view into contiguous memory. After coalescing (strided_layout.h): runs with
// unit stride are memcpy'd, a transpose of the two innermost axes is copied in cache-sized
// tiles, and any other stride is a typed gather loop.
#include <cstring>
#include <stdexcept>
#include <string>

#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/parallel_policy.h"
#include "tessera/kernels/cpu/strided_layout.h"

namespace tessera::kernels {

namespace {

constexpr int64_t kTile = 32;

template <typename U>
void gather(const U* src, int64_t step, U* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i * step];
}

void copy_run(const unsigned char* src, int64_t step, unsigned char* dst, int64_t n,
              int64_t element_size) {
  if (step == 1) {
    std::memcpy(dst, src, static_cast<size_t>(n * element_size));
    return;
  }
  switch (element_size) {
    case 1:
      return gather(src, step, dst, n);
    case 2:
      return gather(reinterpret_cast<const uint16_t*>(src), step, reinterpret_cast<uint16_t*>(dst),
                    n);
    case 4:
      return gather(reinterpret_cast<const uint32_t*>(src), step, reinterpret_cast<uint32_t*>(dst),
                    n);
    default:
      return gather(reinterpret_cast<const uint64_t*>(src), step, reinterpret_cast<uint64_t*>(dst),
                    n);
  }
}

// dst[r, c] = src[r * 1 + c * column_stride] for a rows x cols tile: reads walk down the source's
// contiguous axis, and the whole tile stays in L1 while the writes sweep across it.
template <typename U>
void transpose_tile(const U* src, int64_t column_stride, U* dst, int64_t dst_row_length,
                    int64_t rows, int64_t cols) {
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r) dst[r * dst_row_length + c] = src[r + c * column_stride];
  }
}

void transpose_tile_bytes(const unsigned char* src, int64_t column_stride, unsigned char* dst,
                          int64_t dst_row_length, int64_t rows, int64_t cols,
                          int64_t element_size) {
  switch (element_size) {
    case 1:
      return transpose_tile(src, column_stride, dst, dst_row_length, rows, cols);
    case 2:
      return transpose_tile(reinterpret_cast<const uint16_t*>(src), column_stride,
                            reinterpret_cast<uint16_t*>(dst), dst_row_length, rows, cols);
    case 4:
      return transpose_tile(reinterpret_cast<const uint32_t*>(src), column_stride,
                            reinterpret_cast<uint32_t*>(dst), dst_row_length, rows, cols);
    default:
      return transpose_tile(reinterpret_cast<const uint64_t*>(src), column_stride,
                            reinterpret_cast<uint64_t*>(dst), dst_row_length, rows, cols);
  }
}

}  // namespace

void copy_strided(const void* src, const int64_t* src_strides, void* dst, const int64_t* shape,
                  int ndim, int64_t element_size) {
  if (element_size != 1 && element_size != 2 && element_size != 4 && element_size != 8) {
    throw std::invalid_argument("copy_strided: element size " + std::to_string(element_size) +
                                " (supported: 1, 2, 4, 8)");
  }
  const int64_t* operand_strides[1] = {src_strides};
  const strided::Layout layout = strided::coalesce(shape, ndim, operand_strides, 1);
  if (layout.total == 0) return;
  const auto* from = static_cast<const unsigned char*>(src);
  auto* to = static_cast<unsigned char*>(dst);
  const int64_t inner = layout.inner_size();
  const int64_t step = layout.inner_stride(0);
  const int64_t total = layout.total;
  const bool parallel = total * element_size >= kParallelMinElements * 4;

  // The two innermost axes are a transpose: the next-to-last is the source's contiguous one.
  if (layout.ndim >= 2 && step != 1 && layout.strides[0][layout.ndim - 2] == 1) {
    const int64_t rows = layout.shape[layout.ndim - 2];
    const int64_t planes = total / (rows * inner);
    const int64_t row_tiles = ceil_div(rows, kTile), col_tiles = ceil_div(inner, kTile);
    strided::Layout outer = layout;  // the axes above the transposed pair
    outer.ndim = layout.ndim - 1;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t task = 0; task < planes * row_tiles; ++task) {
      const int64_t plane = task / row_tiles, r0 = (task % row_tiles) * kTile;
      strided::RowCursor cursor(outer, 1);
      cursor.seek(plane);
      const int64_t tile_rows = r0 + kTile < rows ? kTile : rows - r0;
      for (int64_t t = 0; t < col_tiles; ++t) {
        const int64_t c0 = t * kTile;
        const int64_t tile_cols = c0 + kTile < inner ? kTile : inner - c0;
        transpose_tile_bytes(from + (cursor.offset(0) + r0 + c0 * step) * element_size, step,
                             to + ((plane * rows + r0) * inner + c0) * element_size, inner,
                             tile_rows, tile_cols, element_size);
      }
    }
    return;
  }

  const int64_t chunks = ceil_div(total, kElementwiseChunk);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t position = c * kElementwiseChunk;
    const int64_t end = position + kElementwiseChunk < total ? position + kElementwiseChunk : total;
    strided::RowCursor cursor(layout, 1);
    cursor.seek(position / inner);
    int64_t column = position % inner;
    while (position < end) {
      const int64_t length = end - position < inner - column ? end - position : inner - column;
      copy_run(from + (cursor.offset(0) + column * step) * element_size, step,
               to + position * element_size, length, element_size);
      position += length;
      column = 0;
      cursor.next();
    }
  }
}

}  // namespace tessera::kernels
