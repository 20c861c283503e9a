#include "tessera/interp/sae.h"

#include <cmath>

#include "tessera/core/error.h"
#include "tessera/core/parallel.h"
#include "tessera/core/rng.h"
#include "tessera/kernels/cpu/topk_sae.h"

namespace tessera::interp {

namespace {
// The layer_norm normalisation's epsilon (SAELens uses the same).
constexpr float kLayerNormEps = 1e-5f;
}  // namespace

SaeNormalization parse_normalization(const std::string& name) {
  if (name == "none") return SaeNormalization::none;
  if (name == "layer_norm") return SaeNormalization::layer_norm;
  if (name == "scale" || name == "expected_average_only_in") return SaeNormalization::scale;
  throw bad_input("unknown normalisation '{}' (expected none, layer_norm or scale)", name);
}

std::string normalization_name(SaeNormalization normalization) {
  switch (normalization) {
    case SaeNormalization::none:
      return "none";
    case SaeNormalization::layer_norm:
      return "layer_norm";
    case SaeNormalization::scale:
      return "scale";
  }
  return "none";
}

void SaeConfig::validate() const {
  TESSERA_CHECK_INPUT(d_in > 0, "SAE d_in must be positive, got {}", d_in);
  TESSERA_CHECK_INPUT(n_latents > 0, "SAE latents must be positive, got {}", n_latents);
  TESSERA_CHECK_INPUT(n_latents < (int64_t{1} << 31), "SAE latents {} exceed the int32 index range",
                      n_latents);
  TESSERA_CHECK_INPUT(k > 0 && k <= n_latents, "SAE k must be in [1, latents = {}], got {}",
                      n_latents, k);
  TESSERA_CHECK_INPUT(std::isfinite(input_scale) && input_scale > 0,
                      "SAE input scale must be positive, got {}", input_scale);
}

void SparseCodes::resize(int64_t new_rows, int64_t new_k) {
  rows = new_rows;
  k = new_k;
  indices.assign(static_cast<size_t>(rows * k), -1);
  values.assign(static_cast<size_t>(rows * k), 0.0f);
}

int64_t SparseCodes::active(int64_t row) const {
  int64_t count = 0;
  for (int64_t j = 0; j < k; ++j) count += indices[row * k + j] >= 0 && values[row * k + j] != 0.0f;
  return count;
}

TopKSae TopKSae::initialize(const SaeConfig& config, uint64_t seed) {
  config.validate();
  TopKSae sae;
  sae.config_ = config;
  const int64_t n = config.n_latents, d = config.d_in;
  sae.W_enc.resize(static_cast<size_t>(n * d));
  Generator gen(seed);
  const float bound = 1.0f / std::sqrt(static_cast<float>(d));
  gen.fill_uniform(sae.W_enc.data(), n * d, -bound, bound);
  sae.W_dec = sae.W_enc;
  sae.b_enc.assign(static_cast<size_t>(n), 0.0f);
  sae.b_pre.assign(static_cast<size_t>(d), 0.0f);
  sae.normalize_decoder_rows();
  return sae;
}

TopKSae TopKSae::from_parameters(const SaeConfig& config, std::vector<float> W_enc,
                                 std::vector<float> b_enc, std::vector<float> W_dec,
                                 std::vector<float> b_pre) {
  config.validate();
  const size_t n = static_cast<size_t>(config.n_latents), d = static_cast<size_t>(config.d_in);
  TESSERA_CHECK_INPUT(
      W_enc.size() == n * d && W_dec.size() == n * d && b_enc.size() == n && b_pre.size() == d,
      "SAE parameters do not match d_in = {}, latents = {}", d, n);
  TopKSae sae;
  sae.config_ = config;
  sae.W_enc = std::move(W_enc);
  sae.b_enc = std::move(b_enc);
  sae.W_dec = std::move(W_dec);
  sae.b_pre = std::move(b_pre);
  return sae;
}

void TopKSae::normalize(const float* x, int64_t rows, float* out, RowNormalization* stats) const {
  const int64_t d = this->d();
  switch (config_.normalization) {
    case SaeNormalization::none:
      std::copy(x, x + rows * d, out);
      return;
    case SaeNormalization::scale: {
      const float s = static_cast<float>(config_.input_scale);
      for (int64_t i = 0; i < rows * d; ++i) out[i] = x[i] * s;
      return;
    }
    case SaeNormalization::layer_norm: {
      TESSERA_CHECK(stats != nullptr, "layer_norm normalisation needs per-row statistics");
      stats->mean.resize(static_cast<size_t>(rows));
      stats->std.resize(static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * d;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < d; ++i) mean += xr[i];
        mean /= static_cast<double>(d);
        for (int64_t i = 0; i < d; ++i) var += (xr[i] - mean) * (xr[i] - mean);
        const float sd =
            static_cast<float>(std::sqrt(var / static_cast<double>(d))) + kLayerNormEps;
        stats->mean[r] = static_cast<float>(mean);
        stats->std[r] = sd;
        for (int64_t i = 0; i < d; ++i) out[r * d + i] = (xr[i] - static_cast<float>(mean)) / sd;
      }
      return;
    }
  }
}

