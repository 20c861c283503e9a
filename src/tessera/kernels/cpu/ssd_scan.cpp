// SSD forms (a), the recurrence, and (c), the quadratic dual form (see ssd.h).
#include <omp.h>

#include <stdexcept>
#include <string>

#include "tessera/kernels/cpu/gemm.h"
#include "tessera/kernels/cpu/parallel_policy.h"
#include "tessera/kernels/cpu/ssd_internal.h"

namespace tessera::kernels {

namespace ssd_detail {
int ssd_threads() {
  return omp_get_max_threads();
}
}  // namespace ssd_detail

using namespace ssd_detail;

void check_ssd_shape(const SsdShape& s, int64_t chunk) {
  if (s.batch < 0 || s.length < 0 || s.heads < 1 || s.head_dim < 1 || s.groups < 1 || s.state < 1)
    throw std::invalid_argument(
        "ssd: sizes must be positive (batch " + std::to_string(s.batch) + ", length " +
        std::to_string(s.length) + ", heads " + std::to_string(s.heads) + ", head_dim " +
        std::to_string(s.head_dim) + ", groups " + std::to_string(s.groups) + ", state " +
        std::to_string(s.state) + ")");
  if (s.heads % s.groups != 0)
    throw std::invalid_argument("ssd: heads " + std::to_string(s.heads) +
                                " is not a multiple of groups " + std::to_string(s.groups));
  if (chunk < 1) throw std::invalid_argument("ssd: chunk size must be >= 1");
}

// Eq. (2): per (batch, head) a [head_dim, state] state carried through time. The state row of
// one channel p is updated and read against C in one pass, so it stays in L1.
template <typename T>
void ssd_sequential(const SsdShape& s, const T* x, const T* dt, const T* A, const T* B, const T* C,
                    const T* D, const T* initial_state, T* final_state, T* y) {
  check_ssd_shape(s);
  const int64_t H = s.heads, P = s.head_dim, N = s.state, G = s.groups, hpg = s.heads_per_group();
  const int64_t work = s.batch * s.length * H * P * N;
#pragma omp parallel if (work >= kParallelMinElements && s.batch * H > 1)
  {
    std::vector<T> local(static_cast<size_t>(P * N));
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < s.batch * H; ++bh) {
      const int64_t b = bh / H, h = bh % H, g = h / hpg;
      T* state = final_state ? final_state + bh * P * N : local.data();
      if (initial_state) {
        std::copy(initial_state + bh * P * N, initial_state + (bh + 1) * P * N, state);
      } else {
        std::fill(state, state + P * N, T(0));
      }
      const T skip = D ? D[h] : T(0);
      for (int64_t t = 0; t < s.length; ++t) {
        const int64_t bt = b * s.length + t;
        const T step = dt[bt * H + h];
        const T decay = std::exp(step * A[h]);
        const T* xt = x + (bt * H + h) * P;
        const T* Bt = B + (bt * G + g) * N;
        const T* Ct = C + (bt * G + g) * N;
        T* yt = y + (bt * H + h) * P;
        for (int64_t p = 0; p < P; ++p) {
          const T input = step * xt[p];
          T* row = state + p * N;
          T acc = T(0);
#pragma omp simd reduction(+ : acc)
          for (int64_t n = 0; n < N; ++n) {
            row[n] = decay * row[n] + input * Bt[n];
            acc += row[n] * Ct[n];
          }
          yt[p] = acc + skip * xt[p];
        }
      }
    }
  }
}

