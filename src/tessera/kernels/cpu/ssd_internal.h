#pragma once
// Helpers shared by the SSD kernels (ssd_scan.cpp, ssd_chunked.cpp, ssd_backward.cpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tessera/kernels/cpu/ssd.h"

namespace tessera::kernels::ssd_detail {

// Cumulative log-decay inside one stretch of time steps: out[i] = sum_{r<=i} dt[r] * A, for
// rows of dt with stride `dt_stride`. Summed in double so that long stretches (the quadratic
// form over a whole sequence) keep exp(out[i] - out[j]) accurate in f32 too.
template <typename T>
void cumulative_decay(const T* dt, int64_t dt_stride, int64_t count, T A, T* out) {
  double running = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    running += static_cast<double>(dt[i * dt_stride]) * static_cast<double>(A);
    out[i] = static_cast<T>(running);
  }
}

// The decays exp(cum[i] - cum[j]) of one chunk as a product row_scale[i] * col_scale[j], so the
// masked C B^T needs 2Q exponentials instead of Q^2/2: row_scale = exp(cum - ref), col_scale =
// exp(ref - cum), ref the middle of the range. Exact up to rounding while the range of cum stays
// inside what T's exponent can hold on both sides; returns false (use pairwise exps) otherwise.
template <typename T>
bool factor_decays(const T* cum, int64_t count, T* row_scale, T* col_scale) {
  if (count == 0) return true;
  T low = cum[0], high = cum[0];
  for (int64_t i = 1; i < count; ++i) {
    low = std::min(low, cum[i]);
    high = std::max(high, cum[i]);
  }
  const double limit = sizeof(T) == 4 ? 80.0 : 650.0;  // |exponent| each side below overflow
  if (static_cast<double>(high - low) > limit) return false;
  const T ref = low + (high - low) / 2;
  for (int64_t i = 0; i < count; ++i) {
    row_scale[i] = std::exp(cum[i] - ref);
    col_scale[i] = std::exp(ref - cum[i]);
  }
  return true;
}

// mask[i, j] = gram[i, j] * exp(cum[i] - cum[j]) * dt[j] for j <= i, zero above the diagonal.
template <typename T>
void masked_decay_product(const T* gram, const T* cum, const T* dt, int64_t dt_stride, int64_t Q,
                          T* mask, T* row_scale, T* col_scale) {
  if (factor_decays(cum, Q, row_scale, col_scale)) {
    for (int64_t j = 0; j < Q; ++j) col_scale[j] *= dt[j * dt_stride];
    for (int64_t i = 0; i < Q; ++i) {
      const T r = row_scale[i];
      T* out = mask + i * Q;
      const T* g = gram + i * Q;
#pragma omp simd
      for (int64_t j = 0; j <= i; ++j) out[j] = g[j] * r * col_scale[j];
      for (int64_t j = i + 1; j < Q; ++j) out[j] = T(0);
    }
    return;
  }
  for (int64_t i = 0; i < Q; ++i) {
    for (int64_t j = 0; j <= i; ++j)
      mask[i * Q + j] = gram[i * Q + j] * std::exp(cum[i] - cum[j]) * dt[j * dt_stride];
    for (int64_t j = i + 1; j < Q; ++j) mask[i * Q + j] = T(0);
  }
}

// Work items of the chunked kernels: (batch, group, chunk, head block). Heads of a group are
// split into blocks only when there are fewer (batch, group, chunk) items than threads, so the
// C B^T product of a chunk is shared by as many heads as possible. Depends on the thread count
// only through the split, and every item computes the same numbers either way.
struct ChunkItems {
  int64_t chunks = 0, head_blocks = 1, heads_per_block = 1, count = 0;
  // chunk_count < 0: every chunk of the sequence; otherwise a window of that many chunks.
  ChunkItems(const SsdShape& s, int64_t chunk, int threads, int64_t chunk_count = -1) {
    chunks = chunk_count >= 0 ? chunk_count : ssd_num_chunks(s.length, chunk);
    const int64_t outer = s.batch * s.groups * chunks;
    const int64_t per_group = s.heads_per_group();
    if (outer > 0 && outer < threads) {
      head_blocks = std::min<int64_t>(per_group, (threads + outer - 1) / outer);
    }
    heads_per_block = (per_group + head_blocks - 1) / head_blocks;
    head_blocks = (per_group + heads_per_block - 1) / heads_per_block;
    count = outer * head_blocks;
  }
  struct Item {
    int64_t b, g, c, head_begin, head_end;
  };
  Item at(int64_t index, const SsdShape& s) const {
    Item it;
    const int64_t block = index % head_blocks;
    index /= head_blocks;
    it.c = index % chunks;
    index /= chunks;
    it.g = index % s.groups;
    it.b = index / s.groups;
    const int64_t per_group = s.heads_per_group();
    it.head_begin = it.g * per_group + block * heads_per_block;
    it.head_end = std::min(it.g * per_group + per_group, it.head_begin + heads_per_block);
    return it;
  }
};

int ssd_threads();  // the OpenMP pool size (ssd_scan.cpp)

}  // namespace tessera::kernels::ssd_detail
