// Finite-difference checks of the fused sparse backward (sae_loss.h) against the dense
// formula of the loss, evaluated in f64 with the selected latents held fixed (TopK is
// piecewise: inside a piece the selection does not move and the loss is smooth).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tessera/interp/sae.h"
#include "tessera/interp/sae_loss.h"

namespace tessera::interp {
namespace {

struct DenseParams {
  std::vector<double> W_enc, b_enc, W_dec, b_pre;
  explicit DenseParams(const TopKSae& s)
      : W_enc(s.W_enc.begin(), s.W_enc.end()),
        b_enc(s.b_enc.begin(), s.b_enc.end()),
        W_dec(s.W_dec.begin(), s.W_dec.end()),
        b_pre(s.b_pre.begin(), s.b_pre.end()) {}
};

// Supports (latent lists per row) of each term, taken from the kernels at the base point.
struct Supports {
  std::vector<std::vector<int32_t>> main, wide, aux;
};

std::vector<std::vector<int32_t>> rows_of(const SparseCodes& codes) {
  std::vector<std::vector<int32_t>> out(codes.rows);
  for (int64_t r = 0; r < codes.rows; ++r) {
    for (int64_t j = 0; j < codes.k; ++j) {
      if (codes.indices[r * codes.k + j] >= 0) out[r].push_back(codes.indices[r * codes.k + j]);
    }
  }
  return out;
}

// The dense formula: pre = W_enc (x - b_pre) + b_enc, z = ReLU(pre) on the support,
// x_hat = W_dec^T z (+ b_pre).
std::vector<double> reconstruct(const DenseParams& p, const std::vector<float>& x, int64_t rows,
                                int64_t d, const std::vector<std::vector<int32_t>>& support,
                                bool with_bias) {
  std::vector<double> out(rows * d, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int32_t l : support[r]) {
      double pre = p.b_enc[l];
      for (int64_t i = 0; i < d; ++i) pre += p.W_enc[l * d + i] * (x[r * d + i] - p.b_pre[i]);
      const double z = std::max(pre, 0.0);
      for (int64_t i = 0; i < d; ++i) out[r * d + i] += z * p.W_dec[l * d + i];
    }
    if (with_bias) {
      for (int64_t i = 0; i < d; ++i) out[r * d + i] += p.b_pre[i];
    }
  }
  return out;
}

double dense_loss(const DenseParams& p, const std::vector<float>& x, int64_t rows, int64_t d,
                  const Supports& s, const SaeLossOptions& o,
                  const std::vector<double>& frozen_residual, double aux_scale) {
  std::vector<double> mean(d, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < d; ++i) mean[i] += x[r * d + i] / static_cast<double>(rows);
  }
  double V = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < d; ++i) V += (x[r * d + i] - mean[i]) * (x[r * d + i] - mean[i]);
  }
  auto sq_err = [&](const std::vector<double>& a, const std::vector<double>& target_minus) {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i)
      sum += (a[i] - target_minus[i]) * (a[i] - target_minus[i]);
    return sum;
  };
  std::vector<double> xd(x.begin(), x.end());
  double loss = sq_err(reconstruct(p, x, rows, d, s.main, true), xd) / V;
  if (o.multi_topk) loss += sq_err(reconstruct(p, x, rows, d, s.wide, true), xd) / (8 * V);
  if (o.aux_k > 0)
    loss += o.aux_coef * aux_scale *
            sq_err(reconstruct(p, x, rows, d, s.aux, false), frozen_residual) / V;
  return loss;
}

