// Backward of the chunked SSD (ssd_chunked.cpp), step by step in reverse:
//   state to output  Y_off_i = exp(a_i) H_c C_i          -> dH_c, dC, d(cum)
//   state passing    H_c+1 = exp(a_end) H_c + S_c         -> reverse scan: G_c = dH_c + exp(a_end)
//   G_c+1 chunk state      S_c = sum_j w_j x_j B_j^T, w_j = exp(a_end - a_j) dt_j intra-chunk
//   Y_diag = M X, M = (C B^T) o exp(a_i - a_j) o dt_j (j <= i) cumulative sums  a_i = sum_{r<=i}
//   dt_r A              -> reverse cumulative sum into ddt, dA
// The per-chunk products are BLAS calls, as in the forward.
#include "tessera/kernels/cpu/gemm.h"
#include "tessera/kernels/cpu/parallel_policy.h"
#include "tessera/kernels/cpu/ssd_internal.h"

namespace tessera::kernels {

using namespace ssd_detail;

namespace {

template <typename T>
struct BackwardScratch {
  std::vector<T> gram, mask, grad_mask, grad_gram, cum, grad_cum, scaled, rows_qp, rows_qn, dB_acc,
      dC_acc, row_scale, col_scale;
  BackwardScratch(int64_t Q, int64_t P, int64_t N)
      : gram(Q * Q),
        mask(Q * Q),
        grad_mask(Q * Q),
        grad_gram(Q * Q),
        cum(Q),
        grad_cum(Q),
        scaled(Q * std::max(P, N)),
        rows_qp(Q * P),
        rows_qn(Q * N),
        dB_acc(Q * N),
        dC_acc(Q * N),
        row_scale(Q),
        col_scale(Q) {}
};

}  // namespace

template <typename T>
void ssd_chunked_backward(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A,
                          const T* B, const T* C, const T* D, const T* chunk_states, const T* dy,
                          const T* d_final_state, const SsdGradients<T>& out) {
  check_ssd_shape(s, chunk);
  const int64_t L = s.length, H = s.heads, P = s.head_dim, N = s.state, G = s.groups;
  const int64_t hpg = s.heads_per_group(), PN = P * N;
  const int64_t nc = ssd_num_chunks(L, chunk);
  // Small problems stay on the calling thread: waking the team costs more than they do.
  const bool parallel = s.batch * L * H * PN >= kParallelMinElements;
  auto state_at = [&](int64_t b, int64_t c, int64_t h) {
    return chunk_states + ((b * (nc + 1) + c) * H + h) * PN;
  };
  // grad_states[b][c][h]: first dH_c from Y_off, then (after the reverse scan) the gradient G_c+1
  // of the state leaving chunk c, i.e. of S_c.
  std::vector<T> grad_states(static_cast<size_t>(s.batch * nc * H * PN));
  auto grad_at = [&](int64_t b, int64_t c, int64_t h) {
    return grad_states.data() + ((b * nc + c) * H + h) * PN;
  };
  std::vector<T> grad_end(static_cast<size_t>(s.batch * nc * H), T(0));  // d a_end from the scan

  // dH_c = sum_i exp(a_i) dy_i C_i^T, parallel over (batch, head, chunk).
  const int64_t state_items = s.batch * H * nc;
#pragma omp parallel if (parallel && state_items > 1)
  {
    std::vector<T> cum(chunk), scaled(chunk * P);
#pragma omp for schedule(dynamic)
    for (int64_t item = 0; item < state_items; ++item) {
      const int64_t c = item % nc, h = (item / nc) % H, b = item / (nc * H), g = h / hpg;
      const int64_t t0 = c * chunk, Q = std::min(chunk, L - t0);
      cumulative_decay(dt + (b * L + t0) * H + h, H, Q, A[h], cum.data());
      const T* dyc = dy + ((b * L + t0) * H + h) * P;
      for (int64_t i = 0; i < Q; ++i) {
        const T decay = std::exp(cum[i]);
        for (int64_t p = 0; p < P; ++p) scaled[i * P + p] = decay * dyc[i * H * P + p];
      }
      gemm<T>(true, false, P, N, Q, T(1), scaled.data(), P, C + ((b * L + t0) * G + g) * N, G * N,
              T(0), grad_at(b, c, h), N);
    }
  }

  // Reverse scan over chunks: carry = G_c+1; G_c = dH_c + exp(a_end_c) G_c+1.
#pragma omp parallel for schedule(static) if (parallel && s.batch * H > 1)
  for (int64_t bh = 0; bh < s.batch * H; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    std::vector<T> carry(PN, T(0)), cum(chunk);
    if (d_final_state)
      std::copy(d_final_state + bh * PN, d_final_state + (bh + 1) * PN, carry.begin());
    for (int64_t c = nc - 1; c >= 0; --c) {
      const int64_t t0 = c * chunk, Q = std::min(chunk, L - t0);
      cumulative_decay(dt + (b * L + t0) * H + h, H, Q, A[h], cum.data());
      const T decay = std::exp(cum[Q - 1]);
      const T* entering = state_at(b, c, h);
      T* slot = grad_at(b, c, h);
      T dot = T(0);
      for (int64_t i = 0; i < PN; ++i) {
        dot += entering[i] * carry[i];
        const T from_output = slot[i];
        slot[i] = carry[i];  // gradient of S_c
        carry[i] = from_output + decay * carry[i];
      }
      grad_end[(b * nc + c) * H + h] = decay * dot;
    }
    if (out.d_initial_state) std::copy(carry.begin(), carry.end(), out.d_initial_state + bh * PN);
  }

  // Per-chunk gradients, parallel over (batch, group, chunk, head block). dB and dC sum over the
  // heads of a group: each block writes its own partial rows, reduced below in a fixed order.
  const ChunkItems items(s, chunk, ssd_threads());
  const bool partial_bc = items.head_blocks > 1;
  std::vector<T> partial_B, partial_C;
  if (partial_bc && (out.dB || out.dC)) {
    partial_B.assign(static_cast<size_t>(items.head_blocks * s.batch * L * G * N), T(0));
    partial_C.assign(partial_B.size(), T(0));
  }
  std::vector<T> partial_A(static_cast<size_t>(s.batch * nc * H), T(0));
  std::vector<T> partial_D(static_cast<size_t>(s.batch * nc * H), T(0));
#pragma omp parallel if (parallel && items.count > 1)
  {
    BackwardScratch<T> w(chunk, P, N);
    std::vector<T> local_dx(chunk * P), local_ddt(chunk);
#pragma omp for schedule(dynamic)
    for (int64_t index = 0; index < items.count; ++index) {
      const auto it = items.at(index, s);
      const int64_t t0 = it.c * chunk, Q = std::min(chunk, L - t0);
      const T* Bc = B + ((it.b * L + t0) * G + it.g) * N;
      const T* Cc = C + ((it.b * L + t0) * G + it.g) * N;
      gemm<T>(false, true, Q, Q, N, T(1), Cc, G * N, Bc, G * N, T(0), w.gram.data(), Q);
      std::fill(w.dB_acc.begin(), w.dB_acc.begin() + Q * N, T(0));
      std::fill(w.dC_acc.begin(), w.dC_acc.begin() + Q * N, T(0));
      for (int64_t h = it.head_begin; h < it.head_end; ++h) {
        const T* dtc = dt + (it.b * L + t0) * H + h;
        const T* xc = x + ((it.b * L + t0) * H + h) * P;
        const T* dyc = dy + ((it.b * L + t0) * H + h) * P;
        T* cum = w.cum.data();
        T* grad_cum = w.grad_cum.data();
        cumulative_decay(dtc, H, Q, A[h], cum);
        std::fill(grad_cum, grad_cum + Q, T(0));
        T* ddt = local_ddt.data();
        std::fill(ddt, ddt + Q, T(0));
        // Intra-chunk: M and dM = dy x^T.
        T* mask = w.mask.data();
        // exp(cum_i - cum_j) as row_i * col_j when the range allows (ssd_internal.h).
        const bool factored = factor_decays(cum, Q, w.row_scale.data(), w.col_scale.data());
        const T* row_scale = w.row_scale.data();
        const T* col_scale = w.col_scale.data();
        auto decay_of = [&](int64_t i, int64_t j) {
          return factored ? row_scale[i] * col_scale[j] : std::exp(cum[i] - cum[j]);
        };
        for (int64_t i = 0; i < Q; ++i) {
          for (int64_t j = 0; j <= i; ++j)
            mask[i * Q + j] = w.gram[i * Q + j] * decay_of(i, j) * dtc[j * H];
          for (int64_t j = i + 1; j < Q; ++j) mask[i * Q + j] = T(0);
        }
        T* dx = local_dx.data();
        gemm<T>(true, false, Q, P, Q, T(1), mask, Q, dyc, H * P, T(0), dx, P);
        T* grad_mask = w.grad_mask.data();
        gemm<T>(false, true, Q, Q, P, T(1), dyc, H * P, xc, H * P, T(0), grad_mask, Q);
        T* grad_gram = w.grad_gram.data();
        for (int64_t i = 0; i < Q; ++i) {
          for (int64_t j = 0; j <= i; ++j) {
            const T decay = decay_of(i, j);
            const T gm = grad_mask[i * Q + j];
            grad_gram[i * Q + j] = gm * decay * dtc[j * H];
            ddt[j] += gm * w.gram[i * Q + j] * decay;
            const T e = gm * mask[i * Q + j];
            grad_cum[i] += e;
            grad_cum[j] -= e;
          }
          for (int64_t j = i + 1; j < Q; ++j) grad_gram[i * Q + j] = T(0);
        }
        gemm<T>(false, false, Q, N, Q, T(1), grad_gram, Q, Bc, G * N, T(1), w.dC_acc.data(), N);
        gemm<T>(true, false, Q, N, Q, T(1), grad_gram, Q, Cc, G * N, T(1), w.dB_acc.data(), N);
        // State to output: dC_i += exp(a_i) H_c^T dy_i; d a_i += C_i . that.
        T* scaled = w.scaled.data();
        for (int64_t i = 0; i < Q; ++i) {
          const T decay = std::exp(cum[i]);
          for (int64_t p = 0; p < P; ++p) scaled[i * P + p] = decay * dyc[i * H * P + p];
        }
        T* rows_qn = w.rows_qn.data();
        gemm<T>(false, false, Q, N, P, T(1), scaled, P, state_at(it.b, it.c, h), N, T(0), rows_qn,
                N);
        for (int64_t i = 0; i < Q; ++i) {
          T dot = T(0);
          for (int64_t n = 0; n < N; ++n) {
            dot += rows_qn[i * N + n] * Cc[i * G * N + n];
            w.dC_acc[i * N + n] += rows_qn[i * N + n];
          }
          grad_cum[i] += dot;
        }
        // Chunk state: with G = dS_c, dx_j += w_j (B G^T)_j, dB_j += w_j (X G)_j, dw_j = x_j.(B
        // G^T)_j.
        const T* grad_state = grad_at(it.b, it.c, h);
        T* rows_qp = w.rows_qp.data();
        gemm<T>(false, true, Q, P, N, T(1), Bc, G * N, grad_state, N, T(0), rows_qp, P);
        gemm<T>(false, false, Q, N, P, T(1), xc, H * P, grad_state, N, T(0), rows_qn, N);
        const T end = cum[Q - 1];
        T grad_end_total = grad_end[(it.b * nc + it.c) * H + h];
        for (int64_t j = 0; j < Q; ++j) {
          const T decay = std::exp(end - cum[j]);
          const T weight = decay * dtc[j * H];
          T dw = T(0);
          for (int64_t p = 0; p < P; ++p) {
            dw += xc[j * H * P + p] * rows_qp[j * P + p];
            dx[j * P + p] += weight * rows_qp[j * P + p];
          }
          for (int64_t n = 0; n < N; ++n) w.dB_acc[j * N + n] += weight * rows_qn[j * N + n];
          ddt[j] += decay * dw;
          grad_end_total += weight * dw;
          grad_cum[j] -= weight * dw;
        }
        grad_cum[Q - 1] += grad_end_total;
        // Skip connection, then the cumulative sum a_i = sum_{r<=i} dt_r A in reverse.
        T grad_D = T(0);
        if (D) {
          for (int64_t i = 0; i < Q; ++i)
            for (int64_t p = 0; p < P; ++p) {
              dx[i * P + p] += D[h] * dyc[i * H * P + p];
              grad_D += xc[i * H * P + p] * dyc[i * H * P + p];
            }
        }
        T running = T(0), grad_A = T(0);
        for (int64_t r = Q - 1; r >= 0; --r) {
          running += grad_cum[r];
          ddt[r] += A[h] * running;
          grad_A += dtc[r * H] * running;
        }
        const int64_t slot = (it.b * nc + it.c) * H + h;
        partial_A[slot] = grad_A;
        partial_D[slot] = grad_D;
        if (out.dx) {
          for (int64_t i = 0; i < Q; ++i)
            std::copy(dx + i * P, dx + (i + 1) * P, out.dx + ((it.b * L + t0 + i) * H + h) * P);
        }
        if (out.ddt) {
          for (int64_t i = 0; i < Q; ++i) out.ddt[(it.b * L + t0 + i) * H + h] = ddt[i];
        }
      }
      // Rows of this chunk for this group: written whole by the only block, or as a partial.
      const int64_t block = index % items.head_blocks;
      for (int64_t i = 0; i < Q; ++i) {
        const int64_t row = ((it.b * L + t0 + i) * G + it.g) * N;
        if (!partial_bc) {
          if (out.dB)
            std::copy(w.dB_acc.begin() + i * N, w.dB_acc.begin() + (i + 1) * N, out.dB + row);
          if (out.dC)
            std::copy(w.dC_acc.begin() + i * N, w.dC_acc.begin() + (i + 1) * N, out.dC + row);
        } else if (out.dB || out.dC) {
          const int64_t offset = block * s.batch * L * G * N + row;
          std::copy(w.dB_acc.begin() + i * N, w.dB_acc.begin() + (i + 1) * N,
                    partial_B.begin() + offset);
          std::copy(w.dC_acc.begin() + i * N, w.dC_acc.begin() + (i + 1) * N,
                    partial_C.begin() + offset);
        }
      }
    }
  }
  if (partial_bc) {
    const int64_t total = s.batch * L * G * N;
    for (int64_t i = 0; i < total; ++i) {
      T sum_B = T(0), sum_C = T(0);
      for (int64_t block = 0; block < items.head_blocks; ++block) {
        if (out.dB) sum_B += partial_B[block * total + i];
        if (out.dC) sum_C += partial_C[block * total + i];
      }
      if (out.dB) out.dB[i] = sum_B;
      if (out.dC) out.dC[i] = sum_C;
    }
  }
  for (int64_t h = 0; h < H; ++h) {
    T sum_A = T(0), sum_D = T(0);
    for (int64_t bc = 0; bc < s.batch * nc; ++bc) {
      sum_A += partial_A[bc * H + h];
      sum_D += partial_D[bc * H + h];
    }
    if (out.dA) out.dA[h] = sum_A;
    if (out.dD && D) out.dD[h] = sum_D;
  }
  if (nc == 0 && out.d_initial_state) {
    for (int64_t i = 0; i < s.state_elements(); ++i)
      out.d_initial_state[i] = d_final_state ? d_final_state[i] : T(0);
  }
}

template void ssd_chunked_backward<float>(const SsdShape&, int64_t, const float*, const float*,
                                          const float*, const float*, const float*, const float*,
                                          const float*, const float*, const float*,
                                          const SsdGradients<float>&);
template void ssd_chunked_backward<double>(const SsdShape&, int64_t, const double*, const double*,
                                           const double*, const double*, const double*,
                                           const double*, const double*, const double*,
                                           const double*, const SsdGradients<double>&);

}  // namespace tessera::kernels
