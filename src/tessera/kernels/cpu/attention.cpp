#include "tessera/kernels/cpu/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "tessera/kernels/cpu/gemm.h"

namespace tessera::kernels {

namespace {

// Number of keys query row i may see.
inline int64_t visible_keys(const AttentionShape& s, int64_t i, bool causal) {
  return causal ? std::min<int64_t>(s.S, s.S - s.T + i + 1) : s.S;
}

// P = softmax(scale * Q K^T) for one (b, h) block into `scores` [T, S]; writes lse [T] when
// given, or uses the saved lse to rebuild P exactly as the forward had it.
template <typename T>
void attention_probabilities(const T* q, const T* k, T* scores, T* lse, bool lse_is_input,
                             const AttentionShape& s, T scale, bool causal) {
  const int64_t q_ld = s.H * s.D, k_ld = s.Hkv * s.D;
  gemm<T>(false, true, s.T, s.S, s.D, scale, q, q_ld, k, k_ld, T(0), scores, s.S);
  for (int64_t i = 0; i < s.T; ++i) {
    T* row = scores + i * s.S;
    const int64_t n = visible_keys(s, i, causal);
    if (n <= 0) {  // nothing visible (only possible with more queries than keys)
      std::fill(row, row + s.S, T(0));
      if (!lse_is_input) lse[i] = -std::numeric_limits<T>::infinity();
      continue;
    }
    T norm;
    if (lse_is_input) {
      norm = lse[i];
    } else {
      T mx = row[0];
      for (int64_t j = 1; j < n; ++j) mx = std::max(mx, row[j]);
      T total = 0;
      for (int64_t j = 0; j < n; ++j) total += std::exp(row[j] - mx);
      norm = mx + std::log(total);
      lse[i] = norm;
    }
    for (int64_t j = 0; j < n; ++j) row[j] = std::exp(row[j] - norm);
    std::fill(row + n, row + s.S, T(0));
  }
}

}  // namespace

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse, AttentionShape s,
                       T scale, bool causal) {
  const int64_t group = s.H / s.Hkv;
  const int64_t blocks = s.B * s.H;
#pragma omp parallel
  {
    std::vector<T> scores(static_cast<size_t>(s.T * s.S));
#pragma omp for schedule(static)
    for (int64_t block = 0; block < blocks; ++block) {
      const int64_t b = block / s.H, h = block % s.H, g = h / group;
      const T* qb = q + b * s.T * s.H * s.D + h * s.D;
      const T* kb = k + b * s.S * s.Hkv * s.D + g * s.D;
      const T* vb = v + b * s.S * s.Hkv * s.D + g * s.D;
      T* ob = out + b * s.T * s.H * s.D + h * s.D;
      attention_probabilities(qb, kb, scores.data(), lse + block * s.T, false, s, scale, causal);
      gemm<T>(false, false, s.T, s.D, s.S, T(1), scores.data(), s.S, vb, s.Hkv * s.D, T(0), ob,
              s.H * s.D);
    }
  }
}

