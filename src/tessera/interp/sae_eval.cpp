#include "tessera/interp/sae_eval.h"

#include <cmath>

#include "tessera/core/autograd.h"
#include "tessera/core/error.h"
#include "tessera/interp/harvest.h"
#include "tessera/train/data_loader.h"

namespace tessera::interp {

namespace {

// Streams rows and accumulates the sums every reconstruction metric is made of.
class ReconstructionAccumulator {
 public:
  ReconstructionAccumulator(const TopKSae& sae)
      : sae_(sae), fired_(static_cast<size_t>(sae.n()), 0) {
    sum_x_.assign(static_cast<size_t>(sae.d()), 0.0);
    sum_x2_.assign(sum_x_.size(), 0.0);
    sum_r_.assign(sum_x_.size(), 0.0);
    sum_r2_.assign(sum_x_.size(), 0.0);
  }
  void add(const float* x, int64_t rows) {
    const int64_t d = sae_.d();
    std::vector<float> x_hat(static_cast<size_t>(rows * d));
    SparseCodes codes;
    sae_.reconstruct(x, rows, x_hat.data(), &codes);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < d; ++i) {
        const double xi = x[r * d + i], ri = xi - x_hat[r * d + i];
        sum_x_[i] += xi;
        sum_x2_[i] += xi * xi;
        sum_r_[i] += ri;
        sum_r2_[i] += ri * ri;
      }
      active_ += codes.active(r);
    }
    for (size_t s = 0; s < codes.indices.size(); ++s) {
      if (codes.indices[s] >= 0 && codes.values[s] > 0.0f) fired_[codes.indices[s]] = 1;
    }
    rows_ += rows;
  }
  ReconstructionMetrics finish() const {
    ReconstructionMetrics m;
    m.tokens = rows_;
    if (rows_ == 0) return m;
    const double N = static_cast<double>(rows_);
    double sq_err = 0, sq_x = 0, var_x = 0, var_r = 0;
    for (size_t i = 0; i < sum_x_.size(); ++i) {
      sq_err += sum_r2_[i];
      sq_x += sum_x2_[i];
      var_x += sum_x2_[i] - sum_x_[i] * sum_x_[i] / N;
      var_r += sum_r2_[i] - sum_r_[i] * sum_r_[i] / N;
    }
    m.nmse_mean_baseline = var_x > 0 ? sq_err / var_x : 0;
    m.nmse_zero_baseline = sq_x > 0 ? sq_err / sq_x : 0;
    m.fvu = var_x > 0 ? var_r / var_x : 0;
    m.l0 = static_cast<double>(active_) / N;
    int64_t fired = 0;
    for (uint8_t f : fired_) fired += f;
    m.dead_fraction = 1.0 - static_cast<double>(fired) / static_cast<double>(fired_.size());
    return m;
  }

 private:
  const TopKSae& sae_;
  std::vector<uint8_t> fired_;
  std::vector<double> sum_x_, sum_x2_, sum_r_, sum_r2_;
  int64_t rows_ = 0, active_ = 0;
};

// Per-token log-softmax of logits [rows, vocab] (f32) into doubles.
std::vector<double> log_probs(const Tensor& logits) {
  const Tensor c = logits.contiguous();
  const int64_t V = c.size(-1), rows = c.numel() / V;
  const float* p = c.data<float>();
  std::vector<double> out(static_cast<size_t>(rows * V));
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -INFINITY;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(p[r * V + v]));
    double s = 0;
    for (int64_t v = 0; v < V; ++v) s += std::exp(p[r * V + v] - mx);
    const double lse = mx + std::log(s);
    for (int64_t v = 0; v < V; ++v) out[r * V + v] = p[r * V + v] - lse;
  }
  return out;
}

struct LossAndKl {
  double ce = 0, kl = 0;
};

