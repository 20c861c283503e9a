// The AVX-512 VNNI int8 product over packed weight panels (int8_gemm.h); compiled with
// -mavx512vnni (cmake/TesseraLayer.cmake) and entered only after int8_gemm_accelerated().
// GCC 12's AVX-512 intrinsics pass an undefined placeholder vector to their masked builtins,
// which -W(maybe-)uninitialized reports at every inlined use.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <algorithm>

#include "tessera/kernels/cpu/int8_gemm.h"

namespace tessera::kernels::avx512 {

namespace {

// Rows [m, m + MR) times PANELS adjacent panels (16 outputs each): per group of 4 columns,
// one 64-byte load per panel and one 4-byte broadcast per row feed MR * PANELS vpdpbusd.
template <int MR, int PANELS>
inline void panel_tile(const uint8_t* a, int64_t lda, const int8_t* panels, int64_t panel_bytes,
                       int64_t groups, __m512i acc[MR][PANELS]) {
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int p = 0; p < PANELS; ++p) acc[i][p] = _mm512_setzero_si512();
  for (int64_t g = 0; g < groups; ++g) {
    __m512i wv[PANELS];
#pragma GCC unroll 2
    for (int p = 0; p < PANELS; ++p) wv[p] = _mm512_loadu_si512(panels + p * panel_bytes + g * 64);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      int32_t four;
      __builtin_memcpy(&four, a + i * lda + g * 4, 4);
      const __m512i av = _mm512_set1_epi32(four);
#pragma GCC unroll 2
      for (int p = 0; p < PANELS; ++p) acc[i][p] = _mm512_dpbusd_epi32(acc[i][p], av, wv[p]);
    }
  }
}

template <int MR, int PANELS>
void run_tile(const uint8_t* a, int64_t lda, const float* a_scale, const int8_t* panels,
              int64_t panel_bytes, int64_t groups, int64_t n0, int64_t N,
              const int32_t* w_row_sums, const float* w_scale, const float* bias, float* y,
              int64_t ldy) {
  __m512i acc[MR][PANELS];
  panel_tile<MR, PANELS>(a, lda, panels, panel_bytes, groups, acc);
  for (int p = 0; p < PANELS; ++p) {
    const int64_t n = n0 + p * 16;
    const int64_t valid = std::min<int64_t>(16, N - n);
    const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1u);
    // a + 128 was multiplied: take 128 * sum_k w[n, k] back out, then scale once.
    const __m512i offset =
        _mm512_slli_epi32(_mm512_maskz_loadu_epi32(mask, w_row_sums + n), 7);
    const __m512 w_scales = _mm512_maskz_loadu_ps(mask, w_scale + n);
    const __m512 biases = bias ? _mm512_maskz_loadu_ps(mask, bias + n) : _mm512_setzero_ps();
    for (int i = 0; i < MR; ++i) {
      const __m512 exact = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][p], offset));
      const __m512 scales = _mm512_mul_ps(_mm512_set1_ps(a_scale[i]), w_scales);
      _mm512_mask_storeu_ps(y + i * ldy + n, mask,
                            _mm512_add_ps(_mm512_mul_ps(exact, scales), biases));
    }
  }
}

template <int PANELS>
void run_rows(int64_t rows, const uint8_t* a, int64_t lda, const float* a_scale,
              const int8_t* panels, int64_t panel_bytes, int64_t groups, int64_t n0, int64_t N,
              const int32_t* sums, const float* w_scale, const float* bias, float* y,
              int64_t ldy) {
  switch (rows) {
#define TESSERA_INT8_ROWS(R)                                                                 \
  case R:                                                                                    \
    run_tile<R, PANELS>(a, lda, a_scale, panels, panel_bytes, groups, n0, N, sums, w_scale, \
                        bias, y, ldy);                                                       \
    break;
    TESSERA_INT8_ROWS(1)
    TESSERA_INT8_ROWS(2)
    TESSERA_INT8_ROWS(3)
    TESSERA_INT8_ROWS(4)
    TESSERA_INT8_ROWS(5)
    TESSERA_INT8_ROWS(6)
    TESSERA_INT8_ROWS(7)
    TESSERA_INT8_ROWS(8)
#undef TESSERA_INT8_ROWS
    default:
      break;
  }
}

}  // namespace

void int8_gemm_vnni_panels(const uint8_t* a_u8, const float* a_scale, int64_t M,
                           const int8_t* w_packed, const int32_t* w_row_sums,
                           const float* w_scale, const float* bias, int64_t panel_begin,
                           int64_t panel_end, int64_t N, int64_t K, float* y, int64_t ldy) {
  constexpr int kRows = 8;  // 8 rows x 2 panels: 16 accumulators, 2 weight registers
  const int64_t lda = int8_packed_cols(K), groups = lda / 4;
  const int64_t panel_bytes = kInt8PanelRows * lda;
  // Two panels (32 outputs) at a time stay in L1/L2 while every activation row passes.
  for (int64_t p = panel_begin; p < panel_end; p += 2) {
    const int64_t n0 = p * kInt8PanelRows;
    const int8_t* panels = w_packed + p * panel_bytes;
    for (int64_t m = 0; m < M; m += kRows) {
      const int64_t rows = std::min<int64_t>(kRows, M - m);
      const uint8_t* a = a_u8 + m * lda;
      float* out = y + m * ldy;
      if (p + 1 < panel_end) {
        run_rows<2>(rows, a, lda, a_scale + m, panels, panel_bytes, groups, n0, N, w_row_sums,
                    w_scale, bias, out, ldy);
      } else {
        run_rows<1>(rows, a, lda, a_scale + m, panels, panel_bytes, groups, n0, N, w_row_sums,
                    w_scale, bias, out, ldy);
      }
    }
  }
}

}  // namespace tessera::kernels::avx512