template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse,
                        const T* dout, T* dq, T* dk, T* dv, AttentionShape s, T scale,
                        bool causal) {
  const int64_t group = s.H / s.Hkv;
  const int64_t q_ld = s.H * s.D, kv_ld = s.Hkv * s.D;
  // One task per (batch, kv head): the query heads of a group accumulate into the same dk/dv
  // rows, so they run in sequence inside the task and no two threads write the same memory.
  const int64_t tasks = s.B * s.Hkv;
#pragma omp parallel
  {
    std::vector<T> p(static_cast<size_t>(s.T * s.S)), dp(static_cast<size_t>(s.T * s.S));
    std::vector<T> delta(static_cast<size_t>(s.T));
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t b = task / s.Hkv, g = task % s.Hkv;
      const T* kb = k + b * s.S * kv_ld + g * s.D;
      const T* vb = v + b * s.S * kv_ld + g * s.D;
      T* dkb = dk + b * s.S * kv_ld + g * s.D;
      T* dvb = dv + b * s.S * kv_ld + g * s.D;
      for (int64_t j = 0; j < s.S; ++j) {
        std::fill(dkb + j * kv_ld, dkb + j * kv_ld + s.D, T(0));
        std::fill(dvb + j * kv_ld, dvb + j * kv_ld + s.D, T(0));
      }
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const int64_t off = b * s.T * q_ld + h * s.D;
        const T* qb = q + off;
        const T* ob = out + off;
        const T* dob = dout + off;
        T* dqb = dq + off;
        attention_probabilities(qb, kb, p.data(), const_cast<T*>(lse + (b * s.H + h) * s.T), true,
                                s, scale, causal);
        // delta_i = dO_i . O_i: the softmax backward's row term.
        for (int64_t i = 0; i < s.T; ++i) {
          T acc = 0;
          for (int64_t d = 0; d < s.D; ++d) acc += dob[i * q_ld + d] * ob[i * q_ld + d];
          delta[i] = acc;
        }
        gemm<T>(true, false, s.S, s.D, s.T, T(1), p.data(), s.S, dob, q_ld, T(1), dvb, kv_ld);
        gemm<T>(false, true, s.T, s.S, s.D, T(1), dob, q_ld, vb, kv_ld, T(0), dp.data(), s.S);
        for (int64_t i = 0; i < s.T; ++i) {
          T* dprow = dp.data() + i * s.S;
          const T* prow = p.data() + i * s.S;
          for (int64_t j = 0; j < s.S; ++j) dprow[j] = prow[j] * (dprow[j] - delta[i]);
        }
        gemm<T>(false, false, s.T, s.D, s.S, scale, dp.data(), s.S, kb, kv_ld, T(0), dqb, q_ld);
        gemm<T>(true, false, s.S, s.D, s.T, scale, dp.data(), s.S, qb, q_ld, T(1), dkb, kv_ld);
      }
    }
  }
}

namespace reference {

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse, AttentionShape s,
                       T scale, bool causal) {
  const int64_t group = s.H / s.Hkv;
  std::vector<double> w(static_cast<size_t>(s.S));
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t i = 0; i < s.T; ++i) {
        const int64_t g = h / group;
        const int64_t n = visible_keys(s, i, causal);
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < n; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < s.D; ++d)
            dot += static_cast<double>(q[((b * s.T + i) * s.H + h) * s.D + d]) *
                   static_cast<double>(k[((b * s.S + j) * s.Hkv + g) * s.D + d]);
          w[j] = dot * static_cast<double>(scale);
          mx = std::max(mx, w[j]);
        }
        double total = 0;
        for (int64_t j = 0; j < n; ++j) total += std::exp(w[j] - mx);
        lse[(b * s.H + h) * s.T + i] = static_cast<T>(mx + std::log(total));
        for (int64_t d = 0; d < s.D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < n; ++j)
            acc += std::exp(w[j] - mx) / total * static_cast<double>(v[((b * s.S + j) * s.Hkv + g) * s.D + d]);
          out[((b * s.T + i) * s.H + h) * s.D + d] = static_cast<T>(acc);
        }
      }
}

template void attention_forward<float>(const float*, const float*, const float*, float*, float*,
                                        AttentionShape, float, bool);
template void attention_forward<double>(const double*, const double*, const double*, double*,
                                         double*, AttentionShape, double, bool);
}  // namespace reference

template void attention_forward<float>(const float*, const float*, const float*, float*, float*,
                                       AttentionShape, float, bool);
template void attention_forward<double>(const double*, const double*, const double*, double*,
                                        double*, AttentionShape, double, bool);
template void attention_backward<float>(const float*, const float*, const float*, const float*,
                                        const float*, const float*, float*, float*, float*,
                                        AttentionShape, float, bool);
template void attention_backward<double>(const double*, const double*, const double*,
                                         const double*, const double*, const double*, double*,
                                         double*, double*, AttentionShape, double, bool);

}  // namespace tessera::kernels
