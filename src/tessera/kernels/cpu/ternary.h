#pragma once
// Ternary weights {-1, 0, +1} for BitNet-style layers (HGRN-Bit, "Scalable MatMul-free Language
// Modeling", Zhu et al. 2024): quantizers, two packings and integer products that use only
// additions, subtractions and table lookups.
//
// 2-bit packing ("ternary2"): each row is cut into blocks of 128 weights (the row is padded
// with zero weights to a multiple of 128). A block is 32 bytes; byte j of a block holds the
// codes (t + 1) of weights j, j + 32, j + 64 and j + 96 in bits 0-1, 2-3, 4-5 and 6-7. One
// shift and one mask of a 32-byte load thus give 32 consecutive weights: the layout the SIMD
// kernels want, with no shuffles.
//
// Base-3 packing ("ternary3"): five weights per byte, byte = sum_i (t_i + 1) * 3^i over
// weights 5j..5j+4 (about 1.6 bits per weight; the row's last byte may hold fewer). Its
// product builds, per token, a table of all 243 signed sums of each group of five activations
// (additions only), then every weight byte is one lookup.
//
// Activation inputs are int8 in [-127, 127]: what absmax quantization produces (127 / max|x|
// scaling never reaches -128), so negating an activation never overflows.
#include <cstdint>

namespace tessera::kernels {

inline constexpr int64_t kTernaryBlock = 128;  // weights per 2-bit block (32 bytes)

// Columns of a 2-bit row after padding (a multiple of 128).
inline int64_t ternary2_padded_cols(int64_t cols) {
  return (cols + kTernaryBlock - 1) / kTernaryBlock * kTernaryBlock;
}
inline int64_t ternary2_row_bytes(int64_t cols) {
  return ternary2_padded_cols(cols) / 4;
}
inline int64_t ternary3_row_bytes(int64_t cols) {
  return (cols + 4) / 5;
}

// trits [rows, cols] in {-1, 0, 1} -> packed [rows, row_bytes]. Out-of-range trits are an
// error the caller has checked (the packers assert in debug builds only).
void pack_ternary2(const int8_t* trits, int64_t rows, int64_t cols, uint8_t* packed);
void unpack_ternary2(const uint8_t* packed, int64_t rows, int64_t cols, int8_t* trits);
void pack_ternary3(const int8_t* trits, int64_t rows, int64_t cols, uint8_t* packed);
void unpack_ternary3(const uint8_t* packed, int64_t rows, int64_t cols, int8_t* trits);
// True when every byte of a base-3 matrix is a valid code (< 243): loaders check files.
bool ternary3_codes_valid(const uint8_t* packed, int64_t bytes);
// True when no 2-bit code is 3 (the unused code): loaders check files.
bool ternary2_codes_valid(const uint8_t* packed, int64_t bytes);

// Per-tensor absmean ternarization as the released BitLinear does it (weight_quant in
// mmfreelm/ops/fusedbitnet.py): s = 1 / max(mean|w|, 1e-5), t = clamp(round_half_even(w * s),
// -1, 1). Returns the dequantization factor 1 / s (w ~= t * factor).
float ternarize_absmean(const float* w, int64_t n, int8_t* trits);

// Per-row absmax 8-bit quantization (activation_quant): s = 127 / max(max|x|, 1e-5),
// q = clamp(round_half_away(x * s), -127, 127). Writes q [rows, ld_q] (columns >= cols are
// set to zero, so a padded row is ready for the 2-bit kernels) and s per row.
void quantize_rows_absmax(const float* x, int64_t rows, int64_t cols, int8_t* q, int64_t ld_q,
                          float* scales);

// y[n, r] = sum_k x[n, k] * t[r, k] for n < batch, r < rows, exactly, in int32.
// ternary2: x is [batch, ternary2_padded_cols(cols)] with zeros past `cols`.
// ternary3: x is [batch, cols].
// Dispatched to AVX-512 or AVX2 (dispatch.h); threads over rows with OpenMP.
void ternary2_gemm(const uint8_t* packed, int64_t rows, int64_t cols, const int8_t* x,
                   int64_t batch, int32_t* y);
void ternary3_gemm(const uint8_t* packed, int64_t rows, int64_t cols, const int8_t* x,
                   int64_t batch, int32_t* y);

// Plain references (unpack, then multiply-accumulate in int64) used by the tests.
void ternary2_gemm_reference(const uint8_t* packed, int64_t rows, int64_t cols, const int8_t* x,
                             int64_t batch, int32_t* y);
void ternary3_gemm_reference(const uint8_t* packed, int64_t rows, int64_t cols, const int8_t* x,
                             int64_t batch, int32_t* y);

namespace avx2 {
// One ISA's 2-bit product over rows [row_begin, row_end) (single thread).
void ternary2_gemm_rows(const uint8_t* packed, int64_t row_begin, int64_t row_end, int64_t cols,
                        const int8_t* x, int64_t batch, int32_t* y, int64_t rows);
}  // namespace avx2
namespace avx512 {
// x must first be rearranged by ternary2_interleave_pairs (64-byte lanes over block pairs).
void ternary2_gemm_rows(const uint8_t* packed, int64_t row_begin, int64_t row_end, int64_t cols,
                        const int8_t* x_interleaved, int64_t batch, int32_t* y, int64_t rows);
// Per token: for each pair of blocks (b, b + 1) and each 32-weight slice s, the 64 bytes
// x[b, s] ++ x[b + 1, s]; an odd last block stays as is.
void ternary2_interleave_pairs(const int8_t* x, int64_t padded_cols, int64_t batch, int8_t* out);
}  // namespace avx512

}  // namespace tessera::kernels
