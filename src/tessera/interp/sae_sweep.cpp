#include "tessera/interp/sae_sweep.h"

#include <chrono>
#include <cmath>
#include <set>

#include "tessera/core/error.h"
#include "tessera/interp/sae_eval.h"

namespace tessera::interp {

namespace {

// Rows [first, first + count) of another source.
class RowRange : public ActivationSource {
 public:
  RowRange(const ActivationSource& base, int64_t first, int64_t count)
      : base_(base), first_(first), count_(count) {
    metadata_ = base.metadata();
  }
  int64_t rows() const override { return count_; }
  int64_t d() const override { return base_.d(); }
  void gather(const int64_t* row_ids, int64_t count, float* out) const override {
    std::vector<int64_t> shifted(row_ids, row_ids + count);
    for (auto& r : shifted) r += first_;
    base_.gather(shifted.data(), count, out);
  }

 private:
  const ActivationSource& base_;
  int64_t first_, count_;
};

// Solves the m x m system A x = b in place (Gaussian elimination with partial pivoting).
// Returns false when A is singular.
bool solve(std::vector<double> A, std::vector<double> b, int m, std::vector<double>& x) {
  for (int c = 0; c < m; ++c) {
    int pivot = c;
    for (int r = c + 1; r < m; ++r) {
      if (std::abs(A[r * m + c]) > std::abs(A[pivot * m + c])) pivot = r;
    }
    if (std::abs(A[pivot * m + c]) < 1e-300) return false;
    for (int j = 0; j < m; ++j) std::swap(A[c * m + j], A[pivot * m + j]);
    std::swap(b[c], b[pivot]);
    for (int r = c + 1; r < m; ++r) {
      const double f = A[r * m + c] / A[c * m + c];
      for (int j = c; j < m; ++j) A[r * m + j] -= f * A[c * m + j];
      b[r] -= f * b[c];
    }
  }
  x.assign(m, 0.0);
  for (int r = m - 1; r >= 0; --r) {
    double s = b[r];
    for (int j = r + 1; j < m; ++j) s -= A[r * m + j] * x[j];
    x[r] = s / A[r * m + r];
  }
  return true;
}

// Linear least squares: rows of features -> coefficients (with a tiny ridge for rank loss).
std::vector<double> least_squares(const std::vector<std::vector<double>>& features,
                                  const std::vector<double>& y) {
  const int m = static_cast<int>(features[0].size());
  std::vector<double> A(m * m, 0.0), b(m, 0.0), x;
  for (size_t i = 0; i < y.size(); ++i) {
    for (int r = 0; r < m; ++r) {
      b[r] += features[i][r] * y[i];
      for (int c = 0; c < m; ++c) A[r * m + c] += features[i][r] * features[i][c];
    }
  }
  for (int r = 0; r < m; ++r) A[r * m + r] += 1e-9;
  if (!solve(A, b, m, x)) x.assign(m, 0.0);
  return x;
}

double joint_log_error(const ScalingLawFit& f, const std::vector<SweepPoint>& pts) {
  double sq = 0;
  for (const auto& p : pts) {
    const double e = std::log(f.predict(static_cast<double>(p.latents), static_cast<double>(p.k))) -
                     std::log(p.nmse);
    sq += e * e;
  }
  return std::sqrt(sq / static_cast<double>(pts.size()));
}

}  // namespace

double ScalingLawFit::predict(double n, double k) const {
  const double ln_n = std::log(n), ln_k = std::log(k);
  return std::exp(alpha + beta_k * ln_k + beta_n * ln_n + gamma * ln_k * ln_n) +
         std::exp(zeta + eta * ln_k);
}

ScalingLawFit fit_scaling_law(const std::vector<SweepPoint>& points) {
  std::vector<SweepPoint> pts;
  for (const auto& p : points) {
    if (p.nmse > 0 && std::isfinite(p.nmse)) pts.push_back(p);
  }
  TESSERA_CHECK_INPUT(!pts.empty(), "scaling-law fit: no points with a positive loss");
  std::set<int64_t> ns, ks;
  for (const auto& p : pts) {
    ns.insert(p.latents);
    ks.insert(p.k);
  }
  // Start: the first term alone, linear in log space, over the variables that vary.
  const bool vary_n = ns.size() > 1, vary_k = ks.size() > 1,
             joint = vary_n && vary_k && pts.size() >= 6;
  std::vector<std::vector<double>> features;
  std::vector<double> y;
  for (const auto& p : pts) {
    const double ln_n = std::log(static_cast<double>(p.latents)),
                 ln_k = std::log(static_cast<double>(p.k));
    std::vector<double> f = {1.0};
    if (vary_k) f.push_back(ln_k);
    if (vary_n) f.push_back(ln_n);
    if (vary_n && vary_k && pts.size() >= 4) f.push_back(ln_k * ln_n);
    features.push_back(f);
    y.push_back(std::log(p.nmse));
  }
  const std::vector<double> c = least_squares(features, y);
  ScalingLawFit fit;
  size_t at = 0;
  fit.alpha = c[at++];
  if (vary_k) fit.beta_k = c[at++];
  if (vary_n) fit.beta_n = c[at++];
  if (at < c.size()) fit.gamma = c[at++];
  fit.zeta = -50.0;  // the irreducible term starts (and without a joint fit stays) negligible
  if (joint) {
    double min_l = pts[0].nmse;
    for (const auto& p : pts) min_l = std::min(min_l, p.nmse);
    // Levenberg-Marquardt on the residuals in ln L over all six parameters.
    std::vector<double> theta = {
        fit.alpha, fit.beta_k, fit.beta_n, fit.gamma, std::log(0.3 * min_l), 0.0};
    auto unpack = [](const std::vector<double>& t) {
      ScalingLawFit f;
      f.alpha = t[0], f.beta_k = t[1], f.beta_n = t[2], f.gamma = t[3], f.zeta = t[4], f.eta = t[5];
      return f;
    };
    auto residuals = [&](const std::vector<double>& t) {
      const ScalingLawFit f = unpack(t);
      std::vector<double> r;
      for (const auto& p : pts) {
        r.push_back(std::log(f.predict(static_cast<double>(p.latents), static_cast<double>(p.k))) -
                    std::log(p.nmse));
      }
      return r;
    };
    auto cost = [](const std::vector<double>& r) {
      double s = 0;
      for (double v : r) s += v * v;
      return s;
    };
    double lambda = 1e-2;
    std::vector<double> r = residuals(theta);
    double current = cost(r);
    const bool first_term_good = joint_log_error(fit, pts) < 1e-9;
    for (int iteration = 0; iteration < 200 && !first_term_good; ++iteration) {
      const int m = 6, N = static_cast<int>(pts.size());
      std::vector<double> J(N * m);
      for (int j = 0; j < m; ++j) {
        std::vector<double> t = theta;
        const double h = 1e-6 * std::max(1.0, std::abs(t[j]));
        t[j] += h;
        const std::vector<double> r2 = residuals(t);
        for (int i = 0; i < N; ++i) J[i * m + j] = (r2[i] - r[i]) / h;
      }
      std::vector<double> A(m * m, 0.0), g(m, 0.0), step;
      for (int i = 0; i < N; ++i) {
        for (int a = 0; a < m; ++a) {
          g[a] -= J[i * m + a] * r[i];
          for (int b = 0; b < m; ++b) A[a * m + b] += J[i * m + a] * J[i * m + b];
        }
      }
      for (int a = 0; a < m; ++a) A[a * m + a] += lambda * (A[a * m + a] + 1e-12);
      if (!solve(A, g, m, step)) break;
      std::vector<double> candidate = theta;
      for (int a = 0; a < m; ++a) candidate[a] += step[a];
      const std::vector<double> rc = residuals(candidate);
      const double next = cost(rc);
      if (std::isfinite(next) && next < current) {
        const bool converged = current - next < 1e-12 * std::max(1.0, current);
        theta = candidate;
        r = rc;
        current = next;
        lambda = std::max(lambda / 3, 1e-12);
        if (converged) break;
      } else {
        lambda *= 4;
        if (lambda > 1e12) break;
      }
    }
    const ScalingLawFit refined = unpack(theta);
    if (joint_log_error(refined, pts) <= joint_log_error(fit, pts)) fit = refined;
  }
  fit.rms_log_error = joint_log_error(fit, pts);
  return fit;
}

std::vector<PowerLawFit> fit_compute_laws(const std::vector<SweepPoint>& points) {
  std::set<int64_t> ks;
  for (const auto& p : points) ks.insert(p.k);
  std::vector<PowerLawFit> out;
  for (int64_t k : ks) {
    std::vector<std::vector<double>> features;
    std::vector<double> y;
    for (const auto& p : points) {
      if (p.k != k || p.nmse <= 0 || p.compute <= 0) continue;
      features.push_back({1.0, std::log(p.compute)});
      y.push_back(std::log(p.nmse));
    }
    if (y.size() < 2) continue;
    const std::vector<double> c = least_squares(features, y);
    double mean = 0, ss_tot = 0, ss_res = 0;
    for (double v : y) mean += v / static_cast<double>(y.size());
    for (size_t i = 0; i < y.size(); ++i) {
      const double pred = c[0] + c[1] * features[i][1];
      ss_tot += (y[i] - mean) * (y[i] - mean);
      ss_res += (y[i] - pred) * (y[i] - pred);
    }
    out.push_back({.k = k,
                   .coefficient = std::exp(c[0]),
                   .exponent = c[1],
                   .r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : 1});
  }
  return out;
}

SweepResult run_sweep(const ActivationSource& data, const SweepOptions& options) {
  TESSERA_CHECK_INPUT(!options.latents.empty() && !options.ks.empty(),
                      "--latents and --k need at least one value each");
  TESSERA_CHECK_INPUT(options.holdout > 0 && options.holdout < 1,
                      "--holdout must be in (0, 1), got {}", options.holdout);
  const int64_t held = std::max<int64_t>(
      1, static_cast<int64_t>(static_cast<double>(data.rows()) * options.holdout));
  TESSERA_CHECK_INPUT(data.rows() - held >= 1, "too few rows ({}) for a held-out split",
                      data.rows());
  RowRange train_rows(data, 0, data.rows() - held), eval_rows(data, data.rows() - held, held);
  SweepResult result;
  for (int64_t n : options.latents) {
    for (int64_t k : options.ks) {
      TESSERA_CHECK_INPUT(k <= n, "k = {} exceeds latents = {}", k, n);
      SaeTrainOptions t = options.train;
      t.latents = n;
      t.k = k;
      t.lr = options.train.lr;  // 0 keeps the per-n default rule
      t.out_dir.clear();
      t.progress = false;
      const auto start = std::chrono::steady_clock::now();
      SaeTrainer trainer(train_rows, t);
      trainer.train();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const ReconstructionMetrics m = evaluate_reconstruction(trainer.sae(), eval_rows);
      SweepPoint p{.latents = n,
                   .k = k,
                   .tokens = trainer.tokens_seen(),
                   .compute = 6.0 * static_cast<double>(trainer.tokens_seen()) *
                              static_cast<double>(n) * static_cast<double>(data.d()),
                   .nmse = m.nmse_mean_baseline,
                   .l0 = m.l0,
                   .dead_fraction = m.dead_fraction,
                   .seconds = seconds};
      if (options.progress) {
        std::fprintf(stderr, "sae sweep: latents %lld k %lld: held-out nmse %.5f (%.1fs)\n",
                     static_cast<long long>(n), static_cast<long long>(k), p.nmse, seconds);
      }
      result.points.push_back(p);
    }
  }
  result.joint = fit_scaling_law(result.points);
  result.compute_laws = fit_compute_laws(result.points);
  return result;
}

nlohmann::json SweepResult::to_json() const {
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& p : points) {
    pts.push_back({{"latents", p.latents},
                   {"k", p.k},
                   {"tokens", p.tokens},
                   {"compute", p.compute},
                   {"nmse", p.nmse},
                   {"l0", p.l0},
                   {"dead_fraction", p.dead_fraction},
                   {"seconds", p.seconds}});
  }
  nlohmann::json laws = nlohmann::json::array();
  for (const auto& l : compute_laws) {
    laws.push_back(
        {{"k", l.k}, {"coefficient", l.coefficient}, {"exponent", l.exponent}, {"r2", l.r2}});
  }
  return {{"points", pts},
          {"joint_fit",
           {{"form",
             "L(n,k) = exp(alpha + beta_k ln k + beta_n ln n + gamma ln k ln n) + exp(zeta + eta "
             "ln k)"},
            {"alpha", joint.alpha},
            {"beta_k", joint.beta_k},
            {"beta_n", joint.beta_n},
            {"gamma", joint.gamma},
            {"zeta", joint.zeta},
            {"eta", joint.eta},
            {"rms_log_error", joint.rms_log_error}}},
          {"compute_power_laws", laws}};
}

}  // namespace tessera::interp
