#pragma once
// Scaling sweeps (Gao et al. 2024, section 3): SAEs trained over a grid of latents n and
// sparsity k on the same activations, each scored by normalised MSE on held-out rows; the
// paper's joint form L(n, k) = exp(a + b_k log k + b_n log n + g log k log n)
// + exp(z + e log k) is fitted (Levenberg-Marquardt on log L), as is a power law in training
// compute L = c * C^p for each k (C = 6 * tokens * n * d multiply-adds, encoder + decoder,
// forward + backward, as for a dense SAE). Results go to JSON and an SVG plot.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/interp/activations.h"
#include "tessera/interp/sae_train.h"

namespace tessera::interp {

struct SweepPoint {
  int64_t latents = 0, k = 0;
  int64_t tokens = 0;
  double compute = 0;  // multiply-adds, 6 * tokens * n * d
  double nmse = 0;     // held-out normalised MSE (mean baseline)
  double l0 = 0, dead_fraction = 0;
  double seconds = 0;
};

struct ScalingLawFit {
  // L(n, k) = exp(alpha + beta_k ln k + beta_n ln n + gamma ln k ln n) + exp(zeta + eta ln k)
  double alpha = 0, beta_k = 0, beta_n = 0, gamma = 0, zeta = 0, eta = 0;
  double rms_log_error = 0;  // over the fitted points, in ln L
  double predict(double n, double k) const;
};

struct PowerLawFit {
  int64_t k = 0;
  double coefficient = 0, exponent = 0;  // L = coefficient * C^exponent
  double r2 = 0;                         // in log-log space
};

struct SweepResult {
  std::vector<SweepPoint> points;
  ScalingLawFit joint;
  std::vector<PowerLawFit> compute_laws;
  nlohmann::json to_json() const;
};

struct SweepOptions {
  std::vector<int64_t> latents;
  std::vector<int64_t> ks;
  double holdout = 0.1;   // fraction of rows kept for evaluation (the last rows)
  SaeTrainOptions train;  // latents and k are set per run
  bool progress = false;
};

SweepResult run_sweep(const ActivationSource& data, const SweepOptions& options);

// Fits on any set of points (exposed for tests). Needs at least 6 points with 2+ distinct n
// and k for the joint form; with fewer the joint fit keeps only the first term.
ScalingLawFit fit_scaling_law(const std::vector<SweepPoint>& points);
std::vector<PowerLawFit> fit_compute_laws(const std::vector<SweepPoint>& points);

// Log-log plot of held-out NMSE against latents, one series per k, with the fitted L(n, k).
std::string sweep_svg(const SweepResult& result);

}  // namespace tessera::interp