// Summed cross-entropy against targets and summed KL(clean || other) over rows.
LossAndKl summed_loss(const std::vector<double>& lp, const std::vector<double>& clean,
                      const std::vector<int32_t>& targets, int64_t V) {
  LossAndKl out;
  const int64_t rows = static_cast<int64_t>(targets.size());
  for (int64_t r = 0; r < rows; ++r) {
    out.ce -= lp[r * V + targets[r]];
    double kl = 0;
    for (int64_t v = 0; v < V; ++v) {
      const double pc = std::exp(clean[r * V + v]);
      kl += pc * (clean[r * V + v] - lp[r * V + v]);
    }
    out.kl += std::max(kl, 0.0);
  }
  return out;
}

}  // namespace

nlohmann::json ReconstructionMetrics::to_json() const {
  return {{"tokens", tokens},
          {"nmse_mean_baseline", nmse_mean_baseline},
          {"nmse_zero_baseline", nmse_zero_baseline},
          {"fvu", fvu},
          {"l0", l0},
          {"dead_fraction", dead_fraction}};
}

double DownstreamMetrics::loss_recovered() const {
  const double gap = ce_zero_ablation - ce_clean;
  return gap != 0 ? (ce_zero_ablation - ce_spliced) / gap : 1.0;
}

nlohmann::json DownstreamMetrics::to_json() const {
  return {{"tokens", tokens},
          {"ce_clean", ce_clean},
          {"ce_spliced", ce_spliced},
          {"ce_zero_ablation", ce_zero_ablation},
          {"ce_mean_ablation", ce_mean_ablation},
          {"delta_lm_loss", delta_lm_loss()},
          {"delta_lm_loss_zero_ablation", ce_zero_ablation - ce_clean},
          {"delta_lm_loss_mean_ablation", ce_mean_ablation - ce_clean},
          {"loss_recovered", loss_recovered()},
          {"kl_spliced", kl_spliced},
          {"kl_zero_ablation", kl_zero_ablation},
          {"kl_mean_ablation", kl_mean_ablation}};
}

ReconstructionMetrics evaluate_reconstruction(const TopKSae& sae, const ActivationSource& data,
                                              int64_t max_rows, int64_t batch) {
  TESSERA_CHECK_INPUT(data.d() == sae.d(), "activations are {} wide but the SAE expects d_in = {}",
                      data.d(), sae.d());
  const int64_t total = max_rows > 0 ? std::min(max_rows, data.rows()) : data.rows();
  ReconstructionAccumulator acc(sae);
  std::vector<float> x;
  for (int64_t start = 0; start < total; start += batch) {
    const int64_t rows = std::min(batch, total - start);
    x.resize(static_cast<size_t>(rows * sae.d()));
    data.read(start, rows, x.data());
    acc.add(x.data(), rows);
  }
  return acc.finish();
}

ActivationReplacement sae_replacement(const TopKSae& sae) {
  return [&sae](const Tensor& a) {
    Tensor c = a.contiguous().to(DType::f32);
    TESSERA_CHECK_INPUT(c.size(-1) == sae.d(),
                        "the hooked activation is {} wide but the SAE expects d_in = {}",
                        c.size(-1), sae.d());
    Tensor out = Tensor::empty(c.shape(), DType::f32);
    sae.reconstruct(c.data<float>(), c.numel() / sae.d(), out.data<float>());
    return out;
  };
}