void TopKSae::denormalize(float* x_hat, int64_t rows, const RowNormalization* stats) const {
  const int64_t d = this->d();
  switch (config_.normalization) {
    case SaeNormalization::none:
      return;
    case SaeNormalization::scale: {
      const float inv = static_cast<float>(1.0 / config_.input_scale);
      for (int64_t i = 0; i < rows * d; ++i) x_hat[i] *= inv;
      return;
    }
    case SaeNormalization::layer_norm:
      TESSERA_CHECK(stats != nullptr, "layer_norm normalisation needs per-row statistics");
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t i = 0; i < d; ++i)
          x_hat[r * d + i] = x_hat[r * d + i] * stats->std[r] + stats->mean[r];
      }
      return;
  }
}

SparseCodes TopKSae::encode_normalized(const float* x_norm, int64_t rows, int64_t k) const {
  if (k <= 0) k = config_.k;
  const int64_t d = this->d();
  std::vector<float> centered(static_cast<size_t>(rows * d));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < d; ++i) centered[r * d + i] = x_norm[r * d + i] - b_pre[i];
  }
  SparseCodes codes;
  codes.resize(rows, k);
  kernels::topk_sae_encode(centered.data(), rows, d, W_enc.data(), b_enc.data(), n(), k,
                           codes.indices.data(), codes.values.data());
  return codes;
}

void TopKSae::decode_normalized(const SparseCodes& codes, float* x_hat) const {
  const int64_t d = this->d();
  for (int64_t r = 0; r < codes.rows; ++r) std::copy(b_pre.begin(), b_pre.end(), x_hat + r * d);
  kernels::topk_sae_decode(codes.indices.data(), codes.values.data(), codes.rows, codes.k,
                           W_dec.data(), d, x_hat, /*accumulate=*/true);
}

void TopKSae::reconstruct(const float* x, int64_t rows, float* x_hat,
                          SparseCodes* codes_out) const {
  std::vector<float> x_norm(static_cast<size_t>(rows * d()));
  RowNormalization stats;
  normalize(x, rows, x_norm.data(), &stats);
  SparseCodes codes = encode_normalized(x_norm.data(), rows);
  decode_normalized(codes, x_hat);
  denormalize(x_hat, rows, &stats);
  if (codes_out) *codes_out = std::move(codes);
}

void TopKSae::normalize_decoder_rows() {
  const int64_t d = this->d();
  parallel_for(0, n(), 256, [&](int64_t lo, int64_t hi) {
    for (int64_t l = lo; l < hi; ++l) {
      float* w = W_dec.data() + l * d;
      double sq = 0;
      for (int64_t i = 0; i < d; ++i) sq += static_cast<double>(w[i]) * w[i];
      // A zero row has no direction to keep; leave it for the next gradient to define.
      if (sq <= 0) continue;
      const float inv = static_cast<float>(1.0 / std::sqrt(sq));
      for (int64_t i = 0; i < d; ++i) w[i] *= inv;
    }
  });
}

void TopKSae::project_decoder_gradient(std::vector<float>& grad_W_dec) const {
  const int64_t d = this->d();
  parallel_for(0, n(), 256, [&](int64_t lo, int64_t hi) {
    for (int64_t l = lo; l < hi; ++l) {
      const float* w = W_dec.data() + l * d;
      float* g = grad_W_dec.data() + l * d;
      float dot = 0.0f;
      for (int64_t i = 0; i < d; ++i) dot += w[i] * g[i];
      if (dot == 0.0f) continue;
      for (int64_t i = 0; i < d; ++i) g[i] -= dot * w[i];
    }
  });
}

std::vector<float> geometric_median(const float* points, int64_t rows, int64_t d,
                                    int max_iterations, double tolerance) {
  TESSERA_CHECK_INPUT(rows > 0 && d > 0, "geometric median of an empty sample");
  // Start from the mean, then Weiszfeld: a distance-weighted mean, weights 1/||x_i - m||.
  std::vector<double> median(static_cast<size_t>(d), 0.0), next(static_cast<size_t>(d));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < d; ++i) median[i] += points[r * d + i];
  }
  for (auto& m : median) m /= static_cast<double>(rows);
  for (int iteration = 0; iteration < max_iterations; ++iteration) {
    std::fill(next.begin(), next.end(), 0.0);
    double weight_sum = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double sq = 0;
      for (int64_t i = 0; i < d; ++i) {
        const double diff = points[r * d + i] - median[i];
        sq += diff * diff;
      }
      const double w = 1.0 / std::max(std::sqrt(sq), 1e-12);
      weight_sum += w;
      for (int64_t i = 0; i < d; ++i) next[i] += w * points[r * d + i];
    }
    double moved = 0, scale = 0;
    for (int64_t i = 0; i < d; ++i) {
      next[i] /= weight_sum;
      moved += (next[i] - median[i]) * (next[i] - median[i]);
      scale += next[i] * next[i];
    }
    median.swap(next);
    if (std::sqrt(moved) <= tolerance * std::max(1.0, std::sqrt(scale))) break;
  }
  return std::vector<float>(median.begin(), median.end());
}

}  // namespace tessera::interp
