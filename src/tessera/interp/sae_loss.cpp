#include "tessera/interp/sae_loss.h"

#include <algorithm>
#include <numeric>

#include "tessera/core/error.h"
#include "tessera/kernels/cpu/topk_sae.h"

namespace tessera::interp {

void SaeGradients::reset(int64_t n, int64_t d) {
  W_enc.assign(static_cast<size_t>(n * d), 0.0f);
  W_dec.assign(static_cast<size_t>(n * d), 0.0f);
  b_enc.assign(static_cast<size_t>(n), 0.0f);
  b_pre.assign(static_cast<size_t>(d), 0.0f);
}

void batch_topk_select(SparseCodes& codes, int64_t k_per_row) {
  const int64_t keep = codes.rows * k_per_row;
  std::vector<int64_t> slots;
  for (int64_t s = 0; s < codes.rows * codes.k; ++s) {
    if (codes.indices[s] >= 0) slots.push_back(s);
  }
  if (static_cast<int64_t>(slots.size()) <= keep) return;
  std::nth_element(slots.begin(), slots.begin() + keep, slots.end(), [&](int64_t a, int64_t b) {
    return codes.values[a] != codes.values[b] ? codes.values[a] > codes.values[b] : a < b;
  });
  for (auto it = slots.begin() + keep; it != slots.end(); ++it) {
    codes.indices[*it] = -1;
    codes.values[*it] = 0.0f;
  }
}

namespace {

// Keeps the first k slots of every row (the codes are sorted, largest first).
SparseCodes prefix_codes(const SparseCodes& codes, int64_t k) {
  SparseCodes out;
  out.resize(codes.rows, k);
  for (int64_t r = 0; r < codes.rows; ++r) {
    std::copy_n(codes.indices.begin() + r * codes.k, k, out.indices.begin() + r * k);
    std::copy_n(codes.values.begin() + r * codes.k, k, out.values.begin() + r * k);
  }
  return out;
}

// residual = x_hat - target, returns the squared norm.
double difference(const std::vector<float>& x_hat, const float* target,
                  std::vector<float>& residual) {
  residual.resize(x_hat.size());
  double sq = 0;
  for (size_t i = 0; i < x_hat.size(); ++i) {
    residual[i] = x_hat[i] - target[i];
    sq += static_cast<double>(residual[i]) * residual[i];
  }
  return sq;
}

void scale_in_place(std::vector<float>& v, double factor) {
  const float f = static_cast<float>(factor);
  for (float& x : v) x *= f;
}

// Accumulates, for one code set with output gradient g [rows, d], the decoder weight
// gradient and the gradient of the code values (= of the pre-activations, ReLU being active
// at every non-empty slot). Returns the value gradients.
std::vector<float> backward_through_decoder(const TopKSae& sae, const SparseCodes& codes,
                                            const std::vector<float>& g, SaeGradients& grads) {
  std::vector<float> grad_values(codes.indices.size());
  kernels::topk_sae_decode_grad_values(codes.indices.data(), codes.rows, codes.k, sae.W_dec.data(),
                                       sae.d(), g.data(), grad_values.data());
  kernels::sparse_transpose_matmul(codes.indices.data(), codes.values.data(), codes.rows, codes.k,
                                   g.data(), sae.d(), sae.n(), grads.W_dec.data());
  return grad_values;
}

}  // namespace

SaeLossStats sae_loss_and_gradients(const TopKSae& sae, const float* x_norm, int64_t rows,
                                    const SaeLossOptions& options, const std::vector<uint8_t>* dead,
                                    SaeGradients& grads, SparseCodes* codes_out) {
  const int64_t d = sae.d(), n = sae.n(), k = sae.k();
  TESSERA_CHECK(rows > 0, "SAE loss on an empty batch");
  TESSERA_CHECK(static_cast<int64_t>(grads.W_enc.size()) == n * d, "SAE gradients are not sized");
  std::vector<float> centered(static_cast<size_t>(rows * d));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < d; ++i) centered[r * d + i] = x_norm[r * d + i] - sae.b_pre[i];
  }

  // Encode once with the widest selection any term needs; the top-k codes are its prefix.
  const bool wide = options.multi_topk || options.batch_topk;
  const int64_t k_wide = wide ? std::min(4 * k, n) : k;
  int64_t num_dead = 0;
  if (dead) num_dead = std::count(dead->begin(), dead->end(), uint8_t{1});
  const int64_t aux_k = options.aux_k > 0 ? std::min(options.aux_k, num_dead) : 0;
  SparseCodes wide_codes, aux_codes;
  wide_codes.resize(rows, k_wide);
  aux_codes.resize(rows, aux_k);
  kernels::topk_sae_encode(centered.data(), rows, d, sae.W_enc.data(), sae.b_enc.data(), n, k_wide,
                           wide_codes.indices.data(), wide_codes.values.data(), aux_k,
                           aux_k > 0 ? dead->data() : nullptr, aux_codes.indices.data(),
                           aux_codes.values.data());
  SparseCodes codes;
  if (options.batch_topk) {
    codes = wide_codes;
    batch_topk_select(codes, k);
  } else {
    codes = wide ? prefix_codes(wide_codes, k) : wide_codes;
  }

  // V: the batch's total variance around its mean (the normalised-MSE baseline).
  std::vector<double> mean(static_cast<size_t>(d), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < d; ++i) mean[i] += x_norm[r * d + i];
  }
  for (auto& m : mean) m /= static_cast<double>(rows);
  double variance = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < d; ++i)
      variance += (x_norm[r * d + i] - mean[i]) * (x_norm[r * d + i] - mean[i]);
  }
  variance = std::max(variance, 1e-30);

  SaeLossStats stats;
  std::vector<float> x_hat(static_cast<size_t>(rows * d)), g_main;
  sae.decode_normalized(codes, x_hat.data());
  stats.fvu = difference(x_hat, x_norm, g_main) / variance;
  stats.loss = stats.fvu;
  // The AuxK target is the main residual e = x - x_hat, taken before g_main is rescaled.
  std::vector<float> g_aux;
  if (aux_k > 0) {
    std::vector<float> e_hat(static_cast<size_t>(rows * d), 0.0f);
    kernels::topk_sae_decode(aux_codes.indices.data(), aux_codes.values.data(), rows, aux_k,
                             sae.W_dec.data(), d, e_hat.data());
    g_aux.resize(e_hat.size());
    double sq = 0;
    for (size_t i = 0; i < e_hat.size(); ++i) {
      g_aux[i] = e_hat[i] + g_main[i];  // e_hat - e, with e = -(x_hat - x)
      sq += static_cast<double>(g_aux[i]) * g_aux[i];
    }
    const double scale =
        std::min(static_cast<double>(num_dead) / static_cast<double>(options.aux_k), 1.0);
    stats.aux_fvu = sq / variance;
    stats.loss += options.aux_coef * scale * stats.aux_fvu;
    scale_in_place(g_aux, 2.0 * options.aux_coef * scale / variance);
  }
  scale_in_place(g_main, 2.0 / variance);

  // Direct b_pre gradient of every term whose reconstruction includes b_pre.
  auto add_to_b_pre = [&](const std::vector<float>& g) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < d; ++i) grads.b_pre[i] += g[r * d + i];
    }
  };
  add_to_b_pre(g_main);
  std::vector<float> grad_values = backward_through_decoder(sae, codes, g_main, grads);
  const SparseCodes* encoder_codes = &codes;
  if (options.multi_topk) {
    std::vector<float> x_hat_wide(static_cast<size_t>(rows * d)), g_wide;
    sae.decode_normalized(wide_codes, x_hat_wide.data());
    stats.multi_fvu = difference(x_hat_wide, x_norm, g_wide) / variance;
    stats.loss += stats.multi_fvu / 8.0;
    scale_in_place(g_wide, 2.0 / (8.0 * variance));
    add_to_b_pre(g_wide);
    std::vector<float> grad_wide = backward_through_decoder(sae, wide_codes, g_wide, grads);
    // The top-k slots are the first k of each wide row: merge their gradients there.
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < k; ++j) grad_wide[r * k_wide + j] += grad_values[r * k + j];
    }
    grad_values.swap(grad_wide);
    encoder_codes = &wide_codes;
  }

  // Encoder: dW_enc[l] += dpre * (x - b_pre), db_enc[l] += dpre, db_pre -= sum_l dpre_l W_enc[l].
  std::vector<float> grad_sum(static_cast<size_t>(n), 0.0f);
  kernels::sparse_transpose_matmul(encoder_codes->indices.data(), grad_values.data(), rows,
                                   encoder_codes->k, centered.data(), d, n, grads.W_enc.data(),
                                   grad_sum.data());
  if (aux_k > 0) {
    std::vector<float> grad_aux_values = backward_through_decoder(sae, aux_codes, g_aux, grads);
    kernels::sparse_transpose_matmul(aux_codes.indices.data(), grad_aux_values.data(), rows, aux_k,
                                     centered.data(), d, n, grads.W_enc.data(), grad_sum.data());
  }
  for (int64_t l = 0; l < n; ++l) {
    if (grad_sum[l] == 0.0f) continue;
    grads.b_enc[l] += grad_sum[l];
    const float* w = sae.W_enc.data() + l * d;
    for (int64_t i = 0; i < d; ++i) grads.b_pre[i] -= grad_sum[l] * w[i];
  }

  int64_t active = 0;
  for (int64_t r = 0; r < rows; ++r) active += codes.active(r);
  stats.l0 = static_cast<double>(active) / static_cast<double>(rows);
  if (codes_out) *codes_out = std::move(codes);
  return stats;
}

}  // namespace tessera::interp
