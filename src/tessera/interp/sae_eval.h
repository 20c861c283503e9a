#pragma once
// SAE evaluation (Gao et al. 2024, section 4.1 and appendix):
//  - reconstruction on activations: normalised MSE against the mean baseline
//    (sum ||x - x_hat||^2 / sum ||x - mean x||^2) and the zero baseline (/ sum ||x||^2), the
//    fraction of variance unexplained (the residual's variance around its own mean over the
//    data's variance), L0 and the fraction of latents that never fired;
//  - downstream: the reconstruction spliced into the model's forward pass at the SAE's
//    (layer, site); the language-model loss increase over the clean model (delta LM loss), the
//    same for zero- and mean-ablation of that activation, the fraction of loss recovered
//    (CE_zero - CE_sae) / (CE_zero - CE_clean), and the KL divergence of the spliced next-token
//    distribution from the clean one (nats per token).
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "tessera/interp/activations.h"
#include "tessera/interp/sae.h"
#include "tessera/models/causal_lm.h"
#include "tessera/train/data_dataset.h"

namespace tessera::interp {

struct ReconstructionMetrics {
  int64_t tokens = 0;
  double nmse_mean_baseline = 0;
  double nmse_zero_baseline = 0;
  double fvu = 0;
  double l0 = 0;
  double dead_fraction = 0;  // latents with no activation on these tokens
  nlohmann::json to_json() const;
};

// Over rows [0, min(max_rows, rows)) of `data` (0: all).
ReconstructionMetrics evaluate_reconstruction(const TopKSae& sae, const ActivationSource& data,
                                              int64_t max_rows = 0, int64_t batch = 4096);

struct DownstreamMetrics {
  int64_t tokens = 0;
  double ce_clean = 0, ce_spliced = 0, ce_zero_ablation = 0, ce_mean_ablation = 0;
  double kl_spliced = 0, kl_zero_ablation = 0,
         kl_mean_ablation = 0;  // nats/token from the clean model
  double delta_lm_loss() const { return ce_spliced - ce_clean; }
  double loss_recovered() const;  // 1 = as good as the clean model, 0 = as bad as zero-ablation
  nlohmann::json to_json() const;
};

struct DownstreamOptions {
  int64_t layer = 0;
  std::string site = "resid_post";
  int64_t tokens = 8192;
  int64_t seq_len = 128;
  int64_t batch = 8;
};

// Replaces the activation [B, T, d] at the hook point with `replacement(activation)`.
using ActivationReplacement = std::function<Tensor(const Tensor&)>;

// The splice of an SAE: normalise, encode, decode, undo the normalisation.
ActivationReplacement sae_replacement(const TopKSae& sae);

// Downstream metrics of `replacement` on sequential windows of `data`. Reconstruction
// metrics of the captured activations go to `reconstruction` when given (with `sae`).
DownstreamMetrics evaluate_downstream(models::CausalLM& model, const train::TokenDataset& data,
                                      const DownstreamOptions& options,
                                      const ActivationReplacement& replacement,
                                      const TopKSae* sae = nullptr,
                                      ReconstructionMetrics* reconstruction = nullptr);

}  // namespace tessera::interp
