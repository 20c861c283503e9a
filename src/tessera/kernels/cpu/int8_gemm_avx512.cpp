// The AVX-512 VNNI int8 product (int8_gemm.h). Entered only after int8_gemm_accelerated().
#pragma GCC target("avx512vnni")
// GCC 12's AVX-512 unpack/shuffle intrinsics pass an undefined placeholder vector to their
// masked builtins, which -Wmaybe-uninitialized reports at every inlined use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "tessera/kernels/cpu/int8_gemm.h"

namespace tessera::kernels::avx512 {

namespace {

// The four horizontal sums of a, b, c, d at once: pairwise interleaving adds within each
// 128-bit lane, then the four lanes are folded.
inline __m128i sum4(__m512i a, __m512i b, __m512i c, __m512i d) {
  const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
  const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
  __m512i x = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
  x = _mm512_add_epi32(x, _mm512_shuffle_i32x4(x, x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm512_add_epi32(x, _mm512_shuffle_i32x4(x, x, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_castsi512_si128(x);  // [sum a, sum b, sum c, sum d]
}

inline int32_t sum1(__m512i a) {
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, a);
  int32_t s = 0;
  for (int32_t v : lanes) s += v;
  return s;
}

// out[i][j] = sum_k a[i, k] * w[j, k] for an MR x NR tile: 64 bytes of K per step, one
// vpdpbusd per (row, weight row) pair, horizontal sums once at the end.
template <int MR, int NR>
inline void dot_tile(const uint8_t* a, int64_t lda, const int8_t* w, int64_t K,
                     int32_t out[MR][NR]) {
  __m512i acc[MR][NR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_si512();
  int64_t k = 0;
  for (; k + 64 <= K; k += 64) {
    __m512i wv[NR];
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) wv[j] = _mm512_loadu_si512(w + j * K + k);
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      const __m512i av = _mm512_loadu_si512(a + i * lda + k);
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, wv[j]);
    }
  }
  if (k < K) {  // masked loads read zeros past K (and never fault there)
    const __mmask64 mask = _cvtu64_mask64(~0ULL >> (64 - (K - k)));
    __m512i wv[NR];
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) wv[j] = _mm512_maskz_loadu_epi8(mask, w + j * K + k);
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      const __m512i av = _mm512_maskz_loadu_epi8(mask, a + i * lda + k);
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, wv[j]);
    }
  }
  static_assert(NR == 4 || NR == 1, "dot_tile reduces 4 or 1 columns");
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    if constexpr (NR == 4) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out[i]),
                       sum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    } else {
      out[i][0] = sum1(acc[i][0]);
    }
  }
}

}  // namespace

void int8_quantize_rows(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales) {
  const __m512 sign_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    __m512 vmax = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= cols; k += 16)
      vmax = _mm512_max_ps(vmax, _mm512_and_ps(_mm512_loadu_ps(row + k), sign_mask));
    float max_abs = _mm512_reduce_max_ps(vmax);
    for (; k < cols; ++k) max_abs = std::max(max_abs, std::fabs(row[k]));
    const float inv = max_abs > 0 ? 127.0f / max_abs : 0.0f;
    const __m512 vinv = _mm512_set1_ps(inv), lo = _mm512_set1_ps(-127.0f),
                 hi = _mm512_set1_ps(127.0f);
    int8_t* out = q + r * cols;
    for (k = 0; k + 16 <= cols; k += 16) {
      // Rounded to nearest even by the conversion (MXCSR default), clamped, narrowed.
      __m512 v = _mm512_mul_ps(_mm512_loadu_ps(row + k), vinv);
      v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k),
                       _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v)));
    }
    for (; k < cols; ++k) {
      const float v = std::nearbyint(row[k] * inv);
      out[k] = static_cast<int8_t>(std::min(127.0f, std::max(-127.0f, v)));
    }
    scales[r] = max_abs / 127.0f;
  }
}

void int8_gemm_vnni_columns(const uint8_t* a_u8, int64_t lda, const float* a_scale, int64_t M,
                            const int8_t* w, const int32_t* w_row_sums, const float* w_scale,
                            const float* bias, int64_t n_begin, int64_t n_end, int64_t K, float* y,
                            int64_t ldy) {
  constexpr int kRows = 4, kCols = 4;
  // Weight rows per block: about 64 KB of them stay in L2 while every activation row passes.
  const int64_t block = std::max<int64_t>(kCols, (64 * 1024 / std::max<int64_t>(K, 1)) / kCols * kCols);
  auto finish = [&](int64_t m, int64_t n, int32_t dot) {
    // a + 128 was multiplied: take 128 * sum_k w[n, k] back out.
    const int32_t exact = dot - 128 * w_row_sums[n];
    float v = static_cast<float>(exact) * (a_scale[m] * w_scale[n]);
    if (bias) v += bias[n];
    y[m * ldy + n] = v;
  };
  for (int64_t n0 = n_begin; n0 < n_end; n0 += block) {
    const int64_t n1 = std::min(n_end, n0 + block);
    for (int64_t m = 0; m < M; m += kRows) {
      const int64_t rows = std::min<int64_t>(kRows, M - m);
      for (int64_t n = n0; n < n1; n += kCols) {
        const int64_t cols = std::min<int64_t>(kCols, n1 - n);
        if (rows == kRows && cols == kCols) {
          int32_t out[kRows][kCols];
          dot_tile<kRows, kCols>(a_u8 + m * lda, lda, w + n * K, K, out);
          // finish() four columns at a time.
          const __m128i offset = _mm_slli_epi32(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(w_row_sums + n)), 7);
          const __m128 w_scales = _mm_loadu_ps(w_scale + n);
          const __m128 biases = bias ? _mm_loadu_ps(bias + n) : _mm_setzero_ps();
          for (int i = 0; i < kRows; ++i) {
            const __m128i exact =
                _mm_sub_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(out[i])), offset);
            const __m128 scales = _mm_mul_ps(_mm_set1_ps(a_scale[m + i]), w_scales);
            _mm_storeu_ps(y + (m + i) * ldy + n,
                          _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(exact), scales), biases));
          }
        } else {
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) {
              int32_t out[1][1];
              dot_tile<1, 1>(a_u8 + (m + i) * lda, lda, w + (n + j) * K, K, out);
              finish(m + i, n + j, out[0][0]);
            }
        }
      }
    }
  }
}

}  // namespace tessera::kernels::avx512
