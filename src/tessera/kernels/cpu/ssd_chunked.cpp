// SSD form (b): the chunked algorithm of Dao & Gu 2024, section 6 / listing 1. Per chunk of Q
// steps (the last one may be shorter):
//   1. intra-chunk output   Y_diag = (L o C B^T) diag(dt) X          (the quadratic form, local)
//   2. chunk state          S_c    = X^T diag(exp(A_end - A_cum) dt) B
//   3. state passing        H_c+1  = exp(A_end) H_c + S_c            (sequential over chunks)
//   4. state to output      Y_off  = diag(exp(A_cum)) C H_c^T
// Steps 1, 2 and 4 are BLAS products; step 3 is a cheap scan over chunks.
#include <omp.h>

#include "tessera/kernels/cpu/gemm.h"
#include "tessera/kernels/cpu/parallel_policy.h"
#include "tessera/kernels/cpu/ssd_internal.h"

namespace tessera::kernels {

using namespace ssd_detail;

namespace {

// Steps 1 and 4 for the heads of one work item: y rows of chunk `c` are written here only.
template <typename T>
struct ChunkOutputScratch {
  std::vector<T> gram, mask, cum, scaled_c;
  ChunkOutputScratch(int64_t Q, int64_t N)
      : gram(Q * Q), mask(Q * Q), cum(Q), scaled_c(Q * N) {}
};

}  // namespace

template <typename T>
void ssd_chunked(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* B,
                 const T* C, const T* D, const T* initial_state, T* final_state, T* y,
                 T* chunk_states) {
  check_ssd_shape(s, chunk);
  const int64_t L = s.length, H = s.heads, P = s.head_dim, N = s.state, G = s.groups;
  const int64_t hpg = s.heads_per_group(), PN = P * N;
  const int64_t nc = ssd_num_chunks(L, chunk);
  // Small problems stay on the calling thread: waking the team costs more than they do.
  const bool parallel = s.batch * L * H * PN >= kParallelMinElements;
  std::vector<T> owned_states;
  if (!chunk_states) {
    owned_states.resize(static_cast<size_t>(s.batch * (nc + 1) * H * PN));
    chunk_states = owned_states.data();
  }
  // chunk_states[b][c][h] holds S_c-1 after step 2 and H_c after step 3.
  auto state_at = [&](int64_t b, int64_t c, int64_t h) { return chunk_states + ((b * (nc + 1) + c) * H + h) * PN; };
  std::vector<T> chunk_decay(static_cast<size_t>(s.batch * nc * H));  // exp(A_end) per chunk

  // Step 2, parallel over (batch, head, chunk).
  const int64_t state_items = s.batch * H * nc;
#pragma omp parallel if (parallel && state_items > 1)
  {
    std::vector<T> cum(chunk), weighted(chunk * P);
#pragma omp for schedule(dynamic)
    for (int64_t item = 0; item < state_items; ++item) {
      const int64_t c = item % nc, h = (item / nc) % H, b = item / (nc * H), g = h / hpg;
      const int64_t t0 = c * chunk, Q = std::min(chunk, L - t0);
      const T* dtc = dt + (b * L + t0) * H + h;
      cumulative_decay(dtc, H, Q, A[h], cum.data());
      const T end = cum[Q - 1];
      const T* xc = x + ((b * L + t0) * H + h) * P;
      for (int64_t j = 0; j < Q; ++j) {
        const T w = std::exp(end - cum[j]) * dtc[j * H];
        for (int64_t p = 0; p < P; ++p) weighted[j * P + p] = w * xc[j * H * P + p];
      }
      chunk_decay[(b * nc + c) * H + h] = std::exp(end);
      gemm<T>(true, false, P, N, Q, T(1), weighted.data(), P, B + ((b * L + t0) * G + g) * N, G * N,
              T(0), state_at(b, c + 1, h), N);
    }
  }

  // Step 3, parallel over (batch, head), sequential over chunks.
#pragma omp parallel for schedule(static) if (parallel && s.batch * H > 1)
  for (int64_t bh = 0; bh < s.batch * H; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    T* first = state_at(b, 0, h);
    if (initial_state) {
      std::copy(initial_state + bh * PN, initial_state + (bh + 1) * PN, first);
    } else {
      std::fill(first, first + PN, T(0));
    }
    for (int64_t c = 0; c < nc; ++c) {
      const T decay = chunk_decay[(b * nc + c) * H + h];
      const T* previous = state_at(b, c, h);
      T* next = state_at(b, c + 1, h);
      for (int64_t i = 0; i < PN; ++i) next[i] += decay * previous[i];
    }
    if (final_state) std::copy(state_at(b, nc, h), state_at(b, nc, h) + PN, final_state + bh * PN);
  }

  // Steps 1 and 4, parallel over (batch, group, chunk, head block); C B^T shared by the block.
  const ChunkItems items(s, chunk, ssd_threads());
#pragma omp parallel if (parallel && items.count > 1)
  {
    ChunkOutputScratch<T> scratch(chunk, N);
#pragma omp for schedule(dynamic)
    for (int64_t index = 0; index < items.count; ++index) {
      const auto it = items.at(index, s);
      const int64_t t0 = it.c * chunk, Q = std::min(chunk, L - t0);
      const T* Bc = B + ((it.b * L + t0) * G + it.g) * N;
      const T* Cc = C + ((it.b * L + t0) * G + it.g) * N;
      gemm<T>(false, true, Q, Q, N, T(1), Cc, G * N, Bc, G * N, T(0), scratch.gram.data(), Q);
      for (int64_t h = it.head_begin; h < it.head_end; ++h) {
        const T* dtc = dt + (it.b * L + t0) * H + h;
        T* cum = scratch.cum.data();
        cumulative_decay(dtc, H, Q, A[h], cum);
        T* mask = scratch.mask.data();
        for (int64_t i = 0; i < Q; ++i) {
          for (int64_t j = 0; j <= i; ++j)
            mask[i * Q + j] = scratch.gram[i * Q + j] * std::exp(cum[i] - cum[j]) * dtc[j * H];
          for (int64_t j = i + 1; j < Q; ++j) mask[i * Q + j] = T(0);
        }
        const T* xc = x + ((it.b * L + t0) * H + h) * P;
        T* yc = y + ((it.b * L + t0) * H + h) * P;
        gemm<T>(false, false, Q, P, Q, T(1), mask, Q, xc, H * P, T(0), yc, H * P);
        for (int64_t i = 0; i < Q; ++i) {
          const T decay = std::exp(cum[i]);
          for (int64_t n = 0; n < N; ++n) scratch.scaled_c[i * N + n] = decay * Cc[i * G * N + n];
        }
        gemm<T>(false, true, Q, P, N, T(1), scratch.scaled_c.data(), N, state_at(it.b, it.c, h), N,
                T(1), yc, H * P);
        if (D) {
          for (int64_t i = 0; i < Q; ++i)
            for (int64_t p = 0; p < P; ++p) yc[i * H * P + p] += D[h] * xc[i * H * P + p];
        }
      }
    }
  }
}

template void ssd_chunked<float>(const SsdShape&, int64_t, const float*, const float*, const float*,
                                 const float*, const float*, const float*, const float*, float*,
                                 float*, float*);
template void ssd_chunked<double>(const SsdShape&, int64_t, const double*, const double*,
                                  const double*, const double*, const double*, const double*,
                                  const double*, double*, double*, double*);

}  // namespace tessera::kernels
