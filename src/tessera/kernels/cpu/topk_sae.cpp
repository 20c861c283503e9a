// TopK sparse autoencoder kernels (topk_sae.h). The encoder is the only dense product; the
// decoder and both weight gradients work on k slots per token.
#include "tessera/kernels/cpu/topk_sae.h"

#include <immintrin.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "tessera/kernels/cpu/gemm.h"

namespace tessera::kernels {

namespace {

// The best k (value, index) pairs seen so far. Because ReLU follows the selection, only
// positive scores can matter, so the bar starts at 0; once k are kept the bar is the smallest
// of them and almost every later score is rejected by one comparison.
class TopkBuffer {
 public:
  TopkBuffer(int64_t k, int32_t* indices, float* values)
      : k_(k), indices_(indices), values_(values) {}
  float bar() const { return bar_; }
  void offer(float value, int32_t index) {
    if (!(value > bar_)) return;
    if (size_ < k_) {
      values_[size_] = value;
      indices_[size_] = index;
      if (++size_ == k_) recompute_bar();
      return;
    }
    values_[min_slot_] = value;
    indices_[min_slot_] = index;
    recompute_bar();
  }
  // Sorts the kept pairs, largest first (ties: lower index first), and pads with (-1, 0).
  void finish() {
    std::vector<std::pair<float, int32_t>> kept(size_);
    for (int64_t i = 0; i < size_; ++i) kept[i] = {values_[i], indices_[i]};
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (int64_t i = 0; i < k_; ++i) {
      values_[i] = i < size_ ? kept[i].first : 0.0f;
      indices_[i] = i < size_ ? kept[i].second : -1;
    }
  }

 private:
  void recompute_bar() {
    // The slot to evict is the smallest value; among equals the highest index goes first so
    // ties keep the lower index.
    int64_t slot = 0;
    for (int64_t i = 1; i < k_; ++i) {
      if (values_[i] < values_[slot] ||
          (values_[i] == values_[slot] && indices_[i] > indices_[slot]))
        slot = i;
    }
    min_slot_ = slot;
    bar_ = values_[slot];
  }
  int64_t k_;
  int32_t* indices_;
  float* values_;
  int64_t size_ = 0;
  int64_t min_slot_ = 0;
  float bar_ = 0.0f;
};

void topk_row(const float* row, int64_t n, int64_t k, int32_t* indices, float* values) {
  TopkBuffer buffer(k, indices, values);
  int64_t j = 0;
  // Eight scores per comparison; the scalar path only sees those above the current bar.
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(row + j);
    int mask = _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(buffer.bar()), _CMP_GT_OQ));
    while (mask) {
      const int bit = __builtin_ctz(mask);
      mask &= mask - 1;
      buffer.offer(row[j + bit], static_cast<int32_t>(j + bit));
    }
  }
  for (; j < n; ++j) buffer.offer(row[j], static_cast<int32_t>(j));
  buffer.finish();
}

void topk_row_listed(const float* row, const std::vector<int32_t>& candidates, int64_t k,
                     int32_t* indices, float* values) {
  TopkBuffer buffer(k, indices, values);
  for (int32_t j : candidates) buffer.offer(row[j], j);
  buffer.finish();
}

std::vector<int32_t> eligible_list(const uint8_t* eligible, int64_t n) {
  std::vector<int32_t> list;
  for (int64_t j = 0; j < n; ++j) {
    if (eligible[j]) list.push_back(static_cast<int32_t>(j));
  }
  return list;
}

}  // namespace

void topk_rows(const float* scores, int64_t rows, int64_t n, int64_t ld, int64_t k,
               const uint8_t* eligible, int32_t* indices, float* values) {
  if (k <= 0) return;
  std::vector<int32_t> candidates;
  if (eligible) candidates = eligible_list(eligible, n);
#pragma omp parallel for schedule(static) if (rows * n > (int64_t{1} << 16))
  for (int64_t r = 0; r < rows; ++r) {
    if (eligible) {
      topk_row_listed(scores + r * ld, candidates, k, indices + r * k, values + r * k);
    } else {
      topk_row(scores + r * ld, n, k, indices + r * k, values + r * k);
    }
  }
}

void topk_sae_encode(const float* x_centered, int64_t rows, int64_t d, const float* W_enc,
                     const float* b_enc, int64_t n, int64_t k, int32_t* indices, float* values,
                     int64_t aux_k, const uint8_t* aux_eligible, int32_t* aux_indices,
                     float* aux_values) {
  if (rows <= 0) return;
  // 64 rows keep a chunk's pre-activations (64 x n floats) per thread while the single-threaded
  // BLAS call still sees a product large enough to run at full speed.
  constexpr int64_t kChunk = 64;
  const int64_t chunks = (rows + kChunk - 1) / kChunk;
  std::vector<int32_t> aux_candidates;
  const bool with_aux = aux_k > 0 && aux_eligible != nullptr;
  if (with_aux) aux_candidates = eligible_list(aux_eligible, n);
  auto run_chunk = [&](int64_t c, std::vector<float>& pre) {
    const int64_t r0 = c * kChunk, m = std::min(kChunk, rows - r0);
    pre.resize(static_cast<size_t>(m * n));
    for (int64_t r = 0; r < m; ++r) std::copy(b_enc, b_enc + n, pre.data() + r * n);
    gemm<float>(false, true, m, n, d, 1.0f, x_centered + r0 * d, d, W_enc, d, 1.0f, pre.data(), n);
    for (int64_t r = 0; r < m; ++r) {
      const float* row = pre.data() + r * n;
      topk_row(row, n, k, indices + (r0 + r) * k, values + (r0 + r) * k);
      if (with_aux) {
        topk_row_listed(row, aux_candidates, aux_k, aux_indices + (r0 + r) * aux_k,
                        aux_values + (r0 + r) * aux_k);
      }
    }
  };
  if (chunks == 1) {
    std::vector<float> pre;
    run_chunk(0, pre);  // one chunk: BLAS may use every thread itself
    return;
  }
  // Small problems stay on one thread: waking a team costs more than the work.
#pragma omp parallel if (rows * n * d > (int64_t{1} << 22))
  {
    std::vector<float> pre;
#pragma omp for schedule(dynamic, 1)
    for (int64_t c = 0; c < chunks; ++c) run_chunk(c, pre);
  }
}

