// The TopK SAE kernels against their plain references and the dense formulas.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tessera/kernels/cpu/topk_sae.h"

namespace tessera::kernels {
namespace {

std::vector<float> random_floats(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& v : out) v = dist(rng);
  return out;
}

TEST(TopkRows, MatchesReferenceAcrossSizes) {
  for (int64_t n : {1, 7, 8, 33, 1000, 4099}) {
    for (int64_t k : {1, 3, 32}) {
      const int64_t rows = 5;
      auto scores = random_floats(rows * n, static_cast<uint32_t>(n * 31 + k));
      std::vector<int32_t> idx(rows * k), ref_idx(rows * k);
      std::vector<float> val(rows * k), ref_val(rows * k);
      topk_rows(scores.data(), rows, n, n, k, nullptr, idx.data(), val.data());
      topk_rows_reference(scores.data(), rows, n, n, k, nullptr, ref_idx.data(), ref_val.data());
      EXPECT_EQ(idx, ref_idx) << "n=" << n << " k=" << k;
      EXPECT_EQ(val, ref_val) << "n=" << n << " k=" << k;
    }
  }
}

TEST(TopkRows, RespectsEligibilityAndReluAndTies) {
  const int64_t n = 12, k = 4;
  std::vector<float> scores = {0.5f, 2.0f, -1.0f, 2.0f, 0.1f, 3.0f,
                               0.0f, 2.0f, -3.0f, 1.0f, 0.2f, 0.3f};
  std::vector<uint8_t> eligible = {1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0};
  std::vector<int32_t> idx(k);
  std::vector<float> val(k);
  topk_rows(scores.data(), 1, n, n, k, eligible.data(), idx.data(), val.data());
  // Eligible positives: 0 (0.5), 3 (2.0), 4 (0.1), 7 (2.0); the tie keeps the lower index first.
  EXPECT_EQ(idx, (std::vector<int32_t>{3, 7, 0, 4}));
  // Only non-positive scores left: empty slots.
  std::vector<float> negative = {-1.0f, 0.0f, 2.0f};
  std::vector<int32_t> idx2(3);
  std::vector<float> val2(3);
  topk_rows(negative.data(), 1, 3, 3, 3, nullptr, idx2.data(), val2.data());
  EXPECT_EQ(idx2, (std::vector<int32_t>{2, -1, -1}));
  EXPECT_EQ(val2, (std::vector<float>{2.0f, 0.0f, 0.0f}));
}

TEST(TopkSaeEncode, EqualsDenseProductThenTopk) {
  const int64_t rows = 150, d = 24, n = 300, k = 7, aux_k = 5;  // 150 rows: several chunks
  auto x = random_floats(rows * d, 1), W = random_floats(n * d, 2),
       b = random_floats(n, 3, -0.1f, 0.1f);
  std::vector<uint8_t> dead(n, 0);
  for (int64_t l = 0; l < n; l += 7) dead[l] = 1;
  std::vector<float> pre(rows * n);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t l = 0; l < n; ++l) {
      double s = b[l];
      for (int64_t i = 0; i < d; ++i) s += static_cast<double>(x[r * d + i]) * W[l * d + i];
      pre[r * n + l] = static_cast<float>(s);
    }
  }
  std::vector<int32_t> idx(rows * k), ref_idx(rows * k), aux_idx(rows * aux_k),
      ref_aux_idx(rows * aux_k);
  std::vector<float> val(rows * k), ref_val(rows * k), aux_val(rows * aux_k),
      ref_aux_val(rows * aux_k);
  topk_sae_encode(x.data(), rows, d, W.data(), b.data(), n, k, idx.data(), val.data(), aux_k,
                  dead.data(), aux_idx.data(), aux_val.data());
  topk_rows_reference(pre.data(), rows, n, n, k, nullptr, ref_idx.data(), ref_val.data());
  topk_rows_reference(pre.data(), rows, n, n, aux_k, dead.data(), ref_aux_idx.data(),
                      ref_aux_val.data());
  EXPECT_EQ(idx, ref_idx);
  EXPECT_EQ(aux_idx, ref_aux_idx);
  for (size_t i = 0; i < val.size(); ++i) EXPECT_NEAR(val[i], ref_val[i], 1e-4);
  for (size_t i = 0; i < aux_val.size(); ++i) EXPECT_NEAR(aux_val[i], ref_aux_val[i], 1e-4);
}

TEST(TopkSaeDecode, ForwardAndBackwardEqualDenseFormulas) {
  const int64_t rows = 40, d = 19, n = 97, k = 5;
  auto W = random_floats(n * d, 4), g = random_floats(rows * d, 5);
  std::mt19937 rng(6);
  std::vector<int32_t> idx(rows * k);
  std::vector<float> val = random_floats(rows * k, 7, 0.1f, 2.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < k; ++j)
      idx[r * k + j] = static_cast<int32_t>((r * 13 + j * 17 + rng() % 3) % n);
  }
  idx[3] = -1;  // an empty slot contributes nothing
  // Dense z [rows, n].
  std::vector<double> z(rows * n, 0.0);
  for (int64_t s = 0; s < rows * k; ++s) {
    if (idx[s] >= 0) z[(s / k) * n + idx[s]] += val[s];
  }
  std::vector<float> out(rows * d);
  topk_sae_decode(idx.data(), val.data(), rows, k, W.data(), d, out.data());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < d; ++i) {
      double s = 0;
      for (int64_t l = 0; l < n; ++l) s += z[r * n + l] * W[l * d + i];
      EXPECT_NEAR(out[r * d + i], s, 1e-4);
    }
  }
  // dW = z^T g (dense [n, d]) and dz = g W^T at the active slots.
  std::vector<float> dW(n * d, 0.0f), dW_ref(n * d, 0.0f), sums(n, 0.0f);
  sparse_transpose_matmul(idx.data(), val.data(), rows, k, g.data(), d, n, dW.data(), sums.data());
  sparse_transpose_matmul_reference(idx.data(), val.data(), rows, k, g.data(), d, n, dW_ref.data());
  for (int64_t l = 0; l < n; ++l) {
    double col_sum = 0;
    for (int64_t r = 0; r < rows; ++r) col_sum += z[r * n + l];
    EXPECT_NEAR(sums[l], col_sum, 1e-4);
    for (int64_t i = 0; i < d; ++i) {
      double s = 0;
      for (int64_t r = 0; r < rows; ++r) s += z[r * n + l] * g[r * d + i];
      EXPECT_NEAR(dW[l * d + i], s, 1e-4);
      EXPECT_NEAR(dW_ref[l * d + i], s, 1e-4);
    }
  }
  std::vector<float> dz(rows * k);
  topk_sae_decode_grad_values(idx.data(), rows, k, W.data(), d, g.data(), dz.data());
  for (int64_t s = 0; s < rows * k; ++s) {
    if (idx[s] < 0) {
      EXPECT_EQ(dz[s], 0.0f);
      continue;
    }
    double dot = 0;
    for (int64_t i = 0; i < d; ++i)
      dot += static_cast<double>(g[(s / k) * d + i]) * W[idx[s] * d + i];
    EXPECT_NEAR(dz[s], dot, 1e-4);
  }
}

}  // namespace
}  // namespace tessera::kernels
