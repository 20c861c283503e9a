// The 2-bit ternary product for the AVX2 baseline. Per 32 weights: a shift and a mask decode
// the codes, vpsignb applies them to the activations (negate, keep or zero: no multiplier),
// and vpsadbw adds the 32 signed results (biased by +128 to make them unsigned) into four
// 64-bit sums. The bias, 128 per padded column, is taken off once per row.
#include <immintrin.h>

#include "tessera/kernels/cpu/ternary.h"

namespace tessera::kernels::avx2 {

namespace {

template <int Slice>
inline __m256i signs_of_slice(__m256i bits) {
  const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * Slice), _mm256_set1_epi8(3));
  return _mm256_sub_epi8(codes, _mm256_set1_epi8(1));  // code - 1 in {-1, 0, 1}
}

inline __m256i add_signed_bytes(__m256i acc, __m256i signed_bytes) {
  const __m256i biased = _mm256_xor_si256(signed_bytes, _mm256_set1_epi8(static_cast<char>(0x80)));
  return _mm256_add_epi64(acc, _mm256_sad_epu8(biased, _mm256_setzero_si256()));
}

inline int64_t horizontal_sum(__m256i v) {
  const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

template <int Tokens>
void rows_for_tokens(const uint8_t* packed, int64_t row_begin, int64_t row_end, int64_t padded,
                     const int8_t* x, int32_t* y, int64_t rows) {
  const int64_t row_bytes = padded / 4, blocks = padded / kTernaryBlock;
  const int64_t bias = padded << 7;  // 128 per column, added by the unsigned bias
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* w = packed + r * row_bytes;
    __m256i acc[Tokens];
    for (int t = 0; t < Tokens; ++t) acc[t] = _mm256_setzero_si256();
    for (int64_t b = 0; b < blocks; ++b) {
      const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + b * 32));
      const __m256i signs[4] = {signs_of_slice<0>(bits), signs_of_slice<1>(bits),
                                signs_of_slice<2>(bits), signs_of_slice<3>(bits)};
      for (int t = 0; t < Tokens; ++t) {
        const int8_t* xb = x + t * padded + b * kTernaryBlock;
        for (int s = 0; s < 4; ++s) {
          const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + s * 32));
          acc[t] = add_signed_bytes(acc[t], _mm256_sign_epi8(xv, signs[s]));
        }
      }
    }
    for (int t = 0; t < Tokens; ++t) {
      y[t * rows + r] = static_cast<int32_t>(horizontal_sum(acc[t]) - bias);
    }
  }
}

}  // namespace

void ternary2_gemm_rows(const uint8_t* packed, int64_t row_begin, int64_t row_end, int64_t cols,
                        const int8_t* x, int64_t batch, int32_t* y, int64_t rows) {
  const int64_t padded = ternary2_padded_cols(cols);
  int64_t n = 0;
  for (; n + 4 <= batch; n += 4) {
    rows_for_tokens<4>(packed, row_begin, row_end, padded, x + n * padded, y + n * rows, rows);
  }
  for (; n < batch; ++n) {
    rows_for_tokens<1>(packed, row_begin, row_end, padded, x + n * padded, y + n * rows, rows);
  }
}

}  // namespace tessera::kernels::avx2
