// Int8 x int8 products (int8_gemm.h): the dispatcher, row sums and the plain reference.
#include "tessera/kernels/cpu/int8_gemm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tessera/kernels/cpu/dispatch.h"

namespace tessera::kernels {

bool int8_gemm_accelerated() {
  static const bool vnni = __builtin_cpu_supports("avx512vnni");
  return vnni && active_isa() == Isa::avx512;
}

void int8_quantize_rows_reference(const float* x, int64_t rows, int64_t cols, int8_t* q,
                                  float* scales) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float max_abs = 0.0f;
    for (int64_t k = 0; k < cols; ++k) max_abs = std::max(max_abs, std::fabs(row[k]));
    const float inv = max_abs > 0 ? 127.0f / max_abs : 0.0f;
    for (int64_t k = 0; k < cols; ++k) {
      const float v = std::nearbyint(row[k] * inv);  // the default mode: half to even
      q[r * cols + k] = static_cast<int8_t>(std::min(127.0f, std::max(-127.0f, v)));
    }
    scales[r] = max_abs / 127.0f;
  }
}

void int8_quantize_rows(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales) {
  if (active_isa() == Isa::avx512) {
    avx512::int8_quantize_rows(x, rows, cols, q, scales);
  } else {
    int8_quantize_rows_reference(x, rows, cols, q, scales);
  }
}

void int8_row_sums(const int8_t* w, int64_t rows, int64_t cols, int32_t* sums) {
  for (int64_t n = 0; n < rows; ++n) {
    int32_t s = 0;
    for (int64_t k = 0; k < cols; ++k) s += w[n * cols + k];
    sums[n] = s;
  }
}

void int8_pack_rows(const int8_t* w, int64_t rows, int64_t cols, int8_t* packed) {
  const int64_t packed_rows = int8_packed_rows(rows), packed_cols = int8_packed_cols(cols);
  std::fill(packed, packed + packed_rows * packed_cols, int8_t{0});
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t panel = n / kInt8PanelRows, r = n % kInt8PanelRows;
    int8_t* base = packed + panel * kInt8PanelRows * packed_cols + r * 4;
    for (int64_t k = 0; k < cols; ++k) base[(k / 4) * 64 + k % 4] = w[n * cols + k];
  }
}

void int8_dequantize_packed_row(const int8_t* packed, int64_t cols, int64_t n, float scale,
                                float* out) {
  const int64_t panel = n / kInt8PanelRows, r = n % kInt8PanelRows;
  const int8_t* base = packed + panel * kInt8PanelRows * int8_packed_cols(cols) + r * 4;
  for (int64_t k = 0; k < cols; ++k)
    out[k] = static_cast<float>(base[(k / 4) * 64 + k % 4]) * scale;
}

void int8_gemm_f32(const int8_t* a, int64_t lda, const float* a_scale, int64_t M,
                   const int8_t* w_packed, const int32_t* w_row_sums, const float* w_scale,
                   const float* bias, int64_t N, int64_t K, float* y, int64_t ldy) {
  if (M <= 0 || N <= 0) return;
  // Unsigned activations for vpdpbusd: a + 128 is the int8 bit pattern with its sign bit
  // flipped. Rows are padded to the packed width; the padding meets zero weights.
  const int64_t width = int8_packed_cols(K);
  std::vector<uint8_t> a_u8(static_cast<size_t>(M * width), 0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k)
      a_u8[m * width + k] = static_cast<uint8_t>(a[m * lda + k]) ^ 0x80u;
  const int64_t panels = int8_packed_rows(N) / kInt8PanelRows;
  const int threads = (M * N * K < (int64_t{1} << 22)) ? 1 : omp_get_max_threads();
#pragma omp parallel num_threads(threads)
  {
    const int64_t id = omp_get_thread_num(), count = omp_get_num_threads();
    // Contiguous ranges of whole panel pairs, so threads never share a cache line of y.
    const int64_t step = ((panels + count - 1) / count + 1) / 2 * 2;
    const int64_t lo = std::min(panels, id * step), hi = std::min(panels, lo + step);
    if (lo < hi)
      avx512::int8_gemm_vnni_panels(a_u8.data(), a_scale, M, w_packed, w_row_sums, w_scale, bias,
                                    lo, hi, N, K, y, ldy);
  }
}

void int8_gemm_f32_reference(const int8_t* a, int64_t lda, const float* a_scale, int64_t M,
                             const int8_t* w, const float* w_scale, const float* bias, int64_t N,
                             int64_t K, float* y, int64_t ldy) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int64_t dot = 0;
      for (int64_t k = 0; k < K; ++k)
        dot += static_cast<int64_t>(a[m * lda + k]) * static_cast<int64_t>(w[n * K + k]);
      float v = static_cast<float>(dot) * (a_scale[m] * w_scale[n]);
      if (bias) v += bias[n];
      y[m * ldy + n] = v;
    }
}

}  // namespace tessera::kernels
