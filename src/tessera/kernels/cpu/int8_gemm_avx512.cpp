// The AVX-512 activation quantizer of the int8 products (int8_gemm.h). Entered only after an
// AVX-512 check.
// GCC 12's AVX-512 reduce intrinsics pass an undefined placeholder vector to their masked
// builtins, which -Wmaybe-uninitialized reports at every inlined use.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "tessera/kernels/cpu/int8_gemm.h"

namespace tessera::kernels::avx512 {

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

}  // namespace tessera::kernels::avx512
