#pragma once
// Int8 x int8 products for int8-weight inference (W8A8, as CTranslate2's int8 mode computes
// them): activations are quantized per row to int8 with an absmax scale, weights are int8 rows
// with one scale each, products accumulate exactly in int32 and are scaled once at the end:
//   y[m, n] = float(sum_k a[m, k] * w[n, k]) * (a_scale[m] * w_scale[n]) (+ bias[n]).
//
// Weights are stored in panels for the AVX-512 VNNI instruction vpdpbusd, which adds, in each
// of 16 int32 lanes, the products of 4 unsigned by 4 signed bytes: a panel holds 16 weight rows
// (the last one padded with zero rows) and, for every group of 4 columns (K padded to a
// multiple of 4 with zeros), the 64 bytes row 0 cols 4g..4g+3, row 1 cols 4g..4g+3, ...,
// row 15. One load then feeds 16 outputs, broadcasting 4 activation bytes. Activations enter
// as a + 128 (unsigned) and each output is corrected by 128 * sum_k w[n, k] (the row sums).
#include <cstdint>

namespace tessera::kernels {

inline constexpr int64_t kInt8PanelRows = 16;

inline int64_t int8_packed_rows(int64_t rows) {
  return (rows + kInt8PanelRows - 1) / kInt8PanelRows * kInt8PanelRows;
}
inline int64_t int8_packed_cols(int64_t cols) {
  return (cols + 3) / 4 * 4;
}
// Element (n, k) of a packed [rows, cols] matrix.
inline int8_t int8_packed_at(const int8_t* packed, int64_t cols, int64_t n, int64_t k) {
  const int64_t panel = n / kInt8PanelRows, r = n % kInt8PanelRows;
  return packed[panel * kInt8PanelRows * int8_packed_cols(cols) + (k / 4) * 64 + r * 4 + k % 4];
}

// w row-major [rows, cols] -> packed [int8_packed_rows(rows) * int8_packed_cols(cols)] bytes.
void int8_pack_rows(const int8_t* w, int64_t rows, int64_t cols, int8_t* packed);
// Row n of a packed matrix, times `scale`, as f32 [cols].
void int8_dequantize_packed_row(const int8_t* packed, int64_t cols, int64_t n, float scale,
                                float* out);

// True when this CPU runs the VNNI kernel (AVX-512 F/BW/VL/DQ + VNNI, and not forced to AVX2).
bool int8_gemm_accelerated();

// Per-row absmax quantization of activations: scales[r] = max_k |x[r, k]| / 127 and
// q[r, k] = round_half_even(x[r, k] / scales[r]) in [-127, 127] (a zero row stays zero with
// scale 0). AVX-512 when available; int8_quantize_rows_reference is the plain loop.
// (ternary.h's quantize_rows_absmax stays separate: BitLinear must reproduce the released
// kernel's rounding, half away from zero, and hands back 127 / max rather than the scale.)
void int8_quantize_rows(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales);
void int8_quantize_rows_reference(const float* x, int64_t rows, int64_t cols, int8_t* q,
                                  float* scales);

// sums[n] = sum_k w[n, k] of a row-major matrix.
void int8_row_sums(const int8_t* w, int64_t rows, int64_t cols, int32_t* sums);

// a: int8 [M, K] (row stride lda, values in [-127, 127]); w_packed: int8_pack_rows of [N, K],
// with the row sums; y: f32 [M, N] (row stride ldy). bias may be null. Threads over N with
// OpenMP. Needs int8_gemm_accelerated().
void int8_gemm_f32(const int8_t* a, int64_t lda, const float* a_scale, int64_t M,
                   const int8_t* w_packed, const int32_t* w_row_sums, const float* w_scale,
                   const float* bias, int64_t N, int64_t K, float* y, int64_t ldy);

// The same product with plain loops on a row-major w (the tests' reference; any CPU).
void int8_gemm_f32_reference(const int8_t* a, int64_t lda, const float* a_scale, int64_t M,
                             const int8_t* w, const float* w_scale, const float* bias, int64_t N,
                             int64_t K, float* y, int64_t ldy);

namespace avx512 {
void int8_quantize_rows(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales);
// Outputs of panels [panel_begin, panel_end) for all M rows (single thread); a_u8 holds a + 128
// as [M, int8_packed_cols(K)] (padding bytes are multiplied by zero weights).
void int8_gemm_vnni_panels(const uint8_t* a_u8, const float* a_scale, int64_t M,
                           const int8_t* w_packed, const int32_t* w_row_sums,
                           const float* w_scale, const float* bias, int64_t panel_begin,
                           int64_t panel_end, int64_t N, int64_t K, float* y, int64_t ldy);
}  // namespace avx512

}  // namespace tessera::kernels
