// Broadcasting binary ops: coalesce the axes, then hand each contiguous output run to the
// vectorised run kernel of the active instruction set (isa_kernels.h binary_run), which has
// fast inner loops for (contiguous, contiguous), (contiguous, scalar) and (scalar, contiguous)
// operands and a scalar loop for any other stride. A row broadcast ([rows, n] op [n]) coalesces
// into rows whose inner loop is (contiguous, contiguous).
#include "tessera/kernels/cpu/dispatch.h"
#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/isa_kernels.h"
#include "tessera/kernels/cpu/parallel_policy.h"
#include "tessera/kernels/cpu/strided_layout.h"

namespace tessera::kernels {

template <typename T>
void binary(BinaryOp op, const T* a, const int64_t* a_strides, const T* b, const int64_t* b_strides,
            T* out, const int64_t* shape, int ndim) {
  const int64_t* operand_strides[2] = {a_strides, b_strides};
  const strided::Layout layout = strided::coalesce(shape, ndim, operand_strides, 2);
  if (layout.total == 0) return;
  auto* run = active_isa() == Isa::avx512 ? &avx512::binary_run<T> : &avx2::binary_run<T>;
  const int64_t inner = layout.inner_size();
  const int64_t a_step = layout.inner_stride(0), b_step = layout.inner_stride(1);
  const int64_t total = layout.total;
  const int64_t chunks = ceil_div(total, kElementwiseChunk);
  // Each task covers a fixed range of output elements, whatever rows it spans.
#pragma omp parallel for schedule(static) if (total >= kParallelMinElements)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t position = c * kElementwiseChunk;
    const int64_t end = position + kElementwiseChunk < total ? position + kElementwiseChunk : total;
    strided::RowCursor cursor(layout, 2);
    cursor.seek(position / inner);
    int64_t column = position % inner;
    while (position < end) {
      const int64_t length = end - position < inner - column ? end - position : inner - column;
      run(op, a + cursor.offset(0) + column * a_step, a_step,
          b + cursor.offset(1) + column * b_step, b_step, out + position, length);
      position += length;
      column = 0;
      cursor.next();
    }
  }
}

template void binary<float>(BinaryOp, const float*, const int64_t*, const float*, const int64_t*,
                            float*, const int64_t*, int);
template void binary<double>(BinaryOp, const double*, const int64_t*, const double*, const int64_t*,
                             double*, const int64_t*, int);

}  // namespace tessera::kernels