// Eq. (16): per (batch, group) the Gram matrix C B^T over the whole sequence (one BLAS call),
// then per head the mask L o (C B^T) scaled by dt, applied to x by a second BLAS call. The
// initial state enters through y_t += exp(cum_t) C_t h0, the final state is the whole-sequence
// sum. Memory is length^2 per thread: this form is for short sequences.
template <typename T>
void ssd_quadratic(const SsdShape& s, const T* x, const T* dt, const T* A, const T* B, const T* C,
                   const T* D, const T* initial_state, T* final_state, T* y) {
  check_ssd_shape(s);
  const int64_t L = s.length, H = s.heads, P = s.head_dim, N = s.state, G = s.groups;
  const int64_t hpg = s.heads_per_group();
  if (L == 0) {
    for (int64_t i = 0; final_state && i < s.state_elements(); ++i)
      final_state[i] = initial_state ? initial_state[i] : T(0);
    return;
  }
  std::vector<T> gram(static_cast<size_t>(L * L));
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t g = 0; g < G; ++g) {
      const T* Bg = B + (b * L * G + g) * N;
      const T* Cg = C + (b * L * G + g) * N;
      gemm<T>(false, true, L, L, N, T(1), Cg, G * N, Bg, G * N, T(0), gram.data(), L);
#pragma omp parallel if (hpg > 1 && L * L * P >= kParallelMinElements)
      {
        std::vector<T> mask(static_cast<size_t>(L * L)), cum(static_cast<size_t>(L));
        std::vector<T> scaled(static_cast<size_t>(L * std::max(N, P)));
#pragma omp for schedule(static)
        for (int64_t h = g * hpg; h < (g + 1) * hpg; ++h) {
          const T* dth = dt + b * L * H + h;
          cumulative_decay(dth, H, L, A[h], cum.data());
          for (int64_t t = 0; t < L; ++t) {
            for (int64_t r = 0; r <= t; ++r)
              mask[t * L + r] = gram[t * L + r] * std::exp(cum[t] - cum[r]) * dth[r * H];
            for (int64_t r = t + 1; r < L; ++r) mask[t * L + r] = T(0);
          }
          const T* xh = x + (b * L * H + h) * P;
          T* yh = y + (b * L * H + h) * P;
          gemm<T>(false, false, L, P, L, T(1), mask.data(), L, xh, H * P, T(0), yh, H * P);
          const int64_t sh = (b * H + h) * P * N;
          if (initial_state) {  // y_t += exp(cum_t) h0 C_t
            for (int64_t t = 0; t < L; ++t) {
              const T decay = std::exp(cum[t]);
              for (int64_t n = 0; n < N; ++n) scaled[t * N + n] = decay * Cg[t * G * N + n];
            }
            gemm<T>(false, true, L, P, N, T(1), scaled.data(), N, initial_state + sh, N, T(1), yh,
                    H * P);
          }
          if (D) {
            for (int64_t t = 0; t < L; ++t)
              for (int64_t p = 0; p < P; ++p) yh[t * H * P + p] += D[h] * xh[t * H * P + p];
          }
          if (final_state) {  // h_L = exp(cum_L) h0 + sum_t exp(cum_L - cum_t) dt_t x_t B_t^T
            const T end = cum[L - 1];
            for (int64_t t = 0; t < L; ++t) {
              const T w = std::exp(end - cum[t]) * dth[t * H];
              for (int64_t p = 0; p < P; ++p) scaled[t * P + p] = w * xh[t * H * P + p];
            }
            T* fs = final_state + sh;
            const T carry = std::exp(end);
            for (int64_t i = 0; i < P * N; ++i)
              fs[i] = initial_state ? carry * initial_state[sh + i] : T(0);
            gemm<T>(true, false, P, N, L, T(1), scaled.data(), P, Bg, G * N, T(1), fs, N);
          }
        }
      }
    }
  }
}

#define TESSERA_SSD_SCAN_INSTANTIATE(T)                                                    \
  template void ssd_sequential<T>(const SsdShape&, const T*, const T*, const T*, const T*, \
                                  const T*, const T*, const T*, T*, T*);                   \
  template void ssd_quadratic<T>(const SsdShape&, const T*, const T*, const T*, const T*,  \
                                 const T*, const T*, const T*, T*, T*);
TESSERA_SSD_SCAN_INSTANTIATE(float)
TESSERA_SSD_SCAN_INSTANTIATE(double)
#undef TESSERA_SSD_SCAN_INSTANTIATE

}  // namespace tessera::kernels
