#include "tessera/kernels/cpu/ternary.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <vector>

#include "tessera/kernels/cpu/dispatch.h"

namespace tessera::kernels {

namespace {

// Where weight k of a row lives inside its 2-bit row.
struct Ternary2Slot {
  int64_t byte;
  int shift;
};
inline Ternary2Slot ternary2_slot(int64_t k) {
  const int64_t block = k / kTernaryBlock, within = k % kTernaryBlock;
  return {block * 32 + within % 32, static_cast<int>(within / 32) * 2};
}

// Powers of three, for packing only (the products never multiply).
constexpr std::array<int, 5> kPow3 = {1, 3, 9, 27, 81};

// Decoded base-3 bytes: the five trits of every code 0..242.
struct Base3Table {
  std::array<std::array<int8_t, 5>, 256> trits{};
  Base3Table() {
    for (int code = 0; code < 243; ++code) {
      int rest = code;
      for (int i = 0; i < 5; ++i) {
        trits[code][i] = static_cast<int8_t>(rest % 3 - 1);
        rest /= 3;
      }
    }
  }
};
const Base3Table& base3_table() {
  static const Base3Table table;
  return table;
}

// Rows per OpenMP chunk: enough work per thread to amortise the fork.
bool worth_threading(int64_t rows, int64_t cols, int64_t batch) {
  return rows >= 64 && rows * cols * batch >= (int64_t{1} << 18) && omp_get_max_threads() > 1;
}

}  // namespace

void pack_ternary2(const int8_t* trits, int64_t rows, int64_t cols, uint8_t* packed) {
  const int64_t row_bytes = ternary2_row_bytes(cols);
  // Padding weights are zero: code 1 in every slot.
  std::memset(packed, 0x55, static_cast<size_t>(rows * row_bytes));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* out = packed + r * row_bytes;
    for (int64_t k = 0; k < cols; ++k) {
      const int8_t t = trits[r * cols + k];
      assert(t >= -1 && t <= 1);
      const auto [byte, shift] = ternary2_slot(k);
      out[byte] = static_cast<uint8_t>((out[byte] & ~(3 << shift)) | ((t + 1) << shift));
    }
  }
}

void unpack_ternary2(const uint8_t* packed, int64_t rows, int64_t cols, int8_t* trits) {
  const int64_t row_bytes = ternary2_row_bytes(cols);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* in = packed + r * row_bytes;
    for (int64_t k = 0; k < cols; ++k) {
      const auto [byte, shift] = ternary2_slot(k);
      trits[r * cols + k] = static_cast<int8_t>(((in[byte] >> shift) & 3) - 1);
    }
  }
}

void pack_ternary3(const int8_t* trits, int64_t rows, int64_t cols, uint8_t* packed) {
  const int64_t row_bytes = ternary3_row_bytes(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < row_bytes; ++j) {
      int code = 0;
      for (int i = 0; i < 5; ++i) {
        const int64_t k = j * 5 + i;
        const int t = k < cols ? trits[r * cols + k] : 0;  // padding weights are zero
        assert(t >= -1 && t <= 1);
        code += (t + 1) * kPow3[i];
      }
      packed[r * row_bytes + j] = static_cast<uint8_t>(code);
    }
  }
}

void unpack_ternary3(const uint8_t* packed, int64_t rows, int64_t cols, int8_t* trits) {
  const int64_t row_bytes = ternary3_row_bytes(cols);
  const auto& table = base3_table();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < cols; ++k) {
      trits[r * cols + k] = table.trits[packed[r * row_bytes + k / 5]][k % 5];
    }
  }
}

bool ternary3_codes_valid(const uint8_t* packed, int64_t bytes) {
  for (int64_t i = 0; i < bytes; ++i) {
    if (packed[i] >= 243) return false;
  }
  return true;
}

bool ternary2_codes_valid(const uint8_t* packed, int64_t bytes) {
  for (int64_t i = 0; i < bytes; ++i) {
    const uint8_t b = packed[i];
    // A code is 3 exactly when both of its bits are set.
    if ((b & (b >> 1) & 0x55) != 0) return false;
  }
  return true;
}

float ternarize_absmean(const float* w, int64_t n, int8_t* trits) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) total += std::fabs(static_cast<double>(w[i]));
  const float mean_abs = n > 0 ? static_cast<float>(total / static_cast<double>(n)) : 0.0f;
  const float scale = 1.0f / std::max(mean_abs, 1e-5f);
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(w[i] * scale);  // torch.round: half to even
    trits[i] = static_cast<int8_t>(std::clamp(v, -1.0f, 1.0f));
  }
  return 1.0f / scale;
}

void quantize_rows_absmax(const float* x, int64_t rows, int64_t cols, int8_t* q, int64_t ld_q,
                          float* scales) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float max_abs = 0.0f;
    for (int64_t k = 0; k < cols; ++k) max_abs = std::max(max_abs, std::fabs(row[k]));
    const float scale = 127.0f / std::max(max_abs, 1e-5f);
    int8_t* out = q + r * ld_q;
    for (int64_t k = 0; k < cols; ++k) {
      // The fused kernel's round (half away from zero), in a form that vectorises.
      const float scaled = row[k] * scale, whole = std::trunc(scaled);
      const float bump = static_cast<float>(std::fabs(scaled - whole) >= 0.5f);  // no branch
      const float v = whole + std::copysign(bump, scaled);
      out[k] = static_cast<int8_t>(std::min(std::max(v, -127.0f), 127.0f));
    }
    std::fill(out + cols, out + ld_q, int8_t{0});
    scales[r] = scale;
  }
}