DownstreamMetrics evaluate_downstream(models::CausalLM& model, const train::TokenDataset& data,
                                      const DownstreamOptions& options,
                                      const ActivationReplacement& replacement, const TopKSae* sae,
                                      ReconstructionMetrics* reconstruction) {
  NoGrad no_grad;
  check_hook_point(model, options.layer, options.site);
  TESSERA_CHECK_INPUT(options.tokens > 0, "--tokens must be positive, got {}", options.tokens);
  const int64_t seq_len = std::min(options.seq_len, std::max<int64_t>(data.num_tokens() - 1, 1));
  const int64_t max_batches =
      (options.tokens + options.batch * seq_len - 1) / (options.batch * seq_len);

  // Pass 1: the activations at the hook point (their mean is the mean-ablation value).
  std::vector<train::TokenBatch> batches;
  {
    train::PackedBatches loader(
        data, {.batch_size = options.batch, .seq_len = seq_len, .shuffle = false});
    train::TokenBatch b;
    while (static_cast<int64_t>(batches.size()) < max_batches && loader.next(b))
      batches.push_back(b);
  }
  TESSERA_CHECK_INPUT(!batches.empty(), "{}: no evaluation windows", data.folder());
  std::unique_ptr<ReconstructionAccumulator> acc;
  if (sae && reconstruction) acc = std::make_unique<ReconstructionAccumulator>(*sae);
  std::vector<double> mean;
  int64_t counted = 0;
  for (const auto& b : batches) {
    Tensor acts = capture_activations(model, b.inputs_tensor(), options.layer, options.site);
    const int64_t d = acts.size(-1), rows = acts.numel() / d;
    TESSERA_CHECK_INPUT(!sae || sae->d() == d,
                        "the activation at layer {} {} is {} wide but the SAE expects d_in = {}",
                        options.layer, options.site, d, sae ? sae->d() : 0);
    if (mean.empty()) mean.assign(static_cast<size_t>(d), 0.0);
    const float* p = acts.data<float>();
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < d; ++i) mean[i] += p[r * d + i];
    }
    counted += rows;
    if (acc) acc->add(p, rows);
  }
  std::vector<float> mean_f(mean.size());
  for (size_t i = 0; i < mean.size(); ++i)
    mean_f[i] = static_cast<float>(mean[i] / static_cast<double>(counted));
  if (acc) *reconstruction = acc->finish();

  // Pass 2: clean, spliced, zero-ablated and mean-ablated forward passes.
  DownstreamMetrics m;
  auto hooked = [&](const Tensor& ids, const ActivationReplacement& fn) {
    return model.forward_with_hook(ids,
                                   {.layer = options.layer, .site = options.site, .replace = fn});
  };
  const ActivationReplacement zero = [](const Tensor& a) {
    return Tensor::zeros(a.shape(), DType::f32);
  };
  const ActivationReplacement mean_fill = [&](const Tensor& a) {
    Tensor out = Tensor::empty(a.shape(), DType::f32);
    const int64_t d = a.size(-1), rows = a.numel() / d;
    float* o = out.data<float>();
    for (int64_t r = 0; r < rows; ++r) std::copy(mean_f.begin(), mean_f.end(), o + r * d);
    return out;
  };
  for (const auto& b : batches) {
    const Tensor ids = b.inputs_tensor();
    const std::vector<double> clean = log_probs(model.forward(ids));
    const int64_t V = static_cast<int64_t>(clean.size()) / static_cast<int64_t>(b.targets.size());
    const LossAndKl base = summed_loss(clean, clean, b.targets, V);
    const LossAndKl spliced = summed_loss(log_probs(hooked(ids, replacement)), clean, b.targets, V);
    const LossAndKl zeroed = summed_loss(log_probs(hooked(ids, zero)), clean, b.targets, V);
    const LossAndKl meaned = summed_loss(log_probs(hooked(ids, mean_fill)), clean, b.targets, V);
    m.ce_clean += base.ce;
    m.ce_spliced += spliced.ce;
    m.ce_zero_ablation += zeroed.ce;
    m.ce_mean_ablation += meaned.ce;
    m.kl_spliced += spliced.kl;
    m.kl_zero_ablation += zeroed.kl;
    m.kl_mean_ablation += meaned.kl;
    m.tokens += static_cast<int64_t>(b.targets.size());
  }
  const double N = static_cast<double>(m.tokens);
  for (double* v : {&m.ce_clean, &m.ce_spliced, &m.ce_zero_ablation, &m.ce_mean_ablation,
                    &m.kl_spliced, &m.kl_zero_ablation, &m.kl_mean_ablation}) {
    *v /= N;
  }
  return m;
}

}  // namespace tessera::interp