void check_gradients(const SaeLossOptions& options, uint64_t seed) {
  const int64_t d = 6, n = 20, k = 3, rows = 9;
  SaeConfig config{.d_in = d, .n_latents = n, .k = k};
  TopKSae sae = TopKSae::initialize(config, seed);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& v : sae.b_enc) v = 0.1f * normal(rng);
  for (auto& v : sae.b_pre) v = 0.2f * normal(rng);
  std::vector<float> x(rows * d);
  for (auto& v : x) v = normal(rng);
  std::vector<uint8_t> dead(n, 0);
  for (int64_t l = 0; l < n; l += 3) dead[l] = 1;

  SaeGradients grads;
  grads.reset(n, d);
  SparseCodes codes;
  sae_loss_and_gradients(sae, x.data(), rows, options, &dead, grads, &codes);

  // Supports from the same kernels the loss used.
  Supports s;
  s.main = rows_of(codes);
  SparseCodes wide = sae.encode_normalized(x.data(), rows, 4 * k);
  s.wide = rows_of(wide);
  const int64_t num_dead = 7;  // latents 0, 3, ..., 18
  const int64_t aux_k = std::min(options.aux_k, num_dead);
  if (aux_k > 0) {
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<std::pair<double, int32_t>> cand;
      for (int32_t l = 0; l < n; ++l) {
        if (!dead[l]) continue;
        double pre = sae.b_enc[l];
        for (int64_t i = 0; i < d; ++i)
          pre += static_cast<double>(sae.W_enc[l * d + i]) * (x[r * d + i] - sae.b_pre[i]);
        if (pre > 0) cand.push_back({-pre, l});
      }
      std::sort(cand.begin(), cand.end());
      s.aux.emplace_back();
      for (int64_t j = 0; j < std::min<int64_t>(aux_k, cand.size()); ++j)
        s.aux.back().push_back(cand[j].second);
    }
  }
  DenseParams base(sae);
  std::vector<double> residual = reconstruct(base, x, rows, d, s.main, true);
  for (int64_t i = 0; i < rows * d; ++i) residual[i] = x[i] - residual[i];
  const double aux_scale =
      options.aux_k > 0 ? std::min(static_cast<double>(num_dead) / options.aux_k, 1.0) : 0;

  const double h = 1e-6;
  auto check = [&](std::vector<double> DenseParams::*field, const std::vector<float>& analytic,
                   const char* name) {
    for (size_t i = 0; i < analytic.size(); ++i) {
      DenseParams plus = base, minus = base;
      (plus.*field)[i] += h;
      (minus.*field)[i] -= h;
      const double fd = (dense_loss(plus, x, rows, d, s, options, residual, aux_scale) -
                         dense_loss(minus, x, rows, d, s, options, residual, aux_scale)) /
                        (2 * h);
      EXPECT_NEAR(analytic[i], fd, 2e-4 + 2e-3 * std::abs(fd)) << name << "[" << i << "]";
    }
  };
  check(&DenseParams::W_enc, grads.W_enc, "W_enc");
  check(&DenseParams::b_enc, grads.b_enc, "b_enc");
  check(&DenseParams::W_dec, grads.W_dec, "W_dec");
  check(&DenseParams::b_pre, grads.b_pre, "b_pre");
}

TEST(SaeGradient, TopKMatchesFiniteDifferences) {
  check_gradients({}, 11);
}
TEST(SaeGradient, MultiTopKMatchesFiniteDifferences) {
  check_gradients({.multi_topk = true}, 12);
}
TEST(SaeGradient, AuxKMatchesFiniteDifferences) {
  check_gradients({.aux_k = 4}, 13);
}
TEST(SaeGradient, AuxKWithFewDeadIsScaledDown) {
  check_gradients({.aux_k = 14}, 14);
}

TEST(SaeGradient, InactiveLatentsGetNoGradient) {
  SaeConfig config{.d_in = 8, .n_latents = 64, .k = 2};
  TopKSae sae = TopKSae::initialize(config, 3);
  std::vector<float> x(4 * 8);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (auto& v : x) v = normal(rng);
  SaeGradients grads;
  grads.reset(64, 8);
  SparseCodes codes;
  sae_loss_and_gradients(sae, x.data(), 4, {}, nullptr, grads, &codes);
  std::vector<uint8_t> used(64, 0);
  for (int32_t l : codes.indices) {
    if (l >= 0) used[l] = 1;
  }
  int64_t touched = 0;
  for (int64_t l = 0; l < 64; ++l) {
    bool nonzero = false;
    for (int64_t i = 0; i < 8; ++i)
      nonzero |= grads.W_enc[l * 8 + i] != 0.0f || grads.W_dec[l * 8 + i] != 0.0f;
    EXPECT_EQ(nonzero, used[l] == 1) << "latent " << l;
    touched += nonzero;
  }
  EXPECT_LE(touched, 8);
}

TEST(BatchTopK, KeepsTheBatchBestAndVariesPerRow) {
  SparseCodes codes;
  codes.resize(2, 3);
  codes.indices = {0, 1, 2, 3, 4, 5};
  codes.values = {5.0f, 4.0f, 3.0f, 0.5f, 0.4f, 0.3f};
  batch_topk_select(codes, 2);  // keep 4 of 6
  EXPECT_EQ(codes.indices, (std::vector<int32_t>{0, 1, 2, 3, -1, -1}));
  EXPECT_EQ(codes.active(0), 3);
  EXPECT_EQ(codes.active(1), 1);
}

}  // namespace
}  // namespace tessera::interp