void ternary2_gemm(const uint8_t* packed, int64_t rows, int64_t cols, const int8_t* x,
                   int64_t batch, int32_t* y) {
  if (rows <= 0 || batch <= 0) return;
  const bool wide = active_isa() == Isa::avx512;
  std::vector<int8_t> interleaved;
  const int8_t* xs = x;
  if (wide) {
    const int64_t padded = ternary2_padded_cols(cols);
    interleaved.resize(static_cast<size_t>(padded * batch));
    avx512::ternary2_interleave_pairs(x, padded, batch, interleaved.data());
    xs = interleaved.data();
  }
  auto run = [&](int64_t lo, int64_t hi) {
    if (wide) {
      avx512::ternary2_gemm_rows(packed, lo, hi, cols, xs, batch, y, rows);
    } else {
      avx2::ternary2_gemm_rows(packed, lo, hi, cols, xs, batch, y, rows);
    }
  };
  if (!worth_threading(rows, cols, batch)) {
    run(0, rows);
    return;
  }
  const int threads = omp_get_max_threads();
#pragma omp parallel num_threads(threads)
  {
    const int64_t id = omp_get_thread_num(), n = omp_get_num_threads();
    // Contiguous row ranges, rounded to 8 rows so neighbours never share a cache line of y.
    const int64_t step = ((rows + n - 1) / n + 7) / 8 * 8;
    const int64_t lo = std::min(rows, id * step), hi = std::min(rows, lo + step);
    if (lo < hi) run(lo, hi);
  }
}

void ternary3_gemm(const uint8_t* packed, int64_t rows, int64_t cols, const int8_t* x,
                   int64_t batch, int32_t* y) {
  if (rows <= 0 || batch <= 0) return;
  const int64_t groups = ternary3_row_bytes(cols);
  // Per token and group of five activations, the 243 sums sum_i t_i * x_i, built by additions:
  // code c = c_low + d * 3^i extends the table of the first i digits by -x_i, 0 or +x_i.
  std::vector<int16_t> tables(static_cast<size_t>(batch * groups * 256));
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      int16_t* table = tables.data() + (n * groups + g) * 256;
      table[0] = 0;
      int filled = 1;
      for (int i = 0; i < 5; ++i) {
        const int64_t k = g * 5 + i;
        const int16_t xi = k < cols ? x[n * cols + k] : 0;
        // Digit 0 means t = -1, digit 1 t = 0, digit 2 t = +1; the first `filled` entries hold
        // the sums of the lower digits with digit i at 0 (t = -1 is subtracted below).
        for (int c = 0; c < filled; ++c) {
          const int16_t low = table[c];
          table[c] = static_cast<int16_t>(low - xi);
          table[c + filled] = low;
          table[c + 2 * filled] = static_cast<int16_t>(low + xi);
        }
        filled += 2 * filled;
      }
      for (int c = 243; c < 256; ++c) table[c] = 0;
    }
  }
  auto run = [&](int64_t lo, int64_t hi) {
    // Token by token, so one token's tables (groups * 512 bytes) stay in cache for all rows.
    for (int64_t n = 0; n < batch; ++n) {
      const int16_t* table = tables.data() + n * groups * 256;
      for (int64_t r = lo; r < hi; ++r) {
        const uint8_t* row = packed + r * groups;
        int32_t acc0 = 0, acc1 = 0;
        int64_t g = 0;
        for (; g + 1 < groups; g += 2) {
          acc0 += table[g * 256 + row[g]];
          acc1 += table[(g + 1) * 256 + row[g + 1]];
        }
        if (g < groups) acc0 += table[g * 256 + row[g]];
        y[n * rows + r] = acc0 + acc1;
      }
    }
  };
  if (!worth_threading(rows, cols, batch)) {
    run(0, rows);
    return;
  }
#pragma omp parallel
  {
    const int64_t id = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t step = ((rows + n - 1) / n + 7) / 8 * 8;
    const int64_t lo = std::min(rows, id * step), hi = std::min(rows, lo + step);
    if (lo < hi) run(lo, hi);
  }
}

namespace {
void gemm_from_trits(const std::vector<int8_t>& trits, int64_t rows, int64_t cols, const int8_t* x,
                     int64_t ld_x, int64_t batch, int32_t* y) {
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t r = 0; r < rows; ++r) {
      int64_t acc = 0;
      for (int64_t k = 0; k < cols; ++k) acc += int64_t{trits[r * cols + k]} * x[n * ld_x + k];
      y[n * rows + r] = static_cast<int32_t>(acc);
    }
  }
}
}  // namespace

void ternary2_gemm_reference(const uint8_t* packed, int64_t rows, int64_t cols, const int8_t* x,
                             int64_t batch, int32_t* y) {
  std::vector<int8_t> trits(static_cast<size_t>(rows * cols));
  unpack_ternary2(packed, rows, cols, trits.data());
  gemm_from_trits(trits, rows, cols, x, ternary2_padded_cols(cols), batch, y);
}

void ternary3_gemm_reference(const uint8_t* packed, int64_t rows, int64_t cols, const int8_t* x,
                             int64_t batch, int32_t* y) {
  std::vector<int8_t> trits(static_cast<size_t>(rows * cols));
  unpack_ternary3(packed, rows, cols, trits.data());
  gemm_from_trits(trits, rows, cols, x, cols, batch, y);
}

}  // namespace tessera::kernels
