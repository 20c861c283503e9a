// The 2-bit ternary product with AVX-512BW: one 64-byte load holds two 128-weight blocks, so a
// shift and a mask give 64 codes; byte masks (code == 2, code == 0) select +x or -x (a masked
// move and a masked subtraction: no multiplier), and vpsadbw adds the biased bytes into 64-bit
// sums as in the AVX2 kernel. Activations are pre-interleaved per block pair to match.
#include <immintrin.h>

#include <cstring>

#include "tessera/kernels/cpu/ternary.h"

namespace tessera::kernels::avx512 {

namespace {

template <int Slice>
inline __m512i codes_of_slice(__m512i bits) {
  return _mm512_and_si512(_mm512_srli_epi16(bits, 2 * Slice), _mm512_set1_epi8(3));
}

inline __m512i signed_products(__m512i codes, __m512i xv) {
  const __mmask64 plus = _mm512_cmpeq_epi8_mask(codes, _mm512_set1_epi8(2));
  const __mmask64 minus = _mm512_cmpeq_epi8_mask(codes, _mm512_setzero_si512());
  const __m512i kept = _mm512_maskz_mov_epi8(plus, xv);
  return _mm512_mask_sub_epi8(kept, minus, _mm512_setzero_si512(), xv);
}

inline __m512i add_signed_bytes(__m512i acc, __m512i signed_bytes) {
  const __m512i biased = _mm512_xor_si512(signed_bytes, _mm512_set1_epi8(static_cast<char>(0x80)));
  return _mm512_add_epi64(acc, _mm512_sad_epu8(biased, _mm512_setzero_si512()));
}

template <int Slice>
inline __m256i signs_of_slice256(__m256i bits) {
  const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * Slice), _mm256_set1_epi8(3));
  return _mm256_sub_epi8(codes, _mm256_set1_epi8(1));
}

template <int Tokens>
void rows_for_tokens(const uint8_t* packed, int64_t row_begin, int64_t row_end, int64_t padded,
                     const int8_t* x, int32_t* y, int64_t rows) {
  const int64_t row_bytes = padded / 4, blocks = padded / kTernaryBlock, pairs = blocks / 2;
  const int64_t bias = padded << 7;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* w = packed + r * row_bytes;
    __m512i acc[Tokens];
    __m256i tails[Tokens];
    for (int t = 0; t < Tokens; ++t) {
      acc[t] = _mm512_setzero_si512();
      tails[t] = _mm256_setzero_si256();
    }
    for (int64_t p = 0; p < pairs; ++p) {
      const __m512i bits = _mm512_loadu_si512(w + p * 64);
      const __m512i codes[4] = {codes_of_slice<0>(bits), codes_of_slice<1>(bits),
                                codes_of_slice<2>(bits), codes_of_slice<3>(bits)};
      for (int t = 0; t < Tokens; ++t) {
        const int8_t* xp = x + t * padded + p * 2 * kTernaryBlock;
        for (int s = 0; s < 4; ++s) {
          const __m512i xv = _mm512_loadu_si512(xp + s * 64);
          acc[t] = add_signed_bytes(acc[t], signed_products(codes[s], xv));
        }
      }
    }
    if (blocks % 2 == 1) {  // the odd last block, 256 bits wide
      const int64_t b = blocks - 1;
      const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + b * 32));
      const __m256i signs[4] = {signs_of_slice256<0>(bits), signs_of_slice256<1>(bits),
                                signs_of_slice256<2>(bits), signs_of_slice256<3>(bits)};
      for (int t = 0; t < Tokens; ++t) {
        const int8_t* xb = x + t * padded + b * kTernaryBlock;
        __m256i tail = _mm256_setzero_si256();
        for (int s = 0; s < 4; ++s) {
          const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + s * 32));
          const __m256i biased = _mm256_xor_si256(_mm256_sign_epi8(xv, signs[s]),
                                                  _mm256_set1_epi8(static_cast<char>(0x80)));
          tail = _mm256_add_epi64(tail, _mm256_sad_epu8(biased, _mm256_setzero_si256()));
        }
        tails[t] = tail;
      }
    }
    for (int t = 0; t < Tokens; ++t) {
      // Lanes summed through memory: GCC 12's reduce/extract intrinsics trip
      // -Wmaybe-uninitialized inside its own headers.
      alignas(64) int64_t lanes[12];
      _mm512_store_si512(lanes, acc[t]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8), tails[t]);
      int64_t total = 0;
      for (int64_t lane : lanes) total += lane;
      y[t * rows + r] = static_cast<int32_t>(total - bias);
    }
  }
}

}  // namespace

void ternary2_interleave_pairs(const int8_t* x, int64_t padded_cols, int64_t batch, int8_t* out) {
  const int64_t blocks = padded_cols / kTernaryBlock, pairs = blocks / 2;
  for (int64_t n = 0; n < batch; ++n) {
    const int8_t* src = x + n * padded_cols;
    int8_t* dst = out + n * padded_cols;
    for (int64_t p = 0; p < pairs; ++p) {
      for (int s = 0; s < 4; ++s) {
        std::memcpy(dst + p * 256 + s * 64, src + (2 * p) * kTernaryBlock + s * 32, 32);
        std::memcpy(dst + p * 256 + s * 64 + 32, src + (2 * p + 1) * kTernaryBlock + s * 32, 32);
      }
    }
    if (blocks % 2 == 1) {
      std::memcpy(dst + (blocks - 1) * kTernaryBlock, src + (blocks - 1) * kTernaryBlock,
                  kTernaryBlock);
    }
  }
}

void ternary2_gemm_rows(const uint8_t* packed, int64_t row_begin, int64_t row_end, int64_t cols,
                        const int8_t* x_interleaved, int64_t batch, int32_t* y, int64_t rows) {
  const int64_t padded = ternary2_padded_cols(cols);
  int64_t n = 0;
  for (; n + 4 <= batch; n += 4) {
    rows_for_tokens<4>(packed, row_begin, row_end, padded, x_interleaved + n * padded, y + n * rows,
                       rows);
  }
  for (; n < batch; ++n) {
    rows_for_tokens<1>(packed, row_begin, row_end, padded, x_interleaved + n * padded, y + n * rows,
                       rows);
  }
}

}  // namespace tessera::kernels::avx512