void topk_sae_decode(const int32_t* indices, const float* values, int64_t rows, int64_t k,
                     const float* W_dec, int64_t d, float* out, bool accumulate) {
#pragma omp parallel for schedule(static) if (rows * k * d > (int64_t{1} << 15))
  for (int64_t r = 0; r < rows; ++r) {
    float* o = out + r * d;
    if (!accumulate) std::fill(o, o + d, 0.0f);
    for (int64_t j = 0; j < k; ++j) {
      const int32_t l = indices[r * k + j];
      if (l < 0) continue;
      const float a = values[r * k + j];
      const float* w = W_dec + static_cast<int64_t>(l) * d;
      for (int64_t i = 0; i < d; ++i) o[i] += a * w[i];
    }
  }
}

void topk_sae_decode_grad_values(const int32_t* indices, int64_t rows, int64_t k,
                                 const float* W_dec, int64_t d, const float* grad_out,
                                 float* grad_values) {
#pragma omp parallel for schedule(static) if (rows * k * d > (int64_t{1} << 15))
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = grad_out + r * d;
    for (int64_t j = 0; j < k; ++j) {
      const int32_t l = indices[r * k + j];
      if (l < 0) {
        grad_values[r * k + j] = 0.0f;
        continue;
      }
      const float* w = W_dec + static_cast<int64_t>(l) * d;
      float s = 0.0f;
      for (int64_t i = 0; i < d; ++i) s += g[i] * w[i];
      grad_values[r * k + j] = s;
    }
  }
}

void sparse_transpose_matmul(const int32_t* indices, const float* coeffs, int64_t rows, int64_t k,
                             const float* dense, int64_t d, int64_t n, float* out,
                             float* row_sums) {
  // Bucket the slots by latent (counting sort), so that each output row has one writer.
  std::vector<int64_t> start(static_cast<size_t>(n + 1), 0);
  const int64_t slots = rows * k;
  for (int64_t s = 0; s < slots; ++s) {
    if (indices[s] >= 0 && coeffs[s] != 0.0f) ++start[indices[s] + 1];
  }
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  std::vector<int32_t> slot_row(static_cast<size_t>(start[n]));
  std::vector<float> slot_coeff(static_cast<size_t>(start[n]));
  for (int64_t s = 0; s < slots; ++s) {
    const int32_t l = indices[s];
    if (l < 0 || coeffs[s] == 0.0f) continue;
    const int64_t at = fill[l]++;
    slot_row[at] = static_cast<int32_t>(s / k);
    slot_coeff[at] = coeffs[s];
  }
  std::vector<int32_t> used;
  for (int64_t l = 0; l < n; ++l) {
    if (start[l + 1] > start[l]) used.push_back(static_cast<int32_t>(l));
  }
  const int64_t m = static_cast<int64_t>(used.size());
#pragma omp parallel for schedule(dynamic, 16) if (slots * d > (int64_t{1} << 15))
  for (int64_t u = 0; u < m; ++u) {
    const int64_t l = used[u];
    float* o = out + l * d;
    float total = 0.0f;
    for (int64_t at = start[l]; at < start[l + 1]; ++at) {
      const float c = slot_coeff[at];
      const float* x = dense + static_cast<int64_t>(slot_row[at]) * d;
      for (int64_t i = 0; i < d; ++i) o[i] += c * x[i];
      total += c;
    }
    if (row_sums) row_sums[l] += total;
  }
}

void topk_rows_reference(const float* scores, int64_t rows, int64_t n, int64_t ld, int64_t k,
                         const uint8_t* eligible, int32_t* indices, float* values) {
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int32_t> order;
    for (int64_t j = 0; j < n; ++j) {
      if ((!eligible || eligible[j]) && scores[r * ld + j] > 0.0f)
        order.push_back(static_cast<int32_t>(j));
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return scores[r * ld + a] > scores[r * ld + b]; });
    for (int64_t j = 0; j < k; ++j) {
      const bool has = j < static_cast<int64_t>(order.size());
      indices[r * k + j] = has ? order[j] : -1;
      values[r * k + j] = has ? scores[r * ld + order[j]] : 0.0f;
    }
  }
}

void sparse_transpose_matmul_reference(const int32_t* indices, const float* coeffs, int64_t rows,
                                       int64_t k, const float* dense, int64_t d, int64_t n,
                                       float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < k; ++j) {
      const int32_t l = indices[r * k + j];
      if (l < 0) continue;
      for (int64_t i = 0; i < d; ++i) out[l * d + i] += coeffs[r * k + j] * dense[r * d + i];
    }
  }
}

}  // namespace tessera::kernels
