#pragma once
// Int8 x int8 products for int8-weight inference (W8A8, as CTranslate2's int8 mode computes
// them): activations are quantized per row to int8 with an absmax scale, weights are int8 rows
// with one scale each, products accumulate exactly in int32 and are scaled once at the end:
//   y[m, n] = float(sum_k a[m, k] * w[n, k]) * (a_scale[m] * w_scale[n]) (+ bias[n]).
// The AVX-512 VNNI kernel multiplies unsigned by signed bytes (vpdpbusd), so activations enter
// as a + 128 and the product is corrected by 128 * sum_k w[n, k] (the weight row sums).
// Weights stay in their natural [N, K] row-major layout: each output is a dot product of two
// contiguous rows, so the same int8 matrix also serves embedding lookups and the f32 paths.
#include <cstdint>

namespace tessera::kernels {

// True when this CPU runs the VNNI kernel (AVX-512 F/BW/VL/DQ + VNNI, and not forced to AVX2).
bool int8_gemm_accelerated();

// Per-row absmax quantization of activations: scales[r] = max_k |x[r, k]| / 127 and
// q[r, k] = round_half_even(x[r, k] / scales[r]) in [-127, 127] (a zero row stays zero with
// scale 0). AVX-512 when available; int8_quantize_rows_reference is the plain loop.
void int8_quantize_rows(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales);
void int8_quantize_rows_reference(const float* x, int64_t rows, int64_t cols, int8_t* q,
                                  float* scales);

// sums[n] = sum_k w[n, k].
void int8_row_sums(const int8_t* w, int64_t rows, int64_t cols, int32_t* sums);

// a: int8 [M, K] (row stride lda, values in [-127, 127]); w: int8 [N, K] row-major with its row
// sums; y: f32 [M, N] (row stride ldy). bias may be null. Threads over N with OpenMP. Needs
// int8_gemm_accelerated(); callers without it use int8_gemm_f32_reference or an f32 path.
void int8_gemm_f32(const int8_t* a, int64_t lda, const float* a_scale, int64_t M, const int8_t* w,
                   const int32_t* w_row_sums, const float* w_scale, const float* bias, int64_t N,
                   int64_t K, float* y, int64_t ldy);

// The same product with plain loops (the tests' reference; any CPU).
void int8_gemm_f32_reference(const int8_t* a, int64_t lda, const float* a_scale, int64_t M,
                             const int8_t* w, const float* w_scale, const float* bias, int64_t N,
                             int64_t K, float* y, int64_t ldy);

namespace avx512 {
void int8_quantize_rows(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales);
// Outputs [n_begin, n_end) for all M rows (single thread); a_u8 holds a + 128.
void int8_gemm_vnni_columns(const uint8_t* a_u8, int64_t lda, const float* a_scale, int64_t M,
                            const int8_t* w, const int32_t* w_row_sums, const float* w_scale,
                            const float* bias, int64_t n_begin, int64_t n_end, int64_t K, float* y,
                            int64_t ldy);
}  // namespace avx512

}  // namespace tessera::kernels
