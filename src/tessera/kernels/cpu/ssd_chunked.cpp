// SSD form (b): the chunked algorithm of Dao & Gu 2024, section 6 / listing 1. Per chunk of Q
// steps (the last one may be shorter):
//   1. intra-chunk output   Y_diag = (L o C B^T) diag(dt) X          (the quadratic form, local)
//   2. chunk state          S_c    = X^T diag(exp(A_end - A_cum) dt) B
//   3. state passing        H_c+1  = exp(A_end) H_c + S_c            (sequential over chunks)
//   4. state to output      Y_off  = diag(exp(A_cum)) C H_c^T
// Steps 1, 2 and 4 are BLAS products; step 3 is a cheap scan over chunks.
#include <omp.h>

#include <memory>

#include "tessera/kernels/cpu/gemm.h"
#include "tessera/kernels/cpu/parallel_policy.h"
#include "tessera/kernels/cpu/ssd_internal.h"

namespace tessera::kernels {

using namespace ssd_detail;

namespace {

template <typename T>
struct ChunkScratch {
  std::vector<T> gram, mask, cum, row_scale, col_scale, weighted;
  ChunkScratch(int64_t Q, int64_t width)
      : gram(Q * Q), mask(Q * Q), cum(Q), row_scale(Q), col_scale(Q), weighted(Q * width) {}
};

}  // namespace

template <typename T>
void ssd_chunked(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* B,
                 const T* C, const T* D, const T* initial_state, T* final_state, T* y,
                 T* chunk_states) {
  check_ssd_shape(s, chunk);
  const int64_t L = s.length, H = s.heads, P = s.head_dim, N = s.state, G = s.groups;
  const int64_t PN = P * N;
  const int64_t nc = ssd_num_chunks(L, chunk);
  // Small problems stay on the calling thread: waking the team costs more than they do.
  const bool parallel = s.batch * L * H * PN >= kParallelMinElements;
  // Without a caller's chunk_states (inference) the chunks go in windows of kWindow, carrying
  // the state from one window to the next, so memory stays bounded and cache-warm for any L.
  constexpr int64_t kWindow = 16;
  const int64_t window = chunk_states ? std::max<int64_t>(nc, 1)
                                      : std::min<int64_t>(std::max<int64_t>(nc, 1), kWindow);
  std::unique_ptr<T[]> owned_states;
  if (!chunk_states) {
    owned_states.reset(new T[static_cast<size_t>(s.batch * (window + 1) * H * PN)]);
    chunk_states = owned_states.get();
  }
  // states[b][c][h] of the current window: slot 0 is the state entering it; slot c+1 holds S_c
  // after step 2 and the state leaving chunk c after step 3.
  auto state_at = [&](int64_t b, int64_t c, int64_t h) {
    return chunk_states + ((b * (window + 1) + c) * H + h) * PN;
  };
  std::vector<T> chunk_decay(static_cast<size_t>(s.batch * window * H));  // exp(A_end) per chunk
  for (int64_t bh = 0; bh < s.batch * H; ++bh) {
    T* first = state_at(bh / H, 0, bh % H);
    if (initial_state) {
      std::copy(initial_state + bh * PN, initial_state + (bh + 1) * PN, first);
    } else {
      std::fill(first, first + PN, T(0));
    }
  }
  int64_t last_slot = 0;
  for (int64_t w0 = 0; w0 < nc; w0 += window) {
    const int64_t wc = std::min(window, nc - w0);
    // Work items (batch, group, chunk, head block): the heads of a block share B and C, so
    // their products are single BLAS calls over all of them (heads of a group are adjacent in
    // x, y and the states).
    const ChunkItems items(s, chunk, ssd_threads(), wc);

    // Step 2: S_c for every head of the item in one product, [heads * P, Q] x [Q, N].
#pragma omp parallel if (parallel && items.count > 1)
    {
      ChunkScratch<T> scratch(chunk, items.heads_per_block * P);
#pragma omp for schedule(dynamic)
      for (int64_t index = 0; index < items.count; ++index) {
        const auto it = items.at(index, s);
        const int64_t t0 = (w0 + it.c) * chunk, Q = std::min(chunk, L - t0);
        const int64_t width = (it.head_end - it.head_begin) * P;
        for (int64_t h = it.head_begin; h < it.head_end; ++h) {
          const T* dtc = dt + (it.b * L + t0) * H + h;
          T* cum = scratch.cum.data();
          cumulative_decay(dtc, H, Q, A[h], cum);
          const T end = cum[Q - 1];
          const T* xc = x + ((it.b * L + t0) * H + h) * P;
          T* column = scratch.weighted.data() + (h - it.head_begin) * P;
          for (int64_t j = 0; j < Q; ++j) {
            const T w = std::exp(end - cum[j]) * dtc[j * H];
            for (int64_t p = 0; p < P; ++p) column[j * width + p] = w * xc[j * H * P + p];
          }
          chunk_decay[(it.b * window + it.c) * H + h] = std::exp(end);
        }
        gemm<T>(true, false, width, N, Q, T(1), scratch.weighted.data(), width,
                B + ((it.b * L + t0) * G + it.g) * N, G * N, T(0),
                state_at(it.b, it.c + 1, it.head_begin), N);
      }
    }

    // Step 3, parallel over (batch, head), sequential over the window's chunks.
#pragma omp parallel for schedule(static) if (parallel && s.batch * H > 1)
    for (int64_t bh = 0; bh < s.batch * H; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      for (int64_t c = 0; c < wc; ++c) {
        const T decay = chunk_decay[(b * window + c) * H + h];
        const T* previous = state_at(b, c, h);
        T* next = state_at(b, c + 1, h);
        for (int64_t i = 0; i < PN; ++i) next[i] += decay * previous[i];
      }
    }

    // Steps 4 then 1: Y_off for all heads of the item in one product C [Q, N] x H^T [N, heads*P],
    // rows scaled by exp(cum), then Y_diag added head by head.
#pragma omp parallel if (parallel && items.count > 1)
    {
      ChunkScratch<T> scratch(chunk, 0);
#pragma omp for schedule(dynamic)
      for (int64_t index = 0; index < items.count; ++index) {
        const auto it = items.at(index, s);
        const int64_t t0 = (w0 + it.c) * chunk, Q = std::min(chunk, L - t0);
        const int64_t heads = it.head_end - it.head_begin;
        const T* Bc = B + ((it.b * L + t0) * G + it.g) * N;
        const T* Cc = C + ((it.b * L + t0) * G + it.g) * N;
        T* y_block = y + ((it.b * L + t0) * H + it.head_begin) * P;
        gemm<T>(false, true, Q, heads * P, N, T(1), Cc, G * N, state_at(it.b, it.c, it.head_begin),
                N, T(0), y_block, H * P);
        gemm<T>(false, true, Q, Q, N, T(1), Cc, G * N, Bc, G * N, T(0), scratch.gram.data(), Q);
        for (int64_t h = it.head_begin; h < it.head_end; ++h) {
          const T* dtc = dt + (it.b * L + t0) * H + h;
          T* cum = scratch.cum.data();
          cumulative_decay(dtc, H, Q, A[h], cum);
          const T* xc = x + ((it.b * L + t0) * H + h) * P;
          T* yc = y + ((it.b * L + t0) * H + h) * P;
          for (int64_t i = 0; i < Q; ++i) {
            const T decay = std::exp(cum[i]);
            for (int64_t p = 0; p < P; ++p) yc[i * H * P + p] *= decay;
          }
          masked_decay_product(scratch.gram.data(), cum, dtc, H, Q, scratch.mask.data(),
                               scratch.row_scale.data(), scratch.col_scale.data());
          gemm<T>(false, false, Q, P, Q, T(1), scratch.mask.data(), Q, xc, H * P, T(1), yc, H * P);
          if (D) {
            for (int64_t i = 0; i < Q; ++i)
              for (int64_t p = 0; p < P; ++p) yc[i * H * P + p] += D[h] * xc[i * H * P + p];
          }
        }
      }
    }
    last_slot = wc;
    if (w0 + wc < nc) {  // the next window starts from the state leaving this one
      for (int64_t b = 0; b < s.batch; ++b)
        std::copy(state_at(b, wc, 0), state_at(b, wc, 0) + H * PN, state_at(b, 0, 0));
    }
  }
  if (final_state) {
    for (int64_t b = 0; b < s.batch; ++b)
      std::copy(state_at(b, last_slot, 0), state_at(b, last_slot, 0) + H * PN,
                final_state + b * H * PN);
  }
}

template void ssd_chunked<float>(const SsdShape&, int64_t, const float*, const float*, const float*,
                                 const float*, const float*, const float*, const float*, float*,
                                 float*, float*);
template void ssd_chunked<double>(const SsdShape&, int64_t, const double*, const double*,
                                  const double*, const double*, const double*, const double*,
                                  const double*, double*, double*, double*);

}  // namespace tessera::kernels
